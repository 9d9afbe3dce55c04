"""Inference-only rewrites of a frozen backbone that keep its function and make pixel-space optimisation faster.

DeepDream and activation maximisation differentiate w.r.t. the *input* of a network whose weights never change, so
each ``conv -> BatchNorm`` pair can be folded into one convolution (BatchNorm in eval mode is an affine map per
channel: ``y = γ·(Wx − μ)/√(σ²+ε) + β = W'x + b'``), and convolutions run faster in channels-last memory format on
CPU. Measured on EfficientNet-Lite0 at 512 px, one forward+backward to stage2: 377 ms as is, 164 ms folded +
channels-last (benchmarks/deepdream.py, ``per_step``); the objective agrees to ~1e-7 relative.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


@torch.no_grad()
def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.mul_(scale.view(-1, *([1] * (conv.weight.ndim - 1))))
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    conv.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` in which every submodule holding ``.conv`` (Conv2d) and ``.bn`` (BatchNorm2d)
    has the BatchNorm folded into the convolution (``.bn`` becomes Identity). The original is not modified;
    module names are unchanged, so named feature layers still resolve. Other models are copied as they are."""
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        conv, bn = getattr(module, "conv", None), getattr(module, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
            _fold(conv, bn)
            module.bn = nn.Identity()
    for p in folded.parameters():
        p.requires_grad_(False)
    return folded
