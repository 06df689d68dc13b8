"""``gonet prepare``: game records → compact, replayable training data on disk.

Why games and not planes: packed 48-plane positions cost 2,166 bytes each (14 GB for KGS
train, 71 GB for Tygem), while a move costs 3 bytes, and the planes are recomputed at
~24,000 positions/s per core in DataLoader workers (docs/benchmarks.md).

Layout of ``OUT``::

    settings.json            sources, board size, val fraction: a resumed run must match
    shards/SSS-GGGGGGGG.npz  the good games of one chunk of one source (see below)
    shards/SSS-GGGGGGGG.json that chunk's read statistics and digest; written last, so it marks "done"
    manifest.json            totals, the train/val split, skip reasons, the shard list; written
                             at the end of a run and removed at the start of one

A shard holds, for G games with M moves and S setup stones in all: ``moves`` int16[M]
(idx, pass = N*N), ``colours`` int8[M], ``game_offsets`` int64[G+1], ``setup`` int16[S],
``setup_colours`` int8[S], ``setup_offsets`` int64[G+1], ``sizes`` uint8[G], ``komi``
float32[G], ``handicap`` uint8[G], ``winner`` int8[G] (+1 Black, -1 White, 0 unknown),
``val`` bool[G] and ``blob_index`` int64[G] (the game's place in its source).

Work is split into chunks of at most ``CHUNK_GAMES`` games, run in parallel processes; an
interrupted run continues where it stopped. The split is by a hash of each game's moves,
so it does not depend on order, chunking or worker count, and duplicate games share a side.

Resuming loses and duplicates nothing, whatever changed in between: every run scans its
sources again and plans its chunks with a digest of each chunk's games (names and bytes). A
finished chunk is kept only if its digest, file and range match the new plan; any other is
redone, its old "done" marker removed before work starts, and shard files outside the plan
are deleted. So a file added to a folder (which shifts the chunks after it), removed, edited
or replaced, even with its size and mtime kept, is noticed. A worker checks the digest of
what it reads too, so a file changed during the run stops it with a message to run it again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import threading
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gonet.game import check_record
from gonet.sgf import (
    GameRecord,
    ReadStats,
    SgfError,
    iter_sgf_blobs,
    parse_game,
    source_files,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CHUNK_GAMES = 2000
_SPLIT_BUCKETS = 1_000_000
_PARENT_CHECK_S = 0.2  # how often a worker checks that prepare still runs: its delay after a kill -9
# a worker's parent must be the prepare process for that check (a forkserver's are not)
_POOL_CONTEXT = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


@dataclass(frozen=True)
class Chunk:
    """Games ``start <= i < stop`` of file number ``source_index`` of the run."""

    source: str
    source_index: int
    start: int
    stop: int
    digest: str  # of the chunk's games, names and bytes (see chunk_digest)

    @property
    def name(self) -> str:
        return f"{self.source_index:03d}-{self.start:08d}"


def is_val(record: GameRecord, val_fraction: float) -> bool:
    """Deterministic train/val split of a game by a CRC of its moves."""
    key = np.array(record.moves, dtype=np.int16).tobytes()
    return zlib.crc32(key) % _SPLIT_BUCKETS < val_fraction * _SPLIT_BUCKETS


def winner(result: str | None) -> int:
    """+1 for ``B+...``, -1 for ``W+...``, 0 for anything else (draws, void, unknown)."""
    text = (result or "").strip().upper()
    return 1 if text.startswith("B+") else -1 if text.startswith("W+") else 0


def chunk_digest(blobs: Iterable[tuple[str, bytes]]) -> str:
    """A digest of a chunk's games, names and bytes: what a finished chunk must still match."""
    digest = hashlib.blake2b(digest_size=16)
    for name, data in blobs:
        digest.update(f"{len(name)}:{name}{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def plan_chunks(sources: list[str], stats: ReadStats) -> list[Chunk]:
    """Read the games of each file of the sources (unparsed) and cut them into chunks."""
    files = [str(file) for source in sources for file in source_files(source, stats)]
    chunks = []
    for index, source in enumerate(tqdm(files, desc="scanning", unit="file", leave=False)):
        blobs = iter_sgf_blobs(source, stats)
        start = 0
        while batch := list(itertools.islice(blobs, CHUNK_GAMES)):
            chunks.append(Chunk(source, index, start, start + len(batch), chunk_digest(batch)))
            start += len(batch)
    return chunks


def prepare_chunk(chunk: Chunk, out: Path, val_fraction: float, size: int) -> dict:
    """Parse, check and store one chunk; returns its read statistics (a dict).

    Raises ValueError if the chunk's games are no longer those planned (its file changed).
    """
    stats = ReadStats()
    games: list[tuple[int, GameRecord]] = []
    blobs = list(itertools.islice(iter_sgf_blobs(chunk.source, ReadStats()), chunk.start, chunk.stop))
    if chunk_digest(blobs) != chunk.digest:
        raise ValueError(f"{chunk.source} changed while prepare read it; run the same command again "
                         "to redo what changed")
    for index, (name, data) in enumerate(blobs, start=chunk.start):
        try:
            record = parse_game(data, name, size=size)
        except SgfError as e:
            stats.skip(e.reason, name, e.detail)
            continue
        why = check_record(record)
        if why is not None:
            stats.skip("illegal move", name, why)
            continue
        stats.games += 1
        stats.positions += len(record.moves)
        games.append((index, record))
    _write_shard(out / "shards" / f"{chunk.name}.npz", games, val_fraction)
    result = {"chunk": chunk.name, "source": chunk.source, "start": chunk.start, "stop": chunk.stop,
              "digest": chunk.digest, "val_games": sum(is_val(r, val_fraction) for _, r in games),
              "val_positions": sum(len(r.moves) for _, r in games if is_val(r, val_fraction)),
              **stats.to_dict()}
    _write_json(out / "shards" / f"{chunk.name}.json", result)
    return result


def _write_shard(path: Path, games: list[tuple[int, GameRecord]], val_fraction: float) -> None:
    records = [record for _, record in games]
    moves = [np.array(r.moves, dtype=np.int64).reshape(-1, 2) for r in records]
    setup = [np.array(r.setup, dtype=np.int64).reshape(-1, 2) for r in records]
    all_moves = np.concatenate(moves) if moves else np.zeros((0, 2), dtype=np.int64)
    all_setup = np.concatenate(setup) if setup else np.zeros((0, 2), dtype=np.int64)
    arrays = {
        "moves": all_moves[:, 1].astype(np.int16),
        "colours": all_moves[:, 0].astype(np.int8),
        "game_offsets": np.cumsum([0] + [len(m) for m in moves], dtype=np.int64),
        "setup": all_setup[:, 1].astype(np.int16),
        "setup_colours": all_setup[:, 0].astype(np.int8),
        "setup_offsets": np.cumsum([0] + [len(s) for s in setup], dtype=np.int64),
        "sizes": np.array([r.size for r in records], dtype=np.uint8),
        "komi": np.array([r.komi for r in records], dtype=np.float32),
        "handicap": np.array([min(r.handicap, 255) for r in records], dtype=np.uint8),
        "winner": np.array([winner(r.result) for r in records], dtype=np.int8),
        "val": np.array([is_val(r, val_fraction) for r in records], dtype=bool),
        "blob_index": np.array([index for index, _ in games], dtype=np.int64),
    }
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)


def _check_settings(out: Path, settings: dict) -> None:
    """Start a new run, or refuse to resume one made with other settings."""
    path = out / "settings.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old != settings:
            raise ValueError(f"{out} holds a run with other settings ({old}); use a new --out")
    else:
        _write_json(path, settings)


def prepare(sources: list[str], out: str | os.PathLike, val_fraction: float = 0.01, size: int = 19,
            workers: int | None = None) -> dict:
    """Turn ``sources`` into training data in ``out`` (resuming a run there); returns the manifest."""
    out = Path(out)
    sources = [str(Path(s).resolve()) for s in sources]
    for source in sources:
        if not Path(source).exists():
            raise FileNotFoundError(f"SGF source not found: {source}")
    (out / "shards").mkdir(parents=True, exist_ok=True)
    _check_settings(out, {"format": FORMAT_VERSION, "sources": sources, "size": size,
                          "val_fraction": val_fraction})
    started = time.time()
    (out / "manifest.json").unlink(missing_ok=True)  # stands for a finished run only
    unreadable = ReadStats()
    chunks = plan_chunks(sources, unreadable)
    results, todo = _resume(out / "shards", chunks)
    total = sum(c.stop - c.start for c in chunks)
    bar = tqdm(total=total, initial=total - sum(c.stop - c.start for c in todo), desc="prepare", unit="game")
    workers = workers or min(os.cpu_count() or 1, max(len(todo), 1))
    if workers == 1:
        finished = (prepare_chunk(c, out, val_fraction, size) for c in todo)
        pool = None
    else:
        pool = ProcessPoolExecutor(workers, mp_context=_POOL_CONTEXT, initializer=_watch_parent,
                                   initargs=(os.getpid(),))
        finished = pool.map(prepare_chunk, todo, itertools.repeat(out), itertools.repeat(val_fraction),
                            itertools.repeat(size))
    try:
        for result in finished:
            results[result["chunk"]] = result
            bar.update(result["stop"] - result["start"])
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    manifest = _manifest(sources, val_fraction, size, chunks, results, unreadable)
    manifest["seconds"] = round(time.time() - started, 1)
    _write_json(out / "manifest.json", manifest)
    return manifest


def _resume(shards: Path, chunks: list[Chunk]) -> tuple[dict[str, dict], list[Chunk]]:
    """The results of the chunks finished earlier and still valid, and the chunks to do.

    A finished chunk counts only if its digest, file and range are those planned now. The
    markers of the chunks to do, and every shard file outside the plan, are removed first:
    a stale marker must never meet a rewritten shard, whatever is interrupted next.
    """
    results, todo = {}, []
    changed = 0  # finished chunks no longer valid
    for chunk in chunks:
        done = shards / f"{chunk.name}.json"
        result = json.loads(done.read_text()) if done.exists() else None
        if result is not None and all(result.get(key) == value for key, value in asdict(chunk).items()
                                      if key != "source_index"):
            results[chunk.name] = result
            continue
        if result is not None:
            changed += 1
            done.unlink()
        todo.append(chunk)
    planned = {f"{chunk.name}{suffix}" for chunk in chunks for suffix in (".npz", ".json")}
    for path in shards.iterdir():
        if path.name not in planned:
            changed += path.suffix == ".json"
            path.unlink()
    if changed:
        logger.warning("%s: the sources changed since the last run there; %d finished chunks kept, %d to do",
                       shards.parent, len(results), len(todo))
    return results, todo


def _watch_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as the prepare process is gone.

    ProcessPoolExecutor does not: after a ``kill -9`` of prepare its workers lived on for
    minutes. A thread checks the parent's pid, portably (no prctl) and at no measurable cost.
    """
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="watch-parent", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    os._exit(1)  # shards are written whole or not at all (a .tmp file), so nothing needs cleaning up


def _manifest(sources, val_fraction, size, chunks, results, unreadable: ReadStats) -> dict:
    stats = ReadStats()
    stats.merge(unreadable)
    val_games = val_positions = 0
    shards = []
    for chunk in chunks:
        r = results[chunk.name]
        part = ReadStats(games=r["games"], positions=r["positions"])
        part.skipped.update(r["skipped"])
        stats.merge(part)
        val_games += r["val_games"]
        val_positions += r["val_positions"]
        shards.append({"name": chunk.name, "source": r["source"], "games": r["games"], "positions": r["positions"]})
    return {
        "format": FORMAT_VERSION,
        "sources": sources,
        "size": size,
        "val_fraction": val_fraction,
        "games": stats.games,
        "positions": stats.positions,
        "train": {"games": stats.games - val_games, "positions": stats.positions - val_positions},
        "val": {"games": val_games, "positions": val_positions},
        "skipped": dict(sorted(stats.skipped.items())),
        "summary": stats.summary(),
        "shards": shards,
    }
