"""Screenshots of the pygame board for the README: a game at move N, without and with the
net's heatmap.

    SDL_VIDEODRIVER=dummy python scripts/gui_screenshots.py GAME.sgf [--move 60] [--out docs]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from gonet.game import Game  # noqa: E402
from gonet.sgf import read_records  # noqa: E402
from gonet.gui.app import App  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sgf")
    parser.add_argument("--move", type=int, default=60)
    parser.add_argument("--model")
    parser.add_argument("--out", default="docs")
    args = parser.parse_args()
    record = next(iter(read_records([args.sgf], size=19)))
    app = App(model=args.model, size=(1000, 780))
    app.game = Game.from_record(record, moves=args.move, superko=True)
    app.human = app.game.to_move
    app.message = "your move"
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    for name, heat in (("board.png", False), ("board_heatmap.png", True)):
        app.show_heat = heat
        app.update_heat()
        app.draw()
        pygame.image.save(app.screen, str(out / name))
        print(out / name)
    pygame.quit()


if __name__ == "__main__":
    main()
