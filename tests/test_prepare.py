"""gonet prepare: shards replay to the same games, bad records are counted, runs resume."""

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

import gonet.prepare as prepare_module
from gonet.cli import main
from gonet.coords import idx_to_sgf
from gonet.game import Game
from gonet.prepare import prepare
from gonet.sgf import read_records


def random_game_sgf(seed: int, size: int = 9, moves: int = 40) -> str:
    """A legal random game as SGF text."""
    rng = np.random.default_rng(seed)
    g = Game(size)
    nodes = []
    for _ in range(moves):
        legal = np.flatnonzero(g.legal_moves()[:-1])
        idx = int(rng.choice(legal)) if len(legal) else size * size
        nodes.append(f";{'B' if g.to_move == 1 else 'W'}[{idx_to_sgf(idx, size)}]")
        g.play(idx)
    return f"(;GM[1]FF[4]SZ[{size}]KM[7]RE[B+R]{''.join(nodes)})"


@pytest.fixture
def corpus(tmp_path):
    """A folder: 7 good 9x9 games in a collection, one illegal game, one garbage file."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "games.sgf").write_text("\n".join(random_game_sgf(seed) for seed in range(7)))
    (folder / "illegal.sgf").write_text("(;GM[1]SZ[9];B[ee];W[ee])")
    (folder / "garbage.sgf").write_bytes(b"\x00\xff not sgf at all")
    return folder


def load_shards(out):
    return [dict(np.load(path)) for path in sorted((out / "shards").glob("*.npz"))]


def test_prepare_counts_and_shards_replay(corpus, tmp_path):
    """Good games land in shards move for move; the illegal and garbage ones are counted."""
    out = tmp_path / "out"
    manifest = prepare([str(corpus)], out, val_fraction=0.3, size=9, workers=1)
    assert manifest["games"] == 7 and manifest["positions"] == 7 * 40
    assert manifest["skipped"] == {"illegal move": 1, "not text": 1}
    assert manifest["train"]["games"] + manifest["val"]["games"] == 7
    assert json.loads((out / "manifest.json").read_text()) == manifest
    shards = load_shards(out)
    moves = np.concatenate([s["moves"] for s in shards])
    expected = [idx for r in read_records([corpus / "games.sgf"]) for _, idx in r.moves]
    assert moves.tolist() == expected
    shard = shards[0]
    assert shard["game_offsets"][-1] == len(shard["moves"]) and shard["sizes"].tolist() == [9] * 7
    assert set(shard["winner"].tolist()) == {1}


def test_split_is_deterministic_across_chunking_and_workers(corpus, tmp_path, monkeypatch):
    """The val flag of a game depends on the game, not on chunk size or worker count."""
    a = prepare([str(corpus)], tmp_path / "a", val_fraction=0.5, size=9, workers=1)
    monkeypatch.setattr(prepare_module, "CHUNK_GAMES", 2)
    b = prepare([str(corpus)], tmp_path / "b", val_fraction=0.5, size=9, workers=2)
    assert len(b["shards"]) > len(a["shards"])
    flags = [np.concatenate([s["val"] for s in load_shards(tmp_path / d)]).tolist() for d in "ab"]
    assert flags[0] == flags[1] and 0 < sum(flags[0]) < 7
    assert a["val"] == b["val"]


def test_interrupted_run_resumes(corpus, tmp_path, monkeypatch):
    """Chunks finished before an interruption are kept; the rest are redone; totals match."""
    monkeypatch.setattr(prepare_module, "CHUNK_GAMES", 3)
    out = tmp_path / "out"
    full = prepare([str(corpus)], out, size=9, workers=1)
    done = sorted((out / "shards").glob("*.json"))
    assert len(done) >= 3
    done[-1].unlink()  # as if the run was killed before the last chunk finished
    kept = done[0].stat().st_mtime_ns
    calls = []
    real = prepare_module.prepare_chunk
    monkeypatch.setattr(prepare_module, "prepare_chunk", lambda *a: calls.append(a[0].name) or real(*a))
    again = prepare([str(corpus)], out, size=9, workers=1)
    assert calls == [done[-1].stem]
    assert done[0].stat().st_mtime_ns == kept
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in full.items() if k != "seconds"}


def test_resume_with_other_settings_is_refused(corpus, tmp_path):
    out = tmp_path / "out"
    prepare([str(corpus)], out, size=9, workers=1)
    with pytest.raises(ValueError, match="other settings"):
        prepare([str(corpus)], out, size=9, val_fraction=0.5, workers=1)


def test_cli_prepare_prints_summary(corpus, tmp_path, capsys):
    """The CLI prints the one-line skip summary and the split; a missing source is exit 2."""
    assert main(["prepare", str(corpus), "--out", str(tmp_path / "o"), "--size", "9", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "read 7 games, 280 positions; skipped 2 (illegal move: 1, not text: 1)" in printed
    assert main(["prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "o2")]) == 2


def run_result(out) -> tuple[dict, list]:
    """What a prepared folder holds, less timing: the manifest and each listed shard's arrays."""
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.pop("seconds")
    shards = [{key: value.tolist() for key, value in np.load(out / "shards" / f"{s['name']}.npz").items()}
              for s in manifest["shards"]]
    return manifest, shards


def keep_mtime(path, data: bytes) -> None:
    """Rewrite ``path`` with ``data`` and put its mtime back, so that only its content tells."""
    stat = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


CHANGES = {
    # a file sorted before the others: every chunk after it moves (99 lost, 99 doubled in issue 11)
    "file added first": lambda folder: (folder / "aaa.sgf").write_text(random_game_sgf(50) + random_game_sgf(51)),
    "file removed": lambda folder: (folder / "illegal.sgf").unlink(),
    "game appended": lambda folder: (folder / "games.sgf").write_text(
        (folder / "games.sgf").read_text() + random_game_sgf(52)),
    # same size, same mtime: only the content digest sees it
    "move edited in place": lambda folder: keep_mtime(
        folder / "games.sgf", (folder / "games.sgf").read_bytes().replace(b"KM[7]", b"KM[6]", 1)),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_resume_after_the_sources_changed_equals_a_fresh_run(corpus, tmp_path, monkeypatch, change):
    """An interrupted run resumed after its sources changed: no game lost or doubled; the folder
    holds exactly what a fresh run on the new sources gives."""
    monkeypatch.setattr(prepare_module, "CHUNK_GAMES", 3)
    out = tmp_path / "out"
    prepare([str(corpus)], out, size=9, workers=1)
    sorted((out / "shards").glob("*.json"))[-1].unlink()  # interrupted before its last chunk
    CHANGES[change](corpus)
    prepare([str(corpus)], out, size=9, workers=1)
    prepare([str(corpus)], tmp_path / "fresh", size=9, workers=1)
    assert run_result(out) == run_result(tmp_path / "fresh")
    files = [sorted(path.name for path in (folder / "shards").iterdir()) for folder in (out, tmp_path / "fresh")]
    assert files[0] == files[1]  # no stale shard left beside them


def test_source_changed_during_the_run_stops_it(corpus, tmp_path, monkeypatch):
    """A file changed between the scan and its chunk's turn stops the run with a one-line message;
    running again gives the fresh result."""
    monkeypatch.setattr(prepare_module, "CHUNK_GAMES", 3)
    plan = prepare_module.plan_chunks

    def plan_then_edit(*args):
        chunks = plan(*args)
        CHANGES["move edited in place"](corpus)
        return chunks

    monkeypatch.setattr(prepare_module, "plan_chunks", plan_then_edit)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"games\.sgf changed while prepare read it; run the same command again"):
        prepare([str(corpus)], out, size=9, workers=1)
    assert not (out / "manifest.json").exists()
    monkeypatch.setattr(prepare_module, "plan_chunks", plan)
    prepare([str(corpus)], out, size=9, workers=1)
    prepare([str(corpus)], tmp_path / "fresh", size=9, workers=1)
    assert run_result(out) == run_result(tmp_path / "fresh")


def test_redo_interrupted_between_shard_and_marker(corpus, tmp_path, monkeypatch):
    """A chunk redone after a change and killed after its shard but before its marker, then the
    change undone: the old marker was removed first, so it cannot vouch for the new shard."""
    monkeypatch.setattr(prepare_module, "CHUNK_GAMES", 3)
    out = tmp_path / "out"
    prepare([str(corpus)], out, size=9, workers=1)
    games = corpus / "games.sgf"
    original = games.read_bytes()
    keep_mtime(games, original.replace(b"RE[B+R]", b"RE[W+R]"))  # every game: every chunk of the file
    write_json = prepare_module._write_json

    def killed_at_marker(path, data):
        if path.parent.name == "shards":
            raise KeyboardInterrupt
        write_json(path, data)

    monkeypatch.setattr(prepare_module, "_write_json", killed_at_marker)
    with pytest.raises(KeyboardInterrupt):
        prepare([str(corpus)], out, size=9, workers=1)
    monkeypatch.setattr(prepare_module, "_write_json", write_json)
    keep_mtime(games, original)
    prepare([str(corpus)], out, size=9, workers=1)
    prepare([str(corpus)], tmp_path / "fresh", size=9, workers=1)
    assert run_result(out) == run_result(tmp_path / "fresh")


def test_corrupt_archive_and_unreadable_folder_are_counted(corpus, tmp_path, locked_folders):
    """A .tar.gz failing its CRC gives no game to the shards, each counted as "corrupt archive";
    an unreadable sub-folder is counted as "unreadable folder"."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        for i in range(2):
            data = random_game_sgf(60 + i).encode()
            info = tarfile.TarInfo(f"g{i}.sgf")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    blob = gzip.compress(tar.getvalue())
    (corpus / "bad.tar.gz").write_bytes(blob[:-8] + bytes(b ^ 1 for b in blob[-8:-4]) + blob[-4:])  # CRC flipped
    (corpus / "locked").mkdir()
    manifest = prepare([str(corpus)], tmp_path / "out", size=9, workers=1)
    assert manifest["games"] == 7
    assert manifest["skipped"] == {"corrupt archive": 2, "illegal move": 1, "not text": 1, "unreadable folder": 1}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads process states from /proc")
def test_workers_exit_soon_after_kill_9_of_prepare(corpus, tmp_path):
    """kill -9 of prepare: its workers (here stuck in a chunk) are gone within seconds, not minutes."""
    pids = tmp_path / "pids"
    pids.mkdir()
    script = (
        "import os, sys, time\n"
        "import gonet.prepare as p\n"
        "p.CHUNK_GAMES = 1\n"
        "def stuck(chunk, *args):\n"
        "    open(os.path.join(sys.argv[1], str(os.getpid())), 'w').close()\n"
        "    time.sleep(120)\n"
        "p.prepare_chunk = stuck\n"
        "p.prepare([sys.argv[2]], sys.argv[3], size=9, workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(prepare_module.__file__).parents[1])}
    main_process = subprocess.Popen([sys.executable, "-c", script, str(pids), str(corpus), str(tmp_path / "out")],
                                    env=env, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and main_process.poll() is None:
            time.sleep(0.05)
            workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2
        main_process.kill()
        main_process.wait()
        deadline = time.monotonic() + 10  # they check every 0.2 s; slack for a loaded machine
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(alive, workers))
    finally:
        main_process.kill()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
