"""Prepared games → positions → batches: the position Dataset, batch-side symmetries and
the LightningDataModule.

A position is (game, move number); its planes are recomputed on demand by replaying the
game's first moves (~3M moves/s) and running the feature kernels (~24k positions/s per
core), so DataLoader workers turn the compact shards of :mod:`gonet.prepare` into batches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from gonet.board import diagonals, neighbours
from gonet.features import (
    LADDER_BUDGET,
    NUM_PLANES,
    feature_planes,
    game_planes,
    symmetry_planes,
    symmetry_table,
)

SPLITS = ("train", "val", "all")


Folders = str | Path | Sequence[str | Path]


def folder_list(folders: Folders) -> list[Path]:
    """One prepared folder or several, as a list."""
    return [Path(folders)] if isinstance(folders, (str, Path)) else [Path(f) for f in folders]


def board_size_of(folders: Folders) -> int:
    """The board size shared by some prepared folders; ``ValueError`` if they differ."""
    sizes = {PreparedGames.manifest_of(f)["size"] for f in folder_list(folders)}
    if len(sizes) != 1:
        raise ValueError(f"prepared folders mix board sizes {sorted(sizes)}; train on one size at a time")
    return sizes.pop()


class PreparedGames:
    """The games of one split of one or more ``gonet prepare`` folders (e.g. KGS and Tygem),
    concatenated in folder and shard order."""

    def __init__(self, folders: Folders, split: str = "train"):
        folders = folder_list(folders)
        if split not in SPLITS:
            raise ValueError(f"split {split!r}: choose from {', '.join(SPLITS)}")
        self.size = board_size_of(folders)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("moves", "colours", "setup", "setup_colours")}
        move_counts, setup_counts = [], []
        winners, komis = [], []
        shards = [folder / "shards" / f"{shard['name']}.npz"
                  for folder in folders for shard in self.manifest_of(folder)["shards"]]
        for shard in shards:
            with np.load(shard) as z:
                keep = np.ones(len(z["sizes"]), dtype=bool) if split == "all" else z["val"] == (split == "val")
                winners.append(z["winner"][keep])
                komis.append(z["komi"][keep])
                for key, offsets in (("moves", "game_offsets"), ("setup", "setup_offsets")):
                    starts, stops = z[offsets][:-1][keep], z[offsets][1:][keep]
                    rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)] or [np.zeros(0, int)])
                    colour_key = "colours" if key == "moves" else "setup_colours"
                    parts[key].append(z[key][rows])
                    parts[colour_key].append(z[colour_key][rows])
                    (move_counts if key == "moves" else setup_counts).append(stops - starts)
        concat = {k: np.concatenate(v) if v else np.zeros(0, np.int16) for k, v in parts.items()}
        self.moves = concat["moves"].astype(np.int64)
        self.colours = concat["colours"].astype(np.int64)
        self.setup = concat["setup"].astype(np.int64)
        self.setup_colours = concat["setup_colours"].astype(np.int64)
        self.game_offsets = np.concatenate([[0], np.cumsum(np.concatenate(move_counts or [[]]))]).astype(np.int64)
        self.setup_offsets = np.concatenate([[0], np.cumsum(np.concatenate(setup_counts or [[]]))]).astype(np.int64)
        self.winner = np.concatenate(winners or [np.zeros(0, np.int8)]).astype(np.int8)  # per game: +1 B, -1 W, 0 unknown
        self.komi = np.concatenate(komis or [np.zeros(0, np.float32)]).astype(np.float32)  # per game

    @staticmethod
    def manifest_of(folder: str | Path) -> dict:
        """The manifest of a prepared folder; ``FileNotFoundError`` if it has none."""
        path = Path(folder) / "manifest.json"
        if not path.exists():
            raise FileNotFoundError(f"{folder}: no manifest.json; run `gonet prepare` first")
        return json.loads(path.read_text())

    def __len__(self) -> int:
        return len(self.game_offsets) - 1

    def position_rows(self) -> np.ndarray:
        """Rows of ``moves`` whose move is a point (passes are not training targets)."""
        return np.flatnonzero(self.moves != self.size * self.size)

    def planes(self, row: int, out: np.ndarray) -> int:
        """Planes of the position before move ``row`` into ``out`` (uint8[48, N*N], zeroed); returns the move."""
        game = int(np.searchsorted(self.game_offsets, row, side="right")) - 1
        first, setup = self.game_offsets[game], slice(self.setup_offsets[game], self.setup_offsets[game + 1])
        game_planes(neighbours(self.size), diagonals(self.size), self.setup_colours[setup], self.setup[setup],
                    self.colours[first:row + 1], self.moves[first:row + 1], np.array([row - first]),
                    out[None], LADDER_BUDGET)
        return int(self.moves[row])


class PositionDataset(Dataset):
    """(planes uint8[C, N, N], move int64) for each non-pass position of some prepared games."""

    def __init__(self, games: PreparedGames, feature_set: str = "full", max_positions: int | None = None,
                 seed: int = 0):
        self.games = games
        self.channels = list(feature_planes(feature_set))
        rows = games.position_rows()
        if max_positions is not None and max_positions < len(rows):
            rows = np.sort(np.random.default_rng(seed).choice(rows, max_positions, replace=False))
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        n = self.games.size
        out = np.zeros((NUM_PLANES, n * n), dtype=np.uint8)
        move = self.games.planes(int(self.rows[i]), out)
        return torch.from_numpy(out[self.channels].reshape(-1, n, n)), move


class EndlessRandomSampler(Sampler[int]):
    """Seeded permutations of ``range(length)``, one after another without end, from global
    sample ``start``; rank r of ``world_size`` takes the samples ``j`` with ``j % world_size == r``.

    Training is one endless epoch bounded by max steps or time, so a checkpoint resumes
    exactly by its sample count, with no epoch boundaries for Lightning to get wrong.
    """

    def __init__(self, length: int, seed: int = 0, start: int = 0, rank: int = 0, world_size: int = 1):
        if length <= 0:
            raise ValueError("no training positions")
        self.length, self.seed, self.start, self.rank, self.world_size = length, seed, start, rank, world_size

    def __iter__(self):
        position = self.start
        while True:
            epoch, offset = divmod(position, self.length)
            order = np.random.default_rng([self.seed, epoch]).permutation(self.length)
            stream = np.arange(position, (epoch + 1) * self.length)
            yield from order[stream[stream % self.world_size == self.rank] - epoch * self.length].tolist()
            position = (epoch + 1) * self.length


@lru_cache(maxsize=None)
def _symmetry_tensors(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(gather index int64[8, N*N]: old idx at each new idx; move map int64[8, N*N+1])."""
    nn = size * size
    gather = np.stack([symmetry_planes(np.arange(nn).reshape(size, size), k).reshape(nn) for k in range(8)])
    return torch.from_numpy(gather.copy()), torch.from_numpy(symmetry_table(size))


def random_symmetry(planes: torch.Tensor, moves: torch.Tensor, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply an independent random dihedral symmetry to each (planes, move) of a batch, on
    the batch's device: planes (B, C, N, N), moves (B,) idx."""
    b, c, n, _ = planes.shape
    gather, move_map = (t.to(planes.device) for t in _symmetry_tensors(n))
    k = torch.randint(0, 8, (b,), device=planes.device, generator=generator)
    index = gather[k][:, None, :].expand(b, c, n * n)  # (B, C, N*N)
    moved = planes.reshape(b, c, n * n).gather(2, index).reshape(b, c, n, n)
    return moved, move_map[k, moves]


class PositionDataModule(L.LightningDataModule):
    """Train positions in a resumable random order; a fixed subset of val positions."""

    def __init__(self, data: Folders, val_data: str | None = None, feature_set: str = "full", batch_size: int = 256,
                 val_positions: int = 20000, workers: int = 1, seed: int = 0, pin_memory: bool = False):
        super().__init__()
        self.data, self.val_data = data, val_data
        self.feature_set, self.batch_size, self.val_positions = feature_set, batch_size, val_positions
        self.workers, self.seed, self.pin_memory = workers, seed, pin_memory
        self.samples_done = 0  # by all devices, when the run (re)started

    def setup(self, stage: str) -> None:
        if not hasattr(self, "train_set"):
            self.train_set = PositionDataset(PreparedGames(self.data, "train"), self.feature_set)
            val_games = PreparedGames(self.val_data, "all") if self.val_data else PreparedGames(self.data, "val")
            self.val_set = PositionDataset(val_games, self.feature_set, self.val_positions, seed=self.seed)

    def _loader(self, dataset: Dataset, sampler: Sampler | None) -> DataLoader:
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler, num_workers=self.workers,
                          pin_memory=self.pin_memory, persistent_workers=self.workers > 0,
                          prefetch_factor=4 if self.workers > 0 else None)

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        sampler = EndlessRandomSampler(len(self.train_set), self.seed, self.samples_done, rank, world)
        return self._loader(self.train_set, sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, None)

    def state_dict(self) -> dict:
        """Where in the sample stream a checkpoint was taken (samples used by all devices)."""
        trainer = self.trainer
        return {"samples_done": trainer.global_step * self.batch_size * trainer.world_size if trainer else 0}

    def load_state_dict(self, state: dict) -> None:
        self.samples_done = state["samples_done"]
