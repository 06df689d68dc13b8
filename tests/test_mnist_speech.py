"""MNIST and spoken-digit modules: IDX reading, features, the nets, a short training run."""

import gzip
import struct
import wave

import numpy as np
import pytest
import torch

from gonet import mnist, speech


def write_idx(path, array: np.ndarray, type_code: int = 0x08, compress: bool = False) -> None:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(">u1" if type_code == 0x08 else ">i4").tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_read_idx_plain_gz_and_types(tmp_path):
    """A tiny generated IDX file reads back with its shape and values, gzipped or not."""
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a", images)
    write_idx(tmp_path / "a.gz", images, compress=True)
    assert np.array_equal(mnist.read_idx(tmp_path / "a"), images)
    assert np.array_equal(mnist.read_idx(tmp_path / "a.gz"), images)
    ints = np.array([1, -2, 300], dtype=np.int32)
    write_idx(tmp_path / "i", ints, type_code=0x0C)
    assert mnist.read_idx(tmp_path / "i").tolist() == [1, -2, 300]


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX"):
        mnist.read_idx(tmp_path / "bad")
    write_idx(tmp_path / "cut", np.zeros((5, 5), np.uint8))
    (tmp_path / "cut").write_bytes((tmp_path / "cut").read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        mnist.read_idx(tmp_path / "cut")


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    """A 200/100-image MNIST-shaped set where the label is which quadrant is bright."""
    folder = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("test", 100)):
        labels = rng.integers(0, 4, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
        for i, y in enumerate(labels):
            r, c = divmod(int(y), 2)
            images[i, 14 * r: 14 * r + 14, 14 * c: 14 * c + 14] += 200
        write_idx(folder / (mnist.FILES[split][0] + ".gz"), images, compress=True)
        write_idx(folder / mnist.FILES[split][1], labels)
    return folder


def test_mnist_net_trains_and_saves(fake_mnist, tmp_path):
    """The conv-core CNN learns the toy task in 2 epochs; the saved model evaluates the same."""
    x, y = mnist.load("train", fake_mnist)
    assert x.shape == (200, 1, 28, 28) and x.max() <= 1.0 and y.dtype == torch.int64
    result = mnist.train(tmp_path, fake_mnist, epochs=2, batch_size=20, progress=False, max_time=None)
    assert result["accuracy"] > 0.9
    assert mnist.evaluate(tmp_path / "mnist.pt", fake_mnist) == pytest.approx(result["accuracy"])
    with pytest.raises(FileNotFoundError, match="MNIST"):
        mnist.load("test", tmp_path / "nowhere")


def test_mnist_net_shape():
    assert mnist.make_net()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_mel_filterbank_and_log_mel():
    """Triangles on the mel scale: 40 filters, peaks rising in frequency, each normalised to 1;
    a 1 kHz tone lights the filter whose centre is nearest 1 kHz."""
    fb = speech.mel_filterbank()
    assert fb.shape == (40, 101) and torch.all(fb >= 0)
    peaks = fb.argmax(1)
    assert torch.all(peaks[1:] >= peaks[:-1]) and float(fb.max(1).values.min()) > 0.5
    t = np.arange(8000) / 8000
    spec = speech.log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert spec.shape == (40, 8000 // 80 + 1)
    centres = 700 * (10 ** (np.linspace(2595 * np.log10(1 + 20 / 700), 2595 * np.log10(1 + 4000 / 700), 42)[1:-1]
                            / 2595) - 1)
    assert int(spec.mean(1).argmax()) == int(np.abs(centres - 1000).argmin())


@pytest.fixture(scope="module")
def fake_fsdd(tmp_path_factory):
    """Synthetic 'spoken digits': digit d is a tone at 300 + 150 d Hz, 3 speakers x 8 takes."""
    folder = tmp_path_factory.mktemp("fsdd")
    rng = np.random.default_rng(0)
    for d in range(10):
        for speaker in ("ann", "bob", "cyd"):
            for i in range(8):
                n = int(8000 * rng.uniform(0.25, 0.5))
                t = np.arange(n) / 8000
                wav = 0.5 * np.sin(2 * np.pi * (300 + 150 * d) * t) + 0.05 * rng.standard_normal(n)
                with wave.open(str(folder / f"{d}_{speaker}_{i}.wav"), "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(8000)
                    w.writeframes((wav * 32767).astype("<i2").tobytes())
    return folder


def test_speech_splits_and_training(fake_fsdd, tmp_path):
    """Standard split: takes 0-4 test; a held-out speaker is absent from training; the 1-D
    conv net with max over time learns the toy tones."""
    train, test = speech.splits(fake_fsdd)
    assert len(train) == 90 and len(test) == 150
    train, test = speech.splits(fake_fsdd, held_out_speaker="bob")
    assert "bob" not in train.speakers and test.speakers == ["bob"]
    result = speech.train(tmp_path, fake_fsdd, epochs=8, batch_size=16, progress=False)
    assert result["accuracy"] > 0.9
    assert speech.evaluate(tmp_path / "speech.pt", fake_fsdd) == pytest.approx(result["accuracy"])


def test_speech_net_takes_any_length():
    net = speech.make_net().eval()
    assert net(torch.zeros(2, 40, 7)).shape == (2, 10) and net(torch.zeros(1, 40, 300)).shape == (1, 10)


def test_real_data_when_present(shared_data):
    """The shared MNIST and FSDD read in full (sizes from their READMEs)."""
    if not (shared_data / "mnist").exists() or not (shared_data / "fsdd").exists():
        pytest.skip("../shared/data not present")
    x, y = mnist.load("test", shared_data / "mnist")
    assert x.shape == (10000, 1, 28, 28) and sorted(set(y.tolist())) == list(range(10))
    samples = speech.read_wav(shared_data / "fsdd" / "recordings" / "7_jackson_32.wav")
    assert samples.dtype == np.float32 and 0.1 < len(samples) / 8000 < 2.5


def test_load_split_holds_out_a_fixed_disjoint_validation_set(fake_mnist):
    """The validation images come out of the training set, the same ones every call, and
    train + val is the whole training set."""
    a, b = mnist.load_split(fake_mnist, val=50), mnist.load_split(fake_mnist, val=50)
    assert len(a["train"][0]) == 150 and len(a["val"][0]) == 50 and len(a["test"][0]) == 100
    assert torch.equal(a["val"][0], b["val"][0])
    full, _ = mnist.load("train", fake_mnist)
    rows = {tuple(img.flatten().tolist()) for img in torch.cat([a["train"][0], a["val"][0]])}
    assert rows == {tuple(img.flatten().tolist()) for img in full}


def test_fc_model_file_round_trip(fake_mnist, tmp_path):
    """The fully connected MNIST net saves with its own kind and loads back as that net."""
    mnist.train(tmp_path, fake_mnist, epochs=1, batch_size=50, progress=False, max_time=None, kind="mnist-fc")
    net = mnist.load_net(tmp_path / "mnist-fc.pt")
    assert isinstance(net[1], torch.nn.Linear) and net[1].out_features == 512
    torch.save({"format": "gonet-other"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a gonet MNIST model"):
        mnist.load_net(tmp_path / "x.pt")


def test_fit_early_stopping_keeps_the_best_epoch():
    """Whatever the run does after its best validation epoch, the net ends with that epoch's
    weights; it stops once ``patience`` epochs bring nothing better."""
    from torch.utils.data import DataLoader, TensorDataset

    from gonet.classify import accuracy, fit_early_stopping
    from gonet.nets import fc_net

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 2, generator=gen)
    y = (x[:, 0] * x[:, 1] > 0).long()  # XOR of the signs
    noisy = torch.where(torch.rand(400, generator=gen) < 0.3, 1 - y, y)  # noisy labels invite over-fitting
    torch.manual_seed(0)
    net = fc_net(2, [32, 32], 2)
    train = DataLoader(TensorDataset(x[:200], noisy[:200]), 20, shuffle=True)
    val = DataLoader(TensorDataset(x[200:], y[200:]), 200)
    seen = []
    result = fit_early_stopping(net, train, val, max_epochs=30, lr=1e-2, patience=2,
                                on_epoch=lambda e, loss, err: seen.append(err))
    assert result["val_error"] == min(seen) and seen[result["best_epoch"] - 1] == min(seen)
    assert 1 - accuracy(net, val) == pytest.approx(min(seen))
    assert result["epochs"] == len(seen) and (result["epochs"] == 30 or result["epochs"] - result["best_epoch"] == 2)
    assert min(seen) < 0.2


def test_noise_at_a_stated_snr_and_fixed_length():
    """White noise comes out at the asked signal-to-noise ratio, the same for the same seed;
    stretching a spectrogram keeps its first and last frames."""
    t = np.arange(8000) / 8000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noisy = speech.add_noise(tone, 10.0, seed=3)
    snr = 10 * np.log10(np.mean(tone.astype(np.float64) ** 2) / np.mean((noisy - tone).astype(np.float64) ** 2))
    assert snr == pytest.approx(10.0, abs=0.2)
    assert np.array_equal(noisy, speech.add_noise(tone, 10.0, seed=3))
    spec = torch.arange(40 * 7, dtype=torch.float32).reshape(40, 7)
    fixed = speech.fixed_length(spec, 32)
    assert fixed.shape == (40, 32) and torch.equal(fixed[:, 0], spec[:, 0]) and torch.allclose(fixed[:, -1], spec[:, -1])
