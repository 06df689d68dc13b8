"""Training: batch symmetries, the sampler, the loop learns, exact resume, model export."""

import dataclasses
import itertools
import math
import os
import shutil
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_prepare import random_game_sgf
from torch.utils.data import DataLoader, TensorDataset

from gonet.data import (
    EndlessRandomSampler,
    PositionDataModule,
    PositionDataset,
    PreparedGames,
    random_symmetry,
    unpack_planes,
)
from gonet.features import position_planes, symmetry_idx, symmetry_planes
from gonet.game import Game
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import ModelFileError, load_net, load_policy, save_model
from gonet.prepare import prepare
from gonet.train import (
    CHECKSUM_KEY,
    CheckpointError,
    PolicyModule,
    TrainingDiverged,
    checked_checkpoint,
    join_checkpoint,
    split_checkpoint,
    train,
)
from gonet.train_config import TrainConfig


RESULTS = ("B+R", "W+0.5", "Void")  # game i has RESULTS[i % 3]: winner +1, -1, 0


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """12 random legal 9x9 games of 30 moves (results cycling through RESULTS), prepared
    with a quarter held out."""
    root = tmp_path_factory.mktemp("train")
    games = [random_game_sgf(seed, moves=30).replace("RE[B+R]", f"RE[{RESULTS[seed % 3]}]") for seed in range(12)]
    (root / "games.sgf").write_text("\n".join(games))
    prepare([str(root / "games.sgf")], root / "prepared", val_fraction=0.25, size=9, workers=1)
    return root / "prepared"


def test_random_symmetry_keeps_planes_and_move_together():
    """A plane marking the move still marks it after each sample's random symmetry, and
    every other plane moved the same way (checked against symmetry_planes)."""
    n, b = 9, 64
    moves = torch.randint(0, n * n, (b,))
    planes = torch.zeros(b, 2, n, n, dtype=torch.uint8)
    planes[torch.arange(b), 0, moves // n, moves % n] = 1
    planes[:, 1] = torch.randint(0, 2, (b, n, n), dtype=torch.uint8)
    moved, new_moves = random_symmetry(planes, moves, torch.Generator().manual_seed(1))
    assert torch.equal(moved[:, 0].reshape(b, -1).argmax(1), new_moves)
    for i in range(b):
        k = next(k for k in range(8) if symmetry_idx(int(moves[i]), n, k) == int(new_moves[i])
                 and np.array_equal(symmetry_planes(planes[i].numpy(), k), moved[i].numpy()))
        assert 0 <= k < 8
    assert len({tuple(m.flatten().tolist()) for m in moved[:, 1:2]}) > 1


def test_sampler_streams_permutations_resumes_and_shards_ranks():
    """Permutation after permutation; start=s continues the same stream from sample s; two
    ranks split the stream between them."""
    stream = list(itertools.islice(EndlessRandomSampler(10, seed=3), 30))
    assert [sorted(stream[i:i + 10]) for i in (0, 10, 20)] == [list(range(10))] * 3
    assert stream[:10] != stream[10:20]
    assert list(itertools.islice(EndlessRandomSampler(10, seed=3, start=14), 16)) == stream[14:30]
    ranks = [list(itertools.islice(EndlessRandomSampler(10, 3, start=4, rank=r, world_size=2), 8)) for r in (0, 1)]
    assert ranks == [stream[4:20:2], stream[5:20:2]]


def test_dataset_batch_matches_game_replay(prepared):
    """dataset[indices] is one batch, ordered by row: the planes of the position before
    each move (packed as np.packbits, little bit order), that move, z = the game's result
    for the side to move (0 if unknown) and the komi for the side to move."""
    from gonet.game import Game
    from gonet.sgf import read_records

    games = PreparedGames(prepared, "all")
    assert games.winner.tolist() == [1, -1, 0] * 4
    records = list(read_records([prepared.parent / "games.sgf"]))
    batch = PositionDataset(games)[[35, 4, 64, 63]]  # game 1 move 5; game 0 move 4; game 2 moves 4, 3 (30 moves each)
    planes = unpack_planes(batch.planes, 9)
    for i, (g, m) in enumerate([(0, 4), (1, 5), (2, 3), (2, 4)]):
        game = Game.from_record(records[g], moves=m)
        assert np.array_equal(planes[i].numpy(), position_planes(game))
        assert batch.moves[i] == records[g].moves[m][1]
        assert batch.z[i] == [1, -1, 0][g] * game.to_move
        assert batch.komi[i] == -7 * game.to_move  # KM[7]: what the side to move receives
    assert batch.z.tolist() == [1, 1, 0, 0] and batch.z.dtype == torch.float32  # game 0 move 4 and game 1 move 5: Black
    assert np.array_equal(batch.planes.numpy(), np.packbits(planes.reshape(4, -1).numpy(), axis=1, bitorder="little"))


def test_workers_deliver_the_batches_computed_in_process(prepared):
    """A DataLoader worker (its batch made in shared memory) hands over the same batches as
    the dataset computes in this process."""
    dm = PositionDataModule(str(prepared), batch_size=16, workers=1)
    dm.setup("fit")
    loader = dm.train_dataloader()
    indices = list(itertools.islice(iter(loader.sampler), 3))
    for batch, idx in zip(loader, indices):
        assert batch.planes.shape == (16, 6 * 81)
        assert all(torch.equal(a, b) for a, b in zip(batch, dm.train_set[idx]))
        if idx is indices[-1]:
            break


def packed_random_planes(b: int, n: int = 9) -> torch.Tensor:
    """b random positions' 48 planes, packed as a batch carries them."""
    planes = np.random.default_rng(0).integers(0, 2, (b, 48 * n * n), dtype=np.uint8)
    return torch.from_numpy(np.packbits(planes, axis=1, bitorder="little"))


def test_several_prepared_folders_are_concatenated(prepared, tmp_path):
    """Training on KGS and Tygem at once: two folders give the games of both, in order; a
    folder of another board size is refused."""
    one = PreparedGames(prepared, "train")
    two = PreparedGames([prepared, prepared], "train")
    assert len(two) == 2 * len(one) and np.array_equal(two.moves, np.concatenate([one.moves, one.moves]))
    assert np.array_equal(two.game_offsets[len(one):] - two.game_offsets[len(one)], one.game_offsets)
    (tmp_path / "g13.sgf").write_text(random_game_sgf(0, moves=10, size=13))
    prepare([str(tmp_path / "g13.sgf")], tmp_path / "p13", val_fraction=0, size=13, workers=1)
    with pytest.raises(ValueError, match="board sizes"):
        PreparedGames([prepared, tmp_path / "p13"])


def test_prepared_games_carry_each_games_winner_and_komi(tmp_path):
    """PreparedGames.winner (+1 Black, -1 White, 0 for no usable result) and .komi, one per
    game, in game order."""
    results = ["RE[B+R]", "RE[W+3.5]", "", "RE[Void]", "RE[0]", "RE[W+T]"]
    komis = [6.5, 0.5, 7.5, 6.5, 0.0, -2.0]
    games = [random_game_sgf(seed, moves=10).replace("KM[7]RE[B+R]", f"KM[{k}]{r}")
             for seed, (r, k) in enumerate(zip(results, komis))]
    (tmp_path / "games.sgf").write_text("\n".join(games))
    prepare([str(tmp_path / "games.sgf")], tmp_path / "p", val_fraction=0, size=9, workers=1)
    prepared = PreparedGames(tmp_path / "p", "all")
    assert prepared.winner.tolist() == [1, -1, 0, 0, 0, -1] and prepared.winner.dtype == np.int8
    assert prepared.komi.tolist() == komis
    assert len(PreparedGames(tmp_path / "p", "val").winner) == 0


def test_tiny_net_overfits_a_handful_of_positions():
    """The training step learns: 8 fixed positions are fitted to 100% top-1."""
    torch.manual_seed(0)
    packed = packed_random_planes(8)
    moves = torch.randint(0, 81, (8,))
    module = PolicyModule(filters=16, layers=3, feature_set="board", board_size=9, lr=0.1, warmup_steps=1,
                          max_steps=300, symmetries=False)
    trainer = L.Trainer(max_steps=300, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu")
    trainer.fit(module, DataLoader(TensorDataset(packed, moves, torch.zeros(8), torch.zeros(8)), batch_size=8))
    with torch.no_grad():
        assert torch.equal(module(module.input_planes(packed), torch.zeros(8))[0].argmax(1), moves)


def test_a_value_head_adds_its_masked_mse_to_the_loss():
    """A net with a value head trains on cross-entropy + value_weight × the MSE of v against
    z over the positions with a known result (z = 0 adds nothing), its komi input comes
    from the batch; the value learns and validation logs its MSE."""
    torch.manual_seed(0)
    packed = packed_random_planes(8)
    moves = torch.randint(0, 81, (8,))
    z = torch.tensor([1.0, -1, 0, 1, -1, 0, 1, -1])
    komi = torch.tensor([-7.5, 7.5, 0.5, -6.5, 6.5, 0, -0.5, 0.5])
    module = PolicyModule(filters=8, layers=3, feature_set="board", board_size=9, lr=0.02, warmup_steps=1,
                          max_steps=60, symmetries=False, value_weight=0.5, value_head=True)
    with pytest.warns(UserWarning, match="log"):  # self.log outside a Trainer
        logits, v = module.net(module.input_planes(packed).float(), komi)
        known = z != 0
        policy_loss = F.cross_entropy(logits, moves)
        assert torch.allclose(module.training_step((packed, moves, z, komi), 0),
                              policy_loss + 0.5 * ((z[known] - v[known]) ** 2).mean())
        assert torch.allclose(module.training_step((packed, moves, torch.zeros(8), komi), 0), policy_loss)
    before = float(((z[known] - v[known]) ** 2).mean().detach())
    data = DataLoader(TensorDataset(packed, moves, z, komi), batch_size=8)
    trainer = L.Trainer(max_steps=60, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", val_check_interval=60,
                        check_val_every_n_epoch=None)
    trainer.fit(module, data, data)
    assert trainer.callback_metrics["val/value_mse"] < before / 2


def test_value_head_run_trains_both_heads_from_the_shipped_kind_of_model(prepared, tmp_path):
    """`gonet train --value-head --init-from M`: both heads start from M's weights (with lr 0
    they end there), a few steps give a finite value MSE on train and val (a third of the
    games have no result and are masked), and the model file written holds the head: it
    loads with a value head and gives values."""
    start = PolicyNet(PolicyConfig(filters=8, layers=3, board_size=9, value_head=True))
    save_model(start, tmp_path / "dual.pt")
    args = dict(val_data=str(prepared), filters=8, layers=3, batch_size=16, val_every=2, val_positions=64,
                checkpoint_every=1000, workers=0, accelerator="cpu", max_steps=3, value_head=True,
                init_from=str(tmp_path / "dual.pt"))
    frozen = train(TrainConfig(str(prepared), str(tmp_path / "frozen"), **{**args, "lr": 0.0}))
    start, _ = load_net(tmp_path / "dual.pt")
    for name, weight in start.state_dict().items():
        assert torch.equal(frozen.net.state_dict()[name], weight), name
    run = train(TrainConfig(str(prepared), str(tmp_path / "run"), **args))
    metrics = run.trainer.callback_metrics
    assert all(math.isfinite(float(metrics[k])) for k in ("train/value_mse", "val/value_mse", "val/top1"))
    assert not torch.equal(run.net.value_head.out.weight, start.value_head.out.weight)
    policy = load_policy(tmp_path / "run" / "model.pt")
    assert policy.has_value and policy.meta["steps"] == 3 and "val/value_mse" in policy.meta
    _, values = policy.evaluate([Game(9), Game(9)])
    assert values.shape == (2,) and np.all(np.abs(values) <= 1) and np.all(values != 0)


def test_a_run_with_a_value_tower_starts_from_a_model_with_a_plain_head(prepared, tmp_path):
    """`--value-tower 1 --init-from M` where M's value head has no tower: the policy starts
    from M's weights (with lr 0 it ends there) and the towered head starts fresh."""
    start = PolicyNet(PolicyConfig(filters=8, layers=3, board_size=9, value_head=True))
    save_model(start, tmp_path / "dual.pt")
    start, _ = load_net(tmp_path / "dual.pt")
    run = train(TrainConfig(str(prepared), str(tmp_path / "tower"), val_data=str(prepared), filters=8, layers=3,
                            batch_size=16, val_every=2, val_positions=64, checkpoint_every=1000, workers=0,
                            accelerator="cpu", max_steps=2, value_head=True, value_tower=1, lr=0.0,
                            init_from=str(tmp_path / "dual.pt")))
    state = run.net.state_dict()
    assert all(torch.equal(state[k], v) for k, v in start.state_dict().items() if not k.startswith("value_head."))
    assert run.net.config.value_tower == 1 and state["value_head.tower.0.weight"].shape == (32, 8, 3, 3)


class StopAt(L.Callback):
    """Interrupt training after a given step, as a kill after a checkpoint would."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step >= self.step:
            trainer.should_stop = True


def test_resume_continues_from_the_same_step_and_data_position(prepared, tmp_path):
    """Stopped at step 20 (mid-epoch) and resumed to 35, a run ends with exactly the weights
    of an uninterrupted 35-step run: same steps, data order, optimizer and schedule, also
    when its last checkpoint travelled as pieces to a fresh run folder, as between device
    windows. The exported model file loads and records its step."""
    args = dict(filters=8, layers=3, batch_size=16, val_every=10, val_positions=64, checkpoint_every=10,
                workers=0, accelerator="cpu", symmetries=False, max_steps=35)
    whole = train(TrainConfig(str(prepared), str(tmp_path / "whole"), **args))
    train(TrainConfig(str(prepared), str(tmp_path / "split"), **args), callbacks=[StopAt(20)])
    last = tmp_path / "split" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 20
    size = last.stat().st_size
    pieces = split_checkpoint(last, tmp_path / "pieces", piece_bytes=size // 3 + 1)
    assert [p.name for p in pieces] == ["last.ckpt.1of3", "last.ckpt.2of3", "last.ckpt.3of3"]
    assert all(p.stat().st_size <= size // 3 + 1 for p in pieces)
    shutil.rmtree(tmp_path / "split" / "checkpoints")  # a fresh machine: the pieces are all there is
    assert join_checkpoint(tmp_path / "pieces", last).stat().st_size == size
    resumed = train(TrainConfig(str(prepared), str(tmp_path / "split"), resume="last", **args))
    assert resumed.trainer.global_step == 35
    for a, b in zip(whole.net.parameters(), resumed.net.parameters()):
        assert torch.equal(a, b)
    policy = load_policy(tmp_path / "split" / "model.pt")
    assert policy.config.board_size == 9 and policy.meta["steps"] == 35


def test_missing_or_mixed_checkpoint_pieces_are_refused(tmp_path):
    """Joining refuses, in one line, a folder without pieces, with a piece missing, or with
    the pieces of two checkpoints; one piece alone is a whole checkpoint."""
    ckpt = tmp_path / "a.ckpt"
    ckpt.write_bytes(bytes(range(256)) * 10)
    pieces = tmp_path / "pieces"
    with pytest.raises(FileNotFoundError):
        join_checkpoint(pieces, tmp_path / "joined")
    pieces.mkdir()
    for message, setup in [("no checkpoint pieces", lambda: None),
                           ("pieces \\[2\\] of 3 of a.ckpt are missing",
                            lambda: split_checkpoint(ckpt, pieces, 1000)[1].unlink()),
                           ("pieces of 2 checkpoints", lambda: split_checkpoint(ckpt, pieces, 3000))]:
        setup()
        with pytest.raises(CheckpointError, match=message):
            join_checkpoint(pieces, tmp_path / "joined")
    shutil.rmtree(pieces)
    assert split_checkpoint(ckpt, pieces, 3000) == [pieces / "a.ckpt.1of1"]
    assert join_checkpoint(pieces, tmp_path / "joined").read_bytes() == ckpt.read_bytes()


def test_datamodule_state_before_training_is_the_start():
    dm = PositionDataModule("unused", batch_size=32)
    assert dm.state_dict() == {"samples_done": 0}
    dm.load_state_dict({"samples_done": 64})
    assert dm.samples_done == 64


def test_max_time_limits_each_run_not_the_total(prepared, tmp_path):
    """--max-time stops a run after its own budget, and a resumed run gets a fresh one
    (the flagship script's fixed-length chunks rely on it)."""
    from gonet.train import parse_duration

    assert parse_duration("00:01:02:03") == 3723 and parse_duration("05") == 5
    with pytest.raises(ValueError):
        parse_duration("soon")
    args = dict(filters=8, layers=3, batch_size=16, val_every=10_000, val_positions=64, checkpoint_every=10_000,
                workers=0, accelerator="cpu", max_steps=10**6, max_time="00:00:00:02")
    first = train(TrainConfig(str(prepared), str(tmp_path), **args)).trainer.global_step
    second = train(TrainConfig(str(prepared), str(tmp_path), resume="last", **args)).trainer.global_step
    assert 0 < first < second < 10**6


def test_corrupt_or_mismatched_checkpoint_is_refused(prepared, tmp_path):
    """Resuming from a broken file or from another net's checkpoint stops with a message
    naming the problem, before any training."""
    args = dict(filters=8, layers=3, batch_size=16, val_every=10, val_positions=64, checkpoint_every=10,
                workers=0, accelerator="cpu", max_steps=10)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        train(TrainConfig(str(prepared), str(tmp_path / "a"), resume=str(junk), **args))
    train(TrainConfig(str(prepared), str(tmp_path / "b"), **args))
    with pytest.raises(CheckpointError, match="'filters': 8"):  # reached after the checksum passed
        train(TrainConfig(str(prepared), str(tmp_path / "b"), resume="last", **{**args, "filters": 16}))
    last = tmp_path / "b" / "checkpoints" / "last.ckpt"
    module = PolicyModule(filters=8, layers=3, board_size=9)
    assert checked_checkpoint(str(last), module) == str(last)
    damaged = tmp_path / "damaged.ckpt"
    for change, message in [(flip_bytes, "CRC mismatch"), (add_to_momentum, "checksum mismatch"),
                            (nan_weights, "hold NaN or infinity")]:
        change(last, damaged)
        with pytest.raises(CheckpointError, match=message) as error:
            checked_checkpoint(str(damaged), module)
        assert "\n" not in str(error.value)
    ckpt = torch.load(last, weights_only=True)
    del ckpt[CHECKSUM_KEY]  # written before checksums: still resumes
    torch.save(ckpt, damaged)
    assert checked_checkpoint(str(damaged), module) == str(damaged)


def flip_bytes(good, path):
    raw = bytearray(good.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 200):
        raw[i] ^= 0x55
    path.write_bytes(bytes(raw))


def add_to_momentum(good, path):
    """The optimizer state altered and saved by torch (valid zip CRCs): only the checksum sees it."""
    ckpt = torch.load(good, weights_only=True)
    buf = ckpt["optimizer_states"][0]["state"][0]["momentum_buffer"]
    buf += 1e-3
    torch.save(ckpt, path)


def nan_weights(good, path):
    """NaN weights with a recomputed checksum: refused for the NaN itself."""
    from gonet.policy import content_checksum

    ckpt = torch.load(good, weights_only=True)
    del ckpt[CHECKSUM_KEY]
    ckpt["state_dict"]["net.point_bias"][0] = float("nan")
    ckpt[CHECKSUM_KEY] = content_checksum(ckpt)
    torch.save(ckpt, path)


def test_init_from_a_model_file_starts_from_its_weights(prepared, tmp_path):
    """--init-from: a new run starts from a model file's weights (with lr 0 it ends there);
    a model of another size is refused."""
    args = dict(filters=8, layers=3, batch_size=16, val_every=10, val_positions=64, checkpoint_every=10,
                workers=0, accelerator="cpu", max_steps=10)
    train(TrainConfig(str(prepared), str(tmp_path / "a"), **args))
    model = tmp_path / "a" / "model.pt"
    frozen = train(TrainConfig(str(prepared), str(tmp_path / "b"), init_from=str(model), **{**args, "lr": 0.0}))
    start, _ = load_net(model)
    for name, weight in start.state_dict().items():
        assert torch.equal(frozen.net.state_dict()[name].cpu(), weight), name
    with pytest.raises(ModelFileError, match="l3k8"):
        train(TrainConfig(str(prepared), str(tmp_path / "c"), init_from=str(model), **{**args, "filters": 16}))
    with_value, _ = load_net(model)
    headed = PolicyNet(dataclasses.replace(with_value.config, value_head=True))
    headed.load_state_dict(with_value.state_dict(), strict=False)
    save_model(headed, tmp_path / "headed.pt", half=False)
    frozen = train(TrainConfig(str(prepared), str(tmp_path / "d"), init_from=str(tmp_path / "headed.pt"),
                               **{**args, "lr": 0.0}))
    for name, weight in start.state_dict().items():  # a model with a value head starts a policy-only run
        assert torch.equal(frozen.net.state_dict()[name].cpu(), weight), name


def test_divergence_stops_training_with_a_message(prepared, tmp_path):
    """A learning rate far too high turns the loss to NaN; training stops with an error."""
    args = dict(filters=8, layers=3, batch_size=16, val_every=1000, val_positions=64, checkpoint_every=1000,
                workers=0, accelerator="cpu", max_steps=200, warmup_steps=1)
    with pytest.raises(TrainingDiverged, match="lower --lr"):
        train(TrainConfig(str(prepared), str(tmp_path), lr=1e12, **args))


DDP_RUN = '''
"""One `gonet train` run under DDP (2 CPU processes, gloo), recording per rank and step the
dataset indices its loader drew (checked against the batch it delivered) and a digest of
the weights after the step. Lightning starts rank 1 by running this file again."""
import hashlib
import json
import sys
from pathlib import Path

import lightning as L
import torch

from gonet.train import train
from gonet.train_config import TrainConfig

data, out, steps, tag = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


class Record(L.Callback):
    def on_train_start(self, trainer, module):
        self.draws, self.steps = iter(trainer.train_dataloader.sampler), {}

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        indices = next(self.draws)
        delivered = all(torch.equal(a, b) for a, b in zip(batch, trainer.datamodule.train_set[indices]))
        self.steps[trainer.global_step + 1] = {"indices": indices, "delivered": delivered}

    def on_train_batch_end(self, trainer, module, *args):
        weights = b"".join(p.detach().numpy().tobytes() for p in module.net.parameters())
        self.steps[trainer.global_step]["weights"] = hashlib.sha1(weights).hexdigest()
        if tag == "whole" and trainer.global_step == 3:
            trainer.save_checkpoint(out / "step3.ckpt", weights_only=False)  # as a periodic checkpoint does

    def on_train_end(self, trainer, module):
        (out / f"{tag}-rank{trainer.global_rank}.json").write_text(json.dumps(self.steps))


train(TrainConfig(data, str(out), filters=8, layers=3, batch_size=8, max_steps=steps, val_every=3, val_positions=24,
                  checkpoint_every=1000, workers=0, accelerator="cpu", devices=2,
                  resume=str(out / "step3.ckpt") if tag == "resumed" else None), callbacks=[Record()])
'''


def test_ddp_on_two_processes_splits_data_syncs_weights_and_resumes(prepared, tmp_path):
    """`gonet train` under Lightning's DDP on 2 CPU processes (gloo): the ranks draw disjoint
    batches that together are the single-process sample stream, hold identical weights
    after every step, and a run resumed from its step-3 checkpoint repeats steps 4-6 exactly
    (data, symmetries, weights)."""
    import json
    import subprocess
    import sys

    script = tmp_path / "ddp_run.py"
    script.write_text(DDP_RUN)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1"}
    for tag in ("whole", "resumed"):
        run = subprocess.run([sys.executable, str(script), str(prepared), str(tmp_path), "6", tag], env=env,
                             timeout=300, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-3000:]
    runs = {(tag, r): {int(k): v for k, v in json.loads((tmp_path / f"{tag}-rank{r}.json").read_text()).items()}
            for tag in ("whole", "resumed") for r in (0, 1)}
    whole = [runs["whole", r] for r in (0, 1)]
    assert all(step["delivered"] for run in runs.values() for step in run.values())
    drawn = [sorted(i for step in run.values() for i in step["indices"]) for run in whole]
    assert not set(drawn[0]) & set(drawn[1])
    stream = list(itertools.islice(EndlessRandomSampler(len(PositionDataset(PreparedGames(prepared))), 0), 2 * 6 * 8))
    assert sorted(drawn[0] + drawn[1]) == sorted(stream)
    assert [step["weights"] for step in whole[0].values()] == [step["weights"] for step in whole[1].values()]
    assert len({step["weights"] for step in whole[0].values()}) == 6
    for r in (0, 1):
        assert list(runs["resumed", r]) == [4, 5, 6] and all(runs["resumed", r][s] == whole[r][s] for s in (4, 5, 6))
