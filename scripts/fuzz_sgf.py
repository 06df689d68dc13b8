"""The ``sgf`` fuzz target: crashes, wrong answers and games lost in the record reader.

    python scripts/fuzz.py sgf --inputs 100000 --seed 0 [--prepare-every 100] [--save DIR]

One target per run; each target is its own function, registered in ``TARGETS``.

- ``sgf``: mutates real records (``data/sgf/*`` and, when present, ``../shared/data/kgs/val``)
  into files of every kind the reader takes: one damaged game, a collection of damaged and
  intact games (maybe gzipped), a .tar.gz or .zip of them (maybe damaged itself), or random
  bytes. Each input is read with :func:`gonet.sgf.read_records`, every record is replayed as
  ``prepare`` does (:func:`gonet.game.check_record`), and every Nth input also goes through
  :func:`gonet.prepare.prepare` itself.

  - crash: an exception out of the reader, the replay or prepare;
  - wrong answer: bookkeeping that disagrees (games counted against records yielded,
    positions), a record outside the board, a game from a damaged CRC-checked container
    that the intact container does not hold (an altered game read as good), or prepare's
    totals against the reader's;
  - game lost: an intact game beside damaged ones that is not read back exactly.

The first findings of each kind are printed with a traceback or detail, and each input that
gave one is saved under ``--save`` to reproduce it.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gzip
import io
import logging
import math
import os
import random
import shutil
import tarfile
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # prepare's progress bars, once per input otherwise

from gonet.game import check_record  # noqa: E402
from gonet.prepare import prepare  # noqa: E402
from gonet.sgf import GameRecord, ReadStats, SgfError, iter_sgf_blobs, parse_game, read_records  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "data" / "sgf"
KGS_VAL = REPO.parent / "shared" / "data" / "kgs" / "val"
SHOWN = 3  # findings of each kind printed in full
PROGRESS_EVERY = 10_000  # inputs between progress lines, so a long run that is cut off still tells


@dataclass
class Findings:
    """What a fuzz run found, by kind, with the first few shown and every input saved."""

    save: Path
    counts: collections.Counter = field(default_factory=collections.Counter)
    shown: list[str] = field(default_factory=list)
    inputs: int = 0
    started: float = field(default_factory=time.perf_counter)

    def tick(self) -> None:
        """Count one input judged; print a progress line now and then."""
        self.inputs += 1
        if self.inputs % PROGRESS_EVERY == 0:
            print(f"{self.inputs} inputs, {time.perf_counter() - self.started:.0f} s; {self.found()}", flush=True)

    def found(self) -> str:
        return ", ".join(f"{kind}: {self.counts[kind]}" for kind in ("crash", "wrong answer", "game lost"))

    def add(self, kind: str, detail: str, data: bytes, suffix: str) -> None:
        """Count one finding; show it if among the first of its kind; save its input."""
        self.counts[kind] += 1
        number = self.counts[kind]
        path = self.save / f"{kind.replace(' ', '-')}-{number:05d}{suffix}"
        self.save.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if number <= SHOWN:
            self.shown.append(f"{kind} #{number} ({path}):\n{detail}")


# ---------------------------------------------------------------- sgf target

TOKENS = [
    b"(;", b"(", b")", b"[", b"]", b"\\", b";", b"\n", b"(;GM[1]", b"FF[4]", b"AB[aa]", b"AW[tt]", b"AE[]",
    b"AB[aa:ss]", b"AB[ss:aa]", b"B[zz]", b"W[]", b"B[tt]", b"SZ[52]", b"SZ[0]", b"SZ[-1]", b"SZ[19:19]",
    b"SZ[1]", b"KM[nan]", b"KM[inf]", b"KM[1e999]", b"HA[99999999999999999999]", b"HA[-3]", b"CA[zlib]",
    b"CA[hex]", b"CA[utf-16]", b"CA[klingon]", b"PL[X]", b"RE[B+R][W+R]", b"\x00", b"\xff\xfe", b"\x1f\x8b",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """``data`` with 1-8 random edits: byte flips, SGF tokens inserted, ranges deleted or
    repeated, a cut."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randint(0, len(out))
        op = rng.random()
        if op < 0.3 and out:
            out[min(pos, len(out) - 1)] = rng.choice([rng.randrange(256), *b"()[];\\:"])
        elif op < 0.6:
            out[pos:pos] = rng.choice(TOKENS)
        elif op < 0.8:
            del out[pos : pos + rng.randint(1, 16)]
        elif op < 0.9:
            out[pos:pos] = out[pos : pos + rng.randint(1, 64)]
        else:
            del out[pos:]
    return bytes(out)


def record_key(record: GameRecord) -> tuple:
    """A record less its name."""
    return (record.size, record.komi, record.handicap, record.result, tuple(record.setup), tuple(record.moves))


def load_games() -> list[bytes]:
    """Every game of the fixtures and of KGS val (when present) that reads cleanly alone."""
    sources = sorted(FIXTURES.glob("*.sgf")) + ([KGS_VAL] if KGS_VAL.is_dir() else [])
    games = []
    for source in sources:
        for _, data in iter_sgf_blobs(source):
            try:
                parse_game(data)
            except SgfError:
                continue
            games.append(data)
    return games


def make_archive(kind: str, members: dict[str, bytes]) -> bytes:
    """A .tar.gz or .zip holding ``members``."""
    buffer = io.BytesIO()
    if kind == ".zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class SgfInput:
    """One fuzz input: the file's bytes and suffix, the intact games in it, and (for a damaged
    container) the same container undamaged."""

    data: bytes
    suffix: str
    intact: list[bytes]
    undamaged: bytes | None = None
    games_in: int = 1


def make_sgf_input(rng: random.Random, games: list[bytes]) -> SgfInput:
    """A random input of one of four shapes (see the module docstring)."""
    shape = rng.random()
    if shape < 0.1:
        return SgfInput(rng.randbytes(rng.randint(0, 2000)), rng.choice([".sgf", ".sgf.gz", ".tar.gz", ".zip"]), [])
    if shape < 0.4:
        return SgfInput(mutate(rng, rng.choice(games)), ".sgf", [])
    chosen = rng.sample(games, rng.randint(2, 6))  # distinct games, so a loss cannot hide
    damaged = [rng.random() < 0.5 for _ in chosen]
    parts = [mutate(rng, g) if bad else g for g, bad in zip(chosen, damaged)]
    intact = [g for g, bad in zip(chosen, damaged) if not bad]
    if shape < 0.8:
        data = b"".join(rng.choice([b"\n", b"", b"\r\n", b" "]) + part for part in parts)
        if rng.random() < 0.3:
            return SgfInput(gzip.compress(data), ".sgfs.gz", intact, games_in=len(parts))
        return SgfInput(data, ".sgfs", intact, games_in=len(parts))
    suffix = rng.choice([".tar.gz", ".zip"])
    container = make_archive(suffix, {f"g{i}.sgf": part for i, part in enumerate(parts)})
    if rng.random() < 0.5:
        return SgfInput(container, suffix, intact, games_in=len(parts))
    flipped = bytearray(container)
    for _ in range(rng.randint(1, 3)):
        flipped[rng.randrange(len(flipped))] ^= rng.randint(1, 255)
    return SgfInput(bytes(flipped), suffix, [], undamaged=container, games_in=len(parts))


def read_file(path: Path, size: int | None = None) -> tuple[list[GameRecord], ReadStats]:
    stats = ReadStats()
    return list(read_records([path], stats, size=size)), stats


def check_sgf_input(item: SgfInput, folder: Path, through_prepare: bool) -> tuple[list[tuple[str, str]], ReadStats]:
    """Read one input and judge it -> ([(kind, detail)] of what went wrong, the read's stats);
    exceptions propagate."""
    path = folder / f"input{item.suffix}"
    path.write_bytes(item.data)
    records, stats = read_file(path)
    problems = []
    if stats.games != len(records) or stats.positions != sum(len(r.moves) for r in records):
        problems.append(("wrong answer", f"stats {stats.summary()} against {len(records)} records"))
    for record in records:
        if not (2 <= record.size <= 25 and math.isfinite(record.komi) and record.handicap >= 0
                and all(c in (1, -1) and 0 <= i <= record.size**2 for c, i in record.moves)
                and all(c in (1, -1) and 0 <= i < record.size**2 for c, i in record.setup)):
            problems.append(("wrong answer", f"{record.name}: a record outside the board: {record_key(record)}"))
        check_record(record)  # prepare's replay: a reason or None, never an exception
    read = collections.Counter(record_key(r) for r in records)
    for game in item.intact:
        key = record_key(parse_game(game))
        if read[key] == 0:
            problems.append(("game lost", f"intact game not read: {game[:80]!r}...; {stats.summary()}"))
        read[key] -= 1
    if item.undamaged is not None:  # CRC-checked: any game read must be one the intact container holds
        (folder / f"undamaged{item.suffix}").write_bytes(item.undamaged)
        held = {record_key(r) for r in read_file(folder / f"undamaged{item.suffix}")[0]}
        altered = [r.name for r in records if record_key(r) not in held]
        if altered:
            problems.append(("wrong answer", f"altered games read from a damaged container: {altered}"))
    if through_prepare:
        problems += check_prepare(path, folder / "prepared")
    return problems, stats


def check_prepare(path: Path, out: Path) -> list[tuple[str, str]]:
    """prepare's totals against the reader's with the same board size and replay."""
    records, stats = read_file(path, size=19)
    legal = [r for r in records if check_record(r) is None]
    shutil.rmtree(out, ignore_errors=True)
    manifest = prepare([str(path)], out, val_fraction=0.5, size=19, workers=1)
    expected = (len(legal), sum(len(r.moves) for r in legal),
                sum(stats.skipped.values()) + len(records) - len(legal))
    got = (manifest["games"], manifest["positions"], sum(manifest["skipped"].values()))
    if got != expected:
        return [("wrong answer", f"prepare gave (games, positions, skipped) {got}, the reader {expected}")]
    return []


def fuzz_sgf(args: argparse.Namespace, findings: Findings) -> dict:
    """The ``sgf`` target; returns its own totals for the report."""
    rng = random.Random(args.seed)
    games = load_games()
    totals = collections.Counter({"pool": len(games)})
    with tempfile.TemporaryDirectory(prefix="gonet-fuzz-") as tmp:
        folder = Path(tmp)
        for i in range(args.inputs):
            item = make_sgf_input(rng, games)
            totals["games in"] += item.games_in
            totals["intact games in"] += len(item.intact)
            findings.tick()
            try:
                problems, stats = check_sgf_input(item, folder, through_prepare=i % args.prepare_every == 0)
            except Exception:  # noqa: BLE001 - a crash is what this looks for
                findings.add("crash", traceback.format_exc(), item.data, item.suffix)
                continue
            totals["games read"] += stats.games
            totals["skipped"] += sum(stats.skipped.values())
            totals["through prepare"] += i % args.prepare_every == 0
            for kind, detail in problems:
                findings.add(kind, detail, item.data, item.suffix)
    return dict(totals)


# ---------------------------------------------------------------- running

TARGETS: dict[str, Callable[[argparse.Namespace, Findings], dict]] = {"sgf": fuzz_sgf}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prepare-every", type=int, default=100, help="every Nth input also through prepare")
    parser.add_argument("--save", type=Path, default=Path(tempfile.gettempdir()) / "gonet-fuzz",
                        help="where inputs that found something are saved")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the reader's warnings (corrupt archives) are expected here

    findings = Findings(args.save / args.target)
    with contextlib.redirect_stderr(io.StringIO()):
        totals = TARGETS[args.target](args, findings)
    seconds = time.perf_counter() - findings.started
    for text in findings.shown:
        print(text)
    extra = ", ".join(f"{key}: {value}" for key, value in totals.items())
    print(f"{args.target}: {findings.inputs} inputs, seed {args.seed}, {seconds:.0f} s "
          f"({findings.inputs / seconds:.0f} inputs/s); {findings.found()}; {extra}")
    return 1 if sum(findings.counts.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
