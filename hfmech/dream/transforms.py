"""Transformation robustness for feature visualisation (lucid ``transform.standard_transforms``).

Each transform maps a batch ``(B, 3, H, W)`` to a randomly perturbed batch, differentiably, drawing randomness from
an explicit ``torch.Generator`` so renders are deterministic under a seed. Optimising the objective *through* them
keeps only patterns the network sees under small shifts, scalings and rotations (Olah et al. 2017).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Transform = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def _choice(options: Sequence[float], generator: torch.Generator | None) -> float:
    return float(options[int(torch.randint(len(options), (1,), generator=generator))])


def pad(width: int, value: float = 0.5) -> Transform:
    """Constant padding by ``width`` pixels (lucid ``pad(12, mode="constant", constant_value=.5)``)."""

    def fn(x, generator=None):
        return F.pad(x, (width, width, width, width), mode="constant", value=value)

    return fn


def jitter(d: int) -> Transform:
    """Random crop that shifts the image by up to ``d - 1`` pixels (lucid ``jitter``)."""

    def fn(x, generator=None):
        h, w = x.shape[-2:]
        dy, dx = (int(v) for v in torch.randint(0, d, (2,), generator=generator))
        return x[..., dy : h - d + dy + 1, dx : w - d + dx + 1]

    return fn


def random_scale(scales: Sequence[float]) -> Transform:
    """Bilinear rescale by a factor drawn from ``scales`` (lucid ``random_scale``)."""

    def fn(x, generator=None):
        s = _choice(scales, generator)
        h, w = x.shape[-2:]
        size = (max(1, round(h * s)), max(1, round(w * s)))
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    return fn


def random_rotate(angles_deg: Sequence[float]) -> Transform:
    """Rotation about the centre by an angle (degrees) drawn from ``angles_deg`` (lucid ``random_rotate``)."""

    def fn(x, generator=None):
        a = math.radians(_choice(angles_deg, generator))
        theta = torch.tensor(
            [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]], dtype=x.dtype
        )
        grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    return fn


def compose(transforms: Sequence[Transform]) -> Transform:
    def fn(x, generator=None):
        for t in transforms:
            x = t(x, generator)
        return x

    return fn


def standard_transforms() -> list[Transform]:
    """lucid's ``standard_transforms``: pad 12, jitter 8, scale 0.9–1.1, rotate ±10°, jitter 4."""
    return [
        pad(12),
        jitter(8),
        random_scale([1 + (i - 5) / 50.0 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]
