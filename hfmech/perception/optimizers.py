"""Two ways to move a drawing's parameters until the ensemble agrees: gradients (Adam) or a black box (White's ES).

- :func:`optimize_adam` — Adam (Kingma & Ba 2015) on the raw parameters, ascending the differentiable objective
  through the rasteriser, the robustness transforms and every training member; one render per step.
- :func:`optimize_es` — the evolution strategy White (2018) used on *non-differentiable* drawing systems (his
  plotter and screen-print renderers), in the form of Salimans et al. (2017, "Evolution Strategies as a Scalable
  Alternative to Reinforcement Learning"): a population of ``population`` perturbations ``θ ± σ ε`` (antithetic
  pairs, ``ε ~ N(0, I)``), each scored by the black-box reward, fitness shaped by centred ranks (``rank / (P − 1)
  − ½``, invariant to the reward's scale), and the step ``θ ← θ + α / (P σ) · Σ_i F_i ε_i``. White's settings are
  the defaults: population 100, ``σ = 0.01``, ``α = 0.0005``; it stops when the reward reaches ``stop_reward``
  (0.9999) or has not improved for ``patience`` iterations. Every candidate costs one render.

Both return an :class:`OptimizationResult` with the parameters, the history and the number of renders used.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..errors import HfmechError


class OptimizerError(HfmechError, ValueError):
    """An unknown optimiser or an out-of-range optimiser setting."""


OPTIMIZERS = ("adam", "es")


@dataclass
class OptimizationResult:
    flat: torch.Tensor  # (D,) final raw parameters
    history: list[dict] = field(default_factory=list)
    renders: int = 0
    steps: int = 0
    stopped: str = "steps"
    seconds: float = 0.0


def optimize_adam(
    flat: torch.Tensor,
    evaluate: Callable[[torch.Tensor, int], dict],
    steps: int,
    learning_rate: float = 0.05,
    stop: Callable[[dict], bool] | None = None,
    callback: Callable[[int, dict], bool | None] | None = None,
    final_lr_fraction: float = 0.1,
    lr_scale: torch.Tensor | None = None,
    decay_steps: int | None = None,
) -> OptimizationResult:
    """Maximise ``evaluate(params (1, D), step)["objective"]`` (a differentiable scalar) with Adam.

    ``evaluate`` returns a dict with ``objective`` (tensor), ``renders`` (int) and any floats to record;
    ``stop(record)`` ends early (e.g. the ensemble's probability reached a threshold); ``callback(step, record)``
    returning ``True`` ends it too (``stopped="interrupted"``). The learning rate follows
    a half cosine from ``learning_rate`` down to ``final_lr_fraction`` of it over ``decay_steps`` (default:
    ``steps``), then stays there: ``lr_t = lr · (f + (1 − f) · ½ (1 + cos(π · min(t / decay_steps, 1))))``. When ``evaluate`` reports a clean-render
    ``probability`` (every few steps), the parameters with the highest one are returned, not the last: with hard ink
    selection and random views the objective is noisy, and a late step can undo a good drawing.

    ``lr_scale (D,)``: per-parameter multipliers of the learning rate (e.g. slower ink logits, whose arg-max flips
    are discontinuous jumps). Adam is invariant to the gradient's scale, so this is done by optimising
    ``u = θ / lr_scale`` and evaluating at ``θ = u · lr_scale``: each coordinate's step is ``lr · lr_scale``.
    """
    if not isinstance(steps, int) or steps < 0:
        raise OptimizerError(f"steps must be a non-negative integer, got {steps!r}")
    scale = None
    if lr_scale is not None:
        scale = lr_scale.detach().reshape(1, -1).to(flat.dtype)
        if scale.shape[1] != flat.numel() or not bool((scale > 0).all()):
            raise OptimizerError(
                f"lr_scale must hold {flat.numel()} positive values, got shape {tuple(lr_scale.shape)}"
            )
    u = flat.detach().clone().reshape(1, -1)
    u = (u / scale if scale is not None else u).requires_grad_(True)
    opt = torch.optim.Adam([u], lr=learning_rate)

    def theta() -> torch.Tensor:
        return u * scale if scale is not None else u

    params = theta()
    result = OptimizationResult(flat=params.detach()[0])
    best_flat, best_probability = None, -1.0
    start = time.perf_counter()
    if decay_steps is not None and (not isinstance(decay_steps, int) or decay_steps < 1):
        raise OptimizerError(f"decay_steps must be a positive integer, got {decay_steps!r}")
    horizon = max((decay_steps or steps) - 1, 1)
    for step in range(steps):
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(step / horizon, 1.0)))
        for group in opt.param_groups:
            group["lr"] = learning_rate * (final_lr_fraction + (1.0 - final_lr_fraction) * cosine)
        opt.zero_grad(set_to_none=True)
        params = theta()
        before = params.detach()[0].clone()
        out = evaluate(params, step)
        if "probability" in out and float(out["probability"]) > best_probability:
            best_flat, best_probability = before, float(out["probability"])
        (-out["objective"]).backward()
        opt.step()
        result.renders += int(out.get("renders", 1))
        record = {"step": step, "renders": result.renders, "seconds": time.perf_counter() - start}
        record.update(
            {
                k: float(v.detach()) if torch.is_tensor(v) else float(v)
                for k, v in out.items()
                if k != "renders"
            }
        )
        result.history.append(record)
        result.steps = step + 1
        if callback is not None and callback(step, record):
            result.stopped = "interrupted"
            break
        if stop is not None and stop(record):
            result.stopped = "threshold"
            break
    result.flat = theta().detach()[0]
    if best_flat is not None:  # at a threshold stop, these are the parameters that reached it
        result.flat = best_flat
    result.seconds = time.perf_counter() - start
    return result


def centered_ranks(values: torch.Tensor) -> torch.Tensor:
    """Fitness shaping of Salimans et al. (2017): ranks scaled to ``[-½, ½]`` (ties broken by order)."""
    ranks = torch.empty_like(values)
    ranks[values.argsort()] = torch.arange(values.numel(), dtype=values.dtype)
    return ranks / max(values.numel() - 1, 1) - 0.5


def optimize_es(
    flat: torch.Tensor,
    fitness: Callable[[torch.Tensor, int], torch.Tensor],
    iterations: int,
    population: int = 100,
    sigma: float = 0.01,
    alpha: float = 0.0005,
    stop_reward: float = 0.9999,
    patience: int = 50,
    generator: torch.Generator | None = None,
    callback: Callable[[int, dict], bool | None] | None = None,
) -> OptimizationResult:
    """Maximise the black-box ``fitness(params (P, D), iteration) -> rewards (P,)`` (no gradients used).

    Each iteration scores ``population`` antithetic candidates plus the current mean (``P + 1`` renders); the
    mean's reward is the one recorded, compared with ``stop_reward`` and tracked for ``patience``.
    ``callback(iteration, record)`` returning ``True`` ends the run (``stopped="interrupted"``).
    """
    if not isinstance(population, int) or population < 2 or population % 2:
        raise OptimizerError(f"population must be an even integer >= 2, got {population!r}")
    if not (isinstance(sigma, int | float) and sigma > 0 and isinstance(alpha, int | float) and alpha > 0):
        raise OptimizerError(f"sigma and alpha must be positive, got {sigma!r}, {alpha!r}")
    if not isinstance(iterations, int) or iterations < 0:
        raise OptimizerError(f"iterations must be a non-negative integer, got {iterations!r}")
    theta = flat.detach().clone().reshape(-1)
    result = OptimizationResult(flat=theta.clone())
    best, since_best = -float("inf"), 0
    start = time.perf_counter()
    with torch.no_grad():
        for it in range(iterations):
            half = torch.randn(population // 2, theta.numel(), generator=generator, dtype=theta.dtype)
            eps = torch.cat([half, -half])  # antithetic pairs
            candidates = torch.cat([theta[None], theta[None] + sigma * eps])
            rewards = fitness(candidates, it).to(theta.dtype)
            current, shaped = float(rewards[0]), centered_ranks(rewards[1:])
            theta = theta + alpha / (population * sigma) * (shaped @ eps)
            result.renders += population + 1
            record = {
                "step": it,
                "renders": result.renders,
                "seconds": time.perf_counter() - start,
                "reward": current,
                "population_best": float(rewards[1:].max()),
            }
            result.history.append(record)
            result.steps = it + 1
            if callback is not None and callback(it, record):
                result.stopped = "interrupted"
                break
            if current > best:
                best, since_best = current, 0
            else:
                since_best += 1
            if current >= stop_reward:
                result.stopped = "threshold"
                break
            if since_best >= patience:
                result.stopped = "no improvement"
                break
    result.flat = theta
    result.seconds = time.perf_counter() - start
    return result
