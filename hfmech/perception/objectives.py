"""What the ensemble must agree on: the target class's probability under every member, on every view.

``log_probs (M, T, C)``: log-softmax over the ``C = 1000`` ImageNet classes of ``M`` members on ``T`` views.

- ``"mean-log-prob"`` (default): ``mean_{m,t} log p_m(y | view_t)`` — the ensemble's average log-likelihood of the
  target. Its gradient never vanishes while any member disagrees, so it suits Adam.
- ``"product"``: White's (2018) reward, the *product* of the members' probabilities ``Π_m p_m(y)`` (averaged over
  views): near 1 only when every member is sure at once (White stops at 0.9999). The value optimised by gradient
  is its logarithm ``log mean_t exp Σ_m log p_m``.

:func:`reward` is the product in probability units, the black-box optimiser's fitness and stopping criterion.
"""

from __future__ import annotations

import math

import torch

from ..errors import HfmechError

OBJECTIVES = ("mean-log-prob", "product")


class ObjectiveError(HfmechError, ValueError):
    """An unknown objective name."""


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise ObjectiveError(f"objective must be one of {', '.join(OBJECTIVES)}, got {name!r}")
    return name


def target_log_probs(log_probs: torch.Tensor, target: int) -> torch.Tensor:
    """``(M, T, C) -> (M, T)``: each member's log-probability of the target on each view."""
    return log_probs[..., target]


def ensemble_objective(log_probs: torch.Tensor, target: int, kind: str = "mean-log-prob") -> torch.Tensor:
    """Scalar to *maximise* (see the module docstring)."""
    lp = target_log_probs(log_probs, target)
    if check_objective(kind) == "mean-log-prob":
        return lp.mean()
    return torch.logsumexp(lp.sum(dim=0), dim=0) - math.log(lp.shape[1])


def reward(log_probs: torch.Tensor, target: int) -> torch.Tensor:
    """White's reward per drawing: ``mean_t Π_m p_m(y | view_t)`` for ``log_probs (M, T, C)`` → scalar in [0, 1]."""
    return target_log_probs(log_probs, target).sum(dim=0).exp().mean()
