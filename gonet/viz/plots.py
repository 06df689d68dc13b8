"""matplotlib figures for the visualisations: image grids and Go boards, saved as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gonet.coords import BLACK, GTP_COLUMNS  # noqa: E402


def save_figure(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def image_grid(images: np.ndarray, path: str | Path, title: str = "", cmap: str = "gray",
               labels: list[str] | None = None, symmetric: bool = False,
               boxes: list[tuple[float, float, float, float]] | None = None) -> Path:
    """A grid of 2-D images (N, H, W); ``symmetric`` centres the colour scale on 0 (weights);
    ``boxes`` outlines (row0, col0, row1, col1) on each image (inclusive pixel bounds)."""
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = images[i]
            limit = np.abs(img).max() or 1.0
            ax.imshow(img, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit if symmetric else None)
            if labels:
                ax.set_title(labels[i], fontsize=7)
            if boxes:
                r0, c0, r1, c1 = boxes[i]
                ax.add_patch(plt.Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                           edgecolor="red", lw=1.2))
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def image_table(images: np.ndarray, path: str | Path, row_labels: list[str], col_labels: list[str],
                title: str = "", cmap: str = "gray") -> Path:
    """Images (R, C, H, W) in R labelled rows and C labelled columns, each image on its own scale."""
    rows, cols = images.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols + 1.4, 1.3 * rows + 0.5), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(images[r, c], cmap=cmap)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=8)
        axes[r, 0].set_ylabel(row_labels[r], fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def images_side_by_side(images: list[np.ndarray], titles: list[str], path: str | Path, cmaps=None) -> Path:
    fig, axes = plt.subplots(1, len(images), figsize=(3 * len(images), 3.2), squeeze=False)
    for ax, img, title, cmap in zip(axes[0], images, titles, cmaps or ["gray"] * len(images)):
        ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return save_figure(fig, path)


def draw_board(ax, stones: np.ndarray, size: int, heat: np.ndarray | None = None, title: str = "",
               labels: dict[int, str] | None = None, mark: int | None = None, cmap: str = "Reds") -> None:
    """A board on ``ax``: grid, stones, optional heat (per point) under them, labels, a marked point."""
    ax.set_facecolor("#dcb35c")
    if heat is not None:
        ax.imshow(heat.reshape(size, size), cmap=cmap, alpha=0.75, extent=(-0.5, size - 0.5, size - 0.5, -0.5),
                  vmin=0, vmax=max(float(heat.max()), 1e-9), zorder=1)
    for i in range(size):
        ax.plot([0, size - 1], [i, i], color="k", lw=0.5, zorder=2)
        ax.plot([i, i], [0, size - 1], color="k", lw=0.5, zorder=2)
    for idx in np.flatnonzero(stones):
        r, c = divmod(int(idx), size)
        black = stones[idx] == BLACK
        ax.add_patch(plt.Circle((c, r), 0.45, facecolor="black" if black else "white", edgecolor="black",
                                lw=0.5, zorder=3))
    for idx, text in (labels or {}).items():
        r, c = divmod(int(idx), size)
        ax.text(c, r, text, ha="center", va="center", fontsize=6, zorder=4,
                color="white" if stones[idx] == BLACK else "black")
    if mark is not None and mark < size * size:
        r, c = divmod(mark, size)
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="blue", lw=1.5, zorder=5))
    ax.set_xlim(-0.8, size - 0.2)
    ax.set_ylim(size - 0.2, -0.8)
    ax.set_xticks(range(size), list(GTP_COLUMNS[:size]), fontsize=6)
    ax.set_yticks(range(size), [str(size - r) for r in range(size)], fontsize=6)
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)


def boards(panels: list[dict], size: int, path: str | Path, title: str = "") -> Path:
    """Several boards side by side; each panel holds :func:`draw_board`'s keyword arguments."""
    cols = min(len(panels), 4)
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.4 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels):
        draw_board(ax, size=size, **panel)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
