"""The Lightning machinery for the small classifiers (MNIST digits, spoken digits): one
LightningModule around any ``nn.Module`` that maps inputs to class logits, and a helper
that trains and tests it. AdamW with a one-cycle schedule: the quickest reliable recipe for
these small nets on a CPU budget of minutes.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader

from gonet.modelfile import one_line


class ClassifierModule(L.LightningModule):
    """Cross-entropy training, accuracy on validation/test data."""

    def __init__(self, net: nn.Module, lr: float = 3e-3, weight_decay: float = 1e-4, total_steps: int = 1000):
        super().__init__()
        self.net = net
        self.lr, self.weight_decay, self.total_steps = lr, weight_decay, total_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.log_dict({"train/loss": loss, "train/acc": (logits.argmax(1) == y).float().mean()}, prog_bar=True)
        return loss

    def _evaluate(self, batch, stage: str) -> None:
        x, y = batch
        logits = self(x)
        self.log_dict({f"{stage}/loss": F.cross_entropy(logits, y),
                       f"{stage}/acc": (logits.argmax(1) == y).float().mean()}, prog_bar=True)

    def validation_step(self, batch, batch_idx):
        self._evaluate(batch, "val")

    def test_step(self, batch, batch_idx):
        self._evaluate(batch, "test")

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=max(2, self.total_steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def fit_classifier(net: nn.Module, train: DataLoader, test: DataLoader, epochs: int, out: str | Path,
                   lr: float = 3e-3, max_time: str | None = None, progress: bool = True) -> dict:
    """Train ``net`` for ``epochs`` (or until ``max_time``) and return test accuracy and loss."""
    module = ClassifierModule(net, lr=lr, total_steps=epochs * len(train))
    trainer = L.Trainer(max_epochs=epochs, max_time=max_time, accelerator="auto", devices=1,
                        logger=CSVLogger(out, name="logs"), enable_checkpointing=False,
                        enable_progress_bar=progress, enable_model_summary=False, log_every_n_steps=20)
    trainer.fit(module, train, test)
    result = trainer.test(module, test, verbose=False)[0]
    return {"accuracy": result["test/acc"], "loss": result["test/loss"], "epochs": trainer.current_epoch,
            "steps": trainer.global_step}


def warmup_cosine(opt: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the peak rate, then cosine decay to zero at ``total_steps``."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))))
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def fit_early_stopping(net: nn.Module, train: DataLoader, val: DataLoader, max_epochs: int, lr: float,
                       patience: int = 3, weight_decay: float = 1e-4, on_epoch=None) -> dict:
    """Train to convergence the way a comparison between nets needs it: AdamW with one
    warm-up epoch and cosine decay over ``max_epochs`` (the same schedule for every net),
    validation error after each epoch, stop after ``patience`` epochs without a new best,
    and end with the best epoch's weights. A plain loop, not Lightning: for nets this small
    Lightning's per-step overhead is a noticeable share of a CPU run.

    ``on_epoch(epoch, train_loss, val_error)`` is called after each epoch (progress).
    Returns the best validation error, its epoch (1-based) and the epochs run.
    """
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = warmup_cosine(opt, len(train), max_epochs * len(train))
    best_error, best_epoch, best_state = math.inf, 0, None
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        net.train()
        total = 0.0
        for x, y in train:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(y)
        if not math.isfinite(total):
            break
        error = 1 - accuracy(net, val)
        if on_epoch:
            on_epoch(epoch, total / len(train.dataset), error)
        if error < best_error:
            best_error, best_epoch, best_state = error, epoch, copy.deepcopy(net.state_dict())
        elif epoch - best_epoch >= patience:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    return {"val_error": best_error, "best_epoch": best_epoch, "epochs": epoch}


@torch.inference_mode()
def accuracy(net: nn.Module, loader: DataLoader) -> float:
    """Fraction of ``loader``'s examples that ``net`` classifies right."""
    net.eval()
    right = total = 0
    for x, y in loader:
        right += int((net(x).argmax(1) == y).sum())
        total += len(y)
    return right / max(1, total)


def save_classifier(net: nn.Module, path: str | Path, kind: str) -> Path:
    """Weights in a ``torch.save`` dict tagged ``gonet-<kind>`` (read back with weights_only)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": f"gonet-{kind}", "state_dict": net.state_dict()}, path)
    return path


def saved_kind(path: str | Path) -> str | None:
    """The ``kind`` a model file was saved with (``mnist``, ``speech``, ...), None for other files."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    fmt = blob.get("format") if isinstance(blob, dict) else None
    return fmt[len("gonet-"):] if isinstance(fmt, str) and fmt.startswith("gonet-") else None


def load_classifier(path: str | Path, kind: str, net: nn.Module) -> nn.Module:
    """Load weights saved by :func:`save_classifier` into ``net`` (built the same way), in eval
    mode; a missing or unusable file is a one-line ValueError."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged file can fail anywhere in torch's reader
        raise ValueError(f"{path}: not a readable {kind} model file ({one_line(e)})") from None
    if not isinstance(blob, dict) or blob.get("format") != f"gonet-{kind}":
        raise ValueError(f"{path}: not a gonet {kind} model")
    try:
        net.load_state_dict(blob["state_dict"])
    except (KeyError, RuntimeError) as e:
        raise ValueError(f"{path}: weights do not fit the {kind} model ({one_line(e)})") from None
    return net.eval()
