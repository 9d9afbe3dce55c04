"""Read a TensorFlow Lite flatbuffer into plain Python/numpy: tensors (with quantisation), operators, options.

Parsing uses the ``tflite`` PyPI package (the flatbuffer schema compiled to Python); no TensorFlow, no interpreter.
Only what a converter needs is exposed: the operators of the main subgraph in execution order, each with its input
and output :class:`TFLiteTensor` (name, NHWC shape, dtype, per-tensor or per-axis scale/zero point, constant data)
and its decoded options (stride, padding, fused activation, ...).

Quantisation (TFLite "quantization spec"): a quantised value ``q`` stands for the real number
``scale * (q - zero_point)``; with per-axis quantisation ``scale``/``zero_point`` are vectors along
``quantized_dimension``. :func:`dequantize` implements exactly that. Int32 biases of quantised convolutions carry
``scale = input_scale * weight_scale`` and ``zero_point = 0``, so the same formula applies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import HfmechError


class TFLiteFormatError(HfmechError, ValueError):
    """A file that is not a TFLite flatbuffer, or uses something this reader does not support."""


# TensorType enum of the schema -> numpy dtype (only the types our converters meet).
_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8, 7: np.int16}
# ActivationFunctionType enum of the schema.
ACTIVATIONS = {0: None, 1: "relu", 2: "relu_n1_to_1", 3: "relu6", 4: "tanh", 5: "sign_bit"}
PADDINGS = {0: "SAME", 1: "VALID"}


@dataclass
class TFLiteTensor:
    """One tensor of the graph. ``shape`` is as stored (NHWC activations; OHWI conv / 1HWC depthwise weights)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    scale: np.ndarray | None = None  # (1,) per-tensor or (C,) per-axis; None when not quantised
    zero_point: np.ndarray | None = None
    quantized_dimension: int = 0
    data: np.ndarray | None = None  # constant data (weights, biases, shape vectors); None for activations

    @property
    def is_quantized(self) -> bool:
        return self.scale is not None and self.dtype != np.float32


@dataclass
class TFLiteOp:
    """One operator: ``type`` is the builtin name (``"CONV_2D"``, ``"DEPTHWISE_CONV_2D"``, ``"ADD"``, ...)."""

    index: int
    type: str
    inputs: list[TFLiteTensor | None]
    outputs: list[TFLiteTensor]
    options: dict = field(default_factory=dict)


@dataclass
class TFLiteGraph:
    """The main subgraph: operators in execution order plus the graph inputs/outputs."""

    ops: list[TFLiteOp]
    inputs: list[TFLiteTensor]
    outputs: list[TFLiteTensor]
    description: str = ""

    def op_types(self) -> list[str]:
        return [op.type for op in self.ops]


def dequantize(tensor: TFLiteTensor) -> np.ndarray:
    """``scale * (q - zero_point)`` as float32, per tensor or per axis (``quantized_dimension``).

    A float tensor is returned as float32 unchanged; a quantised tensor without data raises.
    """
    if tensor.data is None:
        raise TFLiteFormatError(f"tensor {tensor.name!r} has no constant data to dequantize")
    q = tensor.data
    if not tensor.is_quantized:
        return q.astype(np.float32)
    scale = np.asarray(tensor.scale, dtype=np.float64)
    zero = np.asarray(tensor.zero_point if tensor.zero_point is not None else 0, dtype=np.float64)
    if scale.size > 1:  # per-axis: broadcast along quantized_dimension
        shape = [1] * q.ndim
        shape[tensor.quantized_dimension] = scale.size
        scale = scale.reshape(shape)
        zero = np.broadcast_to(zero, (scale.size,)).reshape(shape) if zero.size > 1 else zero.reshape(())
    else:
        scale = scale.reshape(())
        zero = zero.reshape(-1)[0] if zero.size else np.float64(0)
    return (scale * (q.astype(np.float64) - zero)).astype(np.float32)


def _builtin_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def _options(op, op_type: str) -> dict:
    import tflite

    table = op.BuiltinOptions()
    if table is None:
        return {}
    if op_type in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        opt = tflite.Conv2DOptions() if op_type == "CONV_2D" else tflite.DepthwiseConv2DOptions()
        opt.Init(table.Bytes, table.Pos)
        out = {
            "padding": PADDINGS[opt.Padding()],
            "stride": (opt.StrideH(), opt.StrideW()),
            "dilation": (opt.DilationHFactor(), opt.DilationWFactor()),
            "activation": ACTIVATIONS[opt.FusedActivationFunction()],
        }
        if op_type == "DEPTHWISE_CONV_2D":
            out["depth_multiplier"] = opt.DepthMultiplier()
        return out
    if op_type in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        opt = tflite.Pool2DOptions()
        opt.Init(table.Bytes, table.Pos)
        return {
            "padding": PADDINGS[opt.Padding()],
            "stride": (opt.StrideH(), opt.StrideW()),
            "filter": (opt.FilterHeight(), opt.FilterWidth()),
            "activation": ACTIVATIONS[opt.FusedActivationFunction()],
        }
    if op_type == "ADD":
        opt = tflite.AddOptions()
        opt.Init(table.Bytes, table.Pos)
        return {"activation": ACTIVATIONS[opt.FusedActivationFunction()]}
    if op_type == "SOFTMAX":
        opt = tflite.SoftmaxOptions()
        opt.Init(table.Bytes, table.Pos)
        return {"beta": opt.Beta()}
    return {}


def read_tflite(path: str | os.PathLike) -> TFLiteGraph:
    """Parse ``path`` (a ``.tflite`` flatbuffer) into a :class:`TFLiteGraph` of its first subgraph."""
    import tflite

    path = os.fspath(path)
    with open(path, "rb") as handle:
        buf = handle.read()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise TFLiteFormatError(
            f"{path}: not a TFLite flatbuffer (file identifier {buf[4:8]!r}, expected b'TFL3')"
        )
    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() < 1:
        raise TFLiteFormatError(f"{path}: the model has no subgraph")
    graph = model.Subgraphs(0)
    names = _builtin_names()
    cache: dict[int, TFLiteTensor] = {}

    def tensor(i: int) -> TFLiteTensor:
        if i in cache:
            return cache[i]
        t = graph.Tensors(i)
        if t.Type() not in _DTYPES:
            raise TFLiteFormatError(f"{path}: tensor {i} has unsupported type {t.Type()}")
        dtype = _DTYPES[t.Type()]
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        q = t.Quantization()
        scale = zero = None
        qdim = 0
        if q is not None and q.ScaleLength():
            scale = q.ScaleAsNumpy().astype(np.float32)
            zero = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros(1, np.int64)
            qdim = int(q.QuantizedDimension())
        data = None
        buffer = model.Buffers(t.Buffer())
        if buffer is not None and buffer.DataLength():
            raw = buffer.DataAsNumpy().tobytes()
            data = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        cache[i] = TFLiteTensor(i, t.Name().decode("utf-8", "replace"), shape, dtype, scale, zero, qdim, data)
        return cache[i]

    ops: list[TFLiteOp] = []
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        op_type = names.get(builtin, f"BUILTIN_{builtin}")
        inputs = [tensor(int(i)) if i >= 0 else None for i in op.InputsAsNumpy()]
        outputs = [tensor(int(i)) for i in op.OutputsAsNumpy()]
        ops.append(TFLiteOp(k, op_type, inputs, outputs, _options(op, op_type)))
    description = model.Description().decode("utf-8", "replace") if model.Description() else ""
    return TFLiteGraph(
        ops=ops,
        inputs=[tensor(int(i)) for i in graph.InputsAsNumpy()],
        outputs=[tensor(int(i)) for i in graph.OutputsAsNumpy()],
        description=description,
    )


# --------------------------------------------------------------------------------------------------------------------
# A numpy reference of the graph's real-valued semantics (for validating converters)
# --------------------------------------------------------------------------------------------------------------------


def _tf_same(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _activation(x: np.ndarray, name: str | None) -> np.ndarray:
    if name is None:
        return x
    if name == "relu6":
        return np.clip(x, 0.0, 6.0)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "relu_n1_to_1":
        return np.clip(x, -1.0, 1.0)
    raise TFLiteFormatError(f"activation {name!r} not supported by the reference")


def _conv_nhwc(x: np.ndarray, w: np.ndarray, b: np.ndarray, options: dict, depthwise: bool) -> np.ndarray:
    """TFLite CONV_2D (``w`` OHWI) / DEPTHWISE_CONV_2D (``w`` 1HWC, multiplier 1) on NHWC float64."""
    kh, kw = w.shape[1], w.shape[2]
    sh, sw = options["stride"]
    n, h, wd, _ = x.shape
    if options["padding"] == "SAME":
        (pt, pb), (pl, pr) = _tf_same(h, kh, sh), _tf_same(wd, kw, sw)
    else:
        pt = pb = pl = pr = 0
    x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    ho, wo = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    out = np.zeros((n, ho, wo, w.shape[0] if not depthwise else w.shape[3]), np.float64)
    for ky in range(kh):
        for kx in range(kw):
            patch = x[:, ky : ky + sh * (ho - 1) + 1 : sh, kx : kx + sw * (wo - 1) + 1 : sw, :]
            out += patch * w[0, ky, kx, :] if depthwise else patch @ w[:, ky, kx, :].T
    return _activation(out + b, options["activation"])


def run_reference(graph: TFLiteGraph, real_input: np.ndarray) -> np.ndarray:
    """Evaluate ``graph`` in float64 numpy on the *real-valued* input ``(N, H, W, C)`` with dequantised weights.

    Implements the TFLite reference semantics of CONV_2D, DEPTHWISE_CONV_2D (TF SAME/VALID padding, strides, fused
    activations), ADD, AVERAGE_POOL_2D, RESHAPE/SQUEEZE and SOFTMAX — independently of any torch model — without
    activation re-quantisation. Returns the graph's first output (for the Coral classifiers: the 1001 softmax).
    """
    values: dict[int, np.ndarray] = {graph.inputs[0].index: np.asarray(real_input, np.float64)}
    for op in graph.ops:
        ins = [values[t.index] if t is not None and t.index in values else None for t in op.inputs]
        if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = dequantize(op.inputs[1]).astype(np.float64)
            b = (
                dequantize(op.inputs[2]).astype(np.float64)
                if len(op.inputs) > 2 and op.inputs[2] is not None
                else 0.0
            )
            if op.type == "DEPTHWISE_CONV_2D" and op.options.get("depth_multiplier", 1) != 1:
                raise TFLiteFormatError("depth multiplier != 1 not supported by the reference")
            out = _conv_nhwc(ins[0], w, b, op.options, op.type == "DEPTHWISE_CONV_2D")
        elif op.type == "ADD":
            out = _activation(ins[0] + ins[1], op.options.get("activation"))
        elif op.type == "AVERAGE_POOL_2D":
            fh, fw = op.options["filter"]
            x = ins[0]
            if op.options["padding"] != "VALID" or (fh, fw) != x.shape[1:3]:
                raise TFLiteFormatError("the reference only supports global VALID average pooling")
            out = _activation(x.mean(axis=(1, 2), keepdims=True), op.options.get("activation"))
        elif op.type in ("RESHAPE", "SQUEEZE"):
            out = ins[0].reshape((ins[0].shape[0],) + tuple(op.outputs[0].shape[1:]))
        elif op.type == "SOFTMAX":
            z = ins[0] * op.options.get("beta", 1.0)
            z = np.exp(z - z.max(-1, keepdims=True))
            out = z / z.sum(-1, keepdims=True)
        else:
            raise TFLiteFormatError(f"op {op.type} not supported by the reference")
        values[op.outputs[0].index] = out
    return values[graph.outputs[0].index]
