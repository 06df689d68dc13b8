"""Model files, inference and evaluation."""

import collections
import json
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gonet.cli import main
from gonet.coords import vertex_to_idx
from gonet.evaluate import evaluate
from gonet.features import position_planes, side_komi, symmetry_planes, value_target
from gonet.game import Game, check_record, winner
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import (
    ModelFileError,
    Policy,
    content_checksum,
    default_model_path,
    load_net,
    load_policy,
    peek_model,
    save_model,
)
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


def test_a_value_tower_round_trips_and_older_files_load_without_one(tmp_path):
    """``value_tower`` is saved in the config and its convs in the state dict; a model file
    written before the field existed (no ``value_tower`` key) loads with a plain head."""
    net = tiny(value_head=True, value_tower=2)
    loaded, _ = load_net(save_model(net, tmp_path / "t.pt"))
    x, komi = torch.rand(2, 48, 19, 19), torch.tensor([7.5, -7.5])
    assert loaded.config.value_tower == 2
    assert torch.allclose(loaded(x, komi)[1], net(x, komi)[1], atol=2e-2)
    plain = tiny(value_head=True)
    blob = torch.load(save_model(plain, tmp_path / "p.pt"), weights_only=True)
    del blob["config"]["value_tower"]
    rewrite(tmp_path / "p.pt", tmp_path / "old.pt", config=blob["config"])
    old, _ = load_net(tmp_path / "old.pt")
    assert old.config == plain.config and isinstance(old.value_head.tower, torch.nn.Identity)


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


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    return save_model(tiny(), tmp_path_factory.mktemp("good") / "good.pt")


def test_checksum_is_stored_and_older_files_still_load(tmp_path, good_model):
    """Version 2 files carry the weights' SHA-256; a version 1 file (no checksum, as
    written before) loads to the same weights."""
    blob = torch.load(good_model, weights_only=True)
    assert blob["version"] == 2 and blob["sha256"] == content_checksum(blob["state_dict"])
    old = tmp_path / "v1.pt"
    torch.save({k: v for k, v in {**blob, "version": 1}.items() if k != "sha256"}, old)
    assert all(torch.equal(a, b) for a, b in zip(load_net(old)[0].state_dict().values(),
                                                  load_net(good_model)[0].state_dict().values()))


def test_checksum_covers_every_tensor_generically():
    """Any tensor of the state dict counts (e.g. a value head's), by name, dtype, shape and value."""
    base = {"a": torch.zeros(3), "value_head.w": torch.ones(2, 2)}
    variants = [{**base, "extra": torch.zeros(1)}, {**base, "a": torch.zeros(3, dtype=torch.float16)},
                {**base, "value_head.w": torch.ones(4)}, {**base, "a": torch.tensor([0.0, 0.0, 1e-8])},
                {"b": base["a"], "value_head.w": base["value_head.w"]}]
    assert len({content_checksum(base)} | {content_checksum(v) for v in variants}) == 1 + len(variants)
    assert content_checksum(dict(reversed(base.items()))) == content_checksum(base)


def rewrite(good, path, **changes) -> None:
    """``good``'s dict with ``changes``, saved by torch (so the zip CRCs are valid again)."""
    torch.save({**torch.load(good, weights_only=True), **changes}, path)


def test_damaged_weights_and_nan_are_refused(tmp_path, good_model):
    """Weights altered behind the checksum, a version 2 file without one, NaN or infinity:
    each refused with a one-line reason."""
    blob = torch.load(good_model, weights_only=True)
    state = dict(blob["state_dict"])
    altered = {**state, "point_bias": state["point_bias"] + 1}
    nan = {**state, "point_bias": torch.full_like(state["point_bias"], float("nan"))}
    cases = [({"state_dict": altered}, "checksum mismatch"),
             ({"sha256": None}, "checksum mismatch"),
             ({"state_dict": nan, "sha256": content_checksum(nan)}, "point_bias hold NaN or infinity"),
             ({"state_dict": nan, "version": 1}, "NaN or infinity"),
             ({"state_dict": {**state, "head.weight": [1, 2]}}, "no state_dict of tensors")]
    for i, (changes, message) in enumerate(cases):
        path = tmp_path / f"bad{i}.pt"
        rewrite(good_model, path, **changes)
        with pytest.raises(ModelFileError, match=message) as error:
            load_net(path)
        assert "\n" not in str(error.value)


def test_value_head_weights_are_under_the_checksum(tmp_path):
    """A value head's tensors are covered like the rest: altering one is refused."""
    path = save_model(tiny(value_head=True), tmp_path / "v.pt")
    state = torch.load(path, weights_only=True)["state_dict"]
    name = next(k for k in state if k.startswith("value_head."))
    rewrite(path, tmp_path / "bad.pt", state_dict={**state, name: state[name] + 1})
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_net(tmp_path / "bad.pt")


def test_unsafe_pickle_is_refused_without_torch_advice(tmp_path, good_model, capsys):
    """A model whose pickle names a class weights_only refuses: one line, and never torch's
    advice to pass weights_only=False (that would run arbitrary code)."""
    path = tmp_path / "unsafe.pt"
    rewrite(good_model, path, meta={"note": pathlib.PurePosixPath("x")})
    with pytest.raises(ModelFileError, match="Unsupported global") as error:
        load_net(path)
    assert "weights_only" not in str(error.value) and "\n" not in str(error.value)
    assert main(["eval", *FIXTURES, "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "weights_only" not in err and err.startswith("gonet eval: ")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_model_files_are_refused_in_one_line(tmp_path_factory, good_model, data):
    """Truncated, byte-flipped or zero-filled model files: refused with one line, or (a flip
    in the zip's padding) loaded with exactly the original weights. Never wrong weights."""
    raw = bytearray(good_model.read_bytes())
    kind = data.draw(st.sampled_from(["truncate", "flip", "zeros"]))
    if kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        start = data.draw(st.integers(0, len(raw) - 1))
        for i in range(start, min(len(raw), start + data.draw(st.integers(1, 64)))):
            raw[i] = 0 if kind == "zeros" else raw[i] ^ data.draw(st.integers(1, 255))
    path = tmp_path_factory.mktemp("fuzz") / "m.pt"
    path.write_bytes(bytes(raw))
    try:
        net, _ = load_net(path)
    except ModelFileError as e:
        assert "\n" not in str(e) and "weights_only" not in str(e)
        return
    original, _ = load_net(good_model)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), original.state_dict().values()))


def test_peek_reads_the_header_without_tensors(good_model):
    """The torch-free peek gives format, version and config (what GTP needs at start-up)."""
    blob = peek_model(good_model)
    assert blob["config"]["board_size"] == 19 and blob["version"] == 2
    json.dumps(blob["config"])  # plain data, no tensors


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
    """evaluate(games, symmetries=8): one trunk pass on 8x the batch; its probabilities are
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
    hook = net.body.register_forward_hook(lambda m, inputs, out: calls.append(inputs[0].shape[0]))
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
    assert torch.load(default_model_path(), weights_only=True)["version"] == 2  # with a checksum
    policy = load_policy()
    assert policy.board_size == 19 and policy.config.feature_set == "full"
    probs = policy.predict(Game(19))
    assert abs(probs.sum() - 1) < 1e-4


def test_bf16_plays_the_fp32_moves_with_fp32_values():
    """``precision="bf16"`` runs the trunk in bfloat16 (2x faster on CPUs that have it) and
    the value head in fp32: the same best moves and values within bf16's rounding."""
    torch.manual_seed(3)
    net = tiny(value_head=True)
    with torch.no_grad():
        net.value_head.conv.weight.normal_()
    games = [Game(19, komi=6.5), Game(19, komi=7.5)]
    games[1].play(vertex_to_idx("Q16", 19))
    (p32, v32), (p16, v16) = (Policy(net, precision=p).evaluate(games) for p in ("fp32", "bf16"))
    assert np.array_equal(p32.argmax(axis=1), p16.argmax(axis=1))
    assert np.allclose(p32, p16, atol=2e-2) and np.allclose(v32, v16, atol=2e-2)
    assert not np.array_equal(p32, p16)  # bf16 did run
    assert v16.dtype == np.float32


def test_auto_precision_follows_the_hardware(monkeypatch):
    """``auto`` is bf16 only where :func:`bf16_is_fast` says the device runs it natively; a
    precision that is not one of the three is refused in one line."""
    import gonet.policy

    for fast, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(gonet.policy, "bf16_is_fast", lambda device, fast=fast: fast)
        assert Policy(tiny()).precision == expected
        assert Policy(tiny(), precision="fp32").precision == "fp32"
    with pytest.raises(ValueError, match="precision 'fp16': choose one of auto, fp32, bf16"):
        Policy(tiny(), precision="fp16")
