"""A Gymnasium environment for Go, registered as ``gonet/Go-v0`` by ``import gonet``.

    import gonet, gymnasium as gym
    env = gym.make("gonet/Go-v0", size=9, opponent="random")

- **Actions**: ``Discrete(N*N + 1)``, idx = row * N + col (row 0 at the top), the last is pass.
- **Observations**: a dict: ``board`` uint8[3, N, N] (the agent's stones, the opponent's,
  empty, from the view of the side to move), ``action_mask`` int8[N*N + 1] (legal moves,
  pass always legal) and, with ``features=True``, ``features`` uint8[48, N, N] (AlphaGo's
  planes).
- **Opponent**: ``None`` (the agent plays both colours in turn), ``"random"`` (uniform over
  legal non-eye-filling moves), ``"policy"`` (the shipped policy net, on every size), a GTP command
  line such as ``"gnugo --mode gtp --level 1"``, or any callable ``(Game) -> idx``.
- **Illegal actions** (occupied, suicide, ko, superko): with ``illegal="penalty"`` (default)
  the episode ends with reward -1 and ``info["illegal"] = True``; with ``illegal="error"``
  ``step`` raises ``ValueError``. The game itself is never changed by an illegal action.
- **End and reward**: two passes end the game (``terminated``); the move cap ``max_moves``
  (default 2·N·N) truncates it. Either way the reward is +1/-1 (0 for a draw) by
  Tromp-Taylor area score with komi, from the view of the agent (of the player who just
  moved when there is no opponent); 0 on every other step.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gonet.coords import BLACK, WHITE, colour_name, idx_to_vertex, vertex_to_idx
from gonet.features import SENSIBLE, position_planes
from gonet.game import Game

ALLOWED_SIZES = (9, 13, 19)


class GoEnv(gym.Env):
    metadata = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}

    def __init__(self, size: int = 19, komi: float = 7.5, opponent: str | Callable | None = None,
                 agent_colour: str = "black", features: bool = False, illegal: str = "penalty",
                 max_moves: int | None = None, render_mode: str | None = None):
        if size not in ALLOWED_SIZES:
            raise ValueError(f"size {size}: choose from {ALLOWED_SIZES}")
        if illegal not in ("penalty", "error"):
            raise ValueError("illegal must be 'penalty' or 'error'")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r}: choose from {self.metadata['render_modes']}")
        self.size, self.komi, self.features, self.illegal = size, komi, features, illegal
        self.agent = BLACK if agent_colour == "black" else WHITE
        self.max_moves = max_moves or 2 * size * size
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(size * size + 1)
        obs = {"board": spaces.Box(0, 1, (3, size, size), np.uint8),
               "action_mask": spaces.Box(0, 1, (size * size + 1,), np.int8)}
        if features:
            obs["features"] = spaces.Box(0, 1, (48, size, size), np.uint8)
        self.observation_space = spaces.Dict(obs)
        self._opponent_spec = opponent
        self._opponent: Callable[[Game], int] | None = None
        self.game = Game(size, komi, superko=True)
        self._window = None

    # ------------------------------------------------------------ opponents

    def _make_opponent(self) -> Callable[[Game], int] | None:
        spec = self._opponent_spec
        if spec is None or callable(spec):
            return spec
        if spec == "random":
            return self._random_move
        if spec == "policy":
            from gonet.player import Player
            from gonet.policy import load_policy

            player = Player(load_policy())
            return player.choose
        return _GtpOpponent(spec, self.size, self.komi)

    def _random_move(self, game: Game) -> int:
        """Uniform over legal moves that do not fill the mover's own eye; pass if none."""
        mask = game.legal_moves()[: game.pass_idx] & position_planes(game)[SENSIBLE].reshape(-1).astype(bool)
        choices = np.flatnonzero(mask)
        return int(self.np_random.choice(choices)) if len(choices) else game.pass_idx

    # ------------------------------------------------------------ gym API

    def _observation(self) -> dict:
        g = self.game
        stones = g.board.state[0].reshape(g.size, g.size)
        me = g.to_move
        board = np.stack([stones == me, stones == -me, stones == 0]).astype(np.uint8)
        obs = {"board": board, "action_mask": g.legal_moves().astype(np.int8)}
        if self.features:
            obs["features"] = position_planes(g)
        return obs

    def _info(self) -> dict:
        return {"to_move": colour_name(self.game.to_move), "move_number": self.game.move_number,
                "captures": {"B": self.game.board.captures(BLACK), "W": self.game.board.captures(WHITE)}}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self._opponent is None:
            self._opponent = self._make_opponent()
        if isinstance(self._opponent, _GtpOpponent):
            self._opponent.new_game()
        self.game = Game(self.size, self.komi, superko=True)
        if self._opponent is not None and self.agent == WHITE:
            self._opponent_moves()
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def _opponent_moves(self) -> None:
        move = self._opponent(self.game)
        if move < 0:  # a resignation is played as a pass
            move = self.game.pass_idx
        self.game.play(move)

    def _reward(self, colour: int) -> float:
        score = self.game.score()
        return 0.0 if score == 0 else float(np.sign(score) * colour)

    def step(self, action):
        action = int(action)
        g = self.game
        mover = g.to_move
        why = g.legality(action) if 0 <= action <= g.pass_idx else "not an action"
        if why is not None:
            if self.illegal == "error":
                raise ValueError(f"illegal action {action}: {why}")
            info = {**self._info(), "illegal": True, "reason": why}
            return self._observation(), -1.0, True, False, info
        g.play(action)
        if isinstance(self._opponent, _GtpOpponent):
            self._opponent.tell(mover, action)
        if self._opponent is not None and not g.is_over() and g.move_number < self.max_moves:
            self._opponent_moves()
        viewer = self.agent if self._opponent is not None else mover
        terminated = g.is_over()
        truncated = not terminated and g.move_number >= self.max_moves
        reward = self._reward(viewer) if terminated or truncated else 0.0
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, truncated, self._info()

    def render(self):
        if self.render_mode == "ansi":
            return f"{self.game.board}\n{colour_name(self.game.to_move)} to move, move {self.game.move_number}\n"
        from gonet.render import board_image

        last = self.game.last_move[1] if self.game.last_move else None
        frame = board_image(self.game.board.state[0], self.size, 512, last)
        if self.render_mode == "rgb_array":
            return frame
        if self.render_mode == "human":
            import pygame

            if self._window is None:
                pygame.display.init()
                self._window = pygame.display.set_mode((512, 512))
                pygame.display.set_caption("gonet")
            pygame.surfarray.blit_array(self._window, np.transpose(frame, (1, 0, 2)))
            pygame.event.pump()
            pygame.display.flip()
        return None

    def close(self):
        if isinstance(self._opponent, _GtpOpponent):
            self._opponent.close()
        if self._window is not None:
            import pygame

            pygame.display.quit()
            self._window = None


class _GtpOpponent:
    """A GTP engine subprocess kept in step with the env's game."""

    def __init__(self, command: str, size: int, komi: float):
        from gonet.match import GtpProcess

        self.engine = GtpProcess(command)
        self.size, self.komi = size, komi

    def new_game(self) -> None:
        for command in (f"boardsize {self.size}", "clear_board", f"komi {self.komi}"):
            self.engine.send(command)

    def tell(self, colour: int, idx: int) -> None:
        self.engine.send(f"play {colour_name(colour)} {idx_to_vertex(idx, self.size)}")

    def __call__(self, game: Game) -> int:
        answer = self.engine.send(f"genmove {colour_name(game.to_move)}").lower()
        return -1 if answer == "resign" else vertex_to_idx(answer, self.size)

    def close(self) -> None:
        self.engine.close()

