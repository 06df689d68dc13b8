"""``gonet speech train|eval``: spoken digits (the Free Spoken Digit Dataset) on the conv core.

Features are log-mel spectrograms made with ``torch.stft`` and a mel filterbank built here
(torchaudio has no release for this torch, and librosa would add a dozen packages): 25 ms
Hann windows every 10 ms, 40 triangular filters evenly spaced on the HTK mel scale
``mel = 2595 log10(1 + f / 700)`` from 20 Hz to the Nyquist frequency, then
``log(energy + 1e-6)``. The model is a 1-D conv core over time whose per-channel maximum
over time ("motif detection") feeds a linear layer, so recordings of any length work.

Splits: the dataset's standard one (recordings with index 0-4 are the test set) and, for
generalisation to new voices, one speaker held out entirely.
"""

from __future__ import annotations

import math
import os
import re
import wave
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from gonet.classify import accuracy, fit_classifier, load_classifier, save_classifier
from gonet.nets import conv_core

SAMPLE_RATE = 8000
N_FFT, HOP, N_MELS = 200, 80, 40
NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")


def default_folder() -> Path:
    env = os.environ.get("GONET_FSDD")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"


def read_wav(path: str | Path) -> np.ndarray:
    """Mono 16-bit PCM samples as float32 in [-1, 1]."""
    with wave.open(str(path)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / 32768.0


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   f_min: float = 20.0) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters evenly spaced on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(f_min), mel(sample_rate / 2), n_mels + 2))
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return torch.from_numpy(np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32))


def log_mel(samples: np.ndarray) -> torch.Tensor:
    """(N_MELS, frames) log-mel spectrogram of one recording."""
    x = torch.from_numpy(samples)
    if len(x) < N_FFT:
        x = torch.nn.functional.pad(x, (0, N_FFT - len(x)))
    spec = torch.stft(x, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True).abs() ** 2
    return torch.log(mel_filterbank() @ spec + 1e-6)


def add_noise(samples: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """``samples`` plus white Gaussian noise at ``snr_db`` dB below the recording's mean power."""
    power = float(np.mean(samples.astype(np.float64) ** 2))
    noise = np.random.default_rng(seed).standard_normal(len(samples)) * math.sqrt(power / 10 ** (snr_db / 10))
    return (samples + noise).astype(np.float32)


def fixed_length(spec: torch.Tensor, frames: int) -> torch.Tensor:
    """(N_MELS, T) → (N_MELS, frames) by linear interpolation along time: a fully connected
    net needs a fixed input size, and stretching also evens out the speaking rate."""
    return torch.nn.functional.interpolate(spec[None], size=frames, mode="linear", align_corners=True)[0]


class SpokenDigits(Dataset):
    """(log-mel (N_MELS, T), digit) for the recordings whose names pass ``keep(digit, speaker, index)``;
    with ``snr_db`` each recording gets its own fixed white noise at that signal-to-noise ratio."""

    def __init__(self, folder: str | Path | None = None, keep=lambda digit, speaker, index: True,
                 snr_db: float | None = None):
        folder = Path(folder) if folder else default_folder()
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no FSDD recordings folder; pass --data FOLDER")
        self.items = []
        for path in sorted(folder.iterdir()):
            m = NAME.match(path.name)
            if m and keep(int(m[1]), m[2], int(m[3])):
                self.items.append((path, int(m[1]), m[2]))
        self.features = [log_mel(self._samples(p, snr_db)) for p, _, _ in self.items]

    @staticmethod
    def _samples(path: Path, snr_db: float | None) -> np.ndarray:
        samples = read_wav(path)
        return samples if snr_db is None else add_noise(samples, snr_db, zlib.crc32(path.name.encode()))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.features[i], self.items[i][1]

    @property
    def speakers(self) -> list[str]:
        return sorted({s for _, _, s in self.items})


def pad_batch(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad spectrograms to the longest in the batch with the silence level."""
    longest = max(x.shape[1] for x, _ in batch)
    x = torch.full((len(batch), N_MELS, longest), math.log(1e-6))
    for i, (spec, _) in enumerate(batch):
        x[i, :, : spec.shape[1]] = spec
    return x, torch.tensor([y for _, y in batch])


class MaxOverTime(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=-1)  # (B, C, T) -> (B, C)


def make_net(widths: tuple[int, ...] = (64, 128, 128), kernel: int = 5) -> nn.Module:
    """Input normalisation, a 1-D conv core over time, max over time, a linear classifier."""
    return nn.Sequential(nn.BatchNorm1d(N_MELS), *conv_core(N_MELS, list(widths), kernel, dim=1, norm="batch"),
                         MaxOverTime(), nn.Dropout(0.2), nn.Linear(widths[-1], 10))


def splits(folder: str | Path | None = None, held_out_speaker: str | None = None) -> tuple[Dataset, Dataset]:
    """(train, test): the standard split (index 0-4 tests), or one speaker held out."""
    if held_out_speaker:
        return (SpokenDigits(folder, lambda d, s, i: s != held_out_speaker),
                SpokenDigits(folder, lambda d, s, i: s == held_out_speaker))
    return SpokenDigits(folder, lambda d, s, i: i >= 5), SpokenDigits(folder, lambda d, s, i: i < 5)


def train(out: str | Path, folder: str | Path | None = None, epochs: int = 30, batch_size: int = 32,
          lr: float = 3e-3, held_out_speaker: str | None = None, progress: bool = True) -> dict:
    """Train on one split; returns test accuracy; saves ``OUT/speech.pt``."""
    torch.manual_seed(0)
    train_set, test_set = splits(folder, held_out_speaker)
    net = make_net()
    result = fit_classifier(net, DataLoader(train_set, batch_size, shuffle=True, collate_fn=pad_batch),
                            DataLoader(test_set, 100, collate_fn=pad_batch), epochs, out, lr=lr, progress=progress)
    save_classifier(net, Path(out) / "speech.pt", "speech")
    return {**result, "train": len(train_set), "test": len(test_set), "held_out_speaker": held_out_speaker}


def load_net(path: str | Path) -> nn.Module:
    return load_classifier(path, "speech", make_net())


def evaluate(path: str | Path, folder: str | Path | None = None, held_out_speaker: str | None = None) -> float:
    """Test accuracy of a saved model; the model is loaded first, so a bad path fails at
    once instead of after minutes of spectrograms."""
    net = load_net(path)
    _, test_set = splits(folder, held_out_speaker)
    return accuracy(net, DataLoader(test_set, 100, collate_fn=pad_batch))
