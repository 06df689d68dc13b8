#!/usr/bin/env python3
"""One window of the dual-head flagship run (issues 10 and 13) on a lent GPU machine, and
the staging that lets it spend its minutes training.

A session with a GPU gets about 15 device-minutes: a machine start (a minute or two), then
one command of at most 10 minutes. What travels is capped: 64 MiB in (the tree git tracks,
~10.5 MB, plus the carried folder), at most 8 files of 16 MiB each back. The machine is bare
and offline; its python3 has torch, Lightning and numba, but not gymnasium (which
``import gonet`` needs) or sgfmill, so their wheels travel too. Each window resumes the
run exactly from the last one's checkpoint, which comes back in pieces
(:func:`gonet.train.split_checkpoint`) and travels again next time.

    python scripts/device_window.py stage [--pieces DIR]   # here, before the `run` call
    run tool: command "python3 scripts/device_window.py run", carry ["runs/carry"], timeout_s 600

``stage`` fills ``runs/carry`` (ignored by git, under ``/runs/``)::

    data/kgs, data/tygem, data/kgsval   prepared training and validation data (gonet prepare)
    data/kgs_val_sgf                    the kgs/val records, for the final evaluation
    wheels/                             gymnasium, farama-notifications, sgfmill
    ckpt/last.ckpt.1of3 ...             the last window's checkpoint (none: start from the shipped model)

and refuses a carry that would not fit. ``run`` trains with ``scripts/train_flagship.sh``
(its settings, plus ``--value-head``) until ``RESERVE`` seconds before its deadline,
evaluates on all of kgs/val, and leaves in ``$OUT``: the checkpoint pieces, ``model.pt``,
``window.json`` (the figures), ``window.log`` and ``metrics.csv``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import importlib.metadata
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CARRY = Path("runs/carry")  # relative to the repo; /runs/ is git-ignored, so only `carry` takes it along
RUN = Path("runs/window")   # the run folder on the device machine
TRAVEL_LIMIT = 64 * 2**20   # what goes to the device machine: the tree plus the carried paths
TYGEM = "tygem-9d-201[56]-*.sgfs.gz"  # the 5 months of 2015-16 (~11 MB prepared): what fits beside a checkpoint
WHEELS = ("gymnasium", "farama-notifications", "sgfmill")  # needed by gonet, missing on the device image
DEVICE_PYTHON = ("3.12", "manylinux_2_28_x86_64")  # the device's python3 and platform (device README)
SCHEDULE_STEPS = 100_000  # the v2 run's cosine schedule: ~4 windows of ~25k steps × 512; fixed for the whole run
DEADLINE = 570            # seconds after the start by which `run` is done (the command limit is 600)
RESERVE = 100             # seconds kept after training: the final evaluation, pieces, model file
STARTUP = 30              # seconds `gonet train` takes before its clock starts (imports, data, workers)


def data_folders(carry: Path) -> dict[str, Path]:
    """The carried data, by role."""
    return {key: carry / "data" / key for key in ("kgs", "tygem", "kgsval", "kgs_val_sgf")}


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def tree_bytes() -> int:
    """The bytes of the files that travel without ``carry``: tracked ones and untracked ones
    git does not ignore."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           check=True, capture_output=True).stdout.decode().split("\0")
    return sum((REPO / n).stat().st_size for n in names if n and (REPO / n).is_file())


def stage(args: argparse.Namespace) -> int:
    """Prepare the data once (resumable), fetch the wheels, put the last window's pieces in
    place, and check that all of it fits the trip."""
    import torch

    from gonet.prepare import prepare
    from gonet.train import join_checkpoint

    carry, shared = REPO / CARRY, Path(args.shared)
    folders = data_folders(carry)
    tygem = sorted(glob.glob(str(shared / "tygem" / args.tygem)))
    if not tygem:
        raise SystemExit(f"no Tygem files match {shared / 'tygem' / args.tygem}")
    for key, sources, val_fraction in [("kgs", [shared / "kgs" / "train"], 0.01), ("tygem", tygem, 0.01),
                                       ("kgsval", [shared / "kgs" / "val"], 0.0)]:
        if not (folders[key] / "manifest.json").exists():
            prepare([str(s) for s in sources], folders[key], val_fraction=val_fraction, workers=args.workers)
    shutil.copytree(shared / "kgs" / "val", folders["kgs_val_sgf"], dirs_exist_ok=True)

    wheels = carry / "wheels"
    if not any(wheels.glob("*.whl")):
        python, platform = DEVICE_PYTHON
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", python, "--implementation", "cp", "--platform", platform, "-d", str(wheels),
                        *(f"{name}=={importlib.metadata.version(name)}" for name in WHEELS)], check=True)

    ckpt = carry / "ckpt"
    if args.pieces:
        shutil.rmtree(ckpt, ignore_errors=True)
        ckpt.mkdir(parents=True)
        for piece in Path(args.pieces).glob("*.*of*"):
            shutil.copyfile(piece, ckpt / piece.name)
        joined = join_checkpoint(ckpt, carry / "joined.ckpt")  # refuses missing or mixed pieces now, not there
        step = torch.load(joined, map_location="cpu", weights_only=True)["global_step"]
        joined.unlink()
        print(f"the window resumes the run at step {step:,}")
    elif not ckpt.exists():
        print("no checkpoint pieces: the window starts a run from the shipped model (gonet/weights/policy.pt)")

    sizes = {"tree": tree_bytes(), **{key: folder_bytes(path) for key, path in folders.items()},
             "wheels": folder_bytes(wheels), "checkpoint": folder_bytes(ckpt)}
    total = sum(sizes.values())
    print("travels: " + ", ".join(f"{key} {size / 1e6:.1f} MB" for key, size in sizes.items())
          + f"; {total / 1e6:.1f} of {TRAVEL_LIMIT / 1e6:.1f} MB (64 MiB), {(TRAVEL_LIMIT - total) / 1e6:.1f} MB left")
    if total > TRAVEL_LIMIT:
        print("too much to carry: take fewer Tygem months (--tygem) into a fresh runs/carry")
        return 1
    return 0


def run_logged(command: list[str], env: dict, log: Path, seconds: float) -> int | None:
    """Run ``command`` in its own process group with its output in ``log``; stop the whole
    group (training, its DataLoader workers) after ``seconds``. Returns its exit status,
    None if it was stopped."""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            return process.wait(timeout=max(1.0, seconds))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
            return None


def log_lines(log: Path) -> list[str]:
    """The log's lines without its progress bars (``%|``), whose redraws fill it."""
    return [line for line in log.read_text(errors="replace").splitlines() if line.strip() and "%|" not in line]


def run(args: argparse.Namespace) -> int:
    """Train until ``RESERVE`` seconds before the deadline (resuming the carried checkpoint,
    else from the shipped model), evaluate on kgs/val, and leave the pieces and figures in ``$OUT``."""
    start = time.monotonic()
    if not (os.environ.get("OUT") or args.out):
        sys.exit("$OUT is not set: run this through the device tool, or give --out for a trial")
    out = Path(os.environ.get("OUT") or args.out)
    out.mkdir(parents=True, exist_ok=True)
    carry, run_dir = REPO / CARRY, REPO / RUN
    site = Path("/tmp/gonet-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, (carry / "wheels").glob("*.whl"))],
                   check=True)
    sys.path.append(str(site))
    import torch

    from gonet.policy import peek_model
    from gonet.train import join_checkpoint, split_checkpoint

    last = run_dir / "checkpoints" / "last.ckpt"
    if any((carry / "ckpt").glob("*of*")):
        join_checkpoint(carry / "ckpt", last)
    step_before = torch.load(last, map_location="cpu", weights_only=True)["global_step"] if last.exists() else 0
    folders = data_folders(carry)
    train_seconds = int(args.deadline - (time.monotonic() - start) - STARTUP - args.reserve)
    if train_seconds < 60:
        sys.exit(f"only {train_seconds} s left to train: raise --deadline or lower --reserve")
    # train_flagship.sh's settings, these for the window; the environment may override them (a CPU trial).
    # The value head keeps the shipped model's shape, so it starts from the shipped head's weights.
    shipped = torch.load(REPO / "gonet" / "weights" / "policy.pt", map_location="cpu", weights_only=True)["config"]
    window = {"GONET": f"{sys.executable} -m gonet", "DATA": f"{folders['kgs']} {folders['tygem']}",
              "VAL_DATA": str(folders["kgsval"]), "EVAL_DATA": str(folders["kgs_val_sgf"]), "EVAL_POSITIONS": "1000000",
              "INIT_FROM": "gonet/weights/policy.pt", "VALUE_HEAD": "1", "MAX_STEPS": str(SCHEDULE_STEPS),
              "VALUE_TOWER": str(shipped.get("value_tower", 0))}
    env = {**window, **os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{site}", "PYTHONUNBUFFERED": "1",
           "CHUNK_SECONDS": str(train_seconds)}
    print(f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}, torch {torch.__version__}: "
          f"training {train_seconds} s from step {step_before:,}", flush=True)
    for stale in ("eval.json", "model.pt"):  # from an earlier command on the same machine
        (run_dir / stale).unlink(missing_ok=True)
    log = out / "window.log"
    status = run_logged(["bash", "scripts/train_flagship.sh", str(run_dir)], env, log,
                        args.deadline - 10 - (time.monotonic() - start))
    print("\n".join(log_lines(log)[-40:]))

    figures = {"gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
               "torch": torch.__version__, "lightning": importlib.metadata.version("lightning"),
               "step_before": step_before, "train_seconds": train_seconds,
               "status": "stopped at the deadline" if status is None else status}
    if last.exists():
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        figures["step_after"] = ckpt["global_step"]
        figures["training_positions"] = {key: json.loads((folders[key] / "manifest.json").read_text())["train"]
                                         for key in ("kgs", "tygem")}
        if ckpt["global_step"] > step_before:
            figures["pieces"] = {p.name: p.stat().st_size for p in split_checkpoint(last, out)}
    if (run_dir / "model.pt").exists():
        shutil.copyfile(run_dir / "model.pt", out / "model.pt")
        figures["model"] = peek_model(run_dir / "model.pt").get("meta", {})
    if (run_dir / "eval.json").exists() and (run_dir / "eval.json").stat().st_size:
        figures["eval"] = json.loads((run_dir / "eval.json").read_text())
    metrics = sorted((run_dir / "logs").glob("version_*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    if metrics:
        shutil.copyfile(metrics[-1], out / "metrics.csv")
        with metrics[-1].open() as rows:
            rates = [float(r["train/positions_per_s"]) for r in csv.DictReader(rows) if r.get("train/positions_per_s")]
        figures["positions_per_s_median"] = round(statistics.median(rates)) if rates else None
    figures["window_seconds"] = round(time.monotonic() - start, 1)
    (out / "window.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps({k: v for k, v in figures.items() if k != "model"}))
    return 0 if status == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("stage", help="here: fill runs/carry for the next window and check its size")
    p.add_argument("--pieces", help="the last window's files (files_at of its run call): its checkpoint pieces")
    p.add_argument("--shared", default=str(REPO.parent / "shared" / "data"), help="the raw corpora")
    p.add_argument("--tygem", default=TYGEM, help="Tygem files to train on (glob); the same for the whole run")
    p.add_argument("--workers", type=int, default=None, help="gonet prepare processes (default: all cores)")
    p.set_defaults(action=stage)
    p = commands.add_parser("run", help="there, in one run call: resume, train, evaluate, write $OUT")
    p.add_argument("--deadline", type=float, default=DEADLINE, help="seconds after the start to be done by")
    p.add_argument("--reserve", type=float, default=RESERVE, help="seconds kept for evaluation and pieces")
    p.add_argument("--out", help="where the files go when $OUT is not set (a trial here)")
    p.set_defaults(action=run)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # gonet from this checkout; on the device it is not installed
    return args.action(args)


if __name__ == "__main__":
    sys.exit(main())
