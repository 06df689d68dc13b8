"""``gonet play``: a pygame board to play against the net (or any GTP engine).

Click a point to play. Keys (and the buttons on the right): P pass, U undo (your move and
the reply), R resign, N new game, S save SGF, L load SGF (type a path, Enter), H heatmap
of the net's move probabilities, V review a loaded game (←/→ step through it), Esc quit.
After two passes the dead stones the playouts found are crossed out: click a stone to
toggle its group, Enter to accept the score. The window can be resized.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from gonet.board import HEAD, STONE, Board, IllegalMove  # noqa: E402
from gonet.coords import BLACK, WHITE, colour_name, idx_to_vertex  # noqa: E402
from gonet.game import Game, fixed_handicap_points  # noqa: E402
from gonet.render import BoardView, draw_board  # noqa: E402

PANEL = 230
BUTTONS = [("Pass", pygame.K_p), ("Undo", pygame.K_u), ("Resign", pygame.K_r), ("New game", pygame.K_n),
           ("Save SGF", pygame.K_s), ("Load SGF", pygame.K_l), ("Heatmap", pygame.K_h), ("Review", pygame.K_v)]


@dataclass
class Button:
    label: str
    key: int
    rect: pygame.Rect


class App:
    """The board window: a game against an opponent (net or GTP engine), scoring, review."""

    def __init__(self, model: str | None = None, engine: str | None = None, colour: str = "black",
                 handicap: int = 0, komi: float = 7.5, size: tuple[int, int] = (1000, 780),
                 save_dir: str | Path = ".", seed: int | None = None, search=None):
        pygame.display.init()  # not pygame.init(): no audio wanted
        pygame.font.init()
        pygame.display.set_caption("gonet")
        self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
        self.font = pygame.font.Font(None, 26)
        self.small = pygame.font.Font(None, 21)
        self.rng = np.random.default_rng(seed)
        self.model, self.engine_command = model, engine
        self.search = search  # SearchSettings for the net, None for the raw policy
        self.colour_choice, self.handicap, self.komi = colour, handicap, komi
        self.save_dir = Path(save_dir)
        self._player = None
        self._engine = None
        self.replies: queue.Queue = queue.Queue()
        self.thinking = False
        self.show_heat = False
        self.heat: np.ndarray | None = None
        self.labels: dict[int, str] = {}
        self.hover: int | None = None
        self.prompt: str | None = None  # text typed for "Load SGF"
        self.message = ""
        self.loaded = None  # the record of a loaded SGF
        self.review = None  # the record being reviewed, at move review_at
        self.review_at = 0
        self.dead: set[int] = set()
        self.scoring = False
        self.result: str | None = None
        self.running = True
        self.new_game()

    # ------------------------------------------------------------ opponent

    @property
    def player(self):
        if self._player is None:
            from gonet.player import Player
            from gonet.policy import load_policy

            self._player = Player(load_policy(self.model), search=self.search, seed=int(self.rng.integers(1 << 30)))
        return self._player

    def _engine_move(self, game: Game) -> int:
        if self.engine_command is None:
            return self.player.choose(game)
        from gonet.coords import vertex_to_idx
        from gonet.match import GtpProcess

        if self._engine is None:
            self._engine = GtpProcess(self.engine_command)
        e = self._engine
        e.send(f"boardsize {game.size}")
        e.send("clear_board")
        e.send(f"komi {game.komi}")
        if game.setup:
            e.send("set_free_handicap " + " ".join(idx_to_vertex(i, game.size) for _, i in game.setup))
        for c, i in game.moves:
            e.send(f"play {colour_name(c)} {idx_to_vertex(i, game.size)}")
        answer = e.send(f"genmove {colour_name(game.to_move)}").lower()
        return -1 if answer == "resign" else vertex_to_idx(answer, game.size)

    def _think(self, game: Game, moves_seen: int) -> None:
        try:
            self.replies.put((moves_seen, self._engine_move(game)))
        except Exception as e:  # shown in the status line; the game goes on
            self.replies.put((moves_seen, e))

    def ask_opponent(self) -> None:
        """Start the reply in a worker thread so the window keeps drawing."""
        if self.game.is_over() or self.game.to_move == self.human or self.thinking or self.result:
            return
        self.thinking = True
        snapshot = Game.from_record(self.game.to_record(), superko=True)
        threading.Thread(target=self._think, args=(snapshot, self.game.move_number), daemon=True).start()

    def poll_opponent(self) -> None:
        try:
            seen, move = self.replies.get_nowait()
        except queue.Empty:
            return
        self.thinking = False
        if seen != self.game.move_number:
            return  # the position changed meanwhile (undo, new game)
        if isinstance(move, Exception):
            self.message = f"opponent failed: {move}"
        elif move < 0:
            self.result = f"{colour_name(self.human)}+R"
            self.message = "the opponent resigns"
        else:
            self.game.play(move)
            self.message = f"{colour_name(-self.human)} {idx_to_vertex(move, self.game.size)}"
        self.after_move()

    # ------------------------------------------------------------ game actions

    def new_game(self) -> None:
        colour = self.colour_choice
        if colour == "random":
            colour = "black" if self.rng.random() < 0.5 else "white"
        self.human = BLACK if colour == "black" else WHITE
        self.game = Game(19, self.komi, superko=True)
        if self.handicap >= 2:
            self.game.place_handicap(fixed_handicap_points(self.handicap, 19))
        self.loaded, self.review, self.dead, self.scoring, self.result = None, None, set(), False, None
        self.message = f"you play {colour_name(self.human)}"
        self.after_move()

    def after_move(self) -> None:
        if self.game.is_over() and not self.scoring and self.result is None:
            self.start_scoring()
        self.update_heat()
        self.ask_opponent()

    def play_human(self, idx: int) -> None:
        if self.result or self.scoring or self.review is not None or self.game.to_move != self.human or self.thinking:
            return
        try:
            self.game.play(idx)
        except IllegalMove as e:
            self.message = str(e).split(": ", 1)[-1]
            return
        self.message = ""
        self.after_move()

    def undo(self) -> None:
        if self.thinking or self.review is not None:
            return
        undone = 0
        while self.game.moves and (undone == 0 or self.game.to_move != self.human):
            self.game.undo()
            undone += 1
        self.scoring, self.result, self.dead = False, None, set()
        self.update_heat()

    def resign(self) -> None:
        if self.result is None and self.review is None:
            self.result = f"{colour_name(-self.human)}+R"
            self.message = "you resigned"

    def start_scoring(self) -> None:
        from gonet.ownership import dead_stones

        self.scoring = True
        self.dead = set(dead_stones(self.game).tolist())
        self.message = "dead stones crossed: click to change, Enter to accept"

    def toggle_dead(self, idx: int) -> None:
        state = self.game.board.state
        if state[STONE, idx] == 0:
            return
        group = {p for p in range(self.game.pass_idx) if state[STONE, p] and state[HEAD, p] == state[HEAD, idx]}
        self.dead = self.dead - group if idx in self.dead else self.dead | group

    def accept_score(self) -> None:
        alive = Board(19)
        for p in np.flatnonzero(self.game.board.state[STONE]):
            if p not in self.dead:
                alive.setup(int(p), int(self.game.board.state[STONE, p]))
        score = alive.score(self.game.komi)
        self.result = "0" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"
        self.scoring = False
        self.message = f"result {self.result}"

    def save(self) -> Path:
        from gonet.sgf import game_to_sgf

        record = self.game.to_record()
        record.result = self.result or record.result
        path = self.save_dir / time.strftime("gonet-%Y%m%d-%H%M%S.sgf")
        names = ("you", "gonet") if self.human == BLACK else ("gonet", "you")
        path.write_text(game_to_sgf(record, black=names[0], white=names[1]))
        self.message = f"saved {path}"
        return path

    def load(self, path: str) -> None:
        """Load a 19x19 SGF at its final position; V then steps through it."""
        from gonet.sgf import SgfError, parse_game

        try:
            record = parse_game(Path(path).expanduser().read_bytes(), path, size=19)
            game = Game.from_record(record, superko=True)
        except (OSError, SgfError, IllegalMove, ValueError) as e:
            self.message = f"cannot load {path}: {e}"
            return
        self.loaded, self.game, self.human = record, game, game.to_move
        self.review, self.scoring, self.dead, self.result = None, False, set(), record.result
        self.message = f"loaded {path}: V to review it, N for a new game"
        self.update_heat()

    def start_review(self) -> None:
        """Step through the loaded game (or this one) with the net's view of each move."""
        self.review = self.loaded or self.game.to_record()
        self.review_at = 0
        self.show_review()

    def show_review(self) -> None:
        record = self.review
        self.review_at = max(0, min(self.review_at, len(record.moves)))
        self.game = Game.from_record(record, moves=self.review_at)
        if self.review_at < len(record.moves):
            colour, played = record.moves[self.review_at]
            top = [idx for idx, _ in self.player.top_moves(self.game, 5)]
            verdict = f"net's #{top.index(played) + 1}" if played in top else "not in the net's top 5"
            self.message = (f"move {self.review_at + 1}: {colour_name(colour)} played "
                            f"{idx_to_vertex(played, 19)} ({verdict})")
        else:
            self.message = f"end of game, result {record.result or '?'}"
        self.show_heat = True
        self.update_heat()

    def update_heat(self) -> None:
        self.heat, self.labels = None, {}
        if not self.show_heat or self.game.is_over():
            return
        probs = self.player.move_probabilities(self.game)[: self.game.pass_idx]
        if probs.max() > 0:
            self.heat = probs / probs.max()
            self.labels = {i: f"{round(100 * p)}" for i, p in self.player.top_moves(self.game, 5)}

    # ------------------------------------------------------------ events and drawing

    def board_view(self) -> BoardView:
        w, h = self.screen.get_size()
        return BoardView(19, max(100, w - PANEL), h)

    def buttons(self) -> list[Button]:
        w, _ = self.screen.get_size()
        x = w - PANEL + 20
        return [Button(label, key, pygame.Rect(x, 150 + 44 * i, PANEL - 40, 36))
                for i, (label, key) in enumerate(BUTTONS)]

    def handle(self, event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.VIDEORESIZE:
            self.screen = pygame.display.set_mode((max(500, event.w), max(400, event.h)), pygame.RESIZABLE)
        elif event.type == pygame.MOUSEMOTION:
            point = self.board_view().to_point(*event.pos)
            self.hover = None if point is None else point[0] * 19 + point[1]
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            for button in self.buttons():
                if button.rect.collidepoint(event.pos):
                    self.key(button.key)
                    return
            point = self.board_view().to_point(*event.pos)
            if point is not None:
                idx = point[0] * 19 + point[1]
                self.toggle_dead(idx) if self.scoring else self.play_human(idx)
        elif event.type == pygame.KEYDOWN:
            if self.prompt is not None:
                self.type_prompt(event)
            else:
                self.key(event.key)

    def type_prompt(self, event) -> None:
        if event.key == pygame.K_RETURN:
            path, self.prompt = self.prompt, None
            self.load(path)
        elif event.key == pygame.K_ESCAPE:
            self.prompt = None
        elif event.key == pygame.K_BACKSPACE:
            self.prompt = self.prompt[:-1]
        elif event.unicode and event.unicode.isprintable():
            self.prompt += event.unicode

    def key(self, key: int) -> None:
        if key == pygame.K_ESCAPE:
            self.running = False
        elif key == pygame.K_p:
            self.play_human(self.game.pass_idx)
        elif key == pygame.K_u:
            self.undo()
        elif key == pygame.K_r:
            self.resign()
        elif key == pygame.K_n:
            self.new_game()
        elif key == pygame.K_s:
            self.save()
        elif key == pygame.K_l:
            self.prompt = ""
        elif key == pygame.K_h:
            self.show_heat = not self.show_heat
            self.update_heat()
        elif key == pygame.K_v:
            self.start_review()
        elif key == pygame.K_RETURN and self.scoring:
            self.accept_score()
        elif key in (pygame.K_LEFT, pygame.K_RIGHT) and self.review is not None:
            self.review_at += 1 if key == pygame.K_RIGHT else -1
            self.show_review()

    def draw(self) -> None:
        view = self.board_view()
        stones = self.game.board.state[STONE]
        last = self.game.last_move[1] if self.game.last_move else None
        draw_board(self.screen, view, stones, last, self.heat, self.labels, self.dead if self.scoring else None)
        if (self.hover is not None and not self.scoring and self.review is None and self.result is None
                and self.game.to_move == self.human and self.game.is_legal(self.hover)):
            x, y = view.to_pixel(*divmod(self.hover, 19))
            ghost = pygame.Surface(self.screen.get_size(), pygame.SRCALPHA)
            shade = (20, 20, 20, 110) if self.human == BLACK else (250, 250, 250, 140)
            pygame.draw.circle(ghost, shade, (x, y), int(view.cell * 0.47))
            self.screen.blit(ghost, (0, 0))
        self.draw_panel()
        pygame.display.flip()

    def draw_panel(self) -> None:
        w, h = self.screen.get_size()
        pygame.draw.rect(self.screen, (45, 40, 36), (w - PANEL, 0, PANEL, h))
        g = self.game
        lines = [
            f"You: {colour_name(self.human)}   komi {g.komi:g}",
            f"Move {g.move_number}: " + ("game over" if self.result else f"{colour_name(g.to_move)} to play"),
            f"Captures  B {g.board.captures(BLACK)}  W {g.board.captures(WHITE)}",
            "thinking..." if self.thinking else (f"Result: {self.result}" if self.result else ""),
        ]
        for i, text in enumerate(lines):
            self.screen.blit(self.font.render(text, True, (235, 230, 220)), (w - PANEL + 16, 20 + 30 * i))
        for button in self.buttons():
            active = button.label == "Heatmap" and self.show_heat
            pygame.draw.rect(self.screen, (120, 95, 60) if active else (85, 72, 58), button.rect, border_radius=6)
            label = self.small.render(f"{button.label}  [{pygame.key.name(button.key).upper()}]", True, (240, 235, 225))
            self.screen.blit(label, label.get_rect(center=button.rect.center))
        text = f"Load SGF: {self.prompt}_" if self.prompt is not None else self.message
        for i, chunk in enumerate(_wrap(text, 26)):
            self.screen.blit(self.small.render(chunk, True, (250, 210, 150)), (w - PANEL + 16, h - 110 + 20 * i))

    def frame(self) -> None:
        """Handle pending events, take the opponent's reply if ready, draw once."""
        for event in pygame.event.get():
            self.handle(event)
        self.poll_opponent()
        self.draw()

    def run(self) -> None:
        clock = pygame.time.Clock()
        while self.running:
            self.frame()
            clock.tick(30)
        if self._engine is not None:
            self._engine.close()
        pygame.quit()


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def main(model: str | None = None, engine: str | None = None, colour: str = "black", handicap: int = 0,
         komi: float = 7.5, search=None) -> int:
    App(model, engine, colour, handicap, komi, search=search).run()
    return 0
