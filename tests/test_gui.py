"""The pygame board, headless (SDL dummy driver), driven by real events."""

import os
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gonet.coords import BLACK, WHITE, vertex_to_idx  # noqa: E402
from gonet.nets import PolicyConfig, PolicyNet  # noqa: E402
from gonet.policy import save_model  # noqa: E402
from gonet.gui.app import App  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("gui") / "tiny.pt"
    save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), path)
    return str(path)


@pytest.fixture
def app(model, tmp_path):
    a = App(model=model, save_dir=tmp_path, seed=0)
    yield a
    pygame.quit()


def click(app, vertex):
    row, col = divmod(vertex_to_idx(vertex, 19), 19)
    pos = app.board_view().to_pixel(row, col)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    app.frame()


def press(app, key, unicode=""):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=unicode, mod=0))
    app.frame()


def wait_reply(app, moves, timeout=30.0):
    end = time.time() + timeout
    while app.game.move_number < moves and time.time() < end:
        app.frame()
        time.sleep(0.01)
    assert app.game.move_number >= moves, "the net did not answer"


def test_click_plays_and_net_replies(app):
    """A click on D4 puts a black stone there; the net's reply arrives without blocking."""
    click(app, "D4")
    assert app.game.board.colour_at(vertex_to_idx("D4", 19)) == BLACK
    wait_reply(app, 2)
    assert app.game.moves[1][0] == WHITE
    click(app, "D4")  # occupied: refused with a message, nothing changes
    assert app.game.move_number == 2 and "occupied" in app.message


def test_keys_undo_pass_heatmap_save_and_load(app, tmp_path):
    click(app, "Q16")
    wait_reply(app, 2)
    press(app, pygame.K_u)
    assert app.game.move_number == 0  # your move and the reply
    press(app, pygame.K_h)
    assert app.show_heat and app.heat is not None and len(app.labels) == 5
    click(app, "C3")
    wait_reply(app, 2)
    press(app, pygame.K_s)
    saved = list(tmp_path.glob("gonet-*.sgf"))
    assert len(saved) == 1 and ";B[cq]" in saved[0].read_text()
    press(app, pygame.K_n)
    assert app.game.move_number == 0
    press(app, pygame.K_l)
    for ch in str(saved[0]):
        press(app, 0, ch)
    press(app, pygame.K_RETURN)
    assert app.game.move_number == 2 and app.loaded is not None
    press(app, pygame.K_v)
    assert app.review_at == 0 and "move 1: B played C3" in app.message
    press(app, pygame.K_RIGHT)
    assert app.review_at == 1 and app.game.move_number == 1


def test_two_passes_score_with_dead_stones(app):
    """After two passes the playouts' dead stones are crossed out; Enter gives the result."""
    app.game.play(vertex_to_idx("K10", 19))  # black stone; white to move
    app.game.play(19 * 19)  # white passes
    app.human = BLACK
    press(app, pygame.K_p)  # black passes: game over
    assert app.scoring
    press(app, pygame.K_RETURN)
    assert app.result == "B+353.5"  # the whole board is Black's, komi 7.5


def test_resign_and_resize(app):
    press(app, pygame.K_r)
    assert app.result == "W+R"
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=800, h=600, size=(800, 600)))
    app.frame()
    assert app.screen.get_size() == (800, 600)


def test_screenshot_is_not_blank(app, tmp_path):
    click(app, "D4")
    wait_reply(app, 2)
    press(app, pygame.K_h)
    path = tmp_path / "shot.png"
    pygame.image.save(app.screen, str(path))
    pixels = pygame.surfarray.array3d(pygame.image.load(str(path)))
    assert path.stat().st_size > 10_000 and pixels.reshape(-1, 3).std(axis=0).max() > 20
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_wheel_ships_no_top_level_gui_package():
    """The package list the wheel is built from (pyproject's find rule) is all under
    ``gonet``: no top-level ``gui`` lands in site-packages, and the app is in it."""
    import tomllib
    from pathlib import Path

    from setuptools import find_packages

    root = Path(__file__).parent.parent
    rule = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(where=str(root), include=rule["include"])
    assert "gonet.gui" in packages
    assert all(p == "gonet" or p.startswith("gonet.") for p in packages), packages
