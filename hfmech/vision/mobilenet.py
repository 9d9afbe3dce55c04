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
:mod:`hfmech.vision.efficientnet_lite`. Average pooling is global (the TFLite graph pools a fixed ``H/32`` window,
identical at the native size).
"""

from __future__ import annotations

import contextlib
import math
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel, AutoModelForImageClassification, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import ImageClassifierOutputWithNoAttention

from hfmech.hub import register_model, zoo
from hfmech.hub.files import atomic_path

from .efficientnet_lite import CheckpointConversionError, tf_same_padding
from .image_io import normalize_pixels
from .labels import imagenet_id2label, top_k_labels
from .tflite_reader import TFLiteGraph, TFLiteTensor, dequantize, read_tflite

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
# TFLite conversion (dequantisation)
# --------------------------------------------------------------------------------------------------------------------

_SUPPORTED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX", "SQUEEZE"}


def config_from_tflite(graph: TFLiteGraph, **kwargs) -> MobileNetConfig:
    """Infer the MobileNet config of a TF-slim MobileNet TFLite classifier: version, ``alpha``, size, normalisation.

    Version 2 when the graph has ADD ops (residuals), else 1; ``alpha`` from the last block's width (1024 alpha for
    V1, 320 alpha for V2); ``image_size`` from the NHWC input; ``image_mean``/``image_std`` from the input
    quantisation (uint8) or ``(x - 0.5) / 0.5`` for a float input; classes from the logits conv.
    """
    unsupported = sorted({op.type for op in graph.ops} - _SUPPORTED_OPS)
    if unsupported:
        raise CheckpointConversionError(f"unsupported TFLite ops for MobileNet: {', '.join(unsupported)}")
    convs = [op for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    if len(convs) < 3:
        raise CheckpointConversionError(
            f"a MobileNet classifier has many convolutions; this graph has {len(convs)}"
        )
    version = 2 if any(op.type == "ADD" for op in graph.ops) else 1
    out_channels = [op.inputs[1].shape[0] if op.type == "CONV_2D" else op.inputs[1].shape[3] for op in convs]
    last_block = out_channels[-3] if version == 2 else out_channels[-2]
    table = kwargs.get("blocks") or (V2_STAGES if version == 2 else V1_BLOCKS)
    alpha = last_block / table[-1][1 if version == 2 else 0]
    inp = graph.inputs[0]
    if len(inp.shape) != 4 or inp.shape[1] != inp.shape[2] or inp.shape[3] != 3:
        raise CheckpointConversionError(f"expected a square NHWC RGB input, got shape {inp.shape}")
    if inp.is_quantized:
        scale, zero = float(inp.scale[0]), float(inp.zero_point[0])
        mean, std = zero / 255.0, 1.0 / (255.0 * scale)
    else:
        mean, std = 0.5, 0.5
    num_outputs = out_channels[-1]
    params: dict[str, Any] = {
        "version": version,
        "depth_multiplier": float(alpha),
        "image_size": int(inp.shape[1]),
        "image_mean": [mean] * 3,
        "image_std": [std] * 3,
        "dropout_rate": 0.001 if version == 1 else 0.2,
    }
    if num_outputs == 1001:
        id2label = imagenet_id2label()
        params.update(background_class=True, id2label=id2label, label2id={v: k for k, v in id2label.items()})
    else:
        params.update(background_class=False, num_labels=num_outputs)
    params.update(kwargs)
    return MobileNetConfig(**params)


def _torch_weight(op_type: str, weight: np.ndarray) -> torch.Tensor:
    """TFLite ``OHWI`` (conv) / ``1HWC`` (depthwise) -> torch ``OIHW`` / ``C1HW``."""
    w = torch.from_numpy(weight)
    return w.permute(0, 3, 1, 2).contiguous() if op_type == "CONV_2D" else w.permute(3, 0, 1, 2).contiguous()


def convert_tflite_graph(graph: TFLiteGraph, config: MobileNetConfig) -> dict[str, torch.Tensor]:
    """Dequantise the graph's convolutions into :class:`MobileNetForImageClassification`'s state dict.

    The k-th CONV_2D/DEPTHWISE_CONV_2D of the graph fills the k-th layer of ``model.conv_layers()``; each pair is
    checked strictly — kind (depthwise or not), weight shape, stride, SAME padding (VALID allowed for 1x1),
    fused activation (ReLU6 or none) — and the number of ADD ops must equal the residual blocks. Any mismatch raises
    :class:`CheckpointConversionError` listing every problem.
    """
    with torch.device("meta"):
        model = MobileNetForImageClassification(config)
    layers = model.conv_layers()
    convs = [op for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    problems: list[str] = []
    if len(convs) != len(layers):
        problems.append(
            f"graph has {len(convs)} convolutions, the config describes {len(layers)} weight layers"
        )
    residuals = sum(block.has_skip for block in model.blocks)
    adds = sum(op.type == "ADD" for op in graph.ops)
    if adds != residuals:
        problems.append(f"graph has {adds} ADD ops, the config has {residuals} residual blocks")
    state: dict[str, torch.Tensor] = {}
    for (name, module), op in zip(layers, convs):
        weight = _torch_weight(op.type, dequantize(op.inputs[1]))
        bias_t: TFLiteTensor | None = op.inputs[2] if len(op.inputs) > 2 else None
        bias = torch.from_numpy(dequantize(bias_t)) if bias_t is not None else torch.zeros(weight.shape[0])
        where = f"{name} <- op {op.index} {op.type} ({op.outputs[0].name.split(';')[0]})"
        if isinstance(module, nn.Linear):
            if op.options.get("activation") is not None:
                problems.append(f"{where}: logits conv has activation {op.options['activation']}")
            weight = weight.flatten(1)
            expected = tuple(module.weight.shape)
            prefix = name
        else:
            conv = module.conv
            if (op.type == "DEPTHWISE_CONV_2D") != module.is_depthwise:
                problems.append(f"{where}: depthwise mismatch")
            if op.type == "DEPTHWISE_CONV_2D" and op.options.get("depth_multiplier", 1) != 1:
                problems.append(f"{where}: depth multiplier {op.options['depth_multiplier']} unsupported")
            if tuple(op.options.get("stride", (1, 1))) != tuple(conv.stride):
                problems.append(f"{where}: stride {op.options.get('stride')} vs {tuple(conv.stride)}")
            if tuple(op.options.get("dilation", (1, 1))) != (1, 1):
                problems.append(f"{where}: dilation unsupported")
            if op.options.get("padding") != "SAME" and conv.kernel_size != (1, 1):
                problems.append(f"{where}: padding {op.options.get('padding')} (model uses TF SAME)")
            act = "relu6" if isinstance(module.act, nn.ReLU6) else None
            if op.options.get("activation") != act:
                problems.append(f"{where}: activation {op.options.get('activation')} vs {act}")
            expected = tuple(conv.weight.shape)
            prefix = f"{name}.conv"
        if tuple(weight.shape) != expected:
            problems.append(f"{where}: weight {tuple(weight.shape)} vs model {expected}")
            continue
        if tuple(bias.shape) != (expected[0],):
            problems.append(f"{where}: bias {tuple(bias.shape)} vs model ({expected[0]},)")
            continue
        state[f"{prefix}.weight"] = weight
        state[f"{prefix}.bias"] = bias
    if problems:
        raise CheckpointConversionError(
            f"TFLite graph does not match MobileNet V{config.version} alpha={config.depth_multiplier}:\n  "
            + "\n  ".join(problems)
        )
    return state


def load_coral_tflite(path: str | os.PathLike, **config_kwargs) -> MobileNetForImageClassification:
    """Read a TF-slim MobileNet V1/V2 ``.tflite`` (quantised or float) into a float model, eval mode, fp32."""
    graph = read_tflite(path)
    config = config_from_tflite(graph, **config_kwargs)
    state = convert_tflite_graph(graph, config)
    model = MobileNetForImageClassification(config)
    model.load_state_dict(state, strict=True)
    return model.eval()


@contextlib.contextmanager
def emulate_uint8_activations(model: MobileNetForImageClassification, graph: TFLiteGraph):
    """Within the block, round every activation to the graph's uint8 grid, as the quantised interpreter does.

    Forward hooks fake-quantise the output of every convolution (and of every residual ADD) with its TFLite output
    tensor's ``scale``/``zero_point`` (``clamp(round(y / s) + z, 0, 255)``, back to reals); the caller should feed
    inputs already rounded to the uint8 input grid (``round(255 x) / 255``). Weights are the same dequantised values.
    Not the interpreter's integer arithmetic (its fixed-point requantisation multipliers round slightly differently),
    but the same value grid at every layer: a check of the conversion against the quantised graph's semantics.
    """

    def fake_quant(tensor: TFLiteTensor):
        scale, zero = float(tensor.scale[0]), float(tensor.zero_point[0])

        def hook(_module, _inputs, output):
            return (torch.clamp(torch.round(output / scale) + zero, 0, 255) - zero) * scale

        return hook

    convs = [op for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    adds = [op for op in graph.ops if op.type == "ADD"]
    handles = []
    try:
        for (_name, module), op in zip(model.conv_layers(), convs):
            if not isinstance(module, nn.Linear):  # the logits stay real: only their ranking matters here
                handles.append(module.register_forward_hook(fake_quant(op.outputs[0])))
        for block, op in zip([b for b in model.blocks if b.has_skip], adds):
            handles.append(block.register_forward_hook(fake_quant(op.outputs[0])))
        yield model
    finally:
        for handle in handles:
            handle.remove()


# --------------------------------------------------------------------------------------------------------------------
# Preprocessing and classification
# --------------------------------------------------------------------------------------------------------------------

CENTRAL_FRACTION = 0.875  # TF-slim inception_preprocessing eval: central crop, then bilinear resize


def preprocess(images, image_size: int) -> torch.Tensor:
    """PIL image(s) or path(s) -> ``(B, 3, S, S)`` RGB pixels in ``[0, 1]`` (TF-slim eval crop + bilinear resize).

    Normalise with the model config (``(x - image_mean) / image_std``) before ``forward``; :func:`classify` does.
    """
    from PIL import Image

    from .efficientnet_lite import rgb_image

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
    from transformers.image_utils import PILImageResampling
    from transformers.models.convnext.image_processing_pil_convnext import ConvNextImageProcessorPil

    size = int(config.image_size)
    return ConvNextImageProcessorPil(
        size={"shortest_edge": size},
        crop_pct=CENTRAL_FRACTION,
        resample=PILImageResampling.BILINEAR,
        do_resize=True,
        do_rescale=True,
        rescale_factor=1 / 255,
        do_normalize=True,
        image_mean=list(config.image_mean),
        image_std=list(config.image_std),
    )


# --------------------------------------------------------------------------------------------------------------------
# Zoo entries: the Coral files, downloaded from google-coral/test_data (or a local directory)
# --------------------------------------------------------------------------------------------------------------------

CORAL_URL = "https://github.com/google-coral/test_data/raw/master/{filename}"
CORAL_DIR_ENV = "HFMECH_CORAL_DIR"

#: sha256 of the files as published in google-coral/test_data (checked after every download or local read).
CORAL_FILES: dict[str, str] = {
    "mobilenet_v1_0.25_128_quant.tflite": "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785",
    "mobilenet_v1_0.5_160_quant.tflite": "3cc6d2ca460abd2e0f699a6d0d2550c6b61c6e3b0e27a3616e384ea74cb86f43",
    "mobilenet_v1_0.75_192_quant.tflite": "41daeb22fdcf947e0e5ec32373aa9df7c31f3ef45dbd0ef7b5940fbce3c20f6a",
    "mobilenet_v2_1.0_224_quant.tflite": "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776",
}

#: zoo name -> (file, description).
CORAL_MODELS: dict[str, tuple[str, str]] = {
    "coral-mobilenet-v1-025-128": ("mobilenet_v1_0.25_128_quant.tflite", "MobileNet V1 0.25, 128 px"),
    "coral-mobilenet-v1-050-160": ("mobilenet_v1_0.5_160_quant.tflite", "MobileNet V1 0.5, 160 px"),
    "coral-mobilenet-v1-075-192": ("mobilenet_v1_0.75_192_quant.tflite", "MobileNet V1 0.75, 192 px"),
    "coral-mobilenet-v2-100-224": ("mobilenet_v2_1.0_224_quant.tflite", "MobileNet V2 1.0, 224 px"),
}


def coral_file(filename: str, directory: str | os.PathLike | None = None) -> Path:
    """Local path of a Coral model file: from ``directory`` / ``$HFMECH_CORAL_DIR`` or downloaded once (cached).

    Downloads go to ``<HFMECH_CACHE>/downloads/coral/`` through :func:`hfmech.hub.files.atomic_path`; the sha256 is checked
    against :data:`CORAL_FILES`. Raises :class:`~hfmech.hub.zoo.ZooError` when the file cannot be had.
    """
    directory = directory or os.environ.get(CORAL_DIR_ENV)
    expected = CORAL_FILES.get(filename)
    if directory:
        path = Path(directory) / filename
        if not path.is_file():
            raise zoo.ZooError(f"{path} not found (from {CORAL_DIR_ENV} / the directory argument)")
    else:
        path = zoo.cache_dir().parent / "downloads" / "coral" / filename
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            url = CORAL_URL.format(filename=filename)
            try:
                with (
                    atomic_path(path) as tmp,
                    urllib.request.urlopen(url, timeout=60) as response,
                    open(tmp, "wb") as out,
                ):
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
            except OSError as err:
                raise zoo.ZooError(
                    f"could not download {url}: {err}. Set {CORAL_DIR_ENV} to a directory holding {filename}"
                ) from err
    if expected is not None and zoo.sha256_file(path) != expected:
        raise zoo.ZooError(f"{path}: sha256 differs from google-coral/test_data's {filename}")
    return path


def build_coral_repo(name: str, out_dir: Path) -> dict:
    """Dequantise the Coral file of zoo entry ``name`` into a Hub-ready folder; returns the card values."""
    filename, description = CORAL_MODELS[name]
    path = coral_file(filename)
    graph = read_tflite(path)
    config = config_from_tflite(graph)
    model = MobileNetForImageClassification(config)
    model.load_state_dict(convert_tflite_graph(graph, config), strict=True)
    sha = zoo.sha256_file(path)
    model.config.source = {"file": filename, "url": CORAL_URL.format(filename=filename), "sha256": sha}
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True)
    image_processor_for(model.config).save_pretrained(out_dir)
    weights = [op.inputs[1] for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    per_axis = any(w.scale is not None and w.scale.size > 1 for w in weights)
    inp = graph.inputs[0]
    num_parameters = sum(p.numel() for p in model.parameters())
    ops: dict[str, int] = {}
    for op in graph.ops:
        ops[op.type] = ops.get(op.type, 0) + 1
    return {
        "zoo_name": name,
        "description": description,
        "version": config.version,
        "depth_multiplier": config.depth_multiplier,
        "image_size": config.image_size,
        "num_parameters": num_parameters,
        "num_parameters_millions": f"{num_parameters / 1e6:.2f}",
        "num_blocks": len(model.blocks),
        "source_file": filename,
        "source_url": CORAL_URL.format(filename=filename),
        "source_sha256": sha,
        "op_counts": ", ".join(f"{k} × {v}" for k, v in sorted(ops.items())),
        "weight_quantization": "per-axis" if per_axis else "per-tensor",
        "input_scale": f"{float(inp.scale[0]):.7g}" if inp.is_quantized else "float",
        "input_zero_point": int(inp.zero_point[0]) if inp.is_quantized else 0,
        "image_mean": f"{config.image_mean[0]:.6f}",
        "image_std": f"{config.image_std[0]:.6f}",
    }


def _register_coral(name: str) -> None:
    _filename, description = CORAL_MODELS[name]

    @zoo.register(
        name,
        card="coral-mobilenet.md",
        task="image-classification",
        description=f"{description}: Google Coral uint8 TFLite classifier, dequantised to float (held-out judge)",
    )
    def builder(out_dir: Path) -> dict:
        return build_coral_repo(name, Path(out_dir))


for _name in CORAL_MODELS:
    _register_coral(_name)


def load_judge(name: str) -> MobileNetForImageClassification:
    """Build (once, cached by the zoo) and load the Coral judge ``name`` (a key of :data:`CORAL_MODELS`)."""
    return MobileNetForImageClassification.from_pretrained(zoo.build(name)).eval()


register_model(
    MobileNetConfig,
    MobileNetForImageClassification,
    auto_classes=(AutoModel, AutoModelForImageClassification),
)
