"""Drawing stroke-3 sketches: SVG (one ``<path>`` per stroke, round caps and joins), PNG (PIL) and grids.

The paper's figures (Ha & Eck 2017, Fig. 5–7) are grids of decoded sketches; :func:`grid_svg` / :func:`grid_png`
lay out rows × columns of stroke-3 arrays, each scaled to fit its cell with the same margin.
"""

from __future__ import annotations

import numpy as np

from .strokes import stroke3_to_lines


def _bounds(lines: list[np.ndarray]) -> tuple[float, float, float, float]:
    pts = np.concatenate(lines) if lines else np.zeros((1, 2))
    lo, hi = pts.min(0), pts.max(0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _fit(lines: list[np.ndarray], size: float, margin: float) -> list[np.ndarray]:
    """Scale and centre ``lines`` into a ``size``×``size`` box with ``margin`` on each side."""
    x0, y0, x1, y1 = _bounds(lines)
    extent = max(x1 - x0, y1 - y0, 1e-9)
    s = (size - 2 * margin) / extent
    ox = margin + ((size - 2 * margin) - (x1 - x0) * s) / 2
    oy = margin + ((size - 2 * margin) - (y1 - y0) * s) / 2
    return [np.column_stack([(ln[:, 0] - x0) * s + ox, (ln[:, 1] - y0) * s + oy]) for ln in lines]


def _path(line: np.ndarray, dx: float = 0.0, dy: float = 0.0) -> str:
    pts = [f"{x + dx:.2f},{y + dy:.2f}" for x, y in line]
    if len(pts) == 1:  # a dot: a zero-length segment shows as a round cap
        pts.append(pts[0])
    return "M" + " L".join(pts)


def _svg_paths(strokes: np.ndarray, size: float, margin: float, dx: float, dy: float, width: float) -> str:
    lines = _fit(stroke3_to_lines(strokes), size, margin) if len(strokes) else []
    return "".join(
        f'<path d="{_path(ln, dx, dy)}" fill="none" stroke="black" stroke-width="{width}" '
        f'stroke-linecap="round" stroke-linejoin="round"/>'
        for ln in lines
    )


def to_svg(strokes: np.ndarray, size: int = 256, margin: float = 12, stroke_width: float = 3.0) -> str:
    """A square SVG document of one stroke-3 drawing, fitted to ``size`` px."""
    body = _svg_paths(np.asarray(strokes), size, margin, 0, 0, stroke_width)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<rect width="100%" height="100%" fill="white"/>{body}</svg>'
    )


def grid_svg(
    rows: list[list[np.ndarray]], cell: int = 128, margin: float = 8, stroke_width: float = 2.0
) -> str:
    """Rows of stroke-3 drawings as one SVG grid (each drawing fitted to its ``cell``)."""
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    w, h = n_cols * cell, n_rows * cell
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for i, row in enumerate(rows):
        for j, s in enumerate(row):
            parts.append(_svg_paths(np.asarray(s), cell, margin, j * cell, i * cell, stroke_width))
    parts.append("</svg>")
    return "".join(parts)


def _draw(draw, strokes: np.ndarray, size: int, margin: float, dx: int, dy: int, width: int) -> None:
    if not len(strokes):
        return
    r = width / 2
    for ln in _fit(stroke3_to_lines(strokes), size, margin):
        pts = [(float(x + dx), float(y + dy)) for x, y in ln]
        if len(pts) > 1:
            draw.line(pts, fill=0, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps
            draw.ellipse([x - r, y - r, x + r, y + r], fill=0)


def to_png(strokes: np.ndarray, size: int = 256, margin: float = 12, stroke_width: int = 3):
    """A ``size``×``size`` greyscale PIL image of one drawing (black ink on white)."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size), 255)
    _draw(ImageDraw.Draw(img), np.asarray(strokes), size, margin, 0, 0, stroke_width)
    return img


def grid_png(rows: list[list[np.ndarray]], cell: int = 128, margin: float = 8, stroke_width: int = 2):
    """Rows of drawings as one PIL image."""
    from PIL import Image, ImageDraw

    n_cols = max((len(r) for r in rows), default=1)
    img = Image.new("L", (n_cols * cell, max(len(rows), 1) * cell), 255)
    draw = ImageDraw.Draw(img)
    for i, row in enumerate(rows):
        for j, s in enumerate(row):
            _draw(draw, np.asarray(s), cell, margin, j * cell, i * cell, stroke_width)
    return img


def raster(strokes: np.ndarray, size: int = 64, margin: float = 4, stroke_width: int = 2) -> np.ndarray:
    """``(size, size)`` float ink coverage in [0, 1] (1 = ink) — for raster distances between drawings."""
    return 1.0 - np.asarray(to_png(strokes, size, margin, stroke_width), dtype=np.float32) / 255.0


__all__ = ["grid_png", "grid_svg", "raster", "to_png", "to_svg"]
