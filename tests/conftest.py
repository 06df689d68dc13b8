"""Fixtures shared by the test modules."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only corpus beside the repo (``../shared/data``); skips the test when absent."""
    path = REPO.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip("../shared/data not present")
    return path


@pytest.fixture(autouse=True)
def fp32_nets(monkeypatch) -> None:
    """``precision="auto"`` means fp32 in tests on every machine (bf16 where the CPU runs it
    natively would make exact comparisons depend on the machine); bf16 is tested by name."""
    import gonet.policy

    monkeypatch.setattr(gonet.policy, "bf16_is_fast", lambda device: False)


@pytest.fixture
def locked_folders(monkeypatch) -> None:
    """Folders named ``locked`` cannot be listed (PermissionError), as an unreadable
    sub-folder of a corpus: ``chmod 000`` does not stop root, who runs the tests here."""
    scandir = os.scandir

    def refuse_locked(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random 19x19 policy (k=8, 3 layers) saved as a model file: fast and deterministic."""
    import torch

    from gonet.nets import PolicyConfig, PolicyNet
    from gonet.policy import save_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "tiny.pt"
    save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), path)
    return path


@pytest.fixture
def work_count(monkeypatch) -> Counter:
    """Counts the work done on positions from here on: ``planes`` (48-plane computations),
    ``legal`` (legal-move masks) and ``passes`` (the policy net's forward passes)."""
    from gonet import features
    from gonet.game import Game
    from gonet.policy import Policy

    counts: Counter = Counter()

    def counted(name: str, fn):
        def call(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(features, "compute_planes", counted("planes", features.compute_planes))
    monkeypatch.setattr(Game, "legal_moves", counted("legal", Game.legal_moves))
    monkeypatch.setattr(Policy, "logits_values", counted("passes", Policy.logits_values))
    return counts
