"""gonet prepare: shards replay to the same games, bad records are counted, runs resume."""

import json

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
