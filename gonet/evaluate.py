"""``gonet eval``: move-prediction accuracy of a policy on SGF records, as the literature
measures it (top-1, top-5, mean log-likelihood of the played move; passes excluded)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import torch
from tqdm import tqdm

from gonet.board import diagonals, neighbours
from gonet.features import LADDER_BUDGET, NUM_PLANES, feature_planes, game_planes
from gonet.game import check_record, record_arrays
from gonet.policy import Policy
from gonet.sgf import ReadStats, read_records


def _positions(sources: list[str | os.PathLike], size: int, max_positions: int | None, stats: ReadStats
               ) -> tuple[list, int]:
    """(legal records with their non-pass move numbers, stride): with ``max_positions``, every
    stride-th position of the whole corpus is kept, so a sample spans all games."""
    games = []
    illegal = 0
    for record in read_records(sources, stats, size=size):
        if check_record(record) is not None:
            illegal += 1
            continue
        arrays = record_arrays(record)
        games.append((arrays, np.flatnonzero(arrays[3] != size * size)))
    if illegal:
        stats.skipped["illegal move"] += illegal
        stats.games -= illegal
    total = sum(len(m) for _, m in games)
    stride = max(1, math.ceil(total / max_positions)) if max_positions else 1
    return games, stride


def _batches(games: list, stride: int, size: int, channels: list[int], batch_size: int, limit: int | None
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    nbr, diag = neighbours(size), diagonals(size)
    planes, moves = [], []
    seen = kept = 0
    for (setup_colours, setup_idxs, colours, idxs), move_numbers in games:
        wanted = move_numbers[(seen + np.arange(len(move_numbers))) % stride == 0]
        seen += len(move_numbers)
        if limit is not None:
            wanted = wanted[: max(0, limit - kept)]
        if len(wanted) == 0:
            continue
        kept += len(wanted)
        out = np.zeros((len(wanted), NUM_PLANES, size * size), dtype=np.uint8)
        game_planes(nbr, diag, setup_colours, setup_idxs, colours, idxs, wanted, out, LADDER_BUDGET)
        planes.append(out[:, channels].reshape(len(wanted), len(channels), size, size))
        moves.append(idxs[wanted])
        if sum(len(m) for m in moves) >= batch_size:
            yield np.concatenate(planes), np.concatenate(moves)
            planes, moves = [], []
    if moves:
        yield np.concatenate(planes), np.concatenate(moves)


def evaluate(policy: Policy, sources: list[str | os.PathLike], max_positions: int | None = None,
             batch_size: int = 512, progress: bool = True) -> dict:
    """Top-1/top-5 accuracy and mean log-likelihood of ``policy`` on the records in ``sources``."""
    size = policy.board_size
    stats = ReadStats()
    games, stride = _positions(sources, size, max_positions, stats)
    channels = list(feature_planes(policy.config.feature_set))
    n = top1 = top5 = 0
    loglik = 0.0
    expected = math.ceil(sum(len(m) for _, m in games) / stride)
    bar = tqdm(total=min(expected, max_positions or expected), desc="eval", unit="pos", disable=not progress)
    for planes, moves in _batches(games, stride, size, channels, batch_size, max_positions):
        logits = torch.from_numpy(policy.logits(planes))
        logp = torch.log_softmax(logits, dim=1)
        target = torch.from_numpy(moves)
        best = logits.topk(5, dim=1).indices
        top1 += int((best[:, 0] == target).sum())
        top5 += int((best == target[:, None]).any(1).sum())
        loglik += float(logp.gather(1, target[:, None]).sum())
        n += len(moves)
        bar.update(len(moves))
    bar.close()
    return {"top1": top1 / n if n else 0.0, "top5": top5 / n if n else 0.0,
            "loglik": loglik / n if n else 0.0, "positions": n, "games": stats.games,
            "skipped": dict(stats.skipped), "model": policy.config.name, "feature_set": policy.config.feature_set}
