"""Activation maximisation from noise — feature visualisation (Erhan et al. 2009; Olah et al. 2017).

:func:`render` optimises a parameterised image (default: lucid's decorrelated Fourier image) with Adam so that an
:class:`~hfmech.dream.objectives.Objective` is maximised *through* random transformations (pad, jitter, scale,
rotate). A batch renders several objectives at once, e.g. ``objectives.channels("stage6", [0, 1, 2, 3])`` gives one
image per channel in a single optimisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..errors import HfmechError, NonFiniteError
from ..vision.features import FeatureExtractor
from . import transforms as T
from .objectives import Objective
from .param import FourierImage, PixelImage

PARAMETERIZATIONS = ("fft", "pixel")
#: Bounds of a feature visualisation (docs/limits.md): image side, batch, Adam steps, learning rate.
MIN_SIZE, MAX_SIZE = 16, 2048
MAX_BATCH = 64
MAX_STEPS = 10_000
MAX_LEARNING_RATE = 10.0


class VisualizeParameterError(HfmechError, ValueError):
    """A feature-visualisation argument out of range or of the wrong type (the message states the bound)."""


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_render_arguments(*, size, batch, steps, learning_rate, parameterization="fft") -> None:
    """Refuse out-of-range arguments of :func:`render` before anything is allocated."""
    if not _is_int(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise VisualizeParameterError(f"size must be an integer in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    if not _is_int(batch) or not 1 <= batch <= MAX_BATCH:
        raise VisualizeParameterError(f"batch must be an integer in [1, {MAX_BATCH}], got {batch!r}")
    if not _is_int(steps) or not 1 <= steps <= MAX_STEPS:
        raise VisualizeParameterError(f"steps must be an integer in [1, {MAX_STEPS}], got {steps!r}")
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, int | float)
        or not math.isfinite(learning_rate)
        or not 0 < learning_rate <= MAX_LEARNING_RATE
    ):
        raise VisualizeParameterError(
            f"learning_rate must be a finite number in (0, {MAX_LEARNING_RATE:g}], got {learning_rate!r}"
        )
    if parameterization not in PARAMETERIZATIONS:
        raise VisualizeParameterError(
            f"unknown parameterization {parameterization!r}; choose one of {PARAMETERIZATIONS}"
        )


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
    check_render_arguments(
        size=size, batch=batch, steps=steps, learning_rate=learning_rate, parameterization=parameterization
    )
    if parameterization == "fft":
        image = FourierImage(batch, size, size, generator=generator)
    else:
        image = PixelImage(batch, size, size, generator=generator)
    image = image.to(extractor.mean.device)
    transform = T.compose(T.standard_transforms() if transforms is None else list(transforms))
    optimizer = torch.optim.Adam(image.parameters(), lr=learning_rate)
    history = []
    for step in tqdm(range(1, steps + 1), desc="feature visualisation", disable=not progress):
        optimizer.zero_grad()
        score = objective(extractor(transform(image(), generator))).sum()
        value = float(score.detach())
        if not math.isfinite(value):
            raise NonFiniteError(
                f"feature visualisation: the objective became {value} at step {step} of {steps}; stopped"
            )
        (-score).backward()
        optimizer.step()
        history.append(value)
    with torch.no_grad():
        return VisualizationResult(images=image().detach(), objective_history=history)
