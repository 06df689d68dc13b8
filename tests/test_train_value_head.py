"""scripts/train_value_head.py: the trunk-feature cache resumes chunk by chunk, and a head
trained on several caches leaves the policy weights bit-identical."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_prepare import random_game_sgf

from gonet.nets import PolicyConfig, PolicyNet, ValueHead
from gonet.policy import load_net, save_model
from gonet.prepare import prepare

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_value_head.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("train_value_head", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """10 random 9x9 games of 30 moves, half won by each colour, prepared with none held out,
    and a tiny 9x9 policy model."""
    root = tmp_path_factory.mktemp("value")
    games = [random_game_sgf(seed, moves=30).replace("RE[B+R]", f"RE[{'BW'[seed % 2]}+R]") for seed in range(10)]
    (root / "games.sgf").write_text("\n".join(games))
    prepare([str(root / "games.sgf")], root / "prepared", val_fraction=0.0, size=9, workers=1)
    torch.manual_seed(0)
    save_model(PolicyNet(PolicyConfig(filters=8, layers=3, board_size=9)), root / "tiny.pt")
    return root


def run(script, monkeypatch, *argv: str) -> None:
    monkeypatch.setattr(sys, "argv", ["train_value_head.py", "--threads", "1", *argv])
    script.main()


def test_cache_resumes_and_head_trains_on_several_caches(script, corpus, tmp_path, monkeypatch):
    """Chunks of 4 positions: a cache of 10 positions is 3 chunks, written in one run (a
    shadowed variable once crashed the second chunk); a deleted chunk is redone identically
    on a rerun; ``train`` on two caches writes a model whose policy is the base's."""
    monkeypatch.setattr(script, "CHUNK", 4)
    model = str(corpus / "tiny.pt")
    first, second = tmp_path / "a", tmp_path / "b"
    run(script, monkeypatch, "cache", str(corpus / "prepared"), "--per-game", "1", "--out", str(first),
        "--model", model, "--batch-size", "3")
    chunks = sorted(first.glob("chunk-*.npy"))
    assert [np.load(c).shape for c in chunks] == [(4, 8, 9, 9), (4, 8, 9, 9), (2, 8, 9, 9)]
    kept = np.load(chunks[1])
    chunks[1].unlink()
    run(script, monkeypatch, "cache", str(corpus / "prepared"), "--per-game", "1", "--out", str(first),
        "--model", model, "--batch-size", "3")
    assert np.array_equal(np.load(chunks[1]), kept)
    run(script, monkeypatch, "cache", str(corpus / "prepared"), "--per-game", "2", "--out", str(second),
        "--model", model, "--seed", "1")
    out = tmp_path / "value.pt"
    run(script, monkeypatch, "train", str(first), str(second), "--out", str(out), "--model", model,
        "--epochs", "2", "--directions", "4")
    net, meta = load_net(out)
    base, _ = load_net(model)
    assert net.config.value_head and meta["value"]["caches"] == [str(first.resolve()), str(second.resolve())]
    assert meta["value"]["positions"] + meta["value"]["holdout_positions"] == 10 + 20
    assert all(torch.equal(value, net.state_dict()[key]) for key, value in base.state_dict().items())
    towered = tmp_path / "tower.pt"  # a base that has a value head already gets the new one in its place
    run(script, monkeypatch, "train", str(first), "--out", str(towered), "--model", str(out), "--epochs", "2",
        "--directions", "4", "--tower", "1", "--cosine")
    net, meta = load_net(towered)
    assert net.config.value_tower == 1 and meta["value"]["tower"] == 1 and meta["value"]["cosine"]
    assert all(torch.equal(value, net.state_dict()[key]) for key, value in base.state_dict().items())


@pytest.mark.parametrize("tower", [0, 2])
def test_a_head_trained_on_principal_directions_folds_back_exactly(script, tower):
    """The head is trained on features projected on m principal directions; the k-channel
    head written to the model file must give the same values on the unprojected features."""
    torch.manual_seed(0)
    channels, m = 12, 5
    directions = torch.randn(m, channels)
    small = ValueHead(m, tower=tower)
    features, komi = torch.randn(3, channels, 9, 9), torch.tensor([7.5, -7.5, 0.5])
    full = script.full_head(small, directions, channels)
    projected = torch.einsum("bchw,mc->bmhw", features, directions)
    with torch.no_grad():
        assert torch.allclose(full(features, komi), small(projected, komi), atol=1e-5)
    assert isinstance(full.tower, torch.nn.Identity) == (tower == 0)
