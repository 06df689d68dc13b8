"""Visualisation: the methods do what they claim, and every `gonet viz` view writes a PNG."""

import matplotlib.image
import numpy as np
import pytest
import torch
from test_mnist_speech import fake_fsdd, fake_mnist, write_idx  # noqa: F401  (fixtures)
from torch import nn

from gonet import mnist
from gonet.classify import save_classifier
from gonet.cli import main
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import save_model
from gonet.viz import methods


def tiny_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 3))


def test_gradient_ascent_increases_the_target():
    """The maximised input excites the filter (and the class) more than the starting noise,
    and the L1 'no ink' term makes the image sparser."""
    net = tiny_cnn().eval()
    start = 0.1 * torch.rand((1, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    found = methods.maximize(net, (1, 8, 8), layer=1, filter_index=2, steps=60)
    assert methods.activation_of(net, found, 1, 2) > methods.activation_of(net, start, 1, 2)
    assert found.min() >= 0 and found.max() <= 1
    cls = methods.maximize(net, (1, 8, 8), class_index=1, steps=60)
    assert net(cls)[0, 1] > net(start)[0, 1]
    sparse = methods.maximize(net, (1, 8, 8), class_index=1, steps=60, l1=0.5)
    assert sparse.abs().sum() < cls.abs().sum()
    both = methods.maximize(net, (1, 8, 8), layer=1, filter_index=[2, 0], steps=60)  # one batch, two filters
    assert both.shape == (2, 1, 8, 8)
    assert methods.activation_of(net, both[:1], 1, 2) > methods.activation_of(net, start, 1, 2)


def test_regularisers_do_what_they_claim():
    """Total variation smooths (lower TV than plain ascent), the blur keeps the total ink and
    lowers the peak, jitter still climbs the target, and every result stays in range."""
    net = tiny_cnn().eval()
    plain = methods.maximize(net, (1, 8, 8), class_index=1, steps=60)
    smooth = methods.maximize(net, (1, 8, 8), class_index=1, steps=60, tv=0.5)
    assert methods.total_variation(smooth) < methods.total_variation(plain)
    spike = torch.zeros(1, 1, 9, 9)
    spike[0, 0, 4, 4] = 1.0
    blurred = methods.gaussian_blur(spike, 1.0)
    assert blurred.sum() == pytest.approx(1.0, abs=1e-5) and blurred.max() < 0.2
    assert methods.gaussian_blur(torch.ones(1, 3, 20), 0.8)[0, :, 5:15].allclose(torch.ones(3, 10))  # 1-D too
    start = 0.1 * torch.rand((1, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    for options in ({"jitter": 1}, methods.READABLE):
        found = methods.maximize(net, (1, 8, 8), class_index=1, steps=60, **options)
        assert net(found)[0, 1] > net(start)[0, 1] and 0 <= found.min() and found.max() <= 1


def test_regularised_class_images_convince_an_independent_net(fake_mnist, tmp_path):  # noqa: F811
    """The check of docs/viz/mnist_classes.png in small: class images maximised on the conv
    net with all regularisers are put in their class by a fully connected net trained
    separately (the toy classes are 'which quadrant is bright')."""
    from gonet.viz.commands import class_check

    mnist.train(tmp_path, fake_mnist, epochs=2, batch_size=20, progress=False, max_time=None)
    mnist.train(tmp_path, fake_mnist, epochs=3, batch_size=20, progress=False, max_time=None, kind="mnist-fc", seed=1)
    conv, fc = mnist.load_net(tmp_path / "mnist.pt"), mnist.load_net(tmp_path / "mnist-fc.pt")
    images = methods.maximize(conv, (1, 28, 28), class_index=list(range(10)), steps=60,
                              **methods.READABLE)[:, 0].numpy()[None]  # (1, 10, 28, 28); only classes 0-3 exist here
    predicted = fc(torch.as_tensor(images[0, :4])[:, None]).argmax(1)
    assert predicted.tolist() == [0, 1, 2, 3]
    assert class_check(fc, images)[0] >= 4


def test_receptive_field_matches_the_gradient():
    """The receptive field worked out from kernels, strides and padding contains every input
    pixel a unit's value depends on, and those pixels reach its edges (gradient oracle)."""
    torch.manual_seed(0)
    net = mnist.make_net().eval()
    size, jump, centre = methods.receptive_field(net, 2)
    assert (size, jump, centre) == (10, 2, 0.5)
    x = torch.rand(1, 1, 28, 28, requires_grad=True)
    with methods._Capture(methods.conv_layers(net)[2]) as cap:
        net(x)
    r, c = 6, 5
    cap.output[0, 3, r, c].backward()
    rows, cols = np.nonzero(x.grad[0, 0].abs().numpy() > 0)
    lo_r, hi_r = centre + r * jump - (size - 1) / 2, centre + r * jump + (size - 1) / 2
    lo_c, hi_c = centre + c * jump - (size - 1) / 2, centre + c * jump + (size - 1) / 2
    assert lo_r <= rows.min() and rows.max() <= hi_r and lo_c <= cols.min() and cols.max() <= hi_c
    assert hi_r - lo_r + 1 == size


def test_strongest_response_finds_the_maximum():
    """The reported value is the map's maximum and sits at the reported coordinates."""
    net = tiny_cnn().eval()
    x = torch.rand(5, 1, 8, 8)
    values, where = methods.strongest_response(net, x, 1, 2)
    with methods._Capture(methods.conv_layers(net)[1]) as cap, torch.no_grad():
        net(x)
    maps = cap.output[:, 2]
    assert torch.allclose(values, maps.flatten(1).max(1).values)
    assert torch.equal(maps[torch.arange(5), where[:, 0], where[:, 1]], values)


def test_fold_net_separates_xor_at_its_last_layer():
    """A net of 2-unit ReLU layers learns XOR; drawn layer by layer, the last hidden layer's
    points are split by the output line exactly as the net classifies them; the projection
    of a wide layer has the output direction as its first axis and is orthonormal."""
    from gonet.viz import fold

    x, y = fold.toy_data("xor", n=200)
    net, acc = fold.train_net(x, y, [2], steps=300, restarts=4)
    assert acc == 1.0
    hidden = fold.layer_outputs(net, x)
    assert len(hidden) == 2 and hidden[-1].shape == (200, 2) and torch.all(hidden[-1] >= 0)
    torch.testing.assert_close(net[-1](hidden[-1]), net(x).detach())
    wide, _ = fold.train_net(x, y, [8], steps=50, restarts=1)
    h = fold.layer_outputs(wide, x)[-1]
    basis = fold.projection(h, wide[-1])
    torch.testing.assert_close(basis.T @ basis, torch.eye(2), atol=1e-5, rtol=0)
    w = (wide[-1].weight[1] - wide[-1].weight[0]).detach()
    torch.testing.assert_close(basis[:, 0], w / w.norm())
    with pytest.raises(ValueError, match="unknown task"):
        fold.toy_data("moons")


def test_saliency_of_a_linear_model_is_its_weights():
    """For y = w . x the saliency |dy_k/dx| is |w_k|: nonnegative, the input's shape, zero
    where the weight is zero."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, -2.0] + [0.0] * 14, [0.5] * 16]))
    sal, k = methods.saliency(net, torch.ones(1, 1, 4, 4), class_index=0)
    assert sal.shape == (4, 4) and k == 0
    assert sal.reshape(-1)[:3].tolist() == [1.0, 2.0, 0.0] and torch.all(sal >= 0)


def test_grad_cam_and_dream_shapes():
    net = tiny_cnn()
    x = torch.rand(1, 1, 8, 8)
    cam, k = methods.grad_cam(net, x)
    assert cam.shape == (8, 8) and 0 <= float(cam.min()) and float(cam.max()) <= 1 and 0 <= k < 3
    dream = methods.deep_dream(net, x, steps=5)
    assert dream.shape == x.shape and not torch.equal(dream, x)


def not_blank(path) -> bool:
    img = matplotlib.image.imread(str(path))
    return img.shape[0] > 100 and img.reshape(-1, img.shape[-1]).std(axis=0).max() > 0.05


@pytest.fixture(scope="module")
def models(tmp_path_factory, fake_mnist):  # noqa: F811
    root = tmp_path_factory.mktemp("vizmodels")
    torch.manual_seed(0)
    save_classifier(mnist.make_net(), root / "mnist.pt", "mnist")
    save_classifier(mnist.make_fc_net(), root / "mnist-fc.pt", "mnist-fc")
    go = save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), root / "go.pt")
    return {"mnist": root / "mnist.pt", "fc": root / "mnist-fc.pt", "go": go, "data": fake_mnist}


@pytest.mark.parametrize("argv", [
    ["filters", "--model", "{mnist}"],
    ["filters", "--model", "{go}"],
    ["maximize", "--model", "{mnist}", "--data", "{data}", "--steps", "5", "--filters", "4", "--l1", "0.01"],
    ["maximize", "--model", "{mnist}", "--data", "{data}", "--steps", "5", "--classes"],
    ["maximize", "--model", "{mnist}", "--steps", "5", "--classes", "--tv", "0.1", "--jitter", "1", "--blur", "0.5"],
    ["maximize", "--model", "{mnist}", "--steps", "3", "--compare", "--check-model", "{fc}"],
    ["excite", "--model", "{mnist}", "--data", "{data}", "--layer", "2", "--filter", "1", "--top", "4"],
    ["fold", "--task", "spirals", "--layers", "2", "--wide", "4", "--steps", "20"],
    ["saliency", "--model", "{mnist}", "--data", "{data}"],
    ["gradcam", "--model", "{mnist}", "--data", "{data}"],
    ["dream", "--model", "{mnist}", "--data", "{data}", "--steps", "3"],
    ["policy", "data/sgf/handicap.sgf", "--move", "5", "--model", "{go}"],
    ["go-saliency", "data/sgf/handicap.sgf", "--move", "5", "--model", "{go}"],
    ["excite", "data/sgf", "--layer", "1", "--filter", "2", "--top", "3", "--max-positions", "30", "--model", "{go}"],
])
def test_every_view_writes_a_png(models, tmp_path, argv):
    out = tmp_path / "view.png"
    args = [a.format(**{k: str(v) for k, v in models.items()}) for a in argv]
    assert main(["viz", *args, "--out", str(out)]) == 0
    assert out.exists() and not_blank(out)


def test_speech_filters_and_excite_views(fake_fsdd, tmp_path):  # noqa: F811
    """The speech model's filters, and the spectrogram crops that excite one of its filters."""
    from gonet import speech

    speech.train(tmp_path, fake_fsdd, epochs=1, progress=False)
    for argv in (["filters"], ["excite", "--data", str(fake_fsdd), "--layer", "1", "--filter", "2", "--top", "4"]):
        out = tmp_path / "f.png"
        assert main(["viz", *argv, "--model", str(tmp_path / "speech.pt"), "--out", str(out)]) == 0
        assert not_blank(out)


def test_excite_needs_sources_for_a_go_model(models, tmp_path):
    with pytest.raises(SystemExit, match="SGF sources"):
        main(["viz", "excite", "--model", str(models["go"]), "--out", str(tmp_path / "x.png")])
