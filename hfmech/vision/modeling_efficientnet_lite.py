"""EfficientNet-Lite in plain PyTorch, as a transformers model, with the real ImageNet weights through the zoo.

EfficientNet (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", ICML 2019,
arXiv:1905.11946) scales a mobile inverted-bottleneck (MBConv) network in width, depth and resolution with one
compound coefficient. EfficientNet-Lite (TensorFlow TPU repository, ``models/official/efficientnet/lite``, released
March 2020) is the edge-friendly variant: no squeeze-and-excitation, ReLU6 instead of swish, stem (32 channels) and
head (1280 channels) not scaled with width, and the first and last stage's repeats not scaled with depth
(``efficientnet_lite_builder``'s ``fix_head_stem``).

Shapes, for an input ``(B, 3, H, W)`` (``H = W = 224`` for Lite0, 260 for Lite2, any size works):

==========  ================================  ==================================
layer       Lite0                             Lite2
==========  ================================  ==================================
stem        ``(B, 32, H/2, W/2)``             ``(B, 32, H/2, W/2)``
stage1      ``(B, 16, H/2, W/2)``   1 block   ``(B, 16, H/2, W/2)``   1 block
stage2      ``(B, 24, H/4, W/4)``   2 blocks  ``(B, 24, H/4, W/4)``   3 blocks
stage3      ``(B, 40, H/8, W/8)``   2 blocks  ``(B, 48, H/8, W/8)``   3 blocks
stage4      ``(B, 80, H/16, W/16)`` 3 blocks  ``(B, 88, H/16, W/16)`` 4 blocks
stage5      ``(B, 112, H/16, W/16)`` 3 blocks ``(B, 120, H/16, W/16)`` 4 blocks
stage6      ``(B, 192, H/32, W/32)`` 4 blocks ``(B, 208, H/32, W/32)`` 5 blocks
stage7      ``(B, 320, H/32, W/32)`` 1 block  ``(B, 352, H/32, W/32)`` 1 block
head        ``(B, 1280, H/32, W/32)``         ``(B, 1280, H/32, W/32)``
logits      ``(B, 1000)``                     ``(B, 1000)``
==========  ================================  ==================================

(spatial sizes are ``ceil`` of the division.)

Padding: the weights were trained in TensorFlow with ``padding="same"``, which for a stride-2 convolution on an even
input pads one pixel less at the top/left than at the bottom/right. ``config.padding = "same"`` (the default)
reproduces that exactly, for any input size; ``"symmetric"`` pads ``k // 2`` on every side (PyTorch style). With the
real weights SAME gives logits identical to the port's reference code (efficientnet-lite-pytorch 0.1.0, static SAME
padding) and activations closer to the BatchNorm statistics learned in TF than symmetric padding (mean
``|log(var / running_var)|`` over all BN inputs on the 12 test images: Lite0 0.191 vs 0.248, Lite2 0.194 vs 0.201);
symmetric padding changes the Lite0 top-1 on 2 of the 8 test photos.

Preprocessing (upstream TF ``preprocessing.py`` eval path; the Lite builder's ``MEAN_RGB = [127] * 3``,
``STDDEV_RGB = [128] * 3``): RGB; center crop of ``image_size / (image_size + 32)`` of the shorter side; bicubic
resize to ``image_size``; ``(x - 127) / 128``.
:func:`preprocess` does exactly this geometry (with PIL's bicubic, which antialiases where TF's does not). The
transformers image processor saved with a zoo repo (``ConvNextImageProcessor``: shortest edge resized to
``image_size + 32``, then an ``image_size`` center crop, ``x / 255``, mean ``127/255``, std ``128/255``) expresses the
same crop in the other order (resize, then crop), so a pixel grid that differs by sub-pixel rounding: an
approximation of :func:`preprocess` good to interpolation noise.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoModel,
    AutoModelForImageClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers import initialization as init
from transformers.modeling_outputs import ImageClassifierOutputWithNoAttention

from hfmech.hub import register_model

from .labels import top_k_labels
from .pixels import center_crop_processor

# --------------------------------------------------------------------------------------------------------------------
# Architecture tables
# --------------------------------------------------------------------------------------------------------------------

# The EfficientNet-B0 block table (efficientnet_builder / efficientnet_lite_builder ``_DEFAULT_BLOCKS_ARGS``), without
# the se0.25 field: (repeats, kernel, stride, expand_ratio, in_filters, out_filters) per stage.
BASE_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)

# efficientnet_lite_builder.efficientnet_lite_params: (width, depth, resolution, dropout).
VARIANTS: dict[str, tuple[float, float, int, float]] = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
    "lite3": (1.2, 1.4, 280, 0.3),
    "lite4": (1.4, 1.8, 300, 0.3),
}

# Reported by the TF EfficientNet-Lite release (README table), not measured by hfmech.
UPSTREAM_REPORTED_TOP1 = {"lite0": 75.1, "lite1": 76.7, "lite2": 77.6, "lite3": 79.8, "lite4": 81.5}


def round_filters(filters: int, width_coefficient: float, depth_divisor: int = 8) -> int:
    """TF ``round_filters``: scale by width and round to a multiple of ``depth_divisor`` (never losing > 10 %)."""
    if not width_coefficient:
        return filters
    scaled = filters * width_coefficient
    new_filters = max(depth_divisor, int(scaled + depth_divisor / 2) // depth_divisor * depth_divisor)
    if new_filters < 0.9 * scaled:
        new_filters += depth_divisor
    return int(new_filters)


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """TF ``round_repeats``: ``ceil(depth_coefficient * repeats)``."""
    if not depth_coefficient:
        return repeats
    return int(math.ceil(depth_coefficient * repeats))


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv block of the derived table (``stage`` counts from 1)."""

    stage: int
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    expand_ratio: int

    @property
    def hidden_channels(self) -> int:
        return self.in_channels * self.expand_ratio

    @property
    def has_skip(self) -> bool:
        return self.stride == 1 and self.in_channels == self.out_channels


# --------------------------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------------------------


class EfficientNetLiteConfig(PretrainedConfig):
    """Configuration of an EfficientNet-Lite classifier (Tan & Le 2019; TF EfficientNet-Lite release, 2020).

    The block table is derived from ``width_coefficient``/``depth_coefficient`` and the EfficientNet-B0 base table,
    with Lite's ``fix_head_stem`` rule, so tiny test configs (``width_coefficient=0.25, depth_coefficient=0.5``) and
    every official variant (:meth:`from_variant`) come from the same code.

    Args:
        variant: ``"lite0"`` … ``"lite4"`` or ``"custom"`` (informational).
        width_coefficient, depth_coefficient: compound-scaling multipliers of channels and repeats.
        image_size: training/eval resolution (the model itself accepts any size).
        dropout_rate: dropout before the classifier.
        drop_connect_rate: stochastic-depth rate of the last block (linear in block index; training only).
        batch_norm_eps, batch_norm_momentum: BatchNorm eps (TF 1e-3) and PyTorch momentum (TF decay 0.99 -> 0.01).
        depth_divisor: channel rounding unit.
        stem_channels, head_channels: the fixed stem (32) and head (1280) widths.
        padding: ``"same"`` (TF SAME: asymmetric for stride 2) or ``"symmetric"`` (``k // 2`` each side).
        image_mean, image_std: normalisation for pixels in ``[0, 1]``: ``(x/255 - 127/255) / (128/255) == (x-127)/128``.
        deep_dream: DeepDream defaults for this backbone (stored verbatim; read by ``hfmech.dream``).
        num_labels / id2label / label2id: the usual transformers keyword arguments.
    """

    model_type = "hfmech-efficientnet-lite"

    variant: str = "custom"
    width_coefficient: float = 1.0
    depth_coefficient: float = 1.0
    image_size: int = 224
    dropout_rate: float = 0.2
    drop_connect_rate: float = 0.2
    batch_norm_eps: float = 1e-3
    batch_norm_momentum: float = 0.01
    depth_divisor: int = 8
    stem_channels: int = 32
    head_channels: int = 1280
    num_channels: int = 3
    padding: str = "same"
    image_mean: list[float] = field(default_factory=lambda: [127 / 255] * 3)
    image_std: list[float] = field(default_factory=lambda: [128 / 255] * 3)
    deep_dream: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.padding not in ("same", "symmetric"):
            raise ValueError(f"padding must be 'same' or 'symmetric', got {self.padding!r}")
        self.image_mean = [float(v) for v in self.image_mean]
        self.image_std = [float(v) for v in self.image_std]

    @classmethod
    def from_variant(cls, variant: str, **kwargs) -> EfficientNetLiteConfig:
        """The official ``"lite0"`` … ``"lite4"`` hyper-parameters (``efficientnet_lite_params``); ``kwargs`` override."""
        key = variant.lower().removeprefix("efficientnet-")
        if key not in VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; known: {', '.join(VARIANTS)}")
        width, depth, size, dropout = VARIANTS[key]
        params: dict[str, Any] = {
            "variant": key,
            "width_coefficient": width,
            "depth_coefficient": depth,
            "image_size": size,
            "dropout_rate": dropout,
        }
        params.update(kwargs)
        return cls(**params)

    def block_specs(self) -> list[BlockSpec]:
        """The flat MBConv table: one :class:`BlockSpec` per block, in execution order."""
        specs: list[BlockSpec] = []
        last = len(BASE_STAGES) - 1
        in_channels = self.stem_channels
        for index, (repeats, kernel, stride, expand, _, out_f) in enumerate(BASE_STAGES):
            fixed = index in (0, last)  # fix_head_stem: first and last stage keep their repeats
            n = repeats if fixed else round_repeats(repeats, self.depth_coefficient)
            out_channels = round_filters(out_f, self.width_coefficient, self.depth_divisor)
            for i in range(n):
                specs.append(
                    BlockSpec(index + 1, in_channels, out_channels, kernel, stride if i == 0 else 1, expand)
                )
                in_channels = out_channels
        return specs

    @property
    def num_stages(self) -> int:
        return len(BASE_STAGES)


# --------------------------------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------------------------------


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF SAME padding (before, after) along one axis: output ``ceil(size / stride)``, the extra pixel after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2d(nn.Conv2d):
    """Bias-free convolution with TF SAME (``tf_same=True``) or symmetric ``k // 2`` padding.

    Stride-1 odd kernels pad the same way in both modes (``k // 2``); SAME differs for stride 2, where TF pads
    ``(total // 2, total - total // 2)`` — e.g. ``(0, 1)`` for a 3x3 on an even size — computed per input size.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, tf_same=True):
        dynamic = tf_same and stride > 1
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0 if dynamic else kernel_size // 2,
            groups=groups,
            bias=False,
        )
        self.dynamic_same = dynamic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dynamic_same:
            k, s = self.kernel_size[0], self.stride[0]
            top, bottom = tf_same_padding(x.shape[-2], k, s)
            left, right = tf_same_padding(x.shape[-1], k, s)
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


class ConvBNAct(nn.Module):
    """``conv -> BatchNorm -> ReLU6`` (no activation when ``act=False``): ``(B, Cin, H, W) -> (B, Cout, H/s, W/s)``."""

    def __init__(self, config, in_channels, out_channels, kernel_size, stride=1, groups=1, act=True):
        super().__init__()
        self.conv = Conv2d(
            in_channels, out_channels, kernel_size, stride, groups, tf_same=config.padding == "same"
        )
        self.bn = nn.BatchNorm2d(out_channels, eps=config.batch_norm_eps, momentum=config.batch_norm_momentum)
        self.act = nn.ReLU6(inplace=False) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck without squeeze-excite (Sandler et al. 2018; Tan & Le 2019, Lite variant).

    ``expand`` (1x1, only when ``expand_ratio != 1``) -> ``depthwise`` (kxk, stride s) -> ``project`` (1x1, linear),
    plus the identity when stride is 1 and the widths match (with stochastic depth in training).
    ``(B, Cin, H, W) -> (B, Cout, ceil(H/s), ceil(W/s))``.
    """

    def __init__(self, config: EfficientNetLiteConfig, spec: BlockSpec, drop_path_rate: float = 0.0):
        super().__init__()
        hidden = spec.hidden_channels
        self.expand = ConvBNAct(config, spec.in_channels, hidden, 1) if spec.expand_ratio != 1 else None
        self.depthwise = ConvBNAct(config, hidden, hidden, spec.kernel_size, spec.stride, groups=hidden)
        self.project = ConvBNAct(config, hidden, spec.out_channels, 1, act=False)
        self.has_skip = spec.has_skip
        self.drop_path_rate = drop_path_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        if not self.has_skip:
            return out
        if self.training and self.drop_path_rate > 0:
            keep = 1.0 - self.drop_path_rate
            mask = torch.rand((out.shape[0], 1, 1, 1), dtype=out.dtype, device=out.device) < keep
            out = out * mask / keep
        return out + x


# --------------------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------------------


class EfficientNetLiteForImageClassification(PreTrainedModel):
    """EfficientNet-Lite image classifier (Tan & Le 2019; TensorFlow EfficientNet-Lite release, 2020).

    ``stem`` (3x3 stride-2 conv, 32 channels) -> ``blocks`` (flat ``nn.ModuleList`` of MBConv blocks, 7 stages) ->
    ``head`` (1x1 conv to 1280) -> global average pool -> ``dropout`` -> ``classifier`` (Linear 1280 -> num_labels).

    ``forward(pixel_values (B, 3, H, W))`` takes pixels already normalised as upstream, ``(x - 127) / 128`` for
    ``x`` in ``[0, 255]``, and returns :class:`~transformers.modeling_outputs.ImageClassifierOutputWithNoAttention`
    with ``logits (B, num_labels)``; with ``output_hidden_states`` also ``hidden_states`` = (stem, stage1 … stage7,
    head) feature maps, 9 tensors (shapes in the module docstring).
    """

    config_class = EfficientNetLiteConfig
    base_model_prefix = "efficientnet_lite"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    _no_split_modules = ["MBConvBlock"]

    def __init__(self, config: EfficientNetLiteConfig):
        super().__init__(config)
        specs = config.block_specs()
        self.stem = ConvBNAct(config, config.num_channels, config.stem_channels, 3, stride=2)
        n = len(specs)
        self.blocks = nn.ModuleList(
            MBConvBlock(config, spec, drop_path_rate=config.drop_connect_rate * i / n)
            for i, spec in enumerate(specs)
        )
        self.head = ConvBNAct(config, specs[-1].out_channels, config.head_channels, 1)
        self.dropout = nn.Dropout(config.dropout_rate)
        self.classifier = nn.Linear(config.head_channels, config.num_labels)
        # index of the last block of each stage, in order
        self._stage_ends = [
            i for i, spec in enumerate(specs) if i == n - 1 or specs[i + 1].stage != spec.stage
        ]
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """TF EfficientNet initialisers: conv ``N(0, sqrt(2 / fan_out))``, dense ``U(±1/sqrt(out))``, BN identity."""
        if isinstance(module, nn.Conv2d):
            k_h, k_w = module.kernel_size
            fan_out = k_h * k_w * module.out_channels // module.groups
            init.normal_(module.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.out_features)
            init.uniform_(module.weight, -bound, bound)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)

    def feature_layers(self) -> dict[str, nn.Module]:
        """Named layers in execution order: ``stem``, ``blocks.0`` …, ``stageN`` right after its last block
        (the same module as that block), ``head`` ``(B, 1280, h, w)`` and ``logits`` (the classifier Linear)."""
        layers: dict[str, nn.Module] = {"stem": self.stem}
        ends = {end: stage for stage, end in enumerate(self._stage_ends, start=1)}
        for i, block in enumerate(self.blocks):
            layers[f"blocks.{i}"] = block
            if i in ends:
                layers[f"stage{ends[i]}"] = block
        layers["head"] = self.head
        layers["logits"] = self.classifier
        return layers

    def forward_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W) -> (B, head_channels, ceil(H/32), ceil(W/32))``."""
        x = self.stem(pixel_values)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> ImageClassifierOutputWithNoAttention | tuple:
        if pixel_values is None:
            raise ValueError("pixel_values is required: (B, 3, H, W) normalised as (x - 127) / 128")
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        hidden_states: list[torch.Tensor] = []
        x = self.stem(pixel_values)
        if output_hidden_states:
            hidden_states.append(x)
        stage_ends = set(self._stage_ends)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if output_hidden_states and i in stage_ends:
                hidden_states.append(x)
        x = self.head(x)
        if output_hidden_states:
            hidden_states.append(x)
        pooled = x.mean(dim=(2, 3))
        logits = self.classifier(self.dropout(pooled))

        loss = None
        if labels is not None:
            loss = self._loss(logits, labels)

        states = tuple(hidden_states) if output_hidden_states else None
        if not return_dict:
            output = (logits,) + ((states,) if states is not None else ())
            return ((loss,) + output) if loss is not None else output
        return ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=states)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.to(logits.device)
        problem_type = self.config.problem_type
        if problem_type is None:
            if self.config.num_labels == 1:
                problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                problem_type = "single_label_classification"
            else:
                problem_type = "multi_label_classification"
        if problem_type == "regression":
            return F.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
        if problem_type == "single_label_classification":
            return F.cross_entropy(logits.view(-1, self.config.num_labels), labels.view(-1))
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


# --------------------------------------------------------------------------------------------------------------------
# Preprocessing and classification
# --------------------------------------------------------------------------------------------------------------------

CROP_PADDING = 32
MEAN_RGB = 127.0
STDDEV_RGB = 128.0


def rgb_image(image):
    from PIL import Image, ImageOps

    if isinstance(image, str | os.PathLike):
        with Image.open(image) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL image or a path, got {type(image).__name__}")
    return image.convert("RGB")


def center_crop_resize(image, image_size: int):
    """TF eval crop: the central ``image_size / (image_size + 32)`` of the shorter side, bicubic to ``image_size``."""
    from PIL import Image

    image = rgb_image(image)
    width, height = image.size
    crop = int(image_size / (image_size + CROP_PADDING) * min(width, height))
    top = (height - crop + 1) // 2
    left = (width - crop + 1) // 2
    return image.crop((left, top, left + crop, top + crop)).resize(
        (image_size, image_size), Image.Resampling.BICUBIC
    )


def preprocess(images, image_size: int) -> torch.Tensor:
    """PIL image(s) or path(s) -> ``(B, 3, image_size, image_size)`` float32, ``(x - 127) / 128`` as upstream."""
    import numpy as np

    items = images if isinstance(images, list | tuple) else [images]
    arrays = [np.asarray(center_crop_resize(im, image_size), dtype=np.float32) for im in items]
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return (batch - MEAN_RGB) / STDDEV_RGB


@torch.no_grad()
def classify(
    model: EfficientNetLiteForImageClassification, images, top_k: int = 5
) -> list[list[tuple[str, float]]]:
    """Top-``k`` ``(label, probability)`` per image, preprocessing at ``model.config.image_size``."""
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters())
        pixels = preprocess(images, model.config.image_size).to(param.device, param.dtype)
        probs = model(pixel_values=pixels).logits.float().softmax(-1)
    finally:
        model.train(was_training)
    return top_k_labels(probs, model.config.id2label, top_k)


def image_processor_for(config: EfficientNetLiteConfig):
    """A stock transformers image processor approximating :func:`preprocess` (see the module docstring)."""
    size = int(config.image_size)
    return center_crop_processor(config, crop_pct=size / (size + CROP_PADDING), resample="bicubic")


register_model(
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
    auto_classes=(AutoModel, AutoModelForImageClassification),
)
