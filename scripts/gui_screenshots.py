"""Screenshots of the pygame board for the README: a game at move N, without and with the
net's heatmap, and a 9x9 game in the smallest window (640x480).

    SDL_VIDEODRIVER=dummy python scripts/gui_screenshots.py GAME.sgf [--move 60] [--out docs]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from gonet.coords import vertex_to_idx  # noqa: E402
from gonet.game import Game  # noqa: E402
from gonet.gui.app import App  # noqa: E402
from gonet.sgf import read_records  # noqa: E402


def wait(app: App) -> None:
    """Frames until the worker has answered for the current position."""
    while app._player is None or any(v == app.version for v in app.worker.pending.values()):
        app.frame()
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sgf")
    parser.add_argument("--move", type=int, default=60)
    parser.add_argument("--model")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    record = next(iter(read_records([args.sgf], size=19)))
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    app = App(args.model, size=(1000, 780))
    app.game = Game.from_record(record, moves=args.move, superko=True)
    app.human = app.game.to_move
    app.message = "your move"
    for name, heat in (("board.png", False), ("board_heatmap.png", True)):
        app.show_heat = heat
        app.changed()
        wait(app)
        app.draw()
        pygame.image.save(app.screen, str(out / name))
        print(out / name)
    pygame.quit()
    # the smallest window, a 9x9 game against the net with its heat map
    small = App(args.model, size=(640, 480), board_size=9, seed=1)
    small.show_heat = True
    for vertex in ("E5", "C4", "G6"):
        wait(small)
        small.play_human(vertex_to_idx(vertex, 9))
    wait(small)
    small.draw()
    pygame.image.save(small.screen, str(out / "board_9x9_640x480.png"))
    print(out / "board_9x9_640x480.png")
    pygame.quit()


if __name__ == "__main__":
    main()
