"""A differentiable, resolution-independent rasteriser for strokes and blobs, in plain torch.

Every mark becomes a soft *coverage* map ``α ∈ [0, 1]`` over the pixel grid, computed for all marks and all pixels at
once (vectorised; rows are processed in chunks when the ``marks × segments × pixels`` tensor would be large):

- **strokes** (polylines with round caps): ``d`` = distance from the pixel centre to the nearest of the stroke's
  segments (projection clamped to the segment, so the ends are round caps); ``α = σ(4 (w/2 − d) / px)``: the
  sigmoid's 12–88 % ramp spans one pixel, an anti-aliased edge whose width is one pixel at *every* resolution.
- **blobs** (radial Fourier curves ``r(θ) = r₀ (1 + Σ_k a_k cos kθ + b_k sin kθ)``, see :mod:`.drawing`):
  ``s = r(θ) − ρ`` with ``(ρ, θ)`` the pixel's polar coordinates about the centre — the radial signed distance
  (exact for a circle, a first-order approximation of the signed distance otherwise); ``α = σ(4 s / px)``.
  ``cos kθ``, ``sin kθ`` come from ``(x + iy)^k / ρ^k`` by recurrence: no ``atan2``, no singular gradient.

Marks are composited in order, alpha over (Porter & Duff 1984): background, then the blobs, then the strokes, each
``C ← (1 − α) C + α c`` with its exact palette colour ``c``. Coordinates are normalised (``x ∈ [0, 1]`` left→right,
``y ∈ [0, 1]`` top→bottom; lengths are fractions of the shorter side), pixel ``(i, j)`` has its centre at
``((j + ½)/W, (i + ½)/H)``: the same parameters render the same picture at any size.

``hard=True`` renders aliased coverage (``d ≤ w/2``), used to check the palette constraint exactly.

Shapes: ``render(geometry, H, W) -> (B, 3, H, W)`` in ``[0, 1]``.
"""

from __future__ import annotations

import math

import torch

from .drawing import Geometry

EDGE_SHARPNESS = 4.0  # σ(4 x) rises from 12 % to 88 % over x ∈ [-½, ½] px
TILE = 16  # pixels per side of the tiles coverage is computed on
MARGIN = 4.0  # px beyond a mark's edge where coverage is still computed: σ(-4·4) ≈ 1e-7


def _soft_edge(signed_px: torch.Tensor, hard: bool) -> torch.Tensor:
    if hard:
        return (signed_px >= 0).to(signed_px.dtype)
    return torch.sigmoid(EDGE_SHARPNESS * signed_px)


def _tile_centers(height: int, width: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    rows, cols = math.ceil(height / TILE), math.ceil(width / TILE)
    cy = (torch.arange(rows, device=device, dtype=dtype) + 0.5) * TILE
    cx = (torch.arange(cols, device=device, dtype=dtype) + 0.5) * TILE
    return cy, cx, rows, cols


def _scatter_tiles(
    active: torch.Tensor, coverage_fn, height: int, width: int, like: torch.Tensor
) -> torch.Tensor:
    """Evaluate ``coverage_fn(b, l, ys, xs) -> (A, TILE, TILE)`` only on the (mark, tile) pairs of ``active
    (B, L, rows, cols)`` and scatter the tiles into a zero ``(B, L, H, W)`` map (differentiably)."""
    b, layers, rows, cols = active.shape
    bi, li, yi, xi = active.nonzero(as_tuple=True)
    offsets = torch.arange(TILE, device=like.device, dtype=like.dtype) + 0.5
    ys = yi.to(like.dtype)[:, None] * TILE + offsets  # (A, TILE) pixel-centre rows
    xs = xi.to(like.dtype)[:, None] * TILE + offsets
    tiles = like.new_zeros(b, layers, rows, cols, TILE, TILE)
    if bi.numel():
        tiles = tiles.index_put((bi, li, yi, xi), coverage_fn(bi, li, ys, xs))
    full = tiles.permute(0, 1, 2, 4, 3, 5).reshape(b, layers, rows * TILE, cols * TILE)
    return full[:, :, :height, :width]


def _segment_distance(ax, ay, dx, dy, xs, ys):
    """Distance from pixel centres to segments ``a → a + d`` (round caps): broadcasting ``(…, S, h|1, 1|w)``."""
    inv_len2 = 1.0 / (dx * dx + dy * dy + 1e-9)
    rx, ry = xs - ax, ys - ay
    t = (rx * (dx * inv_len2) + ry * (dy * inv_len2)).clamp(0.0, 1.0)
    return torch.sqrt((rx - t * dx) ** 2 + (ry - t * dy) ** 2 + 1e-8)


def stroke_coverage(
    points: torch.Tensor, widths: torch.Tensor, height: int, width: int, hard: bool = False
) -> torch.Tensor:
    """``points (B, N, K, 2)`` normalised, ``widths (B, N)`` (fraction of the shorter side) → ``α (B, N, H, W)``.

    Computed on ``TILE × TILE`` pixel tiles, only where a tile's centre lies within ``radius + TILE/√2 + MARGIN``
    of the stroke (elsewhere ``α < σ(-4·MARGIN) ≈ 1e-7`` and is stored as 0): one vectorised pass over all
    (stroke, tile) pairs that matter, so the cost follows the ink, not ``N × H × W``.
    """
    scale = points.new_tensor([width, height])
    px = points * scale  # pixel units
    a, d = px[:, :, :-1], px[:, :, 1:] - px[:, :, :-1]  # (B, N, S, 2)
    radius = widths * (min(height, width) / 2)  # (B, N)
    cy, cx, _, _ = _tile_centers(height, width, points.device, points.dtype)
    with torch.no_grad():
        centre_dist = _segment_distance(
            a[..., 0, None, None],
            a[..., 1, None, None],
            d[..., 0, None, None],
            d[..., 1, None, None],
            cx.view(1, -1),
            cy.view(-1, 1),
        ).amin(dim=2)  # (B, N, rows, cols)
        active = centre_dist <= radius[..., None, None] + TILE / math.sqrt(2) + MARGIN

    def coverage(bi, ni, ys, xs):
        sa, sd = a[bi, ni], d[bi, ni]  # (A, S, 2)
        dist = _segment_distance(
            sa[..., 0, None, None],
            sa[..., 1, None, None],
            sd[..., 0, None, None],
            sd[..., 1, None, None],
            xs[:, None, None, :],
            ys[:, None, :, None],
        ).amin(dim=1)  # (A, TILE, TILE)
        return _soft_edge(radius[bi, ni][:, None, None] - dist, hard)

    return _scatter_tiles(active, coverage, height, width, points)


def blob_coverage(
    centers: torch.Tensor,
    radii: torch.Tensor,
    coefficients: torch.Tensor,
    height: int,
    width: int,
    hard: bool = False,
) -> torch.Tensor:
    """``centers (B, M, 2)``, ``radii (B, M)``, ``coefficients (B, M, F, 2)`` → ``α (B, M, H, W)`` (tiled as strokes,
    a tile being active when its centre is within ``r₀ (1 + Σ|a_k| + |b_k|) + TILE/√2 + MARGIN`` of the blob's)."""
    f = coefficients.shape[2]
    cpx = centers * centers.new_tensor([width, height])  # (B, M, 2) pixel units
    r0 = radii * min(height, width)
    cy, cx, _, _ = _tile_centers(height, width, centers.device, centers.dtype)
    with torch.no_grad():
        reach = r0 * (1 + coefficients.abs().sum(dim=(2, 3))) + TILE / math.sqrt(2) + MARGIN
        dist = torch.sqrt(
            (cx.view(1, 1, 1, -1) - cpx[..., 0, None, None]) ** 2
            + (cy.view(1, 1, -1, 1) - cpx[..., 1, None, None]) ** 2
        )
        active = dist <= reach[..., None, None]

    def coverage(bi, mi, ys, xs):
        rx = xs[:, None, :] - cpx[bi, mi, 0][:, None, None]  # (A, 1, TILE)
        ry = ys[:, :, None] - cpx[bi, mi, 1][:, None, None]  # (A, TILE, 1)
        rho = torch.sqrt(rx * rx + ry * ry + 1e-8)  # (A, TILE, TILE)
        c1, s1 = rx / rho, ry / rho  # cos θ, sin θ
        ck, sk = c1, s1
        shape = torch.ones_like(rho)
        coeffs = coefficients[bi, mi]  # (A, F, 2)
        for harmonic in range(f):
            shape = shape + coeffs[:, harmonic, 0, None, None] * ck + coeffs[:, harmonic, 1, None, None] * sk
            ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1  # (cos (k+1)θ, sin (k+1)θ)
        return _soft_edge(r0[bi, mi][:, None, None] * shape - rho, hard)

    return _scatter_tiles(active, coverage, height, width, centers)


def composite(
    background: torch.Tensor, alphas: torch.Tensor, colors: torch.Tensor, exact: bool = False
) -> torch.Tensor:
    """Alpha-over in order: ``background (3,)``, ``alphas (B, L, H, W)``, ``colors (B, L, 3)`` → ``(B, 3, H, W)``.

    Vectorised over layers: ``C = bg · Π_j (1 − α_j) + Σ_i α_i c_i Π_{j>i} (1 − α_j)``, the products as exclusive
    suffix sums of ``log(1 − α)`` (``α`` clamped to ``1 − 1e-6`` so the logarithm stays finite: a fully covered
    pixel is its ink to within 1e-6). ``exact=True`` applies ``C ← C + α (c − C)`` layer by layer instead (exact
    palette colours under full coverage; slower backward)."""
    b, layers, height, width = alphas.shape
    if exact:
        image = background.view(1, 3, 1, 1).expand(b, 3, height, width).to(alphas.dtype)
        for layer in range(layers):
            image = image + alphas[:, layer, None] * (colors[:, layer, :, None, None] - image)
        return image
    log_clear = torch.log1p(-alphas.clamp(max=1.0 - 1e-6))  # log(1 − α): (B, L, H, W)
    suffix = log_clear.flip(1).cumsum(1).flip(1)  # Σ_{j ≥ i} log(1 − α_j)
    weights = alphas * torch.exp(suffix - log_clear)  # α_i Π_{j > i} (1 − α_j)
    inked = torch.einsum("blhw,blc->bchw", weights, colors.to(alphas.dtype))
    return inked + background.view(1, 3, 1, 1).to(alphas.dtype) * torch.exp(suffix[:, :1])


def render(geometry: Geometry, height: int, width: int | None = None, hard: bool = False) -> torch.Tensor:
    """Rasterise ``geometry`` (B drawings) at ``height × width`` → ``(B, 3, H, W)`` RGB in ``[0, 1]``."""
    width = height if width is None else width
    layers, colors = [], []
    if geometry.blob_centers.shape[1]:
        layers.append(
            blob_coverage(
                geometry.blob_centers,
                geometry.blob_radii,
                geometry.blob_coefficients,
                height,
                width,
                hard,
            )
        )
        colors.append(geometry.blob_colors)
    if geometry.stroke_points.shape[1]:
        layers.append(stroke_coverage(geometry.stroke_points, geometry.stroke_widths, height, width, hard))
        colors.append(geometry.stroke_colors)
    alphas = torch.cat(layers, dim=1)
    return composite(geometry.background, alphas, torch.cat(colors, dim=1), exact=hard)


def render_naive(geometry: Geometry, height: int, width: int | None = None) -> list[list[list[float]]]:
    """The reference rasteriser: a plain-Python loop over pixels and marks (drawing 0 only), same maths as
    :func:`render` — the baseline of ``benchmarks/perception.py`` and a cross-check in the tests. ``[H][W][3]``."""
    import math

    width = height if width is None else width
    g = geometry.index(0)
    g = type(g)(**{k: (v.detach() if torch.is_tensor(v) else v) for k, v in vars(g).items()})
    side = min(height, width)
    bg = [float(v) for v in g.background]
    strokes = [
        (g.stroke_points[0, i].tolist(), float(g.stroke_widths[0, i]), g.stroke_colors[0, i].tolist())
        for i in range(g.stroke_points.shape[1])
    ]
    blobs = [
        (
            g.blob_centers[0, i].tolist(),
            float(g.blob_radii[0, i]),
            g.blob_coefficients[0, i].tolist(),
            g.blob_colors[0, i].tolist(),
        )
        for i in range(g.blob_centers.shape[1])
    ]

    def sigmoid(x):
        return 1.0 / (1.0 + math.exp(-x)) if x > -60 else 0.0

    out = []
    for i in range(height):
        row = []
        for j in range(width):
            x, y = j + 0.5, i + 0.5
            c = list(bg)
            for (cx, cy), r0, coeffs, color in blobs:
                rx, ry = x - cx * width, y - cy * height
                rho = math.sqrt(rx * rx + ry * ry + 1e-8)
                theta = math.atan2(ry, rx)
                shape = 1.0 + sum(
                    a * math.cos((k + 1) * theta) + b * math.sin((k + 1) * theta)
                    for k, (a, b) in enumerate(coeffs)
                )
                alpha = sigmoid(EDGE_SHARPNESS * (r0 * side * shape - rho))
                c = [ci + alpha * (col - ci) for ci, col in zip(c, color)]
            for points, w, color in strokes:
                best = math.inf
                for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
                    ax, ay = x0 * width, y0 * height
                    dx, dy = x1 * width - ax, y1 * height - ay
                    t = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy + 1e-9)
                    t = min(1.0, max(0.0, t))
                    best = min(best, (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2)
                alpha = sigmoid(EDGE_SHARPNESS * (w * side / 2 - math.sqrt(best + 1e-8)))
                c = [ci + alpha * (col - ci) for ci, col in zip(c, color)]
            row.append(c)
        out.append(row)
    return out
