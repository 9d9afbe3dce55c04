"""Latent arithmetic shared by words, drawings and melodies: interpolation, analogy and attribute vectors.

What word2vec (Mikolov et al. 2013), sketch-rnn (Ha & Eck 2017) and MusicVAE (Roberts et al. 2018) all do with
vectors. Every function takes tensors of shape ``(..., D)`` (a leading batch is fine) and returns the same dtype.

- :func:`lerp` — linear interpolation ``(1 − t)·a + t·b``.
- :func:`slerp` — spherical interpolation (Shoemake 1985), as sketch-rnn's and MusicVAE's ``slerp`` — except that the
  cosine is clamped to ``[-1, 1]`` and (anti)parallel vectors fall back to :func:`lerp` (magenta's own ``slerp``
  divides by ``sin ω = 0`` there and returns NaN).
- :func:`analogy` — ``c + (b − a)``: "a is to b as c is to ?".
- :func:`attribute_vector` — difference of the means of two groups (MusicVAE §5.3: mean latent of examples with an
  attribute minus the mean of those without; Ha & Eck's "cat head" − "cat body" arithmetic).
- :func:`interpolation_path` — ``steps`` points from ``a`` to ``b`` inclusive, by either method.
"""

from __future__ import annotations

import math

import torch

from .errors import HfmechError

#: Below this ``sin ω``, slerp is numerically lerp (and the exact formula divides by ~0).
PARALLEL_EPS = 1e-6
MAX_STEPS = 1000
#: the ways :func:`interpolation_path` can walk from one code to another (the CLIs' ``--method`` choices)
INTERPOLATION_METHODS = ("slerp", "lerp")


class LatentError(HfmechError, ValueError):
    """Vectors that cannot be combined: different sizes, non-finite values, empty groups, bad ``t`` or steps."""


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if not (torch.is_tensor(a) and torch.is_tensor(b)):
        raise LatentError(f"expected tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.shape[-1:] != b.shape[-1:]:
        raise LatentError(f"vectors of different sizes: {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim == 0 or a.shape[-1] == 0:
        raise LatentError("vectors must have at least one dimension")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise LatentError("vectors must be finite (no NaN or inf)")


def _check_t(t: float) -> float:
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise LatentError(f"t must be a finite number, got {t!r}")
    return float(t)


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """``(1 − t)·a + t·b`` for ``a``, ``b`` of shape ``(..., D)``; ``t`` may lie outside ``[0, 1]`` (extrapolation)."""
    _check_pair(a, b)
    t = _check_t(t)
    return (1.0 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between ``a`` and ``b`` (shape ``(..., D)``), row by row.

    ``slerp = sin((1−t)ω)/sin ω · a + sin(tω)/sin ω · b`` with ``cos ω = â·b̂`` clamped to ``[-1, 1]``; where
    ``sin ω < PARALLEL_EPS`` (parallel or antiparallel rows) the row is :func:`lerp`. Norms are interpolated
    implicitly, as in magenta (the formula is applied to the raw vectors, not the unit ones).
    """
    _check_pair(a, b)
    t = _check_t(t)
    a64, b64 = a.double(), b.double()
    na, nb = a64.norm(dim=-1, keepdim=True), b64.norm(dim=-1, keepdim=True)
    cos = ((a64 * b64).sum(-1, keepdim=True) / (na * nb).clamp_min(1e-300)).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    safe = sin.abs() >= PARALLEL_EPS
    sin_safe = torch.where(safe, sin, torch.ones_like(sin))
    spherical = (torch.sin((1.0 - t) * omega) / sin_safe) * a64 + (torch.sin(t * omega) / sin_safe) * b64
    linear = (1.0 - t) * a64 + t * b64
    return torch.where(safe, spherical, linear).to(a.dtype)


def interpolation_path(a: torch.Tensor, b: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """``steps`` points from ``a`` to ``b`` inclusive: shape ``(steps, D)`` for vectors ``(D,)``."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= MAX_STEPS:
        raise LatentError(f"steps must be an integer in 2..{MAX_STEPS}, got {steps!r}")
    if method not in INTERPOLATION_METHODS:
        raise LatentError(f"method must be one of {', '.join(INTERPOLATION_METHODS)}, got {method!r}")
    f = slerp if method == "slerp" else lerp
    return torch.stack([f(a, b, i / (steps - 1)) for i in range(steps)])


def analogy(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``c + (b − a)``: the vector that is to ``c`` as ``b`` is to ``a`` (shapes ``(..., D)``)."""
    _check_pair(a, b)
    _check_pair(a, c)
    return c + (b - a)


def attribute_vector(with_attribute: torch.Tensor, without_attribute: torch.Tensor) -> torch.Tensor:
    """Mean of ``with_attribute`` ``(N, D)`` minus mean of ``without_attribute`` ``(M, D)``: shape ``(D,)``."""
    for name, group in (("with_attribute", with_attribute), ("without_attribute", without_attribute)):
        if not torch.is_tensor(group) or group.ndim != 2 or group.shape[0] == 0:
            raise LatentError(
                f"{name} must be a non-empty (N, D) tensor, got {getattr(group, 'shape', group)!r}"
            )
    _check_pair(with_attribute, without_attribute)
    return with_attribute.mean(0) - without_attribute.mean(0)


__all__ = [
    "LatentError",
    "analogy",
    "attribute_vector",
    "interpolation_path",
    "lerp",
    "slerp",
]
