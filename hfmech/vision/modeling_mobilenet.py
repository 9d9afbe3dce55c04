"""MobileNet V1/V2 in plain PyTorch, converted from Google Coral's quantised TFLite classifiers by dequantisation.

MobileNet V1 (Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
arXiv:1704.04861, 2017): a 3x3 stride-2 stem, then 13 depthwise-separable blocks (3x3 depthwise + ReLU6, 1x1
pointwise + ReLU6), global average pooling and a 1x1 convolution to 1001 logits. Width multiplier ``alpha`` scales
every layer: ``max(int(d * alpha), 8)`` channels (TF-slim ``mobilenet_v1``'s ``depth``).

MobileNet V2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
arXiv:1801.04381): a 3x3 stride-2 stem, 17 inverted-residual blocks (1x1 expand + ReLU6, 3x3 depthwise + ReLU6, 1x1
linear projection, identity added when stride 1 and widths match), a 1x1 conv to 1280 + ReLU6, pooling and a 1x1
conv to 1001 logits. Channels ``make_divisible(d * alpha, 8)`` (TF-slim ``mobilenet_v2``).

Shapes (input ``(B, 3, H, W)``; the Coral models use ``H = W`` = 128, 160, 192, 224):

===========  ====================================  ==========================================
layer        V1 (alpha)                            V2 (alpha = 1)
===========  ====================================  ==========================================
stem         ``(B, 32a, H/2, W/2)``                ``(B, 32, H/2, W/2)``
blocks       13 blocks, last ``(B, 1024a, H/32)``  17 blocks, last ``(B, 320, H/32, W/32)``
head         --                                    ``(B, 1280, H/32, W/32)``
logits       ``(B, 1000)`` (+ background: 1001)    ``(B, 1000)`` (+ background: 1001)
===========  ====================================  ==========================================

The Coral files (google-coral/test_data, Apache-2.0) are quantisation-aware-trained uint8 graphs from TF-slim with
BatchNorm folded into the convolutions: every CONV_2D / DEPTHWISE_CONV_2D holds uint8 weights (per-tensor
``scale``/``zero_point``) and an int32 bias with ``scale = input_scale * weight_scale``, and fuses ReLU6 (none on the
V2 projections and the logits). :func:`load_coral_tflite` dequantises each weight, ``w = scale * (q - zero_point)``,
into float convolutions with bias; the activations stay float (no re-quantisation between layers), so the float
model is the quantised graph's real-valued function without its activation rounding — expect small differences
(:func:`emulate_uint8_activations` puts the rounding back for validation).

Input: the graph's uint8 input has ``scale = 1/128``, ``zero_point = 128``, i.e. real input ``(x - 128) / 128`` for
``x`` in 0..255; for pixels in ``[0, 1]`` that is ``image_mean = zero_point / 255``, ``image_std = 1 / (255 * scale)``
(= 128/255 each), derived from the file. The 1001 outputs have "background" at index 0; ``logits`` drops it so
class ``i`` is ImageNet-1k class ``i`` as for every hfmech classifier, and ``logits_with_background`` keeps all 1001.
Padding is TF SAME (one pixel less before than after for stride 2 on even sizes), as in
:mod:`hfmech.vision.modeling_efficientnet_lite`. Average pooling is global (the TFLite graph pools a fixed ``H/32`` window,
identical at the native size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, AutoModelForImageClassification, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import ImageClassifierOutputWithNoAttention

from hfmech.hub import register_model

from .image_io import normalize_pixels
from .labels import top_k_labels
from .modeling_efficientnet_lite import tf_same_padding
from .pixels import center_crop_processor

# --------------------------------------------------------------------------------------------------------------------
# Architecture tables
# --------------------------------------------------------------------------------------------------------------------

#: TF-slim ``MOBILENETV1_CONV_DEFS`` after the stem: (out_channels, stride) of the 13 depthwise-separable blocks.
V1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)
#: TF-slim ``V2_DEF`` after the stem: (expansion, out_channels, repeats, stride) of the inverted-residual stages.
V2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """TF-slim ``_make_divisible``: round to a multiple of ``divisor`` without losing more than 10 %."""
    min_value = min_value or divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return int(new_value)


@dataclass(frozen=True)
class BlockSpec:
    """One block: V1 depthwise-separable (``expand_ratio`` 0: no expansion, no skip) or V2 inverted residual."""

    in_channels: int
    out_channels: int
    stride: int
    expand_ratio: int  # 0 for V1 blocks; 1 = V2 block without expansion conv

    @property
    def hidden_channels(self) -> int:
        return self.in_channels * max(self.expand_ratio, 1)

    @property
    def has_skip(self) -> bool:
        return self.expand_ratio > 0 and self.stride == 1 and self.in_channels == self.out_channels


# --------------------------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------------------------


class MobileNetConfig(PretrainedConfig):
    """Configuration of a MobileNet V1 or V2 classifier (Howard et al. 2017; Sandler et al. 2018).

    Args:
        version: 1 or 2.
        depth_multiplier: the width multiplier ``alpha``.
        image_size: the resolution the model was trained/quantised at (the network accepts any size).
        min_depth: V1 floor on channel counts (TF-slim ``min_depth = 8``).
        stem_channels: base stem width (32, scaled by ``alpha``).
        head_channels: V2 final 1x1 conv width (1280; only scaled up when ``alpha > 1``).
        blocks: optional override of the block table — V1 ``[[out, stride], ...]``, V2
            ``[[expansion, out, repeats, stride], ...]`` (base widths, before ``alpha``); tiny test models use it.
        background_class: the classifier has ``num_labels + 1`` outputs, index 0 being "background" (TF-slim).
        dropout_rate: dropout before the classifier (training only).
        image_mean, image_std: normalisation for RGB pixels in ``[0, 1]`` (from the TFLite input quantisation).
        source: provenance of converted weights (file name and sha256; informational).
    """

    model_type = "hfmech-mobilenet"

    version: int = 1
    depth_multiplier: float = 1.0
    image_size: int = 224
    min_depth: int = 8
    stem_channels: int = 32
    head_channels: int = 1280
    num_channels: int = 3
    blocks: list | None = None
    background_class: bool = True
    dropout_rate: float = 0.001
    image_mean: list[float] = field(default_factory=lambda: [128 / 255] * 3)
    image_std: list[float] = field(default_factory=lambda: [128 / 255] * 3)
    source: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.version not in (1, 2):
            raise ValueError(f"MobileNet version must be 1 or 2, got {self.version!r}")
        self.image_mean = [float(v) for v in self.image_mean]
        self.image_std = [float(v) for v in self.image_std]

    def channels(self, base: int) -> int:
        """Scaled width of a layer with ``base`` channels at ``alpha = 1``."""
        if self.version == 1:
            return max(int(base * self.depth_multiplier), self.min_depth)
        return make_divisible(base * self.depth_multiplier, 8)

    @property
    def stem_out(self) -> int:
        return self.channels(self.stem_channels)

    @property
    def head_out(self) -> int | None:
        """V2's last 1x1 conv width (``None`` for V1, which has no head conv)."""
        if self.version == 1:
            return None
        return make_divisible(self.head_channels * max(self.depth_multiplier, 1.0), 8)

    def block_specs(self) -> list[BlockSpec]:
        specs: list[BlockSpec] = []
        in_channels = self.stem_out
        if self.version == 1:
            for out, stride in self.blocks or V1_BLOCKS:
                specs.append(BlockSpec(in_channels, self.channels(out), int(stride), 0))
                in_channels = self.channels(out)
            return specs
        for expansion, out, repeats, stride in self.blocks or V2_STAGES:
            for i in range(int(repeats)):
                specs.append(
                    BlockSpec(in_channels, self.channels(out), int(stride) if i == 0 else 1, int(expansion))
                )
                in_channels = self.channels(out)
        return specs


# --------------------------------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------------------------------


class ConvAct(nn.Module):
    """Convolution with bias (BatchNorm folded) and TF SAME padding, then ReLU6 (``act=False``: linear).

    ``(B, Cin, H, W) -> (B, Cout, ceil(H/s), ceil(W/s))``; ``groups = Cin`` makes it depthwise.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
    ):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=True)
        self.act = nn.ReLU6() if act else nn.Identity()

    @property
    def is_depthwise(self) -> bool:
        return self.conv.groups > 1 and self.conv.groups == self.conv.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.conv.kernel_size[0], self.conv.stride[0]
        if k > 1 or s > 1:
            top, bottom = tf_same_padding(x.shape[-2], k, s)
            left, right = tf_same_padding(x.shape[-1], k, s)
            x = F.pad(x, (left, right, top, bottom))
        return self.act(self.conv(x))


class MobileNetBlock(nn.Module):
    """V1: ``depthwise`` 3x3 (stride s) + ReLU6 -> ``pointwise`` 1x1 + ReLU6.
    V2: [``expand`` 1x1 + ReLU6] -> ``depthwise`` 3x3 + ReLU6 -> ``project`` 1x1 linear [+ identity].
    """

    def __init__(self, spec: BlockSpec):
        super().__init__()
        hidden = spec.hidden_channels
        self.version = 1 if spec.expand_ratio == 0 else 2
        self.expand = ConvAct(spec.in_channels, hidden, 1) if spec.expand_ratio > 1 else None
        self.depthwise = ConvAct(hidden, hidden, 3, spec.stride, groups=hidden)
        self.project = ConvAct(hidden, spec.out_channels, 1, act=self.version == 1)
        self.has_skip = spec.has_skip

    def convs(self) -> list[ConvAct]:
        return [c for c in (self.expand, self.depthwise, self.project) if c is not None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return out + x if self.has_skip else out


@dataclass
class MobileNetClassifierOutput(ImageClassifierOutputWithNoAttention):
    """``logits (B, num_labels)`` over ImageNet-1k and ``logits_with_background (B, num_labels + 1)``."""

    logits_with_background: torch.FloatTensor | None = None


# --------------------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------------------


class MobileNetForImageClassification(PreTrainedModel):
    """MobileNet V1/V2 image classifier: ``stem`` -> ``blocks`` -> [``head``] -> mean pool -> ``classifier``.

    ``forward(pixel_values (B, 3, H, W))`` takes pixels normalised with ``config.image_mean``/``image_std`` (for RGB in
    ``[0, 1]``) and returns :class:`MobileNetClassifierOutput`: ``logits (B, num_labels)`` (the background output
    dropped), ``logits_with_background (B, num_labels + 1)`` and, with ``output_hidden_states``, the stem, every
    block and the head feature maps.
    """

    config_class = MobileNetConfig
    base_model_prefix = "mobilenet"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    _no_split_modules = ["MobileNetBlock"]

    def __init__(self, config: MobileNetConfig):
        super().__init__(config)
        specs = config.block_specs()
        self.stem = ConvAct(config.num_channels, config.stem_out, 3, stride=2)
        self.blocks = nn.ModuleList(MobileNetBlock(spec) for spec in specs)
        last = specs[-1].out_channels
        self.head = ConvAct(last, config.head_out, 1) if config.head_out else None
        features = config.head_out or last
        self.dropout = nn.Dropout(config.dropout_rate)
        self.classifier = nn.Linear(features, config.num_labels + int(config.background_class))
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """TF-slim-like initialisation (only used for random tiny models; converted weights overwrite it)."""
        if isinstance(module, nn.Conv2d):
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
            init.normal_(module.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=0.01)
            init.zeros_(module.bias)

    def conv_layers(self) -> list[tuple[str, ConvAct | nn.Linear]]:
        """Every weight layer in execution order (the order of the TFLite graph's convolutions)."""
        layers: list[tuple[str, nn.Module]] = [("stem", self.stem)]
        for i, block in enumerate(self.blocks):
            for name in ("expand", "depthwise", "project"):
                module = getattr(block, name)
                if module is not None:
                    layers.append((f"blocks.{i}.{name}", module))
        if self.head is not None:
            layers.append(("head", self.head))
        layers.append(("classifier", self.classifier))
        return layers

    def feature_layers(self) -> dict[str, nn.Module]:
        """Named layers for :class:`~hfmech.vision.FeatureExtractor`: ``stem``, ``blocks.i``, ``head``, ``logits``."""
        layers: dict[str, nn.Module] = {"stem": self.stem}
        for i, block in enumerate(self.blocks):
            layers[f"blocks.{i}"] = block
        if self.head is not None:
            layers["head"] = self.head
        layers["logits"] = self.classifier
        return layers

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> MobileNetClassifierOutput | tuple:
        if pixel_values is None:
            raise ValueError(
                "pixel_values is required: (B, 3, H, W) normalised with config.image_mean/image_std"
            )
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        states: list[torch.Tensor] = []
        x = self.stem(pixel_values)
        states.append(x)
        for block in self.blocks:
            x = block(x)
            states.append(x)
        if self.head is not None:
            x = self.head(x)
            states.append(x)
        full = self.classifier(self.dropout(x.mean(dim=(2, 3))))
        logits = full[:, 1:] if self.config.background_class else full
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits, labels.to(logits.device).view(-1))
        hidden = tuple(states) if output_hidden_states else None
        if not return_dict:
            out = (logits,) + ((hidden,) if hidden is not None else ())
            return ((loss,) + out) if loss is not None else out
        return MobileNetClassifierOutput(
            loss=loss, logits=logits, hidden_states=hidden, logits_with_background=full
        )


# --------------------------------------------------------------------------------------------------------------------
# Preprocessing and classification
# --------------------------------------------------------------------------------------------------------------------

CENTRAL_FRACTION = 0.875  # TF-slim inception_preprocessing eval: central crop, then bilinear resize


def preprocess(images, image_size: int) -> torch.Tensor:
    """PIL image(s) or path(s) -> ``(B, 3, S, S)`` RGB pixels in ``[0, 1]`` (TF-slim eval crop + bilinear resize).

    Normalise with the model config (``(x - image_mean) / image_std``) before ``forward``; :func:`classify` does.
    """
    from PIL import Image

    from .modeling_efficientnet_lite import rgb_image

    items = images if isinstance(images, list | tuple) else [images]
    arrays = []
    for item in items:
        image = rgb_image(item)
        width, height = image.size
        crop_w, crop_h = round(width * CENTRAL_FRACTION), round(height * CENTRAL_FRACTION)
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
        image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
        arrays.append(np.asarray(image, dtype=np.float32) / 255.0)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def normalize(model: PreTrainedModel, pixels: torch.Tensor) -> torch.Tensor:
    """``(pixels - image_mean) / image_std`` with the model config's values; pixels ``(B, 3, H, W)`` in ``[0, 1]``."""
    return normalize_pixels(pixels, model.config)


@torch.no_grad()
def classify(model: MobileNetForImageClassification, images, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """Top-``k`` ``(label, probability)`` per image (softmax over the 1000 classes, background excluded)."""
    model.eval()
    pixels = normalize(model, preprocess(images, model.config.image_size))
    probs = model(pixel_values=pixels).logits.softmax(-1)
    return top_k_labels(probs, model.config.id2label, top_k)


def image_processor_for(config: MobileNetConfig):
    """A stock transformers image processor for ``pipeline("image-classification")``: central 87.5 % crop, bilinear."""
    return center_crop_processor(config, crop_pct=CENTRAL_FRACTION, resample="bilinear")


register_model(
    MobileNetConfig,
    MobileNetForImageClassification,
    auto_classes=(AutoModel, AutoModelForImageClassification),
)
