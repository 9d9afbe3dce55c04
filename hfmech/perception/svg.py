"""SVG export of a drawing: the same geometry as the raster, as vector marks (resolution-free, plotter-ready).

- background: one ``<rect>`` of the paper colour;
- blobs: closed ``<path>`` polygons through ``BLOB_SAMPLES`` points of the radial Fourier outline
  ``c + r(θ) (cos θ, sin θ)`` (see :mod:`.drawing`), filled with their ink;
- strokes: ``<polyline>`` with ``stroke-linecap="round"`` and ``stroke-linejoin="round"`` — the union of round-capped
  segments that :func:`hfmech.perception.render.render` rasterises — ``stroke-width`` = width × the shorter side.

Marks appear in the raster's compositing order (blobs, then strokes). Coordinates are in pixels of a ``width ×
height`` viewBox; every mark carries ``data-ink`` (its palette index).
"""

from __future__ import annotations

import math

from .drawing import Geometry

BLOB_SAMPLES = 96


def _num(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") if v != 0 else "0"


def blob_outline(
    center, radius: float, coefficients, samples: int = BLOB_SAMPLES
) -> list[tuple[float, float]]:
    """Points of a blob's outline in normalised units (``radius`` relative to the shorter side ``side = 1``)."""
    points = []
    for i in range(samples):
        theta = 2 * math.pi * i / samples
        r = radius * (
            1
            + sum(
                a * math.cos((k + 1) * theta) + b * math.sin((k + 1) * theta)
                for k, (a, b) in enumerate(coefficients)
            )
        )
        points.append((r * math.cos(theta), r * math.sin(theta)))
    return points


def to_svg(geometry: Geometry, width: int = 224, height: int | None = None) -> str:
    """The first drawing of ``geometry`` as an SVG document string (``width × height`` px viewBox)."""
    height = width if height is None else height
    side = min(width, height)
    d = geometry.to_dict()
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{d["background"]}"/>',
    ]
    for blob in d["blobs"]:
        cx, cy = blob["center"][0] * width, blob["center"][1] * height
        pts = [
            (cx + x * side, cy + y * side)
            for x, y in blob_outline(blob["center"], blob["radius"], blob["coefficients"])
        ]
        path = "M " + " L ".join(f"{_num(x)} {_num(y)}" for x, y in pts) + " Z"
        out.append(f'<path d="{path}" fill="{blob["color"]}" stroke="none" data-ink="{blob["ink"]}"/>')
    for stroke in d["strokes"]:
        pts = " ".join(f"{_num(x * width)},{_num(y * height)}" for x, y in stroke["points"])
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{stroke["color"]}" '
            f'stroke-width="{_num(stroke["width"] * side)}" stroke-linecap="round" stroke-linejoin="round" '
            f'data-ink="{stroke["ink"]}"/>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


__all__ = ["BLOB_SAMPLES", "blob_outline", "to_svg"]
