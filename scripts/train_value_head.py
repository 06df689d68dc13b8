"""Train a value head on the FROZEN trunk of a policy model, on a few CPU cores.

The trunk's forward pass is the cost (tens of ms per position on 2 cores) and the trunk does
not change, so the work is split in two resumable stages:

``cache``: sample positions across many games of ``gonet prepare`` folders (a few per game:
    AlphaGo's value net over-fitted when it used every position of a game; the frozen-trunk
    head kept improving up to ten, drawn by four caches with seeds 0-3), skip games
    without a usable result, run the trunk once per position and store its last hidden
    layer, fp16 (B, k, N, N), in chunk files. A killed run resumes at the next chunk; the
    sample is shuffled first, so any prefix of chunks is an even sample.
``train``: fit :class:`gonet.nets.ValueHead` (``--tower``: 3x3 convs before it pools) on the
    cache for several epochs (AdamW, MSE against z = +-1 from the side to move's view; on
    the features' principal directions, folded back exactly), keep the epoch with the
    lowest MSE on a game-disjoint hold-out (1 game in ``HOLDOUT``), and write a model file:
    the base model's policy weights unchanged, plus the head. ``--val-cache`` reports MSE by
    game phase on other games.

The trunk is frozen, so the policy is bit-identical and no value-loss weight is needed: the
weight only balances the two losses' gradients in a shared trunk. How the shipped head was
made, with its figures: docs/benchmarks.md.

    python scripts/train_value_head.py cache data/kgs --per-game 1 --out /tmp/vcache
    python scripts/train_value_head.py cache data/kgsval --per-game 5 --positions 6144 --out /tmp/vval
    python scripts/train_value_head.py --threads 1 train /tmp/vcache [/tmp/vcache2 ...] --val-cache /tmp/vval \
        --tower 2 --cosine --epochs 10 --weight-decay 0.1 --out runs/value.pt   # the shipped head's settings
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from gonet.data import PreparedGames
from gonet.evaluate import value_report
from gonet.features import NUM_PLANES, feature_planes, side_komi, value_target
from gonet.nets import PolicyNet, ValueHead
from gonet.policy import default_model_path, load_net, save_model

CHUNK = 512     # positions per cache file (~70 MB fp16 for k=192 on 19x19)
HOLDOUT = 10    # games with index % HOLDOUT == 0 choose the epoch, not train the head


def sample_positions(folders: list[str], per_game: list[int], seed: int) -> dict[str, np.ndarray]:
    """Up to ``per_game[i]`` distinct non-pass positions of each game with a known result in
    folder i (train split), shuffled: folder, row, game, z, komi (side to move's view), move number."""
    rng = np.random.default_rng(seed)
    parts = []
    for f, (folder, k) in enumerate(zip(folders, per_game)):
        games = PreparedGames(folder, "train")
        pass_idx = games.size * games.size
        for g in tqdm(np.flatnonzero(games.winner != 0), desc=f"sampling {Path(folder).name}", unit="game",
                      leave=False):
            first, stop = games.game_offsets[g], games.game_offsets[g + 1]
            rows = first + np.flatnonzero(games.moves[first:stop] != pass_idx)
            if len(rows) == 0:
                continue
            for row in rng.choice(rows, min(k, len(rows)), replace=False):
                to_move = games.colours[row]
                parts.append((f, row, g, value_target(int(games.winner[g]), to_move),
                              side_komi(float(games.komi[g]), to_move), row - first))
    order = rng.permutation(len(parts))
    table = np.array(parts, dtype=np.float64)[order]  # (P, 6)
    return {"folder": table[:, 0].astype(np.int64), "row": table[:, 1].astype(np.int64),
            "game": table[:, 2].astype(np.int64), "z": table[:, 3].astype(np.float32),
            "komi": table[:, 4].astype(np.float32), "move_number": table[:, 5].astype(np.int64)}


def cache(args: argparse.Namespace) -> None:
    """Stage 1: trunk features of an even sample of positions, in resumable chunks."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"folders": [str(Path(f).resolve()) for f in args.folders], "per_game": args.per_game,
                "seed": args.seed, "model": str(Path(args.model).resolve())}
    if len(args.per_game) != len(args.folders):
        raise SystemExit("give one --per-game count for each folder")
    if (out / "settings.json").exists():
        if json.loads((out / "settings.json").read_text()) != settings:
            raise SystemExit(f"{out} holds a cache made with other settings; use a new --out")
        sample = dict(np.load(out / "sample.npz"))
    else:
        sample = sample_positions(args.folders, args.per_game, args.seed)
        np.savez(out / "sample.npz", **sample)
        (out / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")
    net, _ = load_net(args.model)
    games = [PreparedGames(f, "train") for f in args.folders]
    channels = list(feature_planes(net.config.feature_set))
    n = net.config.board_size
    total = min(len(sample["row"]), args.positions or len(sample["row"]))
    chunks = range(0, total, CHUNK)
    done = sum(min(CHUNK, total - i) for i in chunks if (out / f"chunk-{i // CHUNK:05d}.npy").exists())
    bar = tqdm(total=total, initial=done, desc="trunk features", unit="pos")
    for start in chunks:
        path = out / f"chunk-{start // CHUNK:05d}.npy"
        if path.exists():
            continue
        stop = min(start + CHUNK, total)
        planes = np.empty((stop - start, NUM_PLANES, n * n), dtype=np.uint8)
        for f, prepared in enumerate(games):
            mine = np.flatnonzero(sample["folder"][start:stop] == f)
            rows = sample["row"][start:stop][mine]
            order = np.argsort(rows)  # PreparedGames.planes wants ascending rows
            part = np.empty((len(mine), NUM_PLANES, n * n), dtype=np.uint8)
            prepared.planes(rows[order], part)
            planes[mine[order]] = part
        x = torch.from_numpy(planes[:, channels].reshape(stop - start, len(channels), n, n))
        features = np.empty((stop - start, net.config.filters, n, n), dtype=np.float16)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            for b in range(0, stop - start, args.batch_size):
                features[b:b + args.batch_size] = net.trunk(x[b:b + args.batch_size]).half().numpy()
                bar.update(min(args.batch_size, stop - start - b))
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, features)
        os.replace(tmp, path)
    bar.close()


def load_cache(folder: Path) -> tuple[list[Path], dict[str, np.ndarray]]:
    """The chunk files of a cache and the sample rows they hold (a prefix of the sample)."""
    paths = sorted(folder.glob("chunk-[0-9]*[0-9].npy"))
    if not paths or paths[-1] != folder / f"chunk-{len(paths) - 1:05d}.npy":
        raise SystemExit(f"{folder}: no cache, or chunks missing; run the cache stage (again)")
    sample = dict(np.load(folder / "sample.npz"))
    held = np.load(paths[-1], mmap_mode="r").shape[0]
    count = (len(paths) - 1) * CHUNK + held
    return paths, {k: v[:count] for k, v in sample.items()}


def load_caches(folders: list[str]) -> tuple[list[list[Path]], dict[str, np.ndarray]]:
    """Several caches (e.g. KGS and Tygem, or two samples of one corpus) as one: their chunk
    files and their samples end to end, games told apart by cache (``game`` + a per-cache offset)."""
    paths, samples, offset = [], [], 0
    for folder in folders:
        chunk_paths, sample = load_cache(Path(folder))
        paths.append(chunk_paths)
        samples.append({**sample, "game": sample["game"] + offset})
        # a multiple of HOLDOUT: each folder's games keep their hold-out split, even across two caches of one folder
        offset += -(-(int(sample["game"].max(initial=0)) + 1) // HOLDOUT) * HOLDOUT
    return paths, {key: np.concatenate([sample[key] for sample in samples]) for key in samples[0]}


def principal_directions(paths: list[Path], m: int, chunks: int = 2) -> tuple[torch.Tensor, float]:
    """(P (m, k): the top-m eigenvectors of the second moment of the trunk's per-point
    feature vectors in the first ``chunks`` chunks, each scaled to give unit second moment,
    the share of that moment they keep). Unscaled, the features are large enough to
    saturate the head's tanh from the first step (MSE stuck above 1)."""
    moment, rows = None, 0
    for path in paths[:chunks]:
        features = torch.from_numpy(np.load(path))  # (C, k, N, N) fp16
        x = features.float().permute(0, 2, 3, 1).reshape(-1, features.shape[1])  # (C*N*N, k)
        moment = x.T @ x if moment is None else moment + x.T @ x
        rows += len(x)
    eigenvalues, eigenvectors = torch.linalg.eigh(moment.double() / rows)  # ascending
    top, kept = eigenvalues[-m:].clamp_min(1e-12), float(eigenvalues[-m:].sum() / eigenvalues.sum())
    return (eigenvectors[:, -m:] / top.sqrt()).T.float().contiguous(), kept


def project(paths: list[Path], directions: torch.Tensor) -> torch.Tensor:
    """(count, m, N, N) fp16: each cached position's features in the m principal directions,
    computed in small slices (large fresh tensors page-fault badly on a loaded machine)."""
    parts = []
    for path in tqdm(paths, desc="projecting", unit="chunk", leave=False):
        features = torch.from_numpy(np.load(path))
        for i in range(0, len(features), 64):
            parts.append(torch.einsum("bchw,mc->bmhw", features[i:i + 64].float(), directions).half())
    return torch.cat(parts)


def full_head(small: ValueHead, directions: torch.Tensor, channels: int) -> ValueHead:
    """The k-channel head equal to ``small`` applied to the projected features: the layers that
    read the features (the tower's first conv, or else the 1x1 conv and the pooled-feature
    columns of the FC) are linear in them, so W_full = W_small @ P."""
    tower = sum(isinstance(layer, nn.Conv2d) for layer in small.tower.modules())
    full = ValueHead(channels, tower=tower)
    m = directions.shape[0]
    state = small.state_dict()
    with torch.no_grad():
        if tower:
            first = state["tower.0.weight"]  # (maps, m, 3, 3)
            state["tower.0.weight"] = torch.einsum("omij,mc->ocij", first, directions)
        else:
            maps = small.conv.out_channels
            state["conv.weight"] = (state["conv.weight"].reshape(maps, m) @ directions).reshape(maps, channels, 1, 1)
            w = state["hidden.weight"]
            state["hidden.weight"] = torch.cat([w[:, :maps], w[:, maps:maps + m] @ directions, w[:, maps + m:]], dim=1)
        full.load_state_dict(state)
    return full


def batches(data: torch.Tensor, sample: dict, rows: np.ndarray, batch_size: int):
    """(projected features float32, komi, z) mini-batches of ``rows``, in that order."""
    for b in range(0, len(rows), batch_size):
        r = rows[b:b + batch_size]
        yield data[torch.from_numpy(r)].float(), torch.from_numpy(sample["komi"][r]), torch.from_numpy(sample["z"][r])


def predict(head: ValueHead, data: torch.Tensor, sample: dict, rows: np.ndarray, no_komi: bool) -> np.ndarray:
    """The head's values of ``rows``."""
    head.eval()
    with torch.inference_mode():
        return np.concatenate([head(x, torch.zeros_like(komi) if no_komi else komi).numpy()
                               for x, komi, _ in batches(data, sample, rows, 1024)] or [np.zeros(0)])


def mean_squared_error(head: ValueHead, data: torch.Tensor, sample: dict, rows: np.ndarray, no_komi: bool) -> float:
    return float(((predict(head, data, sample, rows, no_komi) - sample["z"][rows]) ** 2).mean())


def train(args: argparse.Namespace) -> None:
    """Stage 2: fit the head on the cache; write the base model plus the best epoch's head.

    The features are first projected on their ``--directions`` principal directions: the
    head's first layers are linear in them, so a head trained on the projection folds back
    exactly into a head on all k channels (:func:`full_head`), and training touches 6x less
    memory, which is what is slow on a shared machine."""
    cache_paths, sample = load_caches(args.caches)
    directions, kept = principal_directions(cache_paths[0], args.directions)
    data = torch.cat([project(paths, directions) for paths in cache_paths])
    paths = cache_paths[0]
    print(f"{args.directions} principal directions keep {100 * kept:.1f}% of the features' second moment")
    holdout = sample["game"] % HOLDOUT == 0
    train_rows, holdout_rows = np.flatnonzero(~holdout), np.flatnonzero(holdout)
    base, meta = load_net(args.model)
    k = base.config.filters
    torch.manual_seed(args.seed)
    head = ValueHead(args.directions, tower=args.tower)
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * -(-len(train_rows) // args.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, (lambda step: 0.5 * (1 + np.cos(np.pi * step / steps))) if args.cosine else (lambda step: 1.0))
    rng = np.random.default_rng(args.seed)
    print(f"{len(holdout)} cached positions: {len(train_rows)} train, {len(holdout_rows)} hold-out")
    best, best_epoch, best_state, history = float("inf"), 0, None, []
    for epoch in range(args.epochs):
        head.train()
        total, count, started = 0.0, 0, time.time()
        for x, komi, z in tqdm(batches(data, sample, rng.permutation(train_rows), args.batch_size),
                               total=-(-len(train_rows) // args.batch_size), desc=f"epoch {epoch + 1}",
                               unit="batch", leave=False):
            v = head(x, torch.zeros_like(komi) if args.no_komi else komi)
            loss = ((v - z) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(z)
            count += len(z)
        held = mean_squared_error(head, data, sample, holdout_rows, args.no_komi)
        history.append({"epoch": epoch + 1, "train_mse": round(total / count, 4), "holdout_mse": round(held, 4)})
        print(f"epoch {epoch + 1}: train MSE {total / count:.4f} (running), hold-out MSE {held:.4f}, "
              f"{time.time() - started:.0f} s", flush=True)
        if held < best:
            best, best_epoch, best_state = held, epoch + 1, {key: v.clone() for key, v in head.state_dict().items()}
        elif epoch + 1 - best_epoch >= args.patience:
            break
    head.load_state_dict(best_state)
    train_mse = mean_squared_error(head, data, sample, train_rows, args.no_komi)
    print(f"best hold-out MSE {best:.4f} (epoch {best_epoch}), train MSE {train_mse:.4f}")
    report = None
    if args.val_cache:  # reported, never used to choose
        val_paths, val_sample = load_cache(Path(args.val_cache))
        values = predict(head, project(val_paths, directions), val_sample, np.arange(len(val_sample["z"])),
                         args.no_komi)
        report = value_report(values, val_sample["z"], val_sample["move_number"])
        print(f"{args.val_cache}: " + json.dumps(report))
    if args.no_komi:
        print("no komi input: an ablation, no model written")
        return
    net = PolicyNet(dataclasses.replace(base.config, value_head=True, value_tower=args.tower))
    policy = {key: v for key, v in base.state_dict().items() if not key.startswith("value_head.")}
    net.load_state_dict(policy, strict=False)  # everything but the new head (the base may have an older one)
    net.value_head.load_state_dict(full_head(head, directions, k).state_dict())
    features = torch.from_numpy(np.load(paths[0])[:8]).float()
    komi = torch.from_numpy(sample["komi"][:len(features)])
    with torch.inference_mode():
        assert torch.allclose(net.value_head(features, komi), head(data[:len(features)].float(), komi), atol=1e-3)
    value_meta = {"caches": [str(Path(c).resolve()) for c in args.caches], "positions": len(train_rows),
                  "holdout_positions": len(holdout_rows), "train_mse": round(train_mse, 4),
                  "holdout_mse": round(best, 4), "val_cache": report, "epochs": history, "lr": args.lr,
                  "cosine": args.cosine, "weight_decay": args.weight_decay, "batch_size": args.batch_size,
                  "directions": args.directions, "tower": args.tower, "trunk": "frozen (policy weights unchanged)"}
    save_model(net, args.out, meta={**meta, "value": value_meta})
    print(f"model with the value head -> {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the machine is shared)")
    stages = parser.add_subparsers(dest="stage", required=True)
    p = stages.add_parser("cache", help="trunk features of sampled positions")
    p.add_argument("folders", nargs="+", help="`gonet prepare` folders (their train split is used)")
    p.add_argument("--per-game", type=int, nargs="+", default=[1], help="positions per game, one count per folder")
    p.add_argument("--positions", type=int, help="stop after this many (the sample is shuffled)")
    p.add_argument("--out", required=True, help="cache folder (an interrupted run there resumes)")
    p.add_argument("--model", default=str(default_model_path()), help="the model whose trunk is used")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True,
                   help="bfloat16 autocast: 1.4-1.6x faster on a CPU with avx512_bf16; features within 0.2%%")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cache)
    p = stages.add_parser("train", help="fit the value head on a cache and write a model file")
    p.add_argument("caches", nargs="+", help="cache folders (of one base model), trained on together")
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--model", default=str(default_model_path()), help="base model (must be the cache's)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--patience", type=int, default=3, help="stop after this many epochs without a better hold-out")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--cosine", action="store_true", help="decay the learning rate to 0 over --epochs (cosine)")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--directions", type=int, default=32, help="principal directions of the features to train on")
    p.add_argument("--val-cache", help="a cache of other games (e.g. kgs/val) to report MSE by phase on")
    p.add_argument("--tower", type=int, default=0, help="3x3 convs in the head before it pools (ValueHead)")
    p.add_argument("--no-komi", action="store_true", help="ablation: train with the komi input zeroed")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=train)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.run(args)


if __name__ == "__main__":
    main()
