"""``gonet play``: a pygame board to play against the net (or any GTP engine).

Click a point to play. Keys (and the buttons on the right): P pass, U undo (your move and
the reply), R resign, N new game, S save SGF, L load SGF (type a path, Enter), H heatmap
of the net's move probabilities, V review a loaded game (←/→ step through it), Esc quit.
The window can be resized down to 640x480; 9x9, 13x13 and 19x19 boards (``--size``).

Modes (:class:`Mode`; the panel's second line always says which):

- ``PLAYING``: your move, or the opponent's while its reply is worked out.
- ``SCORING``: after two passes the playouts' dead stones are crossed out; click a stone
  to toggle its group, Enter to accept. The panel shows the result if accepted, by
  :meth:`Game.score`, the rule GTP ``final_score`` uses too.
- ``OVER``: a resignation or an accepted score; N starts a new game, U takes moves back.
- ``REVIEW``: stepping through a loaded game with the net's view of each move.

Nothing slow runs on the UI thread: loading the model, every call to the net (replies,
heat map, review) and to the playouts (dead stones) is a job for one worker thread. Each
job carries the position's version and its result is dropped if the position changed
meanwhile, so the window keeps drawing (< 100 ms a frame, measured in tests/test_gui.py).
"""

from __future__ import annotations

import enum
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from gonet import __version__  # noqa: E402
from gonet.coords import BLACK, WHITE, colour_name, idx_to_vertex  # noqa: E402
from gonet.game import DEFAULT_KOMI, Game, IllegalMove, fixed_handicap_points  # noqa: E402
from gonet.modelfile import NetOptions  # noqa: E402
from gonet.render import BoardView, draw_board  # noqa: E402

if TYPE_CHECKING:
    from gonet.player import PositionView

MIN_WINDOW = (640, 480)  # the layout below fits from here up
BUTTONS = [("Pass", pygame.K_p), ("Undo", pygame.K_u), ("Resign", pygame.K_r), ("New game", pygame.K_n),
           ("Save SGF", pygame.K_s), ("Load SGF", pygame.K_l), ("Heatmap", pygame.K_h), ("Review", pygame.K_v)]
PANEL_BG = (45, 40, 36)
TEXT = (235, 230, 220)
NOTE = (250, 210, 150)
STATUS_LINES = 4
MESSAGE_LINES = 3


class Mode(enum.Enum):
    PLAYING = "playing"
    SCORING = "scoring"
    OVER = "over"
    REVIEW = "review"


@dataclass
class Button:
    label: str
    key: int
    rect: pygame.Rect


@dataclass
class Layout:
    """Where everything goes in a window of a given size (computed, never stored)."""

    board: BoardView
    panel: pygame.Rect
    big: pygame.font.Font   # status lines
    small: pygame.font.Font  # buttons and messages
    status_top: int
    line: int               # status line spacing
    buttons: list[Button]
    message_top: int
    message_line: int


class Worker:
    """One thread running jobs in order; results come back through ``results`` as
    ``(kind, version, value or exception)``. A job whose version is stale when its turn
    comes is skipped."""

    def __init__(self, current_version: Callable[[], int]):
        self.current_version = current_version
        self.jobs: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.pending: dict[str, int] = {}  # kind -> version of its latest job
        threading.Thread(target=self._run, daemon=True).start()

    def submit(self, kind: str, version: int, job: Callable[[], object]) -> None:
        self.pending[kind] = version
        self.jobs.put((kind, version, job))

    def waiting(self, kind: str, version: int) -> bool:
        return self.pending.get(kind) == version

    def _run(self) -> None:
        while True:
            kind, version, job = self.jobs.get()
            if version != self.current_version() and kind != "load":
                self.results.put((kind, version, None))
                continue
            try:
                value = job()
            except Exception as e:  # shown in the panel; the game goes on
                value = e
            self.results.put((kind, version, value))


class App:
    """The board window: a game against an opponent (net or GTP engine), scoring, review."""

    def __init__(self, net: NetOptions | str | Path | None = None, engine: str | None = None,
                 colour: str = "black", handicap: int = 0, komi: float = DEFAULT_KOMI,
                 size: tuple[int, int] = (1000, 780), save_dir: str | Path = ".", seed: int | None = None,
                 board_size: int = 19, search=None):
        pygame.display.init()  # not pygame.init(): no audio wanted
        pygame.font.init()
        pygame.display.set_caption("gonet")
        self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
        self.rng = np.random.default_rng(seed)
        self.net_options, self.engine_command = NetOptions.of(net), engine
        self.search = search  # SearchSettings for the net, None for the raw policy
        self.colour_choice, self.handicap, self.komi = colour, handicap, komi
        self.board_size = board_size
        self.save_dir = Path(save_dir)
        self._player = None
        self._view: tuple[int, PositionView] | None = None  # (version, its position's view): worker only
        self.load_error: Exception | None = None
        self._engine = None
        self.version = 0  # bumped by every change of position: stale job results are dropped
        self.worker = Worker(lambda: self.version)
        self.worker.submit("load", 0, self._load_player)
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
        self.result: str | None = None
        self.mode = Mode.PLAYING
        self.running = True
        self._fonts: dict[int, pygame.font.Font] = {}
        self.new_game()

    # ------------------------------------------------------------ worker jobs (never on the UI thread)

    def _load_player(self):
        from gonet.player import Player

        self._player = Player(self.net_options.load(), search=self.search, seed=int(self.rng.integers(1 << 30)))
        return self._player

    @property
    def net(self):
        """The loaded player, for worker jobs (they run after the load job)."""
        if self._player is None:
            raise RuntimeError(f"no net: {self.load_error}")
        return self._player

    def _engine_move(self, game: Game) -> int:
        if self.engine_command is None:
            return self.net.choose(game)
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

    def _view_at(self, version: int, game: Game) -> PositionView:
        """``game``'s view, worked out once per version (one position): in review the heat map
        and the verdict on the move played read the same one."""
        if self._view is None or self._view[0] != version:
            self._view = (version, self.net.view(game))
        return self._view[1]

    def _heat_of(self, version: int, game: Game) -> tuple[np.ndarray | None, dict[int, str]]:
        view = self._view_at(version, game)
        probs = view.probs[: game.pass_idx]
        if probs.max() <= 0:
            return None, {}
        return probs / probs.max(), {i: f"{round(100 * p)}" for i, p in view.top_moves(5)}

    def _dead_of(self, game: Game) -> set[int]:
        from gonet.ownership import dead_stones

        return set(dead_stones(game).tolist())

    def _verdict(self, version: int, game: Game, colour: int, played: int) -> str:
        top = [idx for idx, _ in self._view_at(version, game).top_moves(5)]
        verdict = f"net's #{top.index(played) + 1}" if played in top else "not in the net's top 5"
        return (f"move {game.move_number + 1}: {colour_name(colour)} played "
                f"{idx_to_vertex(played, game.size)} ({verdict})")

    def snapshot(self) -> Game:
        """A copy of the game for a worker: the UI may change its own meanwhile."""
        return Game.from_record(self.game.to_record(), superko=True)

    # ------------------------------------------------------------ taking results (UI thread)

    def poll(self) -> None:
        while True:
            try:
                kind, version, value = self.worker.results.get_nowait()
            except queue.Empty:
                return
            if self.worker.pending.get(kind) == version:
                del self.worker.pending[kind]
            if isinstance(value, Exception):
                if kind == "load":
                    self.load_error = value
                self.message = f"{kind} failed: {value}"
            elif kind != "load" and value is not None and version == self.version:
                getattr(self, f"_take_{kind}")(value)

    def _take_reply(self, move: int) -> None:
        if move < 0:
            self.finish(f"{colour_name(self.human)}+R", "the opponent resigns")
            return
        self.game.play(move)
        self.message = f"{colour_name(-self.human)} {idx_to_vertex(move, self.game.size)}"
        self.changed()

    def _take_heat(self, value) -> None:
        if self.show_heat:  # not switched off meanwhile
            self.heat, self.labels = value

    def _take_dead(self, dead: set[int]) -> None:
        self.dead = dead
        self.message = "dead stones crossed: click to change, Enter to accept"

    def _take_verdict(self, text: str) -> None:
        self.message = text

    # ------------------------------------------------------------ game actions

    @property
    def thinking(self) -> bool:
        return self.worker.waiting("reply", self.version)

    def changed(self) -> None:
        """The position changed: old results are stale; ask for what this one needs."""
        self.version += 1
        self.heat, self.labels = None, {}
        if self.mode is Mode.PLAYING and self.game.is_over():
            self.mode = Mode.SCORING
            self.dead = set()
            self.message = "finding dead stones..."
            game = self.snapshot()
            self.worker.submit("dead", self.version, lambda: self._dead_of(game))
        if self.show_heat and not self.game.is_over():
            self._ask_heat()
        if self.mode is Mode.PLAYING and self.game.to_move != self.human:
            game = self.snapshot()
            self.worker.submit("reply", self.version, lambda: self._engine_move(game))

    def _ask_heat(self) -> None:
        """The worker works out the heat map of the position as it is now."""
        game, version = self.snapshot(), self.version
        self.worker.submit("heat", version, lambda: self._heat_of(version, game))

    def new_game(self) -> None:
        colour = self.colour_choice
        if colour == "random":
            colour = "black" if self.rng.random() < 0.5 else "white"
        self.human = BLACK if colour == "black" else WHITE
        self.game = Game(self.board_size, self.komi, superko=True)
        if self.handicap >= 2:
            self.game.place_handicap(fixed_handicap_points(self.handicap, self.board_size))
        self.loaded, self.review, self.dead, self.result = None, None, set(), None
        self.mode = Mode.PLAYING
        self.message = f"you play {colour_name(self.human)}"
        self.changed()

    def finish(self, result: str, message: str) -> None:
        self.result, self.mode, self.message = result, Mode.OVER, message
        self.version += 1  # nothing pending applies any more

    def play_human(self, idx: int) -> None:
        if self.mode is not Mode.PLAYING or self.game.to_move != self.human:
            return
        try:
            self.game.play(idx)
        except IllegalMove as e:
            self.message = str(e).split(": ", 1)[-1]
            return
        self.message = ""
        self.changed()

    def undo(self) -> None:
        """Take back moves until it is your turn again (a pending reply is dropped)."""
        if self.mode is Mode.REVIEW or not self.game.moves:
            return
        undone = 0
        while self.game.moves and (undone == 0 or self.game.to_move != self.human):
            self.game.undo()
            undone += 1
        self.mode, self.result, self.dead = Mode.PLAYING, None, set()
        self.message = f"took back {undone} move{'s' * (undone != 1)}"
        self.changed()

    def resign(self) -> None:
        if self.mode in (Mode.PLAYING, Mode.SCORING):
            self.finish(f"{colour_name(-self.human)}+R", "you resigned")

    def toggle_dead(self, idx: int) -> None:
        group = set(self.game.group(idx))
        if not group:
            return
        self.dead = self.dead - group if idx in self.dead else self.dead | group

    def accept_score(self) -> None:
        result = self.game.result(self.dead)
        self.finish(result, f"result {result}")

    def save(self) -> Path:
        from gonet.sgf import game_to_sgf

        record = self.game.to_record()
        record.result = self.result or record.result
        path = self.save_dir / time.strftime("gonet-%Y%m%d-%H%M%S.sgf")
        names = ("you", "gonet") if self.human == BLACK else ("gonet", "you")
        path.write_text(game_to_sgf(record, program=("gonet", __version__), black=names[0], white=names[1],
                                    date=time.strftime("%Y-%m-%d")))
        self.message = f"saved {path}"
        return path

    def load(self, path: str) -> None:
        """Load an SGF (9x9, 13x13, 19x19, ...) at its final position; V then steps through it."""
        from gonet.sgf import SgfError, parse_game

        try:
            record = parse_game(Path(path).expanduser().read_bytes(), path)
            game = Game.from_record(record, superko=True)
        except (OSError, SgfError, IllegalMove, ValueError) as e:
            self.message = f"cannot load {path}: {e}"
            return
        self.loaded, self.game, self.human = record, game, game.to_move
        self.board_size = record.size
        self.review, self.dead, self.result = None, set(), record.result
        self.mode = Mode.OVER if record.result else Mode.PLAYING
        self.message = f"loaded {path}: V to review it, N for a new game"
        self.changed()

    def start_review(self) -> None:
        """Step through the loaded game (or this one) with the net's view of each move."""
        self.review = self.loaded or self.game.to_record()
        self.review_at = 0
        self.mode = Mode.REVIEW
        self.show_review()

    def show_review(self) -> None:
        record = self.review
        self.review_at = max(0, min(self.review_at, len(record.moves)))
        self.game = Game.from_record(record, moves=self.review_at)
        self.show_heat = True
        self.changed()
        if self.review_at < len(record.moves):
            colour, played = record.moves[self.review_at]
            game, version = self.snapshot(), self.version
            self.message = f"move {self.review_at + 1}: {colour_name(colour)} played {idx_to_vertex(played, game.size)}"
            self.worker.submit("verdict", version, lambda: self._verdict(version, game, colour, played))
        else:
            self.message = f"end of game, result {record.result or '?'}"

    def toggle_heat(self) -> None:
        """The position is unchanged: a pending reply or verdict still counts."""
        self.show_heat = not self.show_heat
        self.heat, self.labels = None, {}
        if self.show_heat and not self.game.is_over():
            self._ask_heat()

    # ------------------------------------------------------------ layout and status

    def font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def layout(self) -> Layout:
        """The panel is about a quarter of the width (190-260 px); its fonts and button
        spacing shrink with the height so that all of it fits down to 640x480."""
        w, h = self.screen.get_size()
        panel_w = max(190, min(260, w // 4))
        big, small = self.font(max(20, min(26, h // 30))), self.font(max(17, min(21, h // 37)))
        line, message_line = big.get_linesize() + 4, small.get_linesize() + 2
        status_top = 12
        buttons_top = status_top + STATUS_LINES * line + 8
        message_top = h - MESSAGE_LINES * message_line - 10
        step = min(44, (message_top - 8 - buttons_top) // len(BUTTONS))
        x = w - panel_w + 16
        buttons = [Button(label, key, pygame.Rect(x, buttons_top + step * i, panel_w - 32, step - 6))
                   for i, (label, key) in enumerate(BUTTONS)]
        return Layout(BoardView(self.board_size, w - panel_w, h), pygame.Rect(w - panel_w, 0, panel_w, h),
                      big, small, status_top, line, buttons, message_top, message_line)

    def board_view(self) -> BoardView:
        return self.layout().board

    def status(self) -> list[str]:
        """The panel's status lines, worked out from the mode each frame (never stale)."""
        g = self.game
        if self.mode is Mode.SCORING:
            second = f"Scoring: {g.result(self.dead)} if accepted"
        elif self.mode is Mode.OVER:
            second = f"Game over: {self.result or g.result(self.dead)}"
        elif self.mode is Mode.REVIEW:
            second = f"Review: move {self.review_at} of {len(self.review.moves)}"
        else:
            whose = "your move" if g.to_move == self.human else "opponent's move"
            second = f"Move {g.move_number + 1}: {colour_name(g.to_move)}, {whose}"
        if self.load_error is not None:
            activity = "no net (see below)"
        elif self._player is None:
            activity = "loading the net..."
        elif self.thinking:
            activity = "thinking..."
        elif self.worker.waiting("dead", self.version):
            activity = "finding dead stones..."
        elif self.worker.waiting("heat", self.version):
            activity = "reading the net's view..."
        else:
            activity = ""
        return [f"You: {colour_name(self.human)}   komi {g.komi:g}", second,
                f"Captures  B {g.captures(BLACK)}  W {g.captures(WHITE)}", activity]

    # ------------------------------------------------------------ events and drawing

    def handle(self, event) -> None:
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.VIDEORESIZE:
            size = (max(MIN_WINDOW[0], event.w), max(MIN_WINDOW[1], event.h))
            self.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
        elif event.type == pygame.MOUSEMOTION:
            point = self.board_view().to_point(*event.pos)
            self.hover = None if point is None else point[0] * self.game.size + point[1]
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            layout = self.layout()
            for button in layout.buttons:
                if button.rect.collidepoint(event.pos):
                    self.key(button.key)
                    return
            point = layout.board.to_point(*event.pos)
            if point is not None:
                idx = point[0] * self.game.size + point[1]
                self.toggle_dead(idx) if self.mode is Mode.SCORING else self.play_human(idx)
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

    def _step_review(self, step: int) -> None:
        self.review_at += step
        self.show_review()

    def key(self, key: int) -> None:
        actions = {
            pygame.K_ESCAPE: lambda: setattr(self, "running", False),
            pygame.K_p: lambda: self.play_human(self.game.pass_idx),
            pygame.K_u: self.undo,
            pygame.K_r: self.resign,
            pygame.K_n: self.new_game,
            pygame.K_s: self.save,
            pygame.K_l: lambda: setattr(self, "prompt", ""),
            pygame.K_h: self.toggle_heat,
            pygame.K_v: self.start_review,
        }
        if key in actions:
            actions[key]()
        elif key == pygame.K_RETURN and self.mode is Mode.SCORING:
            self.accept_score()
        elif key in (pygame.K_LEFT, pygame.K_RIGHT) and self.mode is Mode.REVIEW:
            self._step_review(1 if key == pygame.K_RIGHT else -1)

    def draw(self) -> None:
        layout = self.layout()
        view = layout.board
        stones = self.game.stones
        last = self.game.last_move[1] if self.game.last_move else None
        marks = self.dead if self.mode in (Mode.SCORING, Mode.OVER) else None
        draw_board(self.screen, view, stones, last, self.heat, self.labels, marks)
        if (self.hover is not None and self.mode is Mode.PLAYING and self.game.to_move == self.human
                and self.game.is_legal(self.hover)):
            x, y = view.to_pixel(*divmod(self.hover, self.game.size))
            r = int(view.cell * 0.47)
            ghost = pygame.Surface((2 * r + 2, 2 * r + 2), pygame.SRCALPHA)
            shade = (20, 20, 20, 110) if self.human == BLACK else (250, 250, 250, 140)
            pygame.draw.circle(ghost, shade, (r + 1, r + 1), r)
            self.screen.blit(ghost, (x - r - 1, y - r - 1))
        self.draw_panel(layout)
        pygame.display.flip()

    def draw_panel(self, layout: Layout) -> None:
        panel = layout.panel
        pygame.draw.rect(self.screen, PANEL_BG, panel)
        big, small = layout.big, layout.small
        for i, text in enumerate(self.status()):
            self.screen.blit(big.render(text, True, TEXT), (panel.x + 14, layout.status_top + layout.line * i))
        for button in layout.buttons:
            active = button.label == "Heatmap" and self.show_heat
            pygame.draw.rect(self.screen, (120, 95, 60) if active else (85, 72, 58), button.rect, border_radius=6)
            label = small.render(f"{button.label}  [{pygame.key.name(button.key).upper()}]", True, (240, 235, 225))
            self.screen.blit(label, label.get_rect(center=button.rect.center))
        text = f"Load SGF: {self.prompt}_" if self.prompt is not None else self.message
        for i, chunk in enumerate(wrap(text, small, panel.width - 28)[-MESSAGE_LINES:]):
            self.screen.blit(small.render(chunk, True, NOTE), (panel.x + 14, layout.message_top + layout.message_line * i))

    def frame(self) -> None:
        """Handle pending events, take finished jobs' results, draw once."""
        for event in pygame.event.get():
            self.handle(event)
        self.poll()
        self.draw()

    def run(self) -> None:
        clock = pygame.time.Clock()
        while self.running:
            self.frame()
            clock.tick(30)
        if self._engine is not None:
            self._engine.close()
        pygame.quit()


def wrap(text: str, font, width: int) -> list[str]:
    """Lines of ``text`` that fit ``width`` pixels in ``font``."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and font.size(candidate)[0] > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + ([line] if line else [])


def main(net: NetOptions = NetOptions(), engine: str | None = None, colour: str = "black", handicap: int = 0,
         komi: float = DEFAULT_KOMI, size: int = 19, search=None) -> int:
    import torch  # noqa: F401  (imported before the window opens: loading libtorch holds the GIL)

    App(net, engine, colour, handicap, komi, board_size=size, search=search).run()
    return 0
