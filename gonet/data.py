"""Prepared games → positions → batches: the batch Dataset, batch-side symmetries and
the LightningDataModule.

A position is (game, move number); its planes are recomputed on demand by replaying the
game's first moves (~3M moves/s) and running the feature kernels (~24k positions/s per
core), so DataLoader workers turn the compact shards of :mod:`gonet.prepare` into batches.
A worker computes a whole batch in one Numba call (``batch_planes``; per-position Python
and collation cost a worker a third of the kernel's rate) and sends its planes packed
(see :class:`PositionDataset`). Unpacking, the feature subset and random symmetries are
done on the training device (``unpack_planes``, ``random_symmetry``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import lightning as L
import numpy as np
import torch
from numba import njit
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, get_worker_info

from gonet.board import diagonals, neighbours
from gonet.features import (
    LADDER_BUDGET,
    NUM_PLANES,
    game_planes,
    side_komi,
    symmetry_planes,
    symmetry_table,
    value_target,
)

SPLITS = ("train", "val", "all")


@njit(cache=True)
def batch_planes(nbr, diag, setup_colours, setup, setup_offsets, colours, moves, game_offsets, rows, out, budget):
    """Planes of the positions before the moves at ``rows`` (ascending rows of concatenated
    games) into ``out[i]`` (uint8[len(rows), 48, N*N], need not be zeroed), in one call for
    a whole batch: each game is replayed once, up to its last wanted position.

    Returns the first row of a game with an illegal move, or -1.
    """
    i = 0
    while i < rows.shape[0]:
        game = np.searchsorted(game_offsets, rows[i], side="right") - 1
        first, stop = game_offsets[game], game_offsets[game + 1]
        j = i + 1
        while j < rows.shape[0] and rows[j] < stop:
            j += 1
        last = rows[j - 1] + 1
        a, b = setup_offsets[game], setup_offsets[game + 1]
        out[i:j] = 0  # here rather than by the caller: the memory is written while in cache
        if game_planes(nbr, diag, setup_colours[a:b], setup[a:b], colours[first:last], moves[first:last],
                       rows[i:j] - first, out[i:j], budget) != -1:
            return rows[i]
        i = j
    return -1


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

    def planes(self, rows: np.ndarray, out: np.ndarray) -> None:
        """Planes of the positions before the moves at ``rows`` (ascending) into ``out``
        (uint8[len(rows), 48, N*N], need not be zeroed)."""
        bad = batch_planes(neighbours(self.size), diagonals(self.size), self.setup_colours, self.setup,
                           self.setup_offsets, self.colours, self.moves, self.game_offsets, rows, out, LADDER_BUDGET)
        assert bad == -1, f"prepared game with an illegal move at row {bad}"

    def value_inputs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, komi), float32[len(rows)] each, of the positions before the moves at ``rows``,
        from the side to move's view: the value target (``value_target``: +1 won, -1 lost,
        0 result unknown) and the value head's komi input (``side_komi``)."""
        games = np.searchsorted(self.game_offsets, rows, side="right") - 1
        to_move = self.colours[rows]
        return (value_target(self.winner[games], to_move).astype(np.float32),
                side_komi(self.komi[games], to_move).astype(np.float32))


@njit(cache=True)
def pack_bits(src, dst):
    """Flattened, ``dst[i]`` = the bytes ``src[8i:8i+8]`` (each 0 or 1) as the bits of one
    byte, lowest first: ``np.packbits(src, bitorder="little")``, but a hundred times faster,
    as one multiply gathers 8 bytes read as a little-endian word into its top byte. Both
    arrays C-contiguous uint8, ``src`` 8 times the size of ``dst``."""
    words, out = src.reshape(-1).view(np.uint64), dst.reshape(-1)
    for i in range(out.shape[0]):
        out[i] = (words[i] * np.uint64(0x0102040810204080)) >> np.uint64(56)


def unpack_planes(packed: torch.Tensor, size: int) -> torch.Tensor:
    """The planes uint8[B, 48, N, N] of a batch's packed planes, on their device."""
    bits = torch.arange(8, dtype=torch.uint8, device=packed.device)
    return ((packed[..., None] >> bits) & 1).reshape(len(packed), NUM_PLANES, size, size)  # (B, 48, N, N)


class Batch(NamedTuple):
    """A batch of positions: what a DataLoader worker delivers and a training step reads."""

    planes: torch.Tensor  # uint8[B, 6*N*N]: all 48 planes packed 8 to a byte (pack_bits); unpack_planes
    moves: torch.Tensor  # int64[B]: the move played, idx
    z: torch.Tensor  # float32[B]: the result for the side to move, 0 if unknown (PreparedGames.value_inputs)
    komi: torch.Tensor  # float32[B]: the komi for the side to move, the value head's input (same)


class PositionDataset(Dataset):
    """Batches of non-pass positions of some prepared games: ``dataset[indices]`` is one
    :class:`Batch`, computed in one Numba call. Items come back ordered by row (one replay
    per game), not in the order of ``indices``; a DataLoader gets index lists from a
    ``BatchSampler`` and ``batch_size=None``.

    The planes travel packed, 2,166 bytes a position on 19x19 instead of 17,328: fresh
    memory for a batch to leave its worker costs page faults, and eight times fewer bytes
    brought a worker from about 80% to 86-98% of the kernel's rate per CPU second
    (docs/benchmarks.md); the copies to pinned memory and the GPU shrink alike. The net's
    feature subset is taken after unpacking, on the device."""

    def __init__(self, games: PreparedGames, max_positions: int | None = None, seed: int = 0):
        self.games = games
        rows = games.position_rows()
        if max_positions is not None and max_positions < len(rows):
            rows = np.sort(np.random.default_rng(seed).choice(rows, max_positions, replace=False))
        self.rows = rows
        self._planes = np.empty((0, NUM_PLANES, games.size ** 2), dtype=np.uint8)  # reused: stays in cache

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, indices: Sequence[int]) -> Batch:
        rows = np.sort(self.rows[np.asarray(indices)])
        if len(self._planes) < len(rows):
            self._planes = np.empty((len(rows), *self._planes.shape[1:]), dtype=np.uint8)
        planes = self._planes[:len(rows)]
        self.games.planes(rows, planes)
        packed = _uint8_for_main_process((len(rows), planes[0].size // 8))
        pack_bits(planes, packed.numpy())
        z, komi = self.games.value_inputs(rows)
        return Batch(packed, torch.from_numpy(self.games.moves[rows]), torch.from_numpy(z), torch.from_numpy(komi))


def _uint8_for_main_process(shape: tuple[int, ...]) -> torch.Tensor:
    """An uninitialised uint8 tensor; in a DataLoader worker it is made in shared memory, as
    the DataLoader's own collate does, rather than copied there when the batch is sent."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=torch.uint8)
    return torch.empty(0, dtype=torch.uint8).set_(torch.UntypedStorage._new_shared(math.prod(shape))).view(shape)


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

    def __init__(self, data: Folders, val_data: str | None = None, batch_size: int = 256,
                 val_positions: int = 20000, workers: int = 1, seed: int = 0, pin_memory: bool = False):
        super().__init__()
        self.data, self.val_data = data, val_data
        self.batch_size, self.val_positions = batch_size, val_positions
        self.workers, self.seed, self.pin_memory = workers, seed, pin_memory
        self.samples_done = 0  # by all devices, when the run (re)started

    def setup(self, stage: str) -> None:
        if not hasattr(self, "train_set"):
            self.train_set = PositionDataset(PreparedGames(self.data, "train"))
            val_games = PreparedGames(self.val_data, "all") if self.val_data else PreparedGames(self.data, "val")
            self.val_set = PositionDataset(val_games, self.val_positions, seed=self.seed)

    def _loader(self, dataset: Dataset, sampler: Iterable[int]) -> DataLoader:
        """Each worker computes whole batches (``dataset[indices]``), so no collation."""
        return DataLoader(dataset, sampler=BatchSampler(sampler, self.batch_size, drop_last=False), batch_size=None,
                          num_workers=self.workers, pin_memory=self.pin_memory, persistent_workers=self.workers > 0,
                          prefetch_factor=4 if self.workers > 0 else None)

    def _rank(self) -> tuple[int, int]:
        """(this process's rank, the number of processes)."""
        return (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)

    def train_dataloader(self) -> DataLoader:
        sampler = EndlessRandomSampler(len(self.train_set), self.seed, self.samples_done, *self._rank())
        return self._loader(self.train_set, sampler)

    def val_dataloader(self) -> DataLoader:
        """Each rank validates its own share of the val positions (metrics are averaged)."""
        rank, world = self._rank()
        return self._loader(self.val_set, range(rank, len(self.val_set), world))

    def state_dict(self) -> dict:
        """Where in the sample stream a checkpoint was taken (samples used by all devices)."""
        trainer = self.trainer
        return {"samples_done": trainer.global_step * self.batch_size * trainer.world_size if trainer else 0}

    def load_state_dict(self, state: dict) -> None:
        self.samples_done = state["samples_done"]
