"""Visualisations on the Go board: what the policy net wants, why, and what a filter likes."""

from __future__ import annotations

import heapq
import os
from pathlib import Path

import numpy as np
import torch

from gonet.coords import colour_name, idx_to_vertex
from gonet.features import position_planes
from gonet.game import Game, check_record
from gonet.policy import Policy
from gonet.sgf import read_records
from gonet.viz import plots
from gonet.viz.methods import conv_layers


def position(sgf: str | os.PathLike, move: int) -> tuple[Game, int | None]:
    """The game of the first record in ``sgf`` before move ``move`` (1-based), and the move played there."""
    record = next(iter(read_records([sgf])), None)
    if record is None:
        raise ValueError(f"{sgf}: no readable game")
    move = max(1, min(move, len(record.moves) + 1))
    game = Game.from_record(record, moves=move - 1)
    played = record.moves[move - 1][1] if move - 1 < len(record.moves) else None
    return game, played


def policy_heatmap(policy: Policy, sgf: str, move: int, out: str | Path) -> Path:
    """The net's move probabilities before move ``move`` of a game, the played move boxed."""
    game, played = position(sgf, move)
    probs = policy.predict(game)[:-1]
    top = np.argsort(-probs)[:5]
    labels = {int(i): f"{100 * probs[i]:.0f}" for i in top}
    rank = int((probs > probs[played]).sum()) + 1 if played is not None and played < len(probs) else None
    title = f"move {move}, {colour_name(game.to_move)} to play"
    if played is not None:
        title += f": played {idx_to_vertex(played, game.size)} (net's #{rank}, {100 * probs[played]:.1f}%)"
    return plots.boards([{"stones": game.board.state[0], "heat": probs, "labels": labels, "mark": played,
                          "title": title}], game.size, out, "policy heatmap")


def move_saliency(policy: Policy, sgf: str, move: int, out: str | Path) -> Path:
    """|d logit(chosen move) / d planes| summed over the planes: which points drove the choice."""
    game, _ = position(sgf, move)
    planes = torch.from_numpy(position_planes(game, policy.config.feature_set)[None]).float().requires_grad_(True)
    logits = policy.net.move_logits(planes.to(policy.device))
    legal = torch.from_numpy(game.legal_moves()[:-1])
    choice = int(torch.where(legal, logits[0].detach().cpu(), torch.tensor(-1e9)).argmax())
    logits[0, choice].backward()
    grad = planes.grad[0].abs().sum(0).reshape(-1).numpy()
    return plots.boards([{"stones": game.board.state[0], "heat": grad, "mark": choice, "cmap": "viridis",
                          "title": f"saliency of {idx_to_vertex(choice, game.size)} (move {move})"}],
                        game.size, out, "what the chosen move depends on")


def exciting_positions(policy: Policy, sources: list[str], layer: int, filter_index: int, out: str | Path,
                       top: int = 8, max_positions: int = 5000) -> Path:
    """The ``top`` positions in ``sources`` where one filter fires hardest, its map as heat."""
    conv = conv_layers(policy.net)[layer]
    maps = {}
    hook = conv.register_forward_hook(lambda m, i, o: maps.__setitem__("out", o))
    best: list[tuple[float, int, np.ndarray, np.ndarray, str]] = []
    seen = 0
    try:
        for record in read_records(sources, size=policy.board_size):
            if check_record(record) is not None:
                continue
            game = Game.from_record(record, moves=0)
            for colour, idx in record.moves:
                if seen >= max_positions:
                    break
                game.to_move = colour
                with torch.inference_mode():
                    policy.net.move_logits(torch.from_numpy(position_planes(game, policy.config.feature_set)[None]).float().to(policy.device))
                fmap = torch.relu(maps["out"][0, filter_index]).reshape(-1).cpu().numpy()
                item = (float(fmap.max()), seen, game.board.state[0].copy(), fmap,
                        f"{record.name.split('/')[-1][:28]} move {game.move_number + 1}")
                heapq.heappush(best, item) if len(best) < top else heapq.heappushpop(best, item)
                seen += 1
                game.play(idx, colour)
            if seen >= max_positions:
                break
    finally:
        hook.remove()
    panels = [{"stones": s, "heat": f, "title": f"{t}\nmax {v:.2f}"} for v, _, s, f, t in sorted(best, reverse=True)]
    return plots.boards(panels, policy.board_size, out,
                        f"layer {layer} filter {filter_index}: top {len(panels)} of {seen} positions")
