"""Model files, inference and evaluation."""

import collections

import numpy as np
import pytest
import torch

from gonet.cli import main
from gonet.coords import vertex_to_idx
from gonet.evaluate import evaluate
from gonet.game import Game, check_record
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import (
    ModelFileError,
    Policy,
    default_model_path,
    load_net,
    load_policy,
    save_model,
)
from gonet.sgf import read_records

FIXTURES = ["data/sgf"]


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return PolicyNet(PolicyConfig(filters=8, layers=3, **kw))


def test_round_trip_keeps_config_and_outputs(tmp_path):
    """Saved fp16 and loaded back, the net gives the same logits (to fp16 precision)."""
    net = tiny(feature_set="board_history")
    path = save_model(net, tmp_path / "m.pt", meta={"note": "x"})
    loaded, meta = load_net(path)
    assert loaded.config == net.config and meta == {"note": "x"}
    x = torch.rand(2, 12, 19, 19)
    assert torch.allclose(loaded(x), net(x), atol=2e-2)


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable model file"),
    (b"garbage bytes, not a zip", "not a readable model file"),
])
def test_corrupt_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_net(path)


def test_truncated_wrong_and_mismatched_files_are_refused(tmp_path):
    good = save_model(tiny(), tmp_path / "good.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load_net(cut)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ModelFileError, match="not a gonet policy model"):
        load_net(other)
    blob = torch.load(good, weights_only=True)
    torch.save({**blob, "version": 99}, other)
    with pytest.raises(ModelFileError, match="version 99"):
        load_net(other)
    torch.save({**blob, "config": {**blob["config"], "filters": 16}}, other)
    with pytest.raises(ModelFileError, match="do not fit"):
        load_net(other)
    with pytest.raises(ModelFileError, match="no such model file"):
        load_net(tmp_path / "missing.pt")


def test_predict_masks_illegal_moves_and_batches():
    """Probabilities sum to 1 over legal points; occupied points and pass get 0."""
    policy = Policy(tiny())
    game = Game(19)
    game.play(vertex_to_idx("D4", 19))
    probs = policy.predict(game)
    assert probs.shape == (362,) and abs(probs.sum() - 1) < 1e-5
    assert probs[vertex_to_idx("D4", 19)] == 0 and probs[361] == 0
    batch = policy.predict([game, Game(19)])
    assert batch.shape == (2, 362) and np.allclose(batch[0], probs)
    averaged = policy.predict(game, symmetries=8)
    assert abs(averaged.sum() - 1) < 1e-5 and averaged[vertex_to_idx("D4", 19)] == 0
    small = policy.predict(Game(9), symmetries=8)  # other sizes play through the mapped bias
    assert small.shape == (82,) and abs(small.sum() - 1) < 1e-5
    with pytest.raises(ValueError, match="one board size"):
        policy.predict([game, Game(9)])


def test_symmetry_average_of_a_symmetric_net_is_unchanged():
    """A net whose output is a function of the point's symmetry class only (bias-free convs
    of zero weight + a symmetric bias) predicts the same with 1 or 8 symmetries."""
    net = tiny()
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        rows = torch.arange(19.0)
        dist = torch.minimum(rows, 18 - rows)
        net.point_bias.copy_((dist[:, None] + dist[None, :]).flatten() * 0.1)
    policy = Policy(net)
    game = Game(19)
    assert np.allclose(policy.predict(game), policy.predict(game, symmetries=8), atol=1e-5)


def test_eval_on_fixtures_matches_hand_count(tmp_path):
    """A fixed model that always ranks the same 5 points: top-1, top-5 and log-likelihood
    equal what counting the fixture's moves gives."""
    records = [r for r in read_records(FIXTURES, size=19) if check_record(r) is None]
    moves = [idx for r in records for _, idx in r.moves if idx != 361]
    common = [idx for idx, _ in collections.Counter(moves).most_common(5)]
    net = tiny()
    bias = torch.full((361,), -5.0)
    bias[common] = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])
    with torch.no_grad():
        net.head.weight.zero_()
        net.point_bias.copy_(bias)
    path = save_model(net, tmp_path / "fixed.pt", half=False)
    result = evaluate(load_policy(path), FIXTURES, progress=False)
    logp = torch.log_softmax(bias, 0)
    assert result["positions"] == len(moves)
    assert result["top1"] == pytest.approx(moves.count(common[0]) / len(moves))
    assert result["top5"] == pytest.approx(sum(m in common for m in moves) / len(moves))
    assert result["loglik"] == pytest.approx(float(np.mean([logp[m] for m in moves])), abs=1e-4)
    sample = evaluate(load_policy(path), FIXTURES, max_positions=10, progress=False)
    assert sample["positions"] <= 10


def test_eval_cli_json(tmp_path, capsys):
    path = save_model(tiny(), tmp_path / "m.pt")
    assert main(["eval", *FIXTURES, "--model", str(path), "--json"]) == 0
    import json

    result = json.loads(capsys.readouterr().out)
    assert {"top1", "top5", "positions"} <= result.keys() and result["positions"] > 0


def test_shipped_model_loads_and_plays():
    """The package ships a 19x19 model that gonet gtp and the board use by default."""
    assert default_model_path().exists()
    policy = load_policy()
    assert policy.board_size == 19 and policy.config.feature_set == "full"
    probs = policy.predict(Game(19))
    assert abs(probs.sum() - 1) < 1e-4
