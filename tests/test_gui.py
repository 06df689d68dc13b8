"""The pygame board, headless (SDL dummy driver), driven by real events."""

import os
import re
import time

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gonet.coords import BLACK, WHITE, vertex_to_idx  # noqa: E402
from gonet.gui.app import App, Mode  # noqa: E402
from gonet.nets import PolicyConfig, PolicyNet  # noqa: E402
from gonet.policy import save_model  # noqa: E402
from gonet.render import star_points  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("gui") / "tiny.pt"
    save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), path)
    return str(path)


@pytest.fixture
def app(model, tmp_path):
    a = App(model, save_dir=tmp_path, seed=0)
    yield a
    pygame.quit()


def click(app, vertex):
    size = app.game.size
    row, col = divmod(vertex_to_idx(vertex, size), size)
    pos = app.board_view().to_pixel(row, col)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))
    app.frame()


def press(app, key, unicode=""):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=unicode, mod=0))
    app.frame()


def settle(app, timeout=60.0) -> list[float]:
    """Run frames until no job for the current position is pending; the frame times."""
    times = []
    end = time.time() + timeout
    while (app._player is None or any(v == app.version for v in app.worker.pending.values())) and time.time() < end:
        start = time.perf_counter()
        app.frame()
        times.append(time.perf_counter() - start)
        time.sleep(0.005)
    assert time.time() < end, f"jobs still pending: {app.worker.pending}"
    return times


def test_click_plays_and_net_replies(app):
    """A click on D4 puts a black stone there; the net's reply arrives without blocking,
    whatever else is asked meanwhile."""
    click(app, "D4")
    assert app.game.board.colour_at(vertex_to_idx("D4", 19)) == BLACK
    press(app, pygame.K_h)  # heat map on and off while the net thinks: the reply still comes
    press(app, pygame.K_h)
    settle(app)
    assert app.heat is None
    assert app.game.move_number == 2 and app.game.moves[1][0] == WHITE
    click(app, "D4")  # occupied: refused with a message, nothing changes
    assert app.game.move_number == 2 and "occupied" in app.message


def test_keys_undo_pass_heatmap_save_and_load(app, tmp_path):
    """Undo takes back the move and the reply and says so; H shows the net's heat map; the
    saved SGF names the program and version, the date and the rules, and loads back."""
    click(app, "Q16")
    settle(app)
    press(app, pygame.K_u)
    assert app.game.move_number == 0 and app.message == "took back 2 moves"
    assert "Move 1: B, your move" in app.status()[1] and app.status()[3] == ""
    press(app, pygame.K_h)
    settle(app)
    assert app.show_heat and app.heat is not None and len(app.labels) == 5
    click(app, "C3")
    settle(app)
    press(app, pygame.K_s)
    saved = list(tmp_path.glob("gonet-*.sgf"))
    text = saved[0].read_text()
    assert len(saved) == 1 and ";B[cq]" in text
    assert "AP[gonet:0." in text and "RU[Chinese]" in text and re.search(r"DT\[\d{4}-\d\d-\d\d\]", text)
    press(app, pygame.K_n)
    assert app.game.move_number == 0
    press(app, pygame.K_l)
    for ch in str(saved[0]):
        press(app, 0, ch)
    press(app, pygame.K_RETURN)
    assert app.game.move_number == 2 and app.loaded is not None
    press(app, pygame.K_v)
    settle(app)
    assert app.review_at == 0 and "move 1: B played C3 (" in app.message
    press(app, pygame.K_RIGHT)
    assert app.review_at == 1 and app.game.move_number == 1 and app.status()[1] == "Review: move 1 of 2"


def test_two_passes_score_with_dead_stones_and_gtp_agrees(app, model):
    """After two passes the playouts' dead stones are crossed out and the status line gives
    the result if accepted; Enter gives it. GTP final_score says the same (one rule)."""
    from gonet.gtp import GtpEngine

    for vertex in ("A2", "A1", "B2", "pass", "C1", "pass"):  # White's A1 in atari, beyond saving
        app.game.play(vertex_to_idx(vertex, 19))
    app.human = BLACK
    press(app, pygame.K_p)  # black passes: game over
    assert app.mode is Mode.SCORING
    settle(app)
    assert app.dead == {vertex_to_idx("A1", 19)}
    assert app.status()[1] == "Scoring: B+353.5 if accepted"  # the whole board, komi 7.5
    press(app, pygame.K_RETURN)
    assert app.result == "B+353.5" and app.mode is Mode.OVER and app.status()[1] == "Game over: B+353.5"
    engine = GtpEngine(model)
    engine.game = app.game
    assert engine.handle("final_score") == "= B+353.5\n\n"
    press(app, pygame.K_u)  # back into the game: the status line follows
    assert app.mode is Mode.PLAYING and app.status()[1].startswith("Move ")


def test_resign_and_resize_down_to_640x480(app):
    """At 640x480 (the smallest the window goes) every button, status line and message
    line fits in the panel without overlapping, and the board stays left of the panel."""
    press(app, pygame.K_r)
    assert app.result == "W+R"
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=500, h=300, size=(500, 300)))
    app.frame()
    assert app.screen.get_size() == (640, 480)
    app.message = "a rather long message that has to wrap onto more than one line of the panel"
    app.draw()
    layout = app.layout()
    panel = layout.panel
    status_bottom = layout.status_top + 4 * layout.line
    rects = [b.rect for b in layout.buttons]
    assert all(panel.contains(r) for r in rects)
    assert all(a.bottom <= b.top for a, b in zip(rects, rects[1:]))
    assert status_bottom <= rects[0].top and rects[-1].bottom <= layout.message_top
    for text in app.status():
        assert layout.big.size(text)[0] <= panel.width - 14
    for button in layout.buttons:
        assert layout.small.size(f"{button.label}  [X]")[0] <= button.rect.width
    board = layout.board
    right, bottom = board.to_pixel(19, 19)  # beyond the last line: the coordinates row
    assert right < panel.left and bottom <= 480


def test_small_board_plays_with_five_star_points(model, tmp_path):
    """``--size 9``: a 9x9 game against the (19x19) net; 9x9 and 13x13 have 5 star points."""
    assert len(star_points(9)) == 5 and len(star_points(13)) == 5 and len(star_points(19)) == 9
    assert (4, 4) in star_points(9) and (2, 2) in star_points(9)
    app = App(model, save_dir=tmp_path, seed=0, board_size=9)
    try:
        click(app, "E5")
        settle(app)
        assert app.game.size == 9 and app.game.move_number == 2
    finally:
        pygame.quit()


def test_no_frame_over_100ms_while_the_shipped_net_loads_and_works(tmp_path):
    """The real model loads, replies and draws a heat map in the worker thread while the
    window keeps drawing: every frame takes under 100 ms."""
    app = App(save_dir=tmp_path, seed=0)  # the shipped l13k192 model
    try:
        press(app, pygame.K_h)
        click(app, "D4")
        times = settle(app, timeout=120)
        assert app.game.move_number == 2 and app.heat is not None
        assert len(times) > 5 and max(times) < 0.1, f"slowest frame {1000 * max(times):.0f} ms"
    finally:
        pygame.quit()


def test_a_model_that_does_not_load_is_reported(tmp_path):
    """A bad model file: the window keeps running and says why there is no net."""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    app = App(str(bad), save_dir=tmp_path, seed=0)
    try:
        end = time.time() + 60
        while app.load_error is None and time.time() < end:
            app.frame()
            time.sleep(0.01)
        assert "load failed" in app.message and app.status()[3] == "no net (see below)"
        click(app, "D4")  # you can still place stones; the reply job reports the missing net
        for _ in range(50):
            app.frame()
            time.sleep(0.01)
        assert app.game.move_number == 1 and "no net" in app.message
    finally:
        pygame.quit()


def test_screenshot_is_not_blank(app, tmp_path):
    click(app, "D4")
    settle(app)
    press(app, pygame.K_h)
    settle(app)
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
