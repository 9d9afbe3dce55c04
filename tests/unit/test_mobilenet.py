"""MobileNet V1/V2 and the TFLite dequantising converter, on synthetic quantised graphs (no real weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hfmech.vision.convert_efficientnet_lite import CheckpointConversionError
from hfmech.vision.convert_mobilenet import (
    config_from_tflite,
    convert_tflite_graph,
    emulate_uint8_activations,
)
from hfmech.vision.modeling_mobilenet import (
    ConvAct,
    MobileNetConfig,
    MobileNetForImageClassification,
    make_divisible,
    normalize,
)
from hfmech.vision.tflite_reader import (
    TFLiteFormatError,
    TFLiteGraph,
    TFLiteOp,
    TFLiteTensor,
    dequantize,
    read_tflite,
    run_reference,
)

TINY_V1 = {"version": 1, "depth_multiplier": 0.25, "image_size": 32, "blocks": [[64, 1], [128, 2], [128, 1]]}
TINY_V2 = {
    "version": 2,
    "depth_multiplier": 0.5,
    "image_size": 32,
    "head_channels": 64,
    "blocks": [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 1, 2]],
}


# --------------------------------------------------------------------------------------------------------------------
# Dequantisation maths
# --------------------------------------------------------------------------------------------------------------------


def test_dequantize_per_tensor_is_scale_times_q_minus_zero_point():
    q = np.array([[0, 1, 128], [200, 255, 7]], np.uint8)
    t = TFLiteTensor(0, "w", q.shape, np.uint8, np.array([0.5], np.float32), np.array([128]), 0, q)
    expected = 0.5 * (q.astype(np.float64) - 128)
    np.testing.assert_array_equal(dequantize(t), expected.astype(np.float32))
    assert dequantize(t)[0, 2] == 0.0 and dequantize(t)[1, 1] == 63.5


@pytest.mark.parametrize("axis", [0, 3])
def test_dequantize_per_axis_uses_the_quantized_dimension(axis):
    rng = np.random.default_rng(0)
    q = rng.integers(-127, 128, size=(4, 3, 3, 4)).astype(np.int8)
    scale = np.array([0.1, 0.2, 0.4, 0.8], np.float32)
    zero = np.array([0, 1, -2, 3])
    t = TFLiteTensor(0, "w", q.shape, np.int8, scale, zero, axis, q)
    shape = [1, 1, 1, 1]
    shape[axis] = 4
    expected = scale.astype(np.float64).reshape(shape) * (q - zero.reshape(shape))
    np.testing.assert_allclose(dequantize(t), expected, rtol=1e-6)


def test_int32_bias_dequantizes_with_input_times_weight_scale():
    q = np.array([1000, -250, 0], np.int32)
    t = TFLiteTensor(
        0, "b", q.shape, np.int32, np.array([0.02 * 0.003], np.float32), np.zeros(1, np.int64), 0, q
    )
    np.testing.assert_allclose(dequantize(t), q * np.float32(0.02 * 0.003), rtol=1e-6)


def test_not_a_flatbuffer_is_a_typed_error(tmp_path):
    path = tmp_path / "x.tflite"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(TFLiteFormatError, match="not a TFLite flatbuffer"):
        read_tflite(path)


# --------------------------------------------------------------------------------------------------------------------
# TF SAME padding
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "pads"), [(8, (0, 1)), (7, (1, 1)), (9, (1, 1)), (10, (0, 1))])
def test_stride2_same_padding_is_tensorflows(size, pads):
    torch.manual_seed(0)
    layer = ConvAct(2, 3, 3, stride=2, act=False)
    x = torch.randn(1, 2, size, size)
    out = layer(x)
    assert out.shape[-2:] == (-(-size // 2), -(-size // 2))  # ceil(size / stride)
    before, after = pads
    expected = F.conv2d(
        F.pad(x, (before, after, before, after)), layer.conv.weight, layer.conv.bias, stride=2
    )
    torch.testing.assert_close(out, expected)


def test_make_divisible_matches_tf_slim():
    assert make_divisible(32 * 0.35) == 16 and make_divisible(320 * 0.35) == 112 and make_divisible(24) == 24
    assert MobileNetConfig(version=1, depth_multiplier=0.25).channels(32) == 8  # max(int(8.0), min_depth 8)
    assert MobileNetConfig(version=1, depth_multiplier=0.25).channels(16) == 8  # min_depth floor


# --------------------------------------------------------------------------------------------------------------------
# A synthetic quantised TFLite graph, made from a tiny random model
# --------------------------------------------------------------------------------------------------------------------


def _quantize_uint8(w: np.ndarray, index: int, name: str) -> TFLiteTensor:
    lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
    scale = (hi - lo) / 255 or 1.0
    zero = int(round(-lo / scale))
    q = np.clip(np.round(w / scale) + zero, 0, 255).astype(np.uint8)
    return TFLiteTensor(index, name, q.shape, np.uint8, np.array([scale], np.float32), np.array([zero]), 0, q)


def synthetic_graph(model: MobileNetForImageClassification, *, stride_bug: bool = False) -> TFLiteGraph:
    """The TFLite graph a TF-slim export of ``model`` would have: uint8 weights in OHWI / 1HWC, int32 biases."""
    size = model.config.image_size
    counter = iter(range(10_000))
    act = lambda shape, name: TFLiteTensor(  # noqa: E731
        next(counter), name, shape, np.uint8, np.array([0.05], np.float32), np.array([0]), 0, None
    )
    x = TFLiteTensor(
        next(counter),
        "input",
        (1, size, size, 3),
        np.uint8,
        np.array([1 / 128], np.float32),
        np.array([128]),
        0,
        None,
    )
    graph_input, ops, in_scale = x, [], 1 / 128
    skips = [block.has_skip for block in model.blocks]
    block_inputs: dict[int, TFLiteTensor] = {}
    for name, module in model.conv_layers():
        if name == "classifier":
            pooled = act((1, 1, 1, x.shape[3]), "pool")
            pool_opts = {"padding": "VALID", "stride": (1, 1), "filter": x.shape[1:3], "activation": None}
            ops.append(TFLiteOp(len(ops), "AVERAGE_POOL_2D", [x], [pooled], pool_opts))
            w = module.weight.detach().numpy()[:, None, None, :]  # (O, 1, 1, I)
            b, kind, x = module.bias.detach().numpy(), "CONV_2D", pooled
            opts = {"padding": "VALID", "stride": (1, 1), "dilation": (1, 1), "activation": None}
        else:
            if name.startswith("blocks."):
                block_inputs.setdefault(int(name.split(".")[1]), x)  # x before the block's first conv
            conv = module.conv
            depthwise = module.is_depthwise
            w = conv.weight.detach().numpy()
            w = w.transpose(1, 2, 3, 0) if depthwise else w.transpose(0, 2, 3, 1)  # torch -> 1HWC / OHWI
            b, kind = conv.bias.detach().numpy(), "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
            stride = conv.stride[0] + (1 if stride_bug and depthwise and conv.stride[0] == 2 else 0)
            opts = {
                "padding": "SAME",
                "stride": (stride, stride),
                "dilation": (1, 1),
                "activation": "relu6" if isinstance(module.act, torch.nn.ReLU6) else None,
            }
            if depthwise:
                opts["depth_multiplier"] = 1
        wt = _quantize_uint8(w, next(counter), f"{name}/weights")
        bias_scale = in_scale * float(wt.scale[0])
        bq = np.round(b / bias_scale).astype(np.int32)
        bt = TFLiteTensor(
            next(counter),
            f"{name}/bias",
            bq.shape,
            np.int32,
            np.array([bias_scale], np.float32),
            np.zeros(1, np.int64),
            0,
            bq,
        )
        h = -(-x.shape[1] // opts["stride"][0])
        out = act((1, h, h, wt.shape[0] if kind == "CONV_2D" else wt.shape[3]), name)
        ops.append(TFLiteOp(len(ops), kind, [x, wt, bt], [out], opts))
        x, in_scale = out, 0.05
        if name.endswith(".project") and skips[int(name.split(".")[1])]:
            added = act(x.shape, f"{name}/add")
            ops.append(
                TFLiteOp(
                    len(ops), "ADD", [x, block_inputs[int(name.split(".")[1])]], [added], {"activation": None}
                )
            )
            x = added
    flat = act((1, x.shape[3]), "squeeze")
    ops.append(TFLiteOp(len(ops), "RESHAPE", [x, None], [flat], {}))
    probs = act((1, x.shape[3]), "softmax")
    ops.append(TFLiteOp(len(ops), "SOFTMAX", [flat], [probs], {"beta": 1.0}))
    return TFLiteGraph(ops, [graph_input], [probs])


@pytest.fixture(params=["v1", "v2"])
def tiny(request):
    torch.manual_seed(0)
    config = MobileNetConfig(**(TINY_V1 if request.param == "v1" else TINY_V2), num_labels=1000)
    model = MobileNetForImageClassification(config).eval()
    with torch.no_grad():  # non-zero biases, so that the bias path is exercised
        for p in model.parameters():
            if p.dim() == 1:
                p.uniform_(-0.2, 0.2)
    return model


def test_config_is_inferred_from_the_graph(tiny):
    config = config_from_tflite(synthetic_graph(tiny), blocks=tiny.config.blocks)
    assert config.version == tiny.config.version
    assert config.depth_multiplier == tiny.config.depth_multiplier
    assert config.block_specs() == tiny.config.block_specs()
    assert config.image_size == 32 and config.background_class and config.num_labels == 1000
    assert (
        config.image_mean == [pytest.approx(128 / 255)] * 3
        and config.image_std == [pytest.approx(128 / 255)] * 3
    )


def test_converter_fills_every_layer_with_exactly_the_dequantized_weights(tiny):
    graph = synthetic_graph(tiny)
    state = convert_tflite_graph(graph, tiny.config)
    assert set(state) == set(tiny.state_dict())
    convs = [op for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    for (name, _module), op in zip(tiny.conv_layers(), convs):
        q, w = op.inputs[1], None
        deq = float(q.scale[0]) * (q.data.astype(np.float64) - int(q.zero_point[0]))
        prefix = name if name == "classifier" else f"{name}.conv"
        w = state[f"{prefix}.weight"].numpy()
        if op.type == "DEPTHWISE_CONV_2D":
            np.testing.assert_allclose(w, deq.transpose(3, 0, 1, 2), rtol=1e-6, atol=1e-7)
        elif name == "classifier":
            np.testing.assert_allclose(w, deq[:, 0, 0, :], rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_allclose(w, deq.transpose(0, 3, 1, 2), rtol=1e-6, atol=1e-7)


def test_converted_model_matches_the_numpy_tflite_reference_and_the_original(tiny):
    graph = synthetic_graph(tiny)
    converted = MobileNetForImageClassification(tiny.config).eval()
    converted.load_state_dict(convert_tflite_graph(graph, tiny.config), strict=True)
    pixels = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    x = normalize(converted, pixels)
    with torch.no_grad():
        out = converted(pixel_values=x)
        original = tiny(pixel_values=x)
    # the independent NHWC numpy interpreter of the same graph (TF SAME padding, OHWI/1HWC layouts) agrees
    reference = run_reference(graph, x.permute(0, 2, 3, 1).numpy())
    log_probs = out.logits_with_background.double().log_softmax(-1).numpy()
    np.testing.assert_allclose(log_probs, np.log(reference), atol=1e-4)
    # uint8 weights: close to the float original, but not equal (the quantisation error is real)
    rel = (
        out.logits_with_background - original.logits_with_background
    ).norm() / original.logits_with_background.norm()
    assert 0 < rel < 0.1
    torch.testing.assert_close(out.logits, out.logits_with_background[:, 1:])
    assert out.logits.shape == (3, 1000)


def test_converter_rejects_a_graph_that_does_not_match(tiny):
    with pytest.raises(CheckpointConversionError, match="stride"):
        convert_tflite_graph(synthetic_graph(tiny, stride_bug=True), tiny.config)
    other = MobileNetConfig(**{**(TINY_V1 if tiny.config.version == 1 else TINY_V2), "depth_multiplier": 1.0})
    with pytest.raises(CheckpointConversionError):
        convert_tflite_graph(synthetic_graph(tiny), other)


def test_uint8_emulation_rounds_activations_onto_the_graph_grid(tiny):
    graph = synthetic_graph(tiny)
    x = normalize(tiny, torch.rand(1, 3, 32, 32))
    with torch.no_grad():
        float_stem = tiny.stem(x)
        with emulate_uint8_activations(tiny, graph):
            stem = tiny.stem(x)
            emulated = tiny(pixel_values=x).logits
        plain = tiny(pixel_values=x).logits
    grid = stem / 0.05  # the synthetic graph's activation scale
    torch.testing.assert_close(grid, grid.round())
    assert not torch.equal(float_stem, stem) and (float_stem - stem).abs().max() <= 0.025 + 1e-6
    assert not torch.equal(emulated, plain)
    assert len(tiny.stem._forward_hooks) == 0  # hooks removed on exit


def test_save_and_reload_is_exact(tiny, tmp_path):
    tiny.save_pretrained(tmp_path)
    from transformers import AutoModelForImageClassification

    import hfmech  # noqa: F401  (registers hfmech-mobilenet)

    again = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    assert type(again) is MobileNetForImageClassification
    x = torch.randn(2, 3, 40, 40)
    with torch.no_grad():
        torch.testing.assert_close(again(pixel_values=x).logits, tiny(pixel_values=x).logits, rtol=0, atol=0)


def test_missing_pixels_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match="pixel_values is required"):
        tiny()
