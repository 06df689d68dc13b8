"""Deep vs shallow at equal parameter count, trained to convergence, on MNIST and spoken digits.

    nice -n 15 python scripts/deep_vs_shallow.py            # resumable; see docs/deep_vs_shallow.md for times
    python scripts/deep_vs_shallow.py --report-only          # table and plot from the cached rows

The set-up of Seide, Li and Yu (Interspeech 2011): fully connected ReLU nets of L = 1, 2, 3,
5, 7 hidden layers of width W, each paired with a net of ONE hidden layer whose width gives
the same number of parameters. Beside it the same pairing for the conv core the rest of
gonet uses (L conv layers of W filters + global max pool vs one conv layer of many filters).

Protocol, the same for every net of a family: inputs standardised with training statistics;
AdamW, one warm-up epoch, cosine decay over ``--max-epochs``; early stopping on a validation
set held out of the training data (MNIST: 10k of the 60k training images; speech: whole
speakers), keeping the best epoch's weights; test error of those weights on the test set
(MNIST: the 10k test images; speech: other whole speakers). The peak learning rate is tuned
once per family on validation error of its L = 3 pair (seed 0) and then used for every net.
Each net is trained with ``--seeds`` seeds; the table shows mean ± standard deviation.

Every finished run is cached in ``docs/deep_vs_shallow.json`` the moment it ends, so an
interrupted run continues where it stopped. Output: ``docs/deep_vs_shallow.md`` (only the
part between the results markers is rewritten) and ``docs/deep_vs_shallow.png``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from gonet import mnist, speech  # noqa: E402
from gonet.classify import accuracy, fit_early_stopping  # noqa: E402
from gonet.nets import conv_core, fc_net, parameter_count  # noqa: E402

SPEECH_FRAMES = 32          # every recording stretched to 32 frames (0.32 s at the 10 ms hop): FC nets need a fixed size
SPEECH_SPLIT = {"train": ("george", "jackson", "yweweler"), "val": ("lucas",), "test": ("nicolas", "theo")}
LR_GRID = (3e-4, 1e-3, 3e-3)  # AdamW peak rates tried on each family's L = 3 pair
BATCH = 128
MARK_START, MARK_END = "<!-- results: written by scripts/deep_vs_shallow.py -->", "<!-- /results -->"


@dataclass(frozen=True)
class Family:
    """One deep-vs-shallow table: a task, a kind of net, the deep nets' width and the budget."""

    task: str          # "mnist" or "speech"
    kind: str          # "fc" or "conv"
    width: int
    max_epochs: int
    patience: int = 3  # epochs without a new best validation error before stopping
    train_limit: int | None = None  # use only this many training examples (the conv MNIST budget)


FAMILIES = {
    # Budget: the study runs at nice 15 on a 2-core box that other jobs keep busy, one torch
    # thread per process. Measured there: an epoch of the 3 x 128 net costs 1.7 s of CPU, so
    # (scaling by multiply-adds) all nine MNIST nets of W = 128 (5 deep, 4 matched) ~17 s and
    # of W = 256 ~45 s. W = 128 keeps the whole study near a quarter of an hour of one core.
    # Six epochs is what that allows; the cosine schedule still anneals to zero within them,
    # and early stopping picks the best of the six.
    "mnist-fc": Family("mnist", "fc", 128, max_epochs=6),
    # The matched single conv layer is the expensive net: 1 x 177 filters over 14 x 14 maps
    # cost 85 ms per 128-image batch against 35 ms for 7 x 8 (measured), so W = 8 and 5k
    # training images (~12 s of CPU an epoch for all nine nets).
    "mnist-conv": Family("mnist", "conv", 8, max_epochs=8, train_limit=5_000),
    # One validation speaker (500 recordings) is a noisy guide, so speech waits longer before stopping.
    "speech-fc": Family("speech", "fc", 128, max_epochs=30, patience=6),
    "speech-conv": Family("speech", "conv", 32, max_epochs=30, patience=6),
}


def build(family: Family, layers: int, width: int) -> nn.Module:
    """A net of ``layers`` hidden layers of ``width`` units (FC) or filters (conv)."""
    if family.kind == "fc":
        inputs = 28 * 28 if family.task == "mnist" else speech.N_MELS * SPEECH_FRAMES
        return fc_net(inputs, [width] * layers)
    if family.task == "mnist":  # 3x3 convs on the image pooled to 14x14, as in gonet's first version
        body = [nn.AvgPool2d(2), *conv_core(1, [width] * layers, 3, dim=2, norm="batch"), nn.AdaptiveMaxPool2d(1)]
    else:  # 1-D convs over time, kernel 5, mel bands as channels
        body = [*conv_core(speech.N_MELS, [width] * layers, 5, dim=1, norm="batch"), nn.AdaptiveMaxPool1d(1)]
    return nn.Sequential(*body, nn.Flatten(), nn.Linear(width, 10))


def matched_width(family: Family, params: int) -> int:
    """The one-layer width with the parameter count closest to ``params`` (it grows linearly)."""
    one, two = parameter_count(build(family, 1, 1)), parameter_count(build(family, 1, 2))
    per_unit = two - one
    return max(1, round((params - (one - per_unit)) / per_unit))


def pairs(family: Family, depths: list[int]) -> list[tuple[int, int, int]]:
    """(pair, layers, width) for each deep net and its matched single-layer partner."""
    out = []
    for depth in depths:
        out.append((depth, depth, family.width))
        if depth > 1:
            out.append((depth, 1, matched_width(family, parameter_count(build(family, depth, family.width)))))
    return out


def standardise(data: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Zero mean, unit variance per input channel (dim 1), with the training set's statistics."""
    x = data["train"][0]
    dims = [d for d in range(x.dim()) if d != 1]
    mean, std = x.mean(dims, keepdim=True), x.std(dims, keepdim=True)
    return {k: ((v - mean[0]) / std[0], y) for k, (v, y) in data.items()}


def load_task(task: str, args) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """train/val/test tensors: MNIST with 10k training images held out; speech split by speaker."""
    if task == "mnist":
        return standardise(mnist.load_split(args.mnist))
    digits = speech.SpokenDigits(args.fsdd, snr_db=args.snr)
    x = torch.stack([speech.fixed_length(f, SPEECH_FRAMES) for f in digits.features])  # (N, N_MELS, FRAMES)
    y = torch.tensor([digit for _, digit, _ in digits.items])
    speaker = [s for _, _, s in digits.items]
    index = {k: [i for i, s in enumerate(speaker) if s in names] for k, names in SPEECH_SPLIT.items()}
    return standardise({k: (x[i], y[i]) for k, i in index.items()})


def run_key(name: str, family: Family, layers: int, width: int, seed: int, lr: float, snr: float | None) -> str:
    """Everything that decides a run's result; a cached row is reused only on an exact match."""
    snr_part = f" snr{snr:g}" if snr is not None and family.task == "speech" else ""
    return (f"{name} {layers}x{width} seed{seed} lr{lr:g} ep{family.max_epochs} pat{family.patience} "
            f"n{family.train_limit or 'all'}{snr_part}")


def train_one(family: Family, data, layers: int, width: int, seed: int, lr: float, log) -> dict:
    torch.manual_seed(seed)
    net = build(family, layers, width)
    x, y = data["train"]
    if family.train_limit:
        x, y = x[: family.train_limit], y[: family.train_limit]  # the split is already shuffled
    train = DataLoader(TensorDataset(x, y), BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed))
    val, test = (DataLoader(TensorDataset(*data[k]), 1000) for k in ("val", "test"))
    start, cpu = time.time(), time.process_time()
    result = fit_early_stopping(net, train, val, family.max_epochs, lr, patience=family.patience,
                                on_epoch=lambda e, loss, err: log(f"    epoch {e}: loss {loss:.4f}, val error {100 * err:.2f}%"))
    return {**result, "test_error": 1 - accuracy(net, test), "params": parameter_count(net),
            "seconds": round(time.time() - start, 1), "cpu_seconds": round(time.process_time() - cpu, 1)}


class Cache:
    """Finished rows by key in a JSON file, rewritten (atomically) after every run. Several
    processes (e.g. one per family) may share it: each write re-reads the file under a lock."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, dict] = self._read()

    def _read(self) -> dict[str, dict]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def put(self, key: str, row: dict) -> None:
        lock = os.open(self.path.parent, os.O_RDONLY)  # the folder is the lock: no stray lock file
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.rows = {**self._read(), key: row}
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.rows, indent=1, sort_keys=True))
            os.replace(tmp, self.path)
        finally:
            os.close(lock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 5, 7])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--snr", type=float, help="add white noise to the recordings at this SNR in dB")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the box is shared)")
    parser.add_argument("--mnist", help="MNIST folder (default ../shared/data/mnist)")
    parser.add_argument("--fsdd", help="FSDD recordings folder")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--report-only", action="store_true", help="write the table and plot from the cache")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Cache(out / "deep_vs_shallow.json")
    if not args.report_only:
        run_all(args, cache)
    report(args, cache, out)


def run_all(args, cache: Cache) -> None:
    """Tune each family's rate on its L = 3 pair (seed 0), then every pair x seed, seed-major
    so that an interrupted study still has whole tables for the seeds it finished."""
    started = time.time()
    log = lambda text: print(text, flush=True)  # noqa: E731
    data = {}
    todo = sum(len(pairs(FAMILIES[n], args.depths)) for n in args.families) * args.seeds
    done = 0

    def get(name: str, layers: int, width: int, seed: int, lr: float, what: str = "tuning run") -> dict:
        family = FAMILIES[name]
        key = run_key(name, family, layers, width, seed, lr, args.snr)
        if key not in cache.rows:
            if family.task not in data:
                data[family.task] = load_task(family.task, args)
            log(f"[{time.time() - started:6.0f} s] {key}")
            row = train_one(family, data[family.task], layers, width, seed, lr, log)
            cache.put(key, row)
            log(f"    -> test error {100 * row['test_error']:.2f}% (val {100 * row['val_error']:.2f}%, best epoch "
                f"{row['best_epoch']} of {row['epochs']}, {row['seconds']:.0f} s, CPU {row['cpu_seconds']:.0f} s); {what}")
        return cache.rows[key]

    rates = {name: tuned_rate(name, args, get) for name in args.families}
    for seed in range(args.seeds):
        for name in args.families:
            for _, layers, width in pairs(FAMILIES[name], args.depths):
                done += 1
                get(name, layers, width, seed, rates[name], f"table run {done} of {todo}")
    log(f"all {todo} runs done in {(time.time() - started) / 60:.1f} min (this session)")


def tuned_rate(name: str, args, get) -> float:
    """The rate of LR_GRID with the lowest mean validation error over the family's L = 3 pair."""
    tune = [(layers, width) for pair, layers, width in pairs(FAMILIES[name], [3])]
    return min(LR_GRID, key=lambda lr: sum(get(name, layers, width, 0, lr)["val_error"] for layers, width in tune))


def summary(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def report(args, cache: Cache, out: Path) -> None:
    """Markdown tables (mean ± std of test error over seeds) and the plot with error bars."""
    rows = {}  # (family, layers, width) -> cached rows at the family's tuned rate
    rates = {}
    tuning_lines = []
    for name in args.families:
        family = FAMILIES[name]
        keyed = lambda layers, width, seed, lr: cache.rows.get(  # noqa: E731
            run_key(name, family, layers, width, seed, lr, args.snr))
        tune = [(layers, width) for _, layers, width in pairs(family, [3])]
        val = {lr: [keyed(layers, width, 0, lr) for layers, width in tune] for lr in LR_GRID}
        val = {lr: sum(r["val_error"] for r in rs) / len(rs) for lr, rs in val.items() if all(rs)}
        done = len(val) == len(LR_GRID)
        if done:
            rates[name] = min(val, key=val.get)
        chosen = format(rates[name], "g") if done else "pending"
        tuning_lines.append(f"| {name} | " + " | ".join(f"{100 * val[lr]:.2f}%" if lr in val else "–"
                                                      for lr in LR_GRID) + f" | {chosen} |")
        if not done:
            continue
        for _, layers, width in pairs(family, args.depths):
            found = [r for s in range(args.seeds) if (r := keyed(layers, width, s, rates[name]))]
            if found:
                rows[name, layers, width] = found
    lines = [MARK_START, "", "Peak learning rate per family (mean validation error of the L = 3 pair, seed 0; "
             "–: not finished):", "",
             "| family | " + " | ".join(f"lr {lr:g}" for lr in LR_GRID) + " | chosen |",
             "|---|" + "---|" * (len(LR_GRID) + 1), *tuning_lines, ""]

    def cell(found: list[dict]) -> str:
        mean, std = summary([100 * r["test_error"] for r in found])
        return f"{mean:.2f} ± {std:.2f}% ({len(found)})"

    for name in rates:
        family = FAMILIES[name]
        lines += [f"### {name}: {describe(family, args)}", "",
                  "| L × W | params | test error (seeds) | epochs | 1 × matched | params | test error (seeds) | epochs |",
                  "|---|---|---|---|---|---|---|---|"]
        for depth in args.depths:
            wide_width = pairs(family, [depth])[-1][2]  # the deep net itself when depth is 1
            deep, wide = rows.get((name, depth, family.width)), rows.get((name, 1, wide_width))
            if not deep:
                continue
            lines.append(f"| {depth} × {family.width} | {deep[0]['params']:,} | {cell(deep)} | {epochs(deep)} | "
                         f"1 × {wide_width} | " + (f"{wide[0]['params']:,} | {cell(wide)} | {epochs(wide)} |"
                                                  if wide else "– | – | – |"))
        lines.append("")
    seconds = sum(r["seconds"] for found in rows.values() for r in found)
    cpu = sum(r.get("cpu_seconds", r["seconds"]) for found in rows.values() for r in found)
    if rates:
        lines += [f"The table's runs took {cpu / 60:.0f} min of CPU ({seconds / 60:.0f} min of wall time on the "
                  "shared box; tuning runs not counted).", "", "![deep vs shallow](deep_vs_shallow.png)", ""]
    lines.append(MARK_END)
    write_markdown(out / "deep_vs_shallow.md", "\n".join(lines))
    if rates:
        plot(rows, rates, args, out / "deep_vs_shallow.png")


def describe(family: Family, args) -> str:
    data = ("MNIST, 50k training images" if not family.train_limit else f"MNIST, {family.train_limit // 1000}k "
            "training images") + ", 10k validation, 10k test" if family.task == "mnist" else (
        f"spoken digits, train {', '.join(SPEECH_SPLIT['train'])}, validate {', '.join(SPEECH_SPLIT['val'])}, test {', '.join(SPEECH_SPLIT['test'])}"
        + (f", white noise at {args.snr:g} dB SNR" if args.snr is not None else ""))
    return f"{family.kind.upper()} nets, {data}, at most {family.max_epochs} epochs"


def epochs(found: list[dict]) -> str:
    return f"{statistics.mean(r['best_epoch'] for r in found):.0f}"


def write_markdown(path: Path, results: str) -> None:
    """Replace the results block of ``path`` (or start the file), keeping the text around it."""
    text = path.read_text() if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + results + rest.split(MARK_END, 1)[1]
    else:
        text = "# Deep vs shallow at equal parameter count\n\n" + results + "\n"
    path.write_text(text)


def plot(rows: dict, rates: dict, args, path: Path) -> None:
    """Test error against parameters, deep and matched shallow, one panel per family."""
    fig, axes = plt.subplots(1, len(rates), figsize=(4.2 * len(rates), 3.8), squeeze=False)
    for ax, name in zip(axes[0], rates):
        family = FAMILIES[name]
        for kind, style, select in (("deep: L × " + str(family.width), "o-", lambda layers, pair: layers == pair),
                                    ("shallow: 1 × matched", "s--", lambda layers, pair: layers == 1)):
            pts = []
            for pair, layers, width in pairs(family, args.depths):
                if select(layers, pair) and (name, layers, width) in rows:
                    found = rows[name, layers, width]
                    pts.append((found[0]["params"], *summary([100 * r["test_error"] for r in found]), pair))
            pts.sort()
            if pts:
                ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], fmt=style,
                            capsize=3, label=kind)
            if kind.startswith("deep"):
                for params, mean, _, pair in pts:
                    ax.annotate(f"L={pair}", (params, mean), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("test error % (mean ± std over seeds)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
