"""Random-weight backbones for style transfer: no training, no downloads — the config (and its seed) is the model.

Ustyuzhaninov, Brendel, Gatys & Bethge, "Texture Synthesis Using Shallow Convolutional Networks with Random
Filters" (2016, arXiv:1606.00021) found that the Gram statistics of a *single* convolutional layer with random
filters at several scales ("multi-scale model": filter sizes 3, 5, 7, 11, 15, 23, 37, 55, 128 filters each, ReLU,
1024 feature maps) synthesise textures that rival those of the trained multi-layer VGG (Gatys et al. 2015).

- :class:`RandomMultiscaleModel` (``model_type = "hfmech-random-multiscale"``, zoo ``random-multiscale``): that
  single layer. ``(B, 3, H, W) -> relu (B, sum(filters), H, W)`` ("same" padding, stride 1). Filters are drawn from
  ``init_seed`` with a Glorot-uniform initialiser (``U(±sqrt(6 / (fan_in + fan_out)))`` per scale; the paper only
  says "random filters"); biases are zero. Large kernels are evaluated as FFT convolutions (``fft_min_kernel``):
  a 55x55 direct convolution over 128 maps would cost ~1.2 M multiply-adds per pixel, the FFT a few thousand; the
  result equals ``F.conv2d`` to float rounding (tested).

It is an ordinary ``PreTrainedModel``: the zoo (:mod:`hfmech.style.zoo_random`) writes ``config.json`` plus the seeded
``model.safetensors`` (a cache of what the seed regenerates exactly — transformers' ``from_pretrained`` needs a
weights file), so it is selectable like any backbone (``backbone="random-multiscale"``).
"""

from __future__ import annotations

import math
from dataclasses import field

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithNoAttention

from ..hub import register_model
from ..vision.modeling_vgg import TORCHVISION_MEAN, TORCHVISION_STD

#: Ustyuzhaninov et al. 2016, multi-scale model.
PAPER_FILTER_SIZES = (3, 5, 7, 11, 15, 23, 37, 55)
PAPER_FILTERS_PER_SCALE = 128


class RandomMultiscaleConfig(PretrainedConfig):
    """A single random convolutional layer with several filter sizes (Ustyuzhaninov et al. 2016).

    Args:
        filter_sizes: odd kernel sizes, one group of ``filters_per_scale`` filters each.
        filters_per_scale: filters per size (paper: 128, so 1024 maps for 8 sizes).
        init_seed: seed of the filters; the same seed gives the same network on every machine.
        fft_min_kernel: kernels at least this large are applied by FFT (0 = never).
        image_mean, image_std: input normalisation for pixels in ``[0, 1]`` (ImageNet statistics).
        style_transfer: style-transfer defaults (the one layer ``relu`` for content and style).
    """

    model_type = "hfmech-random-multiscale"

    filter_sizes: list[int] = field(default_factory=lambda: list(PAPER_FILTER_SIZES))
    filters_per_scale: int = PAPER_FILTERS_PER_SCALE
    init_seed: int = 0
    fft_min_kernel: int = 15
    num_channels: int = 3
    image_mean: list[float] = field(default_factory=lambda: list(TORCHVISION_MEAN))
    image_std: list[float] = field(default_factory=lambda: list(TORCHVISION_STD))
    style_transfer: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        self.filter_sizes = [int(k) for k in self.filter_sizes]
        if not self.filter_sizes or any(k < 1 or k % 2 == 0 for k in self.filter_sizes):
            raise ValueError(f"filter_sizes must be odd positive integers, got {self.filter_sizes!r}")
        if int(self.filters_per_scale) < 1:
            raise ValueError(f"filters_per_scale must be >= 1, got {self.filters_per_scale!r}")
        if self.style_transfer is None:
            self.style_transfer = {
                "content_layers": ["relu"],
                "style_layers": ["relu"],
                "style_layer_weights": [1.0],
                "line_search": "strong_wolfe",  # plain L-BFGS diverged from noise on this net
            }


class MultiscaleConv(nn.Module):
    """``len(filter_sizes)`` groups of ``out_per_scale`` filters, stride 1, "same" zero padding, concatenated.

    ``forward((B, Cin, H, W)) -> (B, len(sizes) * out_per_scale, H, W)``. Kernels ``>= fft_min_kernel`` are applied
    in the Fourier domain: zero-pad to ``(H + k - 1, W + k - 1)``, multiply the spectra, crop the "same" window.
    """

    def __init__(self, in_channels: int, out_per_scale: int, sizes: list[int], fft_min_kernel: int = 15):
        super().__init__()
        self.sizes = list(sizes)
        self.fft_min_kernel = int(fft_min_kernel)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(out_per_scale, in_channels, k, k), requires_grad=False)
            for k in self.sizes
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(out_per_scale), requires_grad=False) for _ in self.sizes
        )

    @torch.no_grad()
    def reset_parameters(self, seed: int) -> None:
        """Seeded Glorot-uniform filters ``U(±sqrt(6 / ((in + out) k²)))`` per scale, zero biases."""
        generator = torch.Generator().manual_seed(int(seed))
        for w, b in zip(self.weights, self.biases):
            out_c, in_c, k, _ = w.shape
            bound = math.sqrt(6.0 / ((in_c + out_c) * k * k))
            values = torch.rand(w.shape, generator=generator, dtype=torch.float32) * 2 - 1
            w.copy_(values * bound)
            b.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for k, w, b in zip(self.sizes, self.weights, self.biases):
            if self.fft_min_kernel and k >= self.fft_min_kernel:
                outs.append(fft_conv2d_same(x, w) + b.view(1, -1, 1, 1))
            else:
                outs.append(F.conv2d(x, w, b, padding=k // 2))
        return torch.cat(outs, dim=1)


def fft_conv2d_same(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=k // 2)`` (odd square kernel, stride 1) computed with real FFTs.

    ``x (B, Cin, H, W)``, ``weight (Cout, Cin, k, k)`` -> ``(B, Cout, H, W)``. conv2d is a cross-correlation, so the
    kernel is flipped to turn the FFT's convolution into it. Differentiable (torch.fft).
    """
    k = weight.shape[-1]
    h, w = x.shape[-2:]
    size = (h + k - 1, w + k - 1)
    xf = torch.fft.rfft2(x, s=size)  # (B, Cin, H', W'/2+1)
    wf = torch.fft.rfft2(weight.flip(-1, -2), s=size)  # (Cout, Cin, H', W'/2+1)
    yf = torch.einsum("bchw,ochw->bohw", xf, wf)
    full = torch.fft.irfft2(yf, s=size)  # full linear convolution, (B, Cout, H+k-1, W+k-1)
    p = k // 2
    return full[..., p : p + h, p : p + w]


class RandomMultiscaleModel(PreTrainedModel):
    """Ustyuzhaninov et al.'s multi-scale single-layer random network: ``conv`` (multi-scale) -> ``relu``.

    ``forward(pixel_values (B, 3, H, W))`` (normalised with ``config.image_mean/std``) ->
    ``BaseModelOutputWithNoAttention(last_hidden_state=relu (B, n_sizes * filters_per_scale, H, W))``.
    Named layers: ``conv``, ``relu``.
    """

    config_class = RandomMultiscaleConfig
    base_model_prefix = "random_multiscale"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def __init__(self, config: RandomMultiscaleConfig):
        super().__init__(config)
        self.conv = MultiscaleConv(
            config.num_channels, config.filters_per_scale, config.filter_sizes, config.fft_min_kernel
        )
        self.relu = nn.ReLU()
        self.post_init()
        self.conv.reset_parameters(config.init_seed)  # seeded: the filters exist as soon as the config does

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Seeded Glorot-uniform filters (the same seed gives the same filters), zero biases."""
        if isinstance(module, MultiscaleConv):
            module.reset_parameters(self.config.init_seed)

    def feature_layers(self) -> dict[str, nn.Module]:
        return {"conv": self.conv, "relu": self.relu}

    def forward(self, pixel_values: torch.Tensor | None = None, return_dict: bool | None = None, **kwargs):
        if pixel_values is None:
            raise ValueError("pixel_values is required")
        x = self.relu(self.conv(pixel_values))
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        return BaseModelOutputWithNoAttention(last_hidden_state=x) if return_dict else (x,)


def random_multiscale(seed: int = 0, **config_kwargs) -> RandomMultiscaleModel:
    return RandomMultiscaleModel(RandomMultiscaleConfig(init_seed=seed, **config_kwargs)).eval()


register_model(RandomMultiscaleConfig, RandomMultiscaleModel, auto_classes=(AutoModel,))
