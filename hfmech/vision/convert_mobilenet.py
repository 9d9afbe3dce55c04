"""Converting Google Coral's quantised MobileNet TFLite classifiers into
:class:`~hfmech.vision.modeling_mobilenet.MobileNetForImageClassification`: weights dequantised to float
(``w = scale · (q − zero_point)``), the graph's layout read by :mod:`hfmech.vision.tflite_reader`.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from .convert_efficientnet_lite import CheckpointConversionError
from .labels import imagenet_id2label
from .modeling_mobilenet import V1_BLOCKS, V2_STAGES, MobileNetConfig, MobileNetForImageClassification
from .tflite_reader import TFLiteGraph, TFLiteTensor, dequantize, read_tflite

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
