"""Conv core and the policy net's architecture."""

import subprocess
import sys

import pytest
import torch

from gonet.nets import PolicyConfig, PolicyNet, conv_core, parameter_count, resized_point_bias


def test_conv_core_reproduces_hand_computed_cross_correlation():
    """A 6x6 input with a vertical edge and a 3x3 edge kernel, 'valid' padding: the 4x4
    output computed by hand (cross-correlation, no kernel flip)."""
    core = conv_core(1, [1], 3, padding=0, final_relu=False)
    conv = core[0]
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[[1.0, 0.0, -1.0]] * 3]]))
        conv.bias.zero_()
    x = torch.tensor([[10.0, 10, 10, 0, 0, 0]] * 6)[None, None]
    # each output = sum over 3 rows of (x[c] - x[c+2]): columns 0..3 -> 0, 30, 30, 0
    expected = torch.tensor([[0.0, 30, 30, 0]] * 4)
    assert torch.equal(core(x)[0, 0], expected)


def test_conv_core_stages_1d_and_2d():
    """Widths, kernel sizes, pooling and batch norm produce the expected stack and shapes."""
    core = conv_core(3, [8, 16], [5, 3], dim=1, padding="same", norm="batch", pool=2)
    kinds = [type(m).__name__ for m in core]
    assert kinds == ["Conv1d", "BatchNorm1d", "ReLU", "MaxPool1d"] * 2
    assert core(torch.zeros(2, 3, 40)).shape == (2, 16, 10)
    with pytest.raises(ValueError):
        conv_core(1, [4, 4], [3])


def test_nets_loads_without_the_go_engine():
    """nets.py (shared by the MNIST and speech models) loads neither the rules engine nor
    Numba: a fresh interpreter that imports it has none of them in ``sys.modules``."""
    code = ("import sys, gonet.nets; "
            "print(sorted(m for m in sys.modules if m.startswith(('numba', 'gonet.board', 'gonet.features'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_policy_net_shape_and_layers():
    """13 layers: a 5x5 conv, 11 3x3 convs, a 1x1 conv; (B, 48, 19, 19) -> (B, 361)."""
    net = PolicyNet(PolicyConfig(filters=8, layers=13))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5)] + [(3, 3)] * 11 + [(1, 1)]
    assert [c.padding for c in convs[:2]] == [(2, 2), (1, 1)]  # 19 -> 23 and 19 -> 21 padded
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in net.modules())
    assert net(torch.zeros(3, 48, 19, 19, dtype=torch.uint8)).shape == (3, 361)


def test_per_point_bias():
    """With zero conv weights the logits are exactly the per-point bias, one value per point."""
    net = PolicyNet(PolicyConfig(filters=4, layers=3, feature_set="board"))
    assert net.point_bias.shape == (361,) and net.head.bias is None
    with torch.no_grad():
        net.head.weight.zero_()
        net.point_bias.copy_(torch.arange(361.0))
    assert torch.equal(net(torch.rand(2, 4, 19, 19))[1], torch.arange(361.0))


def test_parameter_count_of_the_match_net():
    """l13k192 on 48 planes: 48*25*192+192 + 11*(192*9*192+192) + 192 + 361 parameters."""
    net = PolicyNet(PolicyConfig())
    assert parameter_count(net) == 48 * 25 * 192 + 192 + 11 * (192 * 9 * 192 + 192) + 192 + 361
    assert net.config.name == "l13k192"


def test_point_bias_maps_to_other_sizes_by_edge_distance():
    """On 9x9 each point takes the 19x19 bias of the point as far from its nearer edges
    (A1 <- A1, G3 <- Q3, C7 <- C17, G7 <- Q17, J9 <- T19, centre E5 <- E15); bilinear keeps
    the corners; zero is zero; the trained size is unchanged; the logits have the board's
    shape, and a value net gives logits and values on other sizes."""
    bias = torch.arange(361.0)
    edge = resized_point_bias(bias, 19, 9).view(9, 9)
    grid = bias.view(19, 19)
    for (r, c), (r19, c19) in {(8, 0): (18, 0), (6, 6): (16, 16), (4, 4): (4, 4), (2, 2): (2, 2),
                               (0, 8): (0, 18), (2, 6): (2, 16)}.items():
        assert edge[r, c] == grid[r19, c19]
    bilinear = resized_point_bias(bias, 19, 13, "bilinear").view(13, 13)
    assert bilinear[0, 0] == grid[0, 0] and bilinear[12, 12] == grid[18, 18]
    assert not resized_point_bias(bias, 19, 9, "zero").any()
    assert resized_point_bias(bias, 19, 19) is bias
    net = PolicyNet(PolicyConfig(filters=4, layers=2))
    assert net(torch.zeros(2, 48, 13, 13)).shape == (2, 169)
    assert resized_point_bias(bias, 19, 25).view(25, 25)[12, 12] == grid[9, 9]  # larger: the centre repeats
    from gonet.game import Game
    from gonet.policy import Policy

    probs, values = Policy(PolicyNet(PolicyConfig(filters=4, layers=2, value_head=True))).evaluate([Game(9)])
    assert probs.shape == (1, 82) and values.shape == (1,) and abs(values[0]) <= 1


def test_value_head_returns_logits_and_values():
    """With ``value_head`` the net returns the same logits as the policy alone plus one
    value in [-1, 1] per position; it needs each position's komi; without it the net
    returns logits only and has no value weights."""
    torch.manual_seed(0)
    net = PolicyNet(PolicyConfig(filters=8, layers=3, value_head=True))
    x = torch.rand(4, 48, 19, 19)
    logits, values = net(x, torch.tensor([7.5, -7.5, 0.5, 0.0]))
    assert logits.shape == (4, 361) and values.shape == (4,)
    assert bool((values.abs() <= 1).all())
    assert torch.equal(logits, net.move_logits(x))
    with pytest.raises(ValueError, match="komi"):
        net(x)
    plain = PolicyNet(PolicyConfig(filters=8, layers=3))
    assert isinstance(plain(x), torch.Tensor) and not any(k.startswith("value_head") for k in plain.state_dict())


def test_value_head_sees_komi_and_the_whole_board_of_any_size():
    """The head's inputs: the komi (from the side to move's view) changes the value, and so
    does a change at a single corner point of the trunk's features; it has no per-point
    weights, so a 9x9 board goes through the same head."""
    from gonet.nets import ValueHead

    torch.manual_seed(0)
    head = ValueHead(channels=4)
    features = torch.rand(1, 4, 19, 19)
    assert head(features, torch.tensor([7.5])) != head(features, torch.tensor([-7.5]))
    moved = features.clone()
    moved[0, :, 18, 18] += 5
    assert head(moved, torch.tensor([7.5])) != head(features, torch.tensor([7.5]))
    assert head(torch.rand(2, 4, 9, 9), torch.zeros(2)).shape == (2,)
