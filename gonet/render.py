"""Drawing a Go board with pygame: the gym environment's frames and the GUI's board.

pygame is imported lazily (it is only needed to draw). :class:`BoardView` maps between
window pixels and board points for a surface of any size, so windows can be resized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gonet.coords import BLACK, GTP_COLUMNS, WHITE

WOOD = (220, 179, 92)
WOOD_DARK = (211, 169, 84)
LINE = (40, 30, 20)


def star_points(size: int) -> list[tuple[int, int]]:
    """(row, col) of the hoshi: the four 4-4 points (3-3 below 13x13) and, on odd boards, the
    centre; from 15x15 on, the side points too (9 on 19x19, 5 on 13x13 and 9x9)."""
    if size < 7:
        return []
    edge = 3 if size >= 13 else 2
    corners = [edge, size - 1 - edge]
    points = [(r, c) for r in corners for c in corners]
    if size % 2:
        mid = size // 2
        points += [(mid, mid)] + ([(mid, edge), (mid, size - 1 - edge), (edge, mid), (size - 1 - edge, mid)]
                                  if size >= 15 else [])
    return points


@dataclass
class BoardView:
    """Geometry of a board drawn in a ``width`` x ``height`` area at (left, top)."""

    size: int
    width: int
    height: int
    left: int = 0
    top: int = 0

    @property
    def cell(self) -> float:
        """Grid spacing: the grid, a row of coordinates on each side and a margin fit."""
        return min(self.width, self.height) / (self.size + 2)

    @property
    def origin(self) -> tuple[float, float]:
        span = self.cell * (self.size - 1)
        return self.left + (self.width - span) / 2, self.top + (self.height - span) / 2

    def to_pixel(self, row: int, col: int) -> tuple[int, int]:
        x0, y0 = self.origin
        return round(x0 + col * self.cell), round(y0 + row * self.cell)

    def to_point(self, x: float, y: float) -> tuple[int, int] | None:
        """The (row, col) under a pixel, or None off the board."""
        x0, y0 = self.origin
        col, row = round((x - x0) / self.cell), round((y - y0) / self.cell)
        if 0 <= row < self.size and 0 <= col < self.size:
            return row, col
        return None


def draw_board(surface, view: BoardView, stones: np.ndarray, last: int | None = None,
               heat: np.ndarray | None = None, labels: dict[int, str] | None = None,
               marks: set[int] | None = None) -> None:
    """Wood, grid, coordinates, star points, shaded stones, the last-move marker, an optional
    heatmap (``heat``: values 0..1 per point) with text ``labels`` and cross ``marks``."""
    import pygame

    size = view.size
    cell = view.cell
    pygame.draw.rect(surface, WOOD, (view.left, view.top, view.width, view.height))
    for i in range(0, view.height, 11):  # a little grain
        pygame.draw.line(surface, WOOD_DARK, (view.left, view.top + i), (view.left + view.width, view.top + i + 4), 2)
    font = pygame.font.Font(None, max(10, int(cell * 0.45)))
    for i in range(size):
        pygame.draw.line(surface, LINE, view.to_pixel(i, 0), view.to_pixel(i, size - 1), 2 if i in (0, size - 1) else 1)
        pygame.draw.line(surface, LINE, view.to_pixel(0, i), view.to_pixel(size - 1, i), 2 if i in (0, size - 1) else 1)
        for text, (x, y) in ((GTP_COLUMNS[i], view.to_pixel(-1, i)), (GTP_COLUMNS[i], view.to_pixel(size, i)),
                             (str(size - i), view.to_pixel(i, -1)), (str(size - i), view.to_pixel(i, size))):
            label = font.render(text, True, LINE)
            surface.blit(label, label.get_rect(center=(x, y)))
    for r, c in star_points(size):
        pygame.draw.circle(surface, LINE, view.to_pixel(r, c), max(2, int(cell * 0.1)))
    if heat is not None:
        for idx in np.flatnonzero(heat > 0.005):
            r, c = divmod(int(idx), size)
            strength = float(min(1.0, heat[idx]))
            radius = max(2, int(cell * 0.45 * (0.35 + 0.65 * strength)))
            blob = pygame.Surface((2 * radius, 2 * radius), pygame.SRCALPHA)
            pygame.draw.circle(blob, (220, 40, 30, int(60 + 170 * strength)), (radius, radius), radius)
            x, y = view.to_pixel(r, c)
            surface.blit(blob, (x - radius, y - radius))
    radius = int(cell * 0.47)
    for idx in np.flatnonzero(stones):
        r, c = divmod(int(idx), size)
        x, y = view.to_pixel(r, c)
        colour = int(stones[idx])
        base, shine = ((25, 25, 25), (90, 90, 90)) if colour == BLACK else ((235, 235, 230), (255, 255, 255))
        pygame.draw.circle(surface, (60, 45, 30), (x + 2, y + 2), radius)  # shadow
        pygame.draw.circle(surface, base, (x, y), radius)
        pygame.draw.circle(surface, shine, (x - radius // 3, y - radius // 3), max(1, radius // 3))
        if colour == WHITE:
            pygame.draw.circle(surface, (120, 120, 120), (x, y), radius, 1)
    if last is not None and 0 <= last < size * size and stones[last]:
        r, c = divmod(last, size)
        marker = (230, 60, 50)
        pygame.draw.circle(surface, marker, view.to_pixel(r, c), max(3, int(cell * 0.18)), 2)
    for idx in marks or ():
        r, c = divmod(int(idx), size)
        x, y = view.to_pixel(r, c)
        d = int(cell * 0.25)
        pygame.draw.line(surface, (230, 60, 50), (x - d, y - d), (x + d, y + d), 3)
        pygame.draw.line(surface, (230, 60, 50), (x - d, y + d), (x + d, y - d), 3)
    for idx, text in (labels or {}).items():
        r, c = divmod(int(idx), size)
        colour = (255, 255, 255) if stones[idx] == BLACK else (20, 20, 20)
        label = font.render(text, True, colour)
        surface.blit(label, label.get_rect(center=view.to_pixel(r, c)))


def board_image(stones: np.ndarray, size: int, pixels: int = 512, last: int | None = None) -> np.ndarray:
    """An RGB frame (uint8[pixels, pixels, 3]) of a position, drawn off-screen."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    surface = pygame.Surface((pixels, pixels))
    draw_board(surface, BoardView(size, pixels, pixels), stones, last)
    return np.transpose(pygame.surfarray.array3d(surface), (1, 0, 2)).copy()
