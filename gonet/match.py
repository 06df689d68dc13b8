"""``gonet match``: games between two GTP engines (gonet against GnuGo, say), with results.

Colours alternate game by game; komi 7.5 by default; a move cap ends runaway games. Each
game is kept on a referee :class:`Game` so an illegal move loses at once. Finished games
are scored by the first engine that implements ``final_score`` (GnuGo does), else by
Tromp-Taylor area on the referee board. Every game is saved as SGF; the report gives
wins, the win rate with a 95% Wilson interval and the average time per move. An engine
that does not answer within ``timeout`` seconds, or answers outside GTP, ends the match
with an :class:`EngineError` naming it (``--opponent cat`` used to wait forever).

Two deterministic engines (gonet's search on a visit budget, a greedy policy, GnuGo) play
the same game every time they hold the same colours, so a match of 40 such games is two
games counted 20 times. ``openings`` gives each pair of games (colours swapped) its own
start, the first moves of a real record, as engine testers use opening books.

A match writes each game's result beside its SGF as it ends; run again with the same
``out`` and the finished games are read back, not replayed (a cut-off match resumes).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import queue
import shlex
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from gonet.coords import BLACK, WHITE, colour_name, idx_to_vertex, vertex_to_idx
from gonet.game import DEFAULT_KOMI, Game, IllegalMove, winner
from gonet.sgf import game_to_sgf, read_records


DEFAULT_TIMEOUT = 120.0  # seconds for one response: GnuGo level 10 on a busy CPU, or a model loading


class EngineError(ValueError):
    """An engine died, answered outside the protocol or too late, or refused a command it must accept."""


class EngineExited(EngineError):
    """An engine process ended (crashed) in the middle of a game: it loses that game by
    forfeit, as in computer-Go tournaments, and the match goes on with fresh engines."""


class GtpProcess:
    """A GTP engine in a subprocess: ``send`` one command, get its response text."""

    def __init__(self, command: str, name: str | None = None, timeout: float | None = DEFAULT_TIMEOUT):
        self.command = command
        self.name = name or Path(shlex.split(command)[0]).name
        self.timeout = timeout
        self.proc = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, bufsize=1, errors="replace")
        self.known: dict[str, bool] = {}
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Queue the engine's output lines (None at its end), so that a response can be
        waited for with a timeout: a blocking readline cannot."""
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next_line(self, command: str, deadline: float | None) -> str:
        try:
            line = self._lines.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.proc.kill()
            raise EngineError(f"{self.name}: no answer to {command!r} within {self.timeout:g} s") from None
        if line is None:
            raise EngineExited(f"{self.name} closed its output after {command!r}")
        return line

    def send(self, command: str) -> str:
        """The response's text after ``= ``; raises :class:`EngineError` for ``?``, EOF, a
        first line that is not ``=``/``?`` (at once) or no answer within ``timeout``."""
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise EngineExited(f"{self.name} has exited") from None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        lines: list[str] = []
        while True:
            line = self._next_line(command, deadline).rstrip("\n")
            if not line.strip():
                if lines:
                    break
                continue  # blank lines before a response
            if not lines and not line.startswith(("=", "?")):
                raise EngineError(f"{self.name}: not a GTP response to {command!r}: {line[:80]!r}")
            lines.append(line)
        text = "\n".join(lines)
        if text.startswith("?"):
            raise EngineError(f"{self.name}: {command!r} -> {text[1:].strip()}")
        return text[1:].strip()

    def knows(self, command: str) -> bool:
        if command not in self.known:
            self.known[command] = self.send(f"known_command {command}") == "true"
        return self.known[command]

    def close(self) -> None:
        self.timeout = min(self.timeout or 5.0, 5.0)  # a polite quit, without a long wait on a broken engine
        try:
            self.send("quit")
        except EngineError:
            pass
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class GameResult:
    winner: int  # BLACK, WHITE, or 0 for a draw / no result
    result: str  # SGF RE, e.g. "B+12.5", "W+R", "B+F" (forfeit: illegal move)
    black: str
    white: str
    moves: int
    seconds: dict[str, float] = field(default_factory=dict)  # engine name -> thinking time
    moves_by: dict[str, int] = field(default_factory=dict)
    sgf: str = ""


Opening = list[tuple[int, int]]  # (colour, idx) moves from the empty board, Black first


def read_openings(source: str | Path, count: int, moves: int, size: int = 19) -> list[Opening]:
    """The first ``moves`` moves of the first ``count`` records in ``source`` that start from
    the empty board with Black, have that many moves and no pass among them; an opening
    already taken is not taken twice."""
    openings: list[Opening] = []
    for record in read_records(source, size=size):
        opening = record.moves[:moves]
        if (record.setup or record.player_to_move_first != BLACK or len(opening) < moves
                or any(idx == size * size for _, idx in opening) or opening in openings):
            continue
        game = Game(size, DEFAULT_KOMI, superko=True)
        try:
            for colour, idx in opening:
                game.play(idx, colour)
        except IllegalMove:
            continue
        openings.append(opening)
        if len(openings) == count:
            return openings
    raise ValueError(f"{source}: {len(openings)} usable openings of {moves} moves, {count} needed")


def play_game(black: GtpProcess, white: GtpProcess, size: int = 19, komi: float = DEFAULT_KOMI,
              max_moves: int = 600, opening: Opening = ()) -> GameResult:
    """One game from ``opening``'s moves; both engines are reset first. Two passes or the
    move cap end it. An engine that answers an illegal move or exits during play forfeits
    (``B+F``/``W+F``; an exit is also logged)."""
    engines = {BLACK: black, WHITE: white}
    for engine in engines.values():
        engine.send(f"boardsize {size}")
        engine.send("clear_board")
        engine.send(f"komi {komi}")
    game = Game(size, komi, superko=True)
    for colour, idx in opening:
        game.play(idx, colour)
        for engine in engines.values():
            engine.send(f"play {colour_name(colour)} {idx_to_vertex(idx, size)}")
    seconds = {black.name: 0.0, white.name: 0.0}
    counts = {black.name: 0, white.name: 0}
    result = None
    try:
        while not game.is_over() and game.move_number < max_moves:
            colour = game.to_move
            mover, other = engines[colour], engines[-colour]
            start = time.perf_counter()
            answer = _send_in_game(mover, f"genmove {colour_name(colour)}", colour).lower()
            seconds[mover.name] += time.perf_counter() - start
            counts[mover.name] += 1
            if answer == "resign":
                result = f"{colour_name(-colour)}+R"
                break
            try:
                game.play(vertex_to_idx(answer, size), colour)
            except (ValueError, IllegalMove):
                result = f"{colour_name(-colour)}+F"  # forfeit: an illegal or unparseable move
                break
            _send_in_game(other, f"play {colour_name(colour)} {idx_to_vertex(game.moves[-1][1], size)}", -colour)
    except _Forfeited as forfeit:
        result = forfeit.result
    if result is None:
        scorer = next((e for e in (white, black) if e.knows("final_score")), None)
        result = scorer.send("final_score") if scorer else game.result()
    record = game.to_record()
    record.result = result
    sgf = game_to_sgf(record, program=("gonet match", ""), black=black.name, white=white.name)
    return GameResult(winner(result), result, black.name, white.name, game.move_number, seconds, counts, sgf)


class _Forfeited(Exception):
    """Ends a game whose engine exited: ``result`` names the other colour the winner."""

    def __init__(self, result: str):
        super().__init__(result)
        self.result = result


def _send_in_game(engine: GtpProcess, command: str, colour: int) -> str:
    """``engine``'s answer to ``command``; if the engine of ``colour`` exits instead, it loses
    the game by forfeit (logged in one line)."""
    try:
        return engine.send(command)
    except EngineExited as error:
        logging.getLogger(__name__).warning("%s: %s loses by forfeit", error, colour_name(colour))
        raise _Forfeited(f"{colour_name(-colour)}+F") from None


def wilson_interval(wins: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a win rate."""
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def run_match(engine_a: str, engine_b: str, games: int, out: str | Path, size: int = 19,
              komi: float = DEFAULT_KOMI, max_moves: int = 600, parallel: int = 1,
              names: tuple[str, str] = ("A", "B"), timeout: float | None = DEFAULT_TIMEOUT,
              openings: list[Opening] | None = None) -> dict:
    """``games`` games, A taking Black in the even ones, game pair k from ``openings[k]``
    (cycled); games already finished in ``out`` are read back. Returns the report (also
    as JSON in ``out``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> tuple[int, GameResult]:
        saved = out / f"game-{i:03d}.json"
        if saved.exists():
            return i, GameResult(**json.loads(saved.read_text()), sgf=(out / f"game-{i:03d}.sgf").read_text())
        a, b = GtpProcess(engine_a, names[0], timeout), GtpProcess(engine_b, names[1], timeout)
        try:
            black, white = (a, b) if i % 2 == 0 else (b, a)
            opening = openings[i // 2 % len(openings)] if openings else ()
            result = play_game(black, white, size, komi, max_moves, opening)
        finally:
            a.close()
            b.close()
        (out / f"game-{i:03d}.sgf").write_text(result.sgf)
        saved.write_text(json.dumps({k: v for k, v in dataclasses.asdict(result).items() if k != "sgf"}) + "\n")
        return i, result

    results: list[GameResult] = []
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for _, result in tqdm(pool.map(one, range(games)), total=games, desc="match", unit="game"):
            results.append(result)
    return report(results, names, out)


def report(results: list[GameResult], names: tuple[str, str], out: Path) -> dict:
    wins = {name: 0.0 for name in names}
    seconds = {name: 0.0 for name in names}
    moves = {name: 0 for name in names}
    for r in results:
        for name in names:
            seconds[name] += r.seconds.get(name, 0.0)
            moves[name] += r.moves_by.get(name, 0)
        if r.winner == 0:
            for name in names:
                wins[name] += 0.5
        else:
            wins[r.black if r.winner == BLACK else r.white] += 1
    n = len(results)
    low, high = wilson_interval(wins[names[0]], n)
    summary = {
        "games": n,
        "wins": wins,
        "win_rate": wins[names[0]] / n if n else 0.0,
        "win_rate_95": [round(low, 4), round(high, 4)],
        "seconds_per_move": {k: round(seconds[k] / moves[k], 4) if moves[k] else None for k in names},
        "results": [r.result for r in results],
    }
    (out / "report.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
