"""``gonet eval``: move-prediction accuracy of a policy on SGF records, as the literature
measures it (top-1, top-5, mean log-likelihood of the played move; passes excluded), and,
for a model with a value head, the value's MSE against the game's result z = +-1 from the
side to move's view and how often its sign names the winner, by game phase. Games without
a usable result (RE missing, void, draw) count for the policy only."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import torch
from tqdm import tqdm

from gonet.board import diagonals, neighbours
from gonet.features import LADDER_BUDGET, NUM_PLANES, feature_planes, game_planes, side_komi, value_target
from gonet.game import check_record, record_arrays
from gonet.policy import Policy
from gonet.prepare import winner
from gonet.sgf import ReadStats, read_records

PHASES = {"0-50": (0, 50), "50-150": (50, 150), "150+": (150, None)}
"""Game phases of the value report: moves already played before the position, [start, stop)."""


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
        games.append((arrays, np.flatnonzero(arrays[3] != size * size), winner(record.result), record.komi))
    if illegal:
        stats.skipped["illegal move"] += illegal
        stats.games -= illegal
    total = sum(len(g[1]) for g in games)
    stride = max(1, math.ceil(total / max_positions)) if max_positions else 1
    return games, stride


def _batches(games: list, stride: int, size: int, channels: list[int], batch_size: int, limit: int | None
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(planes, moves, move numbers, z, komi from the side to move's view) of the sample."""
    nbr, diag = neighbours(size), diagonals(size)
    parts: list[tuple[np.ndarray, ...]] = []
    seen = kept = 0
    for (setup_colours, setup_idxs, colours, idxs), move_numbers, result, komi in games:
        wanted = move_numbers[(seen + np.arange(len(move_numbers))) % stride == 0]
        seen += len(move_numbers)
        if limit is not None:
            wanted = wanted[: max(0, limit - kept)]
        if len(wanted) == 0:
            continue
        kept += len(wanted)
        out = np.zeros((len(wanted), NUM_PLANES, size * size), dtype=np.uint8)
        game_planes(nbr, diag, setup_colours, setup_idxs, colours, idxs, wanted, out, LADDER_BUDGET)
        to_move = colours[wanted]
        parts.append((out[:, channels].reshape(len(wanted), len(channels), size, size), idxs[wanted], wanted,
                      value_target(result, to_move).astype(np.float32), side_komi(komi, to_move).astype(np.float32)))
        if sum(len(part[1]) for part in parts) >= batch_size:
            yield tuple(np.concatenate(column) for column in zip(*parts))
            parts = []
    if parts:
        yield tuple(np.concatenate(column) for column in zip(*parts))


def evaluate(policy: Policy, sources: list[str | os.PathLike], max_positions: int | None = None,
             batch_size: int = 512, progress: bool = True) -> dict:
    """Top-1/top-5 accuracy and mean log-likelihood of ``policy`` on the records in ``sources``;
    with a value head also ``value``: MSE and winner accuracy, overall and by :data:`PHASES`."""
    size = policy.board_size
    stats = ReadStats()
    games, stride = _positions(sources, size, max_positions, stats)
    channels = list(feature_planes(policy.config.feature_set))
    n = top1 = top5 = 0
    loglik = 0.0
    value_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # values, z, move numbers
    expected = math.ceil(sum(len(g[1]) for g in games) / stride)
    bar = tqdm(total=min(expected, max_positions or expected), desc="eval", unit="pos", disable=not progress)
    for planes, moves, move_numbers, z, komi in _batches(games, stride, size, channels, batch_size, max_positions):
        if policy.has_value:
            logits, values = policy.logits_values(planes, komi)
            value_parts.append((values, z, move_numbers))
        else:
            logits = policy.logits(planes)
        logits = torch.from_numpy(logits)
        logp = torch.log_softmax(logits, dim=1)
        target = torch.from_numpy(moves)
        best = logits.topk(5, dim=1).indices
        top1 += int((best[:, 0] == target).sum())
        top5 += int((best == target[:, None]).any(1).sum())
        loglik += float(logp.gather(1, target[:, None]).sum())
        n += len(moves)
        bar.update(len(moves))
    bar.close()
    result = {"top1": top1 / n if n else 0.0, "top5": top5 / n if n else 0.0,
              "loglik": loglik / n if n else 0.0, "positions": n, "games": stats.games,
              "skipped": dict(stats.skipped), "model": policy.config.name, "feature_set": policy.config.feature_set}
    if policy.has_value:
        columns = [np.concatenate(column) for column in zip(*value_parts)] or [np.zeros(0)] * 3
        result["value"] = value_report(*columns)
    return result


def value_report(values: np.ndarray, z: np.ndarray, move_numbers: np.ndarray) -> dict:
    """MSE and winner accuracy (the value's sign is z's) of the positions with a known result
    (z != 0): overall, and by :data:`PHASES` under ``phases``; ``None`` where none."""
    known = z != 0
    rows = {}
    for name, (start, stop) in [("all", (0, None)), *PHASES.items()]:
        mask = known & (move_numbers >= start) & (move_numbers < (stop if stop is not None else np.inf))
        v, t = values[mask].astype(np.float64), z[mask]
        rows[name] = {"positions": int(mask.sum()), "mse": float(((v - t) ** 2).mean()) if mask.any() else None,
                      "winner_accuracy": float((np.sign(v) == t).mean()) if mask.any() else None}
    return {**rows.pop("all"), "phases": rows}
