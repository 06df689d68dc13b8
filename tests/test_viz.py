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
    go = save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), root / "go.pt")
    return {"mnist": root / "mnist.pt", "go": go, "data": fake_mnist}


@pytest.mark.parametrize("argv", [
    ["filters", "--model", "{mnist}"],
    ["filters", "--model", "{go}"],
    ["maximize", "--model", "{mnist}", "--data", "{data}", "--steps", "5", "--filters", "4", "--l1", "0.01"],
    ["maximize", "--model", "{mnist}", "--data", "{data}", "--steps", "5", "--classes"],
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


def test_speech_filters_view(fake_fsdd, tmp_path):  # noqa: F811
    from gonet import speech

    speech.train(tmp_path, fake_fsdd, epochs=1, progress=False)
    out = tmp_path / "f.png"
    assert main(["viz", "filters", "--model", str(tmp_path / "speech.pt"), "--out", str(out)]) == 0
    assert not_blank(out)
    np.testing.assert_equal(out.exists(), True)
