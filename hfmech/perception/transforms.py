"""Robustness transforms applied to every render before the ensemble sees it (White 2018, "Perception Engines").

White makes the drawings *physical*: a print is seen from a slightly different position, angle, distance and
lighting, through a slightly blurry camera, with each ink layer printed in its own, slightly misregistered pass. The
optimiser sees a batch of random such views at every step, so it can only win with marks that survive them. Here:

- **geometry**: one random homography per view — translation (``jitter``, fraction of the side), isotropic
  ``scale``, ``rotation`` (degrees) and a ``perspective`` tilt (the homography's bottom row) — applied with
  ``grid_sample`` (bilinear, border padding: the paper continues past the edge);
- **blur**: a Gaussian of random ``σ ∈ [0, blur]`` pixels per view (separable, grouped convolution);
- **lighting**: contrast ``1 ± contrast``, brightness ``± brightness`` and a per-channel colour cast ``± color``;
- **ink misalignment**: a random offset per *ink* (``misalignment``, fraction of the side), applied to the geometry
  before rendering (:meth:`hfmech.perception.drawing.Geometry.shifted_by_ink`): every mark of an ink moves together.

``views(images (1, 3, H, W), n, generator) -> (n, 3, H, W)``; all differentiable w.r.t. the image.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


class TransformParameterError(ValueError):
    """A robustness-transform parameter is out of range."""


@dataclass
class RobustnessTransforms:
    jitter: float = 0.05
    scale: float = 0.1
    rotation: float = 8.0
    perspective: float = 0.1
    blur: float = 1.0
    contrast: float = 0.1
    brightness: float = 0.08
    color: float = 0.04
    misalignment: float = 0.008

    def __post_init__(self):
        limits = {
            "jitter": 0.5,
            "scale": 0.5,
            "rotation": 45.0,
            "perspective": 0.5,
            "blur": 8.0,
            "contrast": 0.9,
            "brightness": 0.5,
            "color": 0.5,
            "misalignment": 0.2,
        }
        for name, hi in limits.items():
            v = getattr(self, name)
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= hi:
                raise TransformParameterError(f"transform {name} must be in [0, {hi}], got {v!r}")

    @classmethod
    def none(cls) -> RobustnessTransforms:
        return cls(**{k: 0.0 for k in cls.__dataclass_fields__})

    @classmethod
    def from_dict(cls, values: dict | None) -> RobustnessTransforms:
        values = dict(values or {})
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise TransformParameterError(f"unknown transform parameters: {', '.join(sorted(unknown))}")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------------------------------------------------
    def ink_offsets(
        self, num_inks: int, generator: torch.Generator | None = None, batch: int = 1
    ) -> torch.Tensor:
        """``(batch, P, 2)`` per-ink offsets (normalised units) for :meth:`Geometry.shifted_by_ink`."""
        return torch.randn(batch, num_inks, 2, generator=generator) * self.misalignment

    def homographies(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, 3, 3)`` maps from output to input coordinates in ``grid_sample``'s ``[-1, 1]`` frame."""

        def uniform(scale):
            return (torch.rand(n, generator=generator) * 2 - 1) * scale

        angle = uniform(math.radians(self.rotation))
        zoom = 1.0 + uniform(self.scale)
        tx, ty = uniform(2 * self.jitter), uniform(2 * self.jitter)
        px, py = uniform(self.perspective), uniform(self.perspective)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        h = torch.zeros(n, 3, 3)
        h[:, 0, 0], h[:, 0, 1], h[:, 0, 2] = cos, -sin, tx
        h[:, 1, 0], h[:, 1, 1], h[:, 1, 2] = sin, cos, ty
        h[:, 2, 0], h[:, 2, 1], h[:, 2, 2] = px, py, 1.0
        return h

    def views(self, image: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random views of ``image (1|n, 3, H, W)`` → ``(n, 3, H, W)``."""
        _, c, height, width = image.shape
        image = image.expand(n, c, height, width)
        ys = torch.linspace(-1 + 1 / height, 1 - 1 / height, height, dtype=image.dtype)
        xs = torch.linspace(-1 + 1 / width, 1 - 1 / width, width, dtype=image.dtype)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        base = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).reshape(1, -1, 3)  # (1, HW, 3)
        mapped = base @ self.homographies(n, generator).to(image.dtype).transpose(1, 2)  # (n, HW, 3)
        grid = (mapped[..., :2] / mapped[..., 2:].clamp(min=1e-3)).reshape(n, height, width, 2)
        out = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.blur > 0:
            out = gaussian_blur(out, torch.rand(n, generator=generator) * self.blur)
        if self.contrast or self.brightness or self.color:
            contrast = 1.0 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * self.contrast
            shift = (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * self.brightness
            cast = (torch.rand(n, 3, 1, 1, generator=generator) * 2 - 1) * self.color
            out = (
                (out - 0.5) * contrast.to(out.dtype) + 0.5 + shift.to(out.dtype) + cast.to(out.dtype)
            ).clamp(0, 1)
        return out


def gaussian_blur(images: torch.Tensor, sigmas: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Blur image ``i`` of ``images (n, C, H, W)`` with a Gaussian of ``sigmas[i]`` pixels (0 = unchanged)."""
    n, c, height, width = images.shape
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype)
    s = sigmas.to(images.dtype).clamp(min=1e-3)[:, None]
    kernel = torch.exp(-0.5 * (offsets[None] / s) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (n, 2r+1)
    kernel = kernel.repeat_interleave(c, dim=0)  # (n·C, 2r+1)
    x = images.reshape(1, n * c, height, width)
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, kernel[:, None, None, :], groups=n * c)
    x = F.conv2d(x, kernel[:, None, :, None], groups=n * c)
    return x.reshape(n, c, height, width)
