"""The gymnasium environment: API conformance, masks, rules through step, seeding, rendering."""

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from gonet.coords import vertex_to_idx
from gonet.env import GoEnv

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def v(vertex, size=9):
    return vertex_to_idx(vertex, size)


@pytest.mark.parametrize("kwargs", [{"size": 9}, {"size": 9, "opponent": "random"},
                                    {"size": 19, "features": True, "opponent": "random", "agent_colour": "white"}])
def test_check_env_passes(kwargs):
    """gymnasium's own checker accepts the env (self-play, vs random, 19x19 with features)."""
    check_env(GoEnv(**kwargs), skip_render_check=True)


def test_import_gonet_registers_the_env_cheaply():
    """A bare ``import gonet`` registers ``gonet/Go-v0`` without loading numba, torch or
    the env module; ``gym.make`` then builds the env."""
    code = ("import sys, gonet, gymnasium as gym\n"
            "assert 'gonet/Go-v0' in gym.registry\n"
            "heavy = [m for m in ('numba', 'torch', 'gonet.env') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "assert gym.make('gonet/Go-v0', size=9).action_space.n == 82\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_registered_id_makes_the_env():
    env = gym.make("gonet/Go-v0", size=13)
    assert env.action_space.n == 13 * 13 + 1
    assert env.observation_space["board"].shape == (3, 13, 13)


KO_SEQUENCE = ("E6", "F6", "D5", "G5", "E4", "F4", "A1", "E5", "F5")  # the last move takes E5: a ko


def test_action_mask_marks_exactly_the_legal_moves():
    """The mask is the game's legal moves: all 82 at the start; after a ko capture the
    occupied points and the ko point E5 are 0 for White, pass is 1."""
    env = GoEnv(size=9)
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"].sum() == 82
    for vertex in KO_SEQUENCE:
        obs, *_ = env.step(v(vertex))
    mask = obs["action_mask"]
    assert mask[81] == 1 and mask[v("E5")] == 0
    assert all(mask[v(x)] == 0 for x in KO_SEQUENCE if x != "E5")
    assert mask.sum() == 82 - 8 - 1
    assert np.array_equal(mask.astype(bool), env.game.legal_moves())


def test_capture_and_ko_through_step():
    """A capture through step removes the stone; retaking the ko at once is illegal (penalty,
    game unchanged), and after a threat exchange it is legal."""
    env = GoEnv(size=9)
    env.reset(seed=0)
    for vertex in KO_SEQUENCE[:-1]:
        env.step(v(vertex))
    obs, reward, terminated, truncated, info = env.step(v("F5"))  # black takes E5
    assert info["captures"]["B"] == 1 and obs["board"][2].reshape(-1)[v("E5")] == 1
    before = env.game.board.state.copy()
    obs, reward, terminated, truncated, info = env.step(v("E5"))  # white retakes at once
    assert info["illegal"] and info["reason"] == "ko" and reward == -1.0 and terminated
    assert (env.game.board.state == before).all()
    env2 = GoEnv(size=9, illegal="error")
    env2.reset(seed=0)
    for vertex in KO_SEQUENCE:
        env2.step(v(vertex))
    with pytest.raises(ValueError, match="ko"):
        env2.step(v("E5"))
    env2.step(v("J9"))  # threat
    env2.step(v("J8"))  # answer
    env2.step(v("E5"))  # now legal: white retakes
    assert env2.game.board.captures(-1) == 1


def test_two_passes_end_with_area_reward():
    """Against an opponent that always passes, Black E5 then pass ends the game: Black owns
    all 81 points (komi 7.5), reward +1. As White after Black's E5, passing twice loses: -1."""
    env = GoEnv(size=9, komi=7.5, opponent=lambda game: game.pass_idx)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(v("E5"))
    assert reward == 0 and not terminated  # the opponent passed once
    obs, reward, terminated, truncated, info = env.step(81)
    assert terminated and not truncated and reward == 1.0
    white = GoEnv(size=9, komi=7.5, opponent=lambda game: v("E5") if game.move_number == 0 else game.pass_idx,
                  agent_colour="white")
    white.reset(seed=0)
    _, reward, terminated, _, _ = white.step(81)
    assert terminated and reward == -1.0


def test_move_cap_truncates():
    env = GoEnv(size=9, max_moves=4)
    env.reset(seed=0)
    results = [env.step(a)[2:4] for a in (v("A1"), v("J9"), v("A9"), v("J1"))]
    assert results[-1] == (False, True) and all(r == (False, False) for r in results[:-1])


def test_same_seed_same_game():
    """With a random opponent, the same seed and actions give the same trajectory."""
    def play(seed):
        env = GoEnv(size=9, opponent="random")
        obs, _ = env.reset(seed=seed)
        boards = []
        for _ in range(15):
            legal = np.flatnonzero(obs["action_mask"][:-1])
            obs, *_ = env.step(int(legal[0]))
            boards.append(obs["board"].copy())
        return np.stack(boards)

    assert np.array_equal(play(3), play(3))
    assert not np.array_equal(play(3), play(4))


def test_render_modes():
    """ansi gives the text board; rgb_array a non-blank frame."""
    env = GoEnv(size=9, render_mode="ansi")
    env.reset(seed=0)
    env.step(v("E5"))
    assert "X" in env.render() and "W to move" in env.render()
    env = GoEnv(size=9, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(v("E5"))
    frame = env.render()
    assert frame.shape == (512, 512, 3) and frame.dtype == np.uint8
    assert frame.reshape(-1, 3).std(axis=0).max() > 10  # wood, lines and a stone, not blank
    with pytest.raises(ValueError):
        GoEnv(render_mode="holo")


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        GoEnv(size=7)
    with pytest.raises(ValueError):
        GoEnv(size=9, illegal="ignore")


@pytest.mark.parametrize("size", [9, 13])
def test_policy_opponent_and_features_on_small_boards(size):
    """The shipped 19x19 net answers on 9x9 and 13x13 (its bias mapped to the size), and
    the 48 feature planes come in the board's shape."""
    env = GoEnv(size=size, opponent="policy", features=True)
    obs, _ = env.reset(seed=0)
    assert obs["features"].shape == (48, size, size)
    obs, reward, terminated, truncated, info = env.step(v("C3", size))
    assert not terminated and info["move_number"] == 2
    reply = env.game.moves[1][1]
    assert 0 <= reply < size * size and obs["action_mask"][reply] == 0
