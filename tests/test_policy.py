"""Model files, inference and evaluation."""

import collections
import json

import numpy as np
import pytest
import torch

from gonet.cli import main
from gonet.coords import vertex_to_idx
from gonet.evaluate import evaluate
from gonet.features import position_planes, side_komi, symmetry_planes, value_target
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
from gonet.prepare import winner
from gonet.sgf import game_to_sgf, read_records

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


def komi_only_value_net() -> PolicyNet:
    """A tiny net whose value is tanh(komi / 7.5) of the komi input alone."""
    net = tiny(value_head=True)
    head = net.value_head
    with torch.no_grad():
        for p in head.parameters():
            p.zero_()
        head.hidden.weight[0, -1], head.hidden.weight[1, -1] = 1.0, -1.0  # relu(+k), relu(-k)
        head.out.weight[0, :2] = torch.tensor([1.0, -1.0])
    return net


def test_evaluate_values_follow_the_side_to_move_and_komi():
    """Values are from the side to move's view: with komi 7.5 a komi-only head gives Black to
    move tanh(-1) and White to move tanh(+1); reverse komi flips both; no komi gives 0."""
    policy = Policy(komi_only_value_net())
    assert policy.has_value
    black_to_move = Game(19, komi=7.5)
    white_to_move = Game(19, komi=7.5)
    white_to_move.play(vertex_to_idx("D4", 19))
    reverse = Game(19, komi=-7.5)
    _, values = policy.evaluate([black_to_move, white_to_move, reverse, Game(19, komi=0)])
    assert np.allclose(values, np.tanh([-1.0, 1.0, 1.0, 0.0]), atol=1e-6)


def test_evaluate_is_one_forward_pass_over_all_symmetries():
    """evaluate(games, symmetries=8): one net call on 8x the batch; its probabilities are
    predict's and its value is the mean of the 8 transformed positions' values."""
    torch.manual_seed(1)
    net = tiny(value_head=True)
    with torch.no_grad():
        net.value_head.conv.weight.normal_()
    policy = Policy(net)
    game = Game(19, komi=6.5)
    for vertex in ("D4", "Q16", "C3"):
        game.play(vertex_to_idx(vertex, 19))
    calls = []
    hook = net.register_forward_hook(lambda m, inputs, out: calls.append(inputs[0].shape[0]))
    probs, values = policy.evaluate([game, Game(19)], symmetries=8)
    hook.remove()
    assert calls == [16] and probs.shape == (2, 362) and values.shape == (2,)
    assert np.allclose(probs, policy.predict([game, Game(19)], symmetries=8), atol=1e-6)
    planes = torch.from_numpy(np.stack([np.ascontiguousarray(symmetry_planes(position_planes(game), k))
                                        for k in range(8)])).float()
    with torch.no_grad():
        _, each = net(planes, torch.full((8,), 6.5))  # White to move receives the komi
    assert values[0] == pytest.approx(float(each.mean()), abs=1e-5)
    assert len(set(np.round(each.numpy(), 6))) > 1  # the symmetries do differ


def test_old_model_files_load_without_a_value_head(tmp_path):
    """A model file from before value heads (no ``value_head`` in its config) loads and
    plays; evaluate gives its probabilities and values of 0."""
    path = save_model(tiny(), tmp_path / "old.pt")
    blob = torch.load(path, weights_only=True)
    del blob["config"]["value_head"]
    torch.save(blob, path)
    policy = load_policy(path)
    assert not policy.has_value
    probs, values = policy.evaluate([Game(19), Game(19, komi=0.5)])
    assert np.array_equal(values, np.zeros(2)) and np.allclose(probs[0], policy.predict(Game(19)))


def test_round_trip_with_a_value_head(tmp_path):
    """The config flag and the value_head.* weights survive save/load: same logits and values."""
    net = tiny(value_head=True)
    path = save_model(net, tmp_path / "v.pt")
    blob = torch.load(path, weights_only=True)
    assert blob["config"]["value_head"] is True and any(k.startswith("value_head.") for k in blob["state_dict"])
    loaded, _ = load_net(path)
    x, komi = torch.rand(3, 48, 19, 19), torch.tensor([7.5, -7.5, 0.5])
    (logits, values), (logits2, values2) = loaded(x, komi), net(x, komi)
    assert torch.allclose(logits, logits2, atol=2e-2) and torch.allclose(values, values2, atol=1e-2)


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
    with pytest.raises(ValueError, match="plays 19x19"):
        policy.predict(Game(9))


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


def test_eval_value_on_fixtures_matches_hand_count(tmp_path):
    """With a value head, eval reports the value's MSE against z and how often its sign is the
    winner, over the positions of games with a result (passes.sgf's RE[0] is masked): equal to
    counting by hand with the komi-only head's v = tanh(side komi / 7.5)."""
    path = save_model(komi_only_value_net(), tmp_path / "v.pt", half=False)
    result = evaluate(load_policy(path), FIXTURES, progress=False)
    errors, right = [], []
    for record in read_records(FIXTURES, size=19):
        if check_record(record) is None and winner(record.result) != 0:
            for colour, idx in record.moves:
                if idx != 361:
                    v, z = np.tanh(side_komi(record.komi, colour) / 7.5), value_target(winner(record.result), colour)
                    errors.append((v - z) ** 2)
                    right.append(np.sign(v) == z)
    value = result["value"]
    assert value["positions"] == len(errors) > 0 and value["positions"] < result["positions"]
    assert value["mse"] == pytest.approx(np.mean(errors), abs=1e-5)
    assert value["winner_accuracy"] == pytest.approx(np.mean(right))
    assert value["phases"]["0-50"]["positions"] == len(errors) and value["phases"]["150+"]["mse"] is None
    assert "value" not in evaluate(load_policy(save_model(tiny(), tmp_path / "p.pt")), FIXTURES, progress=False)


def test_eval_value_phases_split_by_moves_played(tmp_path, capsys):
    """A 200-move game: positions after 0-49 moves, 50-149 and 150+ fall in the three phases,
    in the JSON and in the text report."""
    rng = np.random.default_rng(0)
    game = Game(19, komi=6.5)
    for _ in range(200):
        game.play(int(rng.choice(np.flatnonzero(game.legal_moves()[:-1]))))
    record = game.to_record()
    record.result = "B+R"
    (tmp_path / "long.sgf").write_text(game_to_sgf(record))
    model = save_model(komi_only_value_net(), tmp_path / "v.pt")
    assert main(["eval", str(tmp_path / "long.sgf"), "--model", str(model), "--json"]) == 0
    phases = json.loads(capsys.readouterr().out)["value"]["phases"]
    assert [phases[name]["positions"] for name in ("0-50", "50-150", "150+")] == [50, 100, 50]
    assert main(["eval", str(tmp_path / "long.sgf"), "--model", str(model)]) == 0
    text = capsys.readouterr().out
    assert "value, moves   150+:     50 positions" in text and "MSE" in text


def test_eval_cli_json(tmp_path, capsys):
    path = save_model(tiny(), tmp_path / "m.pt")
    assert main(["eval", *FIXTURES, "--model", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"top1", "top5", "positions"} <= result.keys() and result["positions"] > 0 and "value" not in result


def test_shipped_model_loads_and_plays():
    """The package ships a 19x19 model that gonet gtp and the board use by default."""
    assert default_model_path().exists()
    policy = load_policy()
    assert policy.board_size == 19 and policy.config.feature_set == "full"
    probs = policy.predict(Game(19))
    assert abs(probs.sum() - 1) < 1e-4
