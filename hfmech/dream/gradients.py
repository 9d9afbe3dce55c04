"""Gradient computation and normalisation for pixel-space ascent.

* :func:`objective_gradient` — ∂objective/∂pixels for a whole image, or tile by tile (google/deepdream's TensorFlow
  notebook, ``calc_grad_tiled``): the image is rolled by a random offset, cut into ``tile × tile`` pieces, each
  piece's gradient computed separately, and the result rolled back. Peak memory is bounded by one tile's forward and
  backward pass; the random offset moves the tile borders every step, so no seams build up.
* Normalisations of the ascent step: ``"mean-abs"`` (the Caffe notebook: ``step / mean|g| · g``), ``"std"``
  (``g / std(g)``) and ``"laplacian"`` (the TF notebook's ``lap_normalize``: split ``g`` into a Laplacian pyramid,
  give every band unit RMS, merge — low frequencies get as much step as high ones).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

GRADIENT_NORMALISATIONS = ("mean-abs", "std", "laplacian")

ObjectiveFn = Callable[[torch.Tensor], torch.Tensor]
"""pixels (B, 3, H, W) -> per-image objective (B,)."""


def objective_gradient(
    score: ObjectiveFn,
    pixels: torch.Tensor,
    tile_size: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, float]:
    """Gradient of ``score(pixels).sum()`` w.r.t. ``pixels`` (B, 3, H, W), and the objective value.

    With ``tile_size`` set and the image larger than a tile, the gradient is computed tile by tile after a random
    roll (offsets drawn from ``generator``); the returned value is the mean over tiles.
    """
    _, _, h, w = pixels.shape
    if tile_size is None or (h <= tile_size and w <= tile_size):
        x = pixels.detach().requires_grad_(True)
        value = score(x).sum()
        (grad,) = torch.autograd.grad(value, x)
        return grad, float(value.detach())

    sy, sx = (int(v) for v in torch.randint(0, tile_size, (2,), generator=generator))
    shifted = torch.roll(pixels.detach(), shifts=(sy, sx), dims=(2, 3))
    grad = torch.zeros_like(shifted)
    values = []
    for ys, xs in tiles(h, w, tile_size):
        tile = shifted[:, :, ys, xs].clone().requires_grad_(True)
        value = score(tile).sum()
        (g,) = torch.autograd.grad(value, tile)
        grad[:, :, ys, xs] = g
        values.append(float(value.detach()))
    return torch.roll(grad, shifts=(-sy, -sx), dims=(2, 3)), sum(values) / len(values)


def _spans(n: int, tile_size: int) -> list[slice]:
    starts = list(range(0, max(n - tile_size // 2, tile_size), tile_size))
    return [slice(a, b) for a, b in zip(starts, [*starts[1:], n])]


def tiles(h: int, w: int, tile_size: int) -> list[tuple[slice, slice]]:
    """(rows, cols) slices of the tiles covering an ``h × w`` image exactly once.

    The TF notebook's ranges (tiles start every ``tile_size`` up to ``n - tile_size/2``), except that the last tile
    of a row or column reaches the image edge (so it is up to 1.5 tiles wide) — the notebook left that sliver
    without gradient for the step.
    """
    return [(ys, xs) for ys in _spans(h, tile_size) for xs in _spans(w, tile_size)]


def normalise_mean_abs(grad: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """google/deepdream ``make_step``: ``g / mean|g|`` (per image)."""
    return grad / (grad.abs().flatten(1).mean(1).view(-1, 1, 1, 1) + eps)


def normalise_std(grad: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``g / std(g)`` (per image)."""
    return grad / (grad.flatten(1).std(1).view(-1, 1, 1, 1) + eps)


def _binomial_kernel(channels: int, dtype: torch.dtype) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=dtype)
    k2 = torch.outer(k, k)
    k2 = k2 / k2.sum()
    return k2.expand(channels, 1, 5, 5).contiguous()


def laplacian_split(img: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Laplacian pyramid (TF notebook ``lap_split_n``): ``[lowest, …, highest-frequency band]``."""
    k = _binomial_kernel(img.shape[1], img.dtype)
    bands = []
    for _ in range(levels):
        if min(img.shape[-2:]) < 2:
            break
        low = F.conv2d(img, k, stride=2, padding=2, groups=img.shape[1])
        up = F.conv_transpose2d(
            low, k * 4, stride=2, padding=2, groups=img.shape[1], output_padding=_out_pad(img, low)
        )
        bands.append(img - up)
        img = low
    bands.append(img)
    return bands[::-1]


def _out_pad(img: torch.Tensor, low: torch.Tensor) -> tuple[int, int]:
    # conv_transpose2d(stride 2, padding 2, k 5) gives 2·n - 1; pad to the original size
    return (img.shape[-2] - (2 * low.shape[-2] - 1), img.shape[-1] - (2 * low.shape[-1] - 1))


def laplacian_merge(bands: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of :func:`laplacian_split` (TF notebook ``lap_merge``)."""
    img = bands[0]
    k = _binomial_kernel(img.shape[1], img.dtype)
    for band in bands[1:]:
        pad = (band.shape[-2] - (2 * img.shape[-2] - 1), band.shape[-1] - (2 * img.shape[-1] - 1))
        img = (
            F.conv_transpose2d(img, k * 4, stride=2, padding=2, groups=img.shape[1], output_padding=pad)
            + band
        )
    return img


def normalise_laplacian(grad: torch.Tensor, levels: int = 4, eps: float = 1e-10) -> torch.Tensor:
    """TF notebook ``lap_normalize``: each pyramid band divided by its RMS, then merged."""
    bands = laplacian_split(grad, levels)
    bands = [b / b.pow(2).flatten(1).mean(1).sqrt().clamp_min(eps).view(-1, 1, 1, 1) for b in bands]
    return laplacian_merge(bands)


def normalise_gradient(grad: torch.Tensor, method: str) -> torch.Tensor:
    if method == "mean-abs":
        return normalise_mean_abs(grad)
    if method == "std":
        return normalise_std(grad)
    if method == "laplacian":
        return normalise_laplacian(grad)
    raise ValueError(
        f"unknown gradient normalisation {method!r}; choose one of {', '.join(GRADIENT_NORMALISATIONS)}"
    )
