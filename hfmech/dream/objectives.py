"""Composable objectives for DeepDream and activation maximisation (in the style of lucid's ``objectives``).

An :class:`Objective` maps the named activations of a backbone to one value per image, shape ``(B,)``, which the
optimiser *maximises*. Objectives add, subtract, negate and scale, so weighted sums read like the maths::

    from hfmech.dream import objectives as obj
    o = obj.layer("stage4") + 0.5 * obj.channel("stage6", 17) - 0.1 * obj.class_logit(88)

``layer`` is the DeepDream default: google/deepdream's ``objective_L2`` sets the gradient at the layer to the
activation itself, i.e. maximises ``½‖a‖²``; we use the mean instead of the sum (``½·mean(a²)``) so values compare
across image sizes — the direction is the same and the ascent step normalises the gradient anyway.

``spatially_additive`` marks objectives that are a sum over positions (layer, channel, guide). Only those may be
computed tile by tile on large images; a neuron or a class logit is a property of the whole image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Activations = dict[str, torch.Tensor]


class Objective:
    """A differentiable score to maximise: ``objective(activations) -> (B,)``.

    Args:
        fn: computes the per-image score from ``{layer: activation}``.
        layers: the layers ``fn`` reads (the feature extractor stops the forward pass after the deepest).
        description: a readable name, e.g. ``"L2(stage4)"``.
        spatially_additive: True when the score is a mean/sum over spatial positions (safe to tile).
    """

    def __init__(
        self,
        fn: Callable[[Activations], torch.Tensor],
        layers: Sequence[str],
        description: str,
        spatially_additive: bool = True,
    ):
        self.fn = fn
        self.layers = tuple(dict.fromkeys(layers))
        self.description = description
        self.spatially_additive = spatially_additive

    def __call__(self, activations: Activations) -> torch.Tensor:
        return self.fn(activations)

    def __repr__(self) -> str:
        return f"Objective({self.description})"

    # arithmetic -----------------------------------------------------------------------------------------------
    def __add__(self, other: Objective | float) -> Objective:
        if isinstance(other, int | float):
            if other == 0:
                return self
            return Objective(
                lambda a: self(a) + other,
                self.layers,
                f"{self.description} + {other}",
                self.spatially_additive,
            )
        return Objective(
            lambda a: self(a) + other(a),
            self.layers + other.layers,
            f"{self.description} + {other.description}",
            self.spatially_additive and other.spatially_additive,
        )

    __radd__ = __add__  # so sum([...]) works

    def __neg__(self) -> Objective:
        return Objective(lambda a: -self(a), self.layers, f"-{self.description}", self.spatially_additive)

    def __sub__(self, other: Objective | float) -> Objective:
        return self + (-other)

    def __mul__(self, weight: float) -> Objective:
        if not isinstance(weight, int | float):
            raise TypeError("objectives can be scaled by numbers only")
        return Objective(
            lambda a: weight * self(a), self.layers, f"{weight}·{self.description}", self.spatially_additive
        )

    __rmul__ = __mul__

    def __truediv__(self, weight: float) -> Objective:
        return self * (1.0 / weight)


def _spatial_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean over every dimension but the batch: (B, ...) -> (B,)."""
    return x.flatten(1).mean(1)


def _channel_view(activation: torch.Tensor) -> torch.Tensor:
    """Return the activation as (B, C, positions): NCHW convnets, or (B, tokens, C) transformers."""
    if activation.ndim == 4:
        return activation.flatten(2)
    if activation.ndim == 3:
        return activation.transpose(1, 2)
    if activation.ndim == 2:
        return activation.unsqueeze(-1)
    raise ValueError(f"cannot interpret an activation of shape {tuple(activation.shape)} as channels")


def _check_channel(activation: torch.Tensor, layer: str, c: int) -> None:
    n = _channel_view(activation).shape[1]
    if not 0 <= c < n:
        raise ValueError(f"channel {c} out of range for layer {layer!r} with {n} channels")


def layer(name: str) -> Objective:
    """DeepDream's L2 objective: ``½·mean(a²)`` over the whole activation of ``name`` (Mordvintsev et al. 2015)."""
    return Objective(lambda a: 0.5 * _spatial_mean(a[name].pow(2)), [name], f"L2({name})")


def channel(name: str, c: int) -> Objective:
    """Mean activation of channel ``c`` of layer ``name`` (lucid ``channel``; Olah et al. 2017)."""

    def fn(a: Activations) -> torch.Tensor:
        _check_channel(a[name], name, c)
        return _channel_view(a[name])[:, c].mean(-1)

    return Objective(fn, [name], f"channel({name}:{c})")


def channels(name: str, indices: Sequence[int]) -> Objective:
    """Batch objective: image ``i`` of the batch maximises channel ``indices[i]`` (one batch, many features)."""
    idx = list(indices)

    def fn(a: Activations) -> torch.Tensor:
        act = _channel_view(a[name])
        if act.shape[0] != len(idx):
            raise ValueError(
                f"channels objective has {len(idx)} channels but the batch has {act.shape[0]} images"
            )
        for c in idx:
            _check_channel(a[name], name, c)
        return act[torch.arange(len(idx)), torch.tensor(idx)].mean(-1)

    return Objective(fn, [name], f"channels({name}:{idx})")


def neuron(name: str, c: int, x: int | None = None, y: int | None = None) -> Objective:
    """One unit: channel ``c`` at spatial position (``y``, ``x``), the centre by default (Erhan et al. 2009)."""

    def fn(a: Activations) -> torch.Tensor:
        act = a[name]
        _check_channel(act, name, c)
        if act.ndim != 4:
            return _channel_view(act)[:, c, act.shape[1] // 2 if x is None else x]
        h, w = act.shape[-2:]
        yy = h // 2 if y is None else y
        xx = w // 2 if x is None else x
        if not (0 <= yy < h and 0 <= xx < w):
            raise ValueError(f"neuron position ({yy}, {xx}) outside the {h}×{w} map of {name!r}")
        return act[:, c, yy, xx]

    return Objective(fn, [name], f"neuron({name}:{c}@{y},{x})", spatially_additive=False)


def class_logit(index: int, layer_name: str = "logits") -> Objective:
    """The pre-softmax score of ImageNet class ``index`` (Simonyan et al. 2014; Nguyen et al. 2016)."""

    def fn(a: Activations) -> torch.Tensor:
        logits = a[layer_name]
        if not 0 <= index < logits.shape[-1]:
            raise ValueError(f"class index {index} out of range for {logits.shape[-1]} classes")
        return logits.reshape(logits.shape[0], -1)[:, index]

    return Objective(fn, [layer_name], f"logit({index})", spatially_additive=False)


def guide(name: str, guide_features: torch.Tensor) -> Objective:
    """Guided dreaming (google/deepdream ``objective_guide``): every position follows its best-matching guide feature.

    ``guide_features``: the guide image's activation at ``name``, ``(1, C, h, w)`` (any spatial size). At each
    position ``i`` of the dreamed image the gradient is the guide vector ``y_j`` with the largest dot product
    ``x_i·y_j``; as an objective that is ``mean_i x_i·y_{argmax}`` with the argmax held fixed.
    """
    y = _channel_view(guide_features.detach())[0]  # (C, M)

    def fn(a: Activations) -> torch.Tensor:
        x = _channel_view(a[name])  # (B, C, N)
        if x.shape[1] != y.shape[0]:
            raise ValueError(f"guide features have {y.shape[0]} channels, layer {name!r} has {x.shape[1]}")
        with torch.no_grad():
            best = torch.einsum("bcn,cm->bnm", x, y.to(x.dtype)).argmax(-1)  # (B, N)
        matched = y.to(x.dtype)[:, best].permute(1, 0, 2)  # (B, C, N)
        return (x * matched).sum(1).mean(-1)

    return Objective(fn, [name], f"guide({name})")
