"""Activation maximisation from noise — feature visualisation (Erhan et al. 2009; Olah et al. 2017).

:func:`render` optimises a parameterised image (default: lucid's decorrelated Fourier image) with Adam so that an
:class:`~hfmech.dream.objectives.Objective` is maximised *through* random transformations (pad, jitter, scale,
rotate). A batch renders several objectives at once, e.g. ``objectives.channels("stage6", [0, 1, 2, 3])`` gives one
image per channel in a single optimisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..vision.features import FeatureExtractor
from . import transforms as T
from .objectives import Objective
from .param import FourierImage, PixelImage

PARAMETERIZATIONS = ("fft", "pixel")


@dataclass
class VisualizationResult:
    images: torch.Tensor
    """(B, 3, H, W) in [0, 1]."""
    objective_history: list[float]
    """objective (summed over the batch) after the transforms, one value per step."""


def render(
    extractor: FeatureExtractor,
    objective: Objective,
    *,
    size: int = 224,
    batch: int = 1,
    steps: int = 512,
    learning_rate: float = 0.05,
    parameterization: str = "fft",
    transforms: Sequence[T.Transform] | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> VisualizationResult:
    """Maximise ``objective`` over images of ``size × size`` (lucid ``render_vis`` defaults: Adam 0.05, 512 steps).

    Args:
        extractor: a :class:`FeatureExtractor` covering ``objective.layers``.
        transforms: robustness transforms, default :func:`~hfmech.dream.transforms.standard_transforms`;
            pass ``[]`` for none.
    """
    if not isinstance(size, int) or not 16 <= size <= 2048:
        raise ValueError(f"size must be an integer in [16, 2048], got {size!r}")
    if not isinstance(batch, int) or not 1 <= batch <= 64:
        raise ValueError(f"batch must be an integer in [1, 64], got {batch!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if parameterization == "fft":
        image = FourierImage(batch, size, size, generator=generator)
    elif parameterization == "pixel":
        image = PixelImage(batch, size, size, generator=generator)
    else:
        raise ValueError(f"unknown parameterization {parameterization!r}; choose one of {PARAMETERIZATIONS}")
    image = image.to(extractor.mean.device)
    transform = T.compose(T.standard_transforms() if transforms is None else list(transforms))
    optimizer = torch.optim.Adam(image.parameters(), lr=learning_rate)
    history = []
    for _ in tqdm(range(steps), desc="feature visualisation", disable=not progress):
        optimizer.zero_grad()
        score = objective(extractor(transform(image(), generator))).sum()
        (-score).backward()
        optimizer.step()
        history.append(float(score.detach()))
    with torch.no_grad():
        return VisualizationResult(images=image().detach(), objective_history=history)
