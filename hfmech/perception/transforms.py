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

``views(image (1, 3, H, W), n, generator) -> (n, 3, H, W)``; ``apply(images (B, 3, H, W), sample(n)) ->
(B · n, 3, H, W)`` gives several drawings the same ``n`` views. All differentiable w.r.t. the images.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from ..errors import HfmechError


class TransformParameterError(HfmechError, ValueError):
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

    def sample(self, n: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Random parameters of ``n`` views: ``homographies (n, 3, 3)``, ``blur (n,)`` (σ, px), ``contrast
        (n, 1, 1, 1)``, ``brightness (n, 1, 1, 1)``, ``color (n, 3, 1, 1)`` — drawn in a fixed order."""
        out = {"homographies": self.homographies(n, generator)}
        if self.blur > 0:
            out["blur"] = torch.rand(n, generator=generator) * self.blur
        if self.contrast or self.brightness or self.color:
            out["contrast"] = 1.0 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * self.contrast
            out["brightness"] = (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * self.brightness
            out["color"] = (torch.rand(n, 3, 1, 1, generator=generator) * 2 - 1) * self.color
        return out

    def apply(self, images: torch.Tensor, sample: dict[str, torch.Tensor]) -> torch.Tensor:
        """Apply the ``n`` views of ``sample`` to every image of ``images (B, 3, H, W)`` → ``(B · n, 3, H, W)``
        (image-major: rows ``b · n … b · n + n − 1`` are image ``b``'s views). The same ``n`` views for every image:
        common random numbers when several drawings are compared (ES)."""
        b, c, height, width = images.shape
        n = sample["homographies"].shape[0]

        def per_row(t):  # (n, …) → (B · n, …)
            return t.to(images.dtype).repeat(b, *([1] * (t.dim() - 1)))

        images = images[:, None].expand(b, n, c, height, width).reshape(b * n, c, height, width)
        ys = torch.linspace(-1 + 1 / height, 1 - 1 / height, height, dtype=images.dtype)
        xs = torch.linspace(-1 + 1 / width, 1 - 1 / width, width, dtype=images.dtype)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        base = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).reshape(1, -1, 3)  # (1, HW, 3)
        mapped = base @ per_row(sample["homographies"]).transpose(1, 2)  # (B·n, HW, 3)
        grid = (mapped[..., :2] / mapped[..., 2:].clamp(min=1e-3)).reshape(b * n, height, width, 2)
        out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if "blur" in sample:
            out = gaussian_blur(out, per_row(sample["blur"]))
        if "contrast" in sample:
            contrast, shift, cast = (per_row(sample[k]) for k in ("contrast", "brightness", "color"))
            out = ((out - 0.5) * contrast + 0.5 + shift + cast).clamp(0, 1)
        return out

    def views(self, image: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` random views of one image ``(1, 3, H, W)`` → ``(n, 3, H, W)``."""
        if image.shape[0] != 1:
            raise TransformParameterError(f"views takes one image (1, 3, H, W), got {tuple(image.shape)}")
        return self.apply(image, self.sample(n, generator))


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
