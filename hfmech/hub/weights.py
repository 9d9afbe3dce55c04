"""Weights are verified, not trusted: a model folder is checked before anything is allocated for it.

:func:`verify_folder` is what :func:`hfmech.hub.load_pipeline` runs on every folder (local, zoo or downloaded):

1. ``config.json`` is read with a size cap and must be a JSON object with a ``model_type``;
2. its sizes are checked against :data:`MODEL_LIMITS` (one small ``MAX_*`` table per model type: hidden sizes,
   filter counts, FFT sizes, vocabulary sizes, member counts) and generic caps for any other model type, *before*
   the config object or the model is built (a config can ask for a kernel regenerated from a seed);
3. the model is built on the ``meta`` device from the config (no memory), giving the expected tensor names, shapes
   and dtypes; their total size must stay under :data:`MAX_MODEL_BYTES`;
4. each ``*.safetensors`` header is parsed by hand (:func:`read_safetensors_header`: header length, JSON, dtypes,
   shapes, byte sizes, offsets inside the file, no gaps or overlaps) and compared with the expectation: a missing,
   unexpected, renamed, reshaped or re-typed tensor raises :class:`~hfmech.errors.WeightsError` naming the file and
   the tensor. A folder holding only a pickle (``pytorch_model.bin``, ``*.pt``) is refused: hfmech never unpickles.

Every failure is a :class:`~hfmech.errors.ModelLoadError` (``WeightsError`` / ``ModelConfigError``) whose message
names the file and the cause. The bounds are listed in docs/limits.md.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelConfigError, WeightsError

#: The safetensors header may not be longer than this (the format's own reader allows 100 MB; ours are < 1 MB).
MAX_HEADER_BYTES = 16 * 2**20
#: ``config.json`` and ``model.safetensors.index.json`` larger than this are refused unread.
MAX_CONFIG_BYTES = 16 * 2**20
#: Expected size of all of a model's tensors (from its config, on the meta device): 4 GiB.
MAX_MODEL_BYTES = 4 * 2**30
#: At most this many safetensors shards.
MAX_SHARDS = 256
#: Any number in a config of a model type without its own table (id2label/label2id aside).
MAX_CONFIG_NUMBER = 2**24
#: Sum of every layer / depth / repeat count in such a config.
MAX_CONFIG_LAYERS = 1024

WEIGHTS_NAME = "model.safetensors"
WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack")

#: safetensors dtype name -> (bytes per element, torch dtype name)
DTYPES: dict[str, tuple[int, str]] = {
    "F64": (8, "float64"),
    "F32": (4, "float32"),
    "F16": (2, "float16"),
    "BF16": (2, "bfloat16"),
    "I64": (8, "int64"),
    "I32": (4, "int32"),
    "I16": (2, "int16"),
    "I8": (1, "int8"),
    "U64": (8, "uint64"),
    "U32": (4, "uint32"),
    "U16": (2, "uint16"),
    "U8": (1, "uint8"),
    "BOOL": (1, "bool"),
    "F8_E4M3": (1, "float8_e4m3fn"),
    "F8_E5M2": (1, "float8_e5m2"),
}
_TORCH_TO_ST = {torch_name: st for st, (_, torch_name) in DTYPES.items()}

# --------------------------------------------------------------------------------------------------------------------
# Per-model limits: one MAX table per model type. A number is (max,) for "1 .. max"; lists are checked element-wise
# (and by length where a "len:" entry exists). Checked on the raw config.json, before the config object is built.
# --------------------------------------------------------------------------------------------------------------------

MAX_IMAGE_SIZE = 4096
MAX_LABELS = 100_000

MODEL_LIMITS: dict[str, dict[str, float]] = {
    "hfmech-efficientnet-lite": {
        "width_coefficient": 8.0,
        "depth_coefficient": 8.0,
        "depth_divisor": 1024,
        "stem_channels": 1024,
        "head_channels": 8192,
        "num_channels": 4,
        "image_size": MAX_IMAGE_SIZE,
    },
    "hfmech-mobilenet": {
        "depth_multiplier": 8.0,
        "min_depth": 1024,
        "stem_channels": 1024,
        "head_channels": 8192,
        "num_channels": 4,
        "image_size": MAX_IMAGE_SIZE,
        "len:blocks": 64,
        "blocks": 4096,  # every number in a block row (expansion, width, repeats, stride)
    },
    "hfmech-vgg": {"len:block_channels": 5, "block_channels": 4096, "num_channels": 4},
    "hfmech-random-multiscale": {
        "len:filter_sizes": 16,
        "filter_sizes": 127,
        "filters_per_scale": 1024,
        "fft_min_kernel": 127,
        "num_channels": 4,
    },
    "hfmech-random-audio-conv": {
        "sampling_rate": 192_000,
        "n_fft": 8192,
        "hop_length": 8192,
        "n_filters": 8192,
        "kernel_width": 64,
    },
    "hfmech-word-vectors": {"vocab_size": 10_000_000, "vector_size": 4096},
    "hfmech-mlstm": {"vocab_size": 256, "embed_size": 4096, "hidden_size": 8192, "chunk_size": 65536},
    "hfmech-perception-ensemble": {"len:members": 8},
    "hfmech-music-vae": {
        "z_size": 4096,
        "enc_rnn_size": 4096,
        "dec_rnn_size": 4096,
        "len:enc_rnn_size": 8,
        "len:dec_rnn_size": 8,
    },
    "hfmech-sketch-rnn": {"enc_rnn_size": 4096, "dec_rnn_size": 4096, "z_size": 4096, "num_mixture": 256},
    "hfmech-char-rnn": {
        "vocab_size": 65_536,
        "len:vocab": 65_536,
        "dim_embeddings": 4096,
        "rnn_size": 4096,
        "rnn_layers": 16,
        "max_length": 4096,
    },
}
#: The random audio conv regenerates ``n_filters x (n_fft // 2 + 1) x kernel_width`` floats from its seed on load.
MAX_AUDIO_KERNEL_PARAMETERS = 200_000_000

#: Floating tensors an hfmech model type may store in another float dtype than its config's (cast up on load).
STORAGE_DTYPES: dict[str, frozenset[str]] = {"hfmech-word-vectors": frozenset({"F32", "F16", "BF16"})}


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a safetensors header: dtype name (``"F32"``), shape, byte range in the data section."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


# --------------------------------------------------------------------------------------------------------------------
# safetensors header
# --------------------------------------------------------------------------------------------------------------------


def read_safetensors_header(path: str | os.PathLike) -> dict[str, TensorEntry]:
    """Parse and check a safetensors file's header without reading its data; ``{name: TensorEntry}``.

    Checks: the 8-byte header length fits the file and :data:`MAX_HEADER_BYTES`; the header is a UTF-8 JSON object;
    each tensor has a known dtype, a shape of non-negative integers, and ``[begin, end]`` offsets whose length is
    ``numel * itemsize``; the tensors tile the data section exactly (no gap, overlap, or byte past the end).
    Anything else raises :class:`WeightsError` naming the file (and the tensor).
    """
    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise WeightsError(f"{where}: not a safetensors file ({size} bytes, too short for a header)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES:
                raise WeightsError(
                    f"{where}: not a safetensors file or corrupt: header length {n} bytes exceeds "
                    f"{MAX_HEADER_BYTES} (a text file named .safetensors reads as a huge length)"
                )
            if 8 + n > size:
                raise WeightsError(
                    f"{where}: truncated or corrupt: the header claims {n} bytes but the file has {size - 8} after "
                    "the length"
                )
            raw = f.read(n)
    except OSError as e:
        if isinstance(e, WeightsError):
            raise
        raise WeightsError(f"{where}: cannot read: {e.strerror or e}") from e
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WeightsError(f"{where}: corrupt safetensors header (not UTF-8 JSON: {e})") from None
    if not isinstance(header, dict):
        raise WeightsError(
            f"{where}: corrupt safetensors header (a JSON {type(header).__name__}, not an object)"
        )
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise WeightsError(f"{where}: corrupt safetensors header (__metadata__ must map strings to strings)")
    data_size = size - 8 - n
    entries: dict[str, TensorEntry] = {}
    for name, info in header.items():
        entries[name] = _entry(where, name, info, data_size)
    spans = sorted((e.begin, e.end, e.name) for e in entries.values())
    position = 0
    for begin, end, name in spans:
        if begin != position:
            what = "overlaps the previous tensor" if begin < position else f"leaves a gap at byte {position}"
            raise WeightsError(f"{where}: corrupt safetensors data: tensor {name!r} {what}")
        position = end
    if position != data_size:
        raise WeightsError(
            f"{where}: corrupt safetensors data: the tensors cover {position} bytes but the file holds {data_size} "
            "after the header"
        )
    return entries


def _entry(where: str, name: str, info, data_size: int) -> TensorEntry:
    if not isinstance(info, dict):
        raise WeightsError(f"{where}: corrupt header entry for tensor {name!r}")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPES:
        raise WeightsError(f"{where}: tensor {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise WeightsError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise WeightsError(f"{where}: tensor {name!r} has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if end > data_size:
        raise WeightsError(
            f"{where}: truncated or corrupt: tensor {name!r} ends at byte {end} of the data section, "
            f"which holds {data_size}"
        )
    nbytes = math.prod(shape) * DTYPES[dtype][0]
    if end - begin != nbytes:
        raise WeightsError(
            f"{where}: tensor {name!r} declares {dtype} {tuple(shape)} ({nbytes} bytes) but spans {end - begin} bytes"
        )
    return TensorEntry(name, dtype, tuple(shape), begin, end)


# --------------------------------------------------------------------------------------------------------------------
# config.json
# --------------------------------------------------------------------------------------------------------------------


def read_config(folder: str | os.PathLike) -> dict:
    """``folder/config.json`` as a dict (size-capped, a JSON object with a string ``model_type``)."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise ModelConfigError(f"{folder}: no config.json (not a model folder)")
    data = _read_json(path, ModelConfigError)
    if not isinstance(data.get("model_type"), str):
        raise ModelConfigError(f"{path}: no model_type")
    return data


def _read_json(path: Path, error: type[Exception]) -> dict:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise error(f"{path}: {size} bytes, more than the {MAX_CONFIG_BYTES} allowed for a JSON file")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        if isinstance(e, error):
            raise
        raise error(f"{path}: not a readable JSON file ({' '.join(str(e).split())})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a JSON object, got a {type(data).__name__}")
    return data


def check_config_limits(config: dict, where: str = "config.json") -> None:
    """Refuse a config whose sizes exceed :data:`MODEL_LIMITS` (its model type) or the generic caps.

    Raises :class:`ModelConfigError` naming the key, its value and the bound.
    """
    model_type = config.get("model_type")
    for key in ("num_labels", "id2label", "label2id"):
        value = config.get(key)
        count = len(value) if isinstance(value, dict | list) else value
        if isinstance(count, int | float) and not isinstance(count, bool) and not 0 <= count <= MAX_LABELS:
            raise ModelConfigError(f"{where}: {key} has {count!r} labels; at most {MAX_LABELS} are allowed")
    table = MODEL_LIMITS.get(model_type)
    if table is not None:
        for key, bound in table.items():
            if key.startswith("len:"):
                field = key[4:]
                value = config.get(field)
                if isinstance(value, list | dict) and len(value) > bound:
                    raise ModelConfigError(
                        f"{where}: {field} has {len(value)} entries, more than the {int(bound)} allowed for "
                        f"{model_type}"
                    )
                continue
            if key in config:
                for value in _numbers(config[key], f"{where}: {key}"):
                    if not 0 < value <= bound:
                        raise ModelConfigError(
                            f"{where}: {key} = {value!r} is outside 1..{bound:g} allowed for {model_type}"
                        )
        if model_type == "hfmech-random-audio-conv":
            n_fft = _int_or(config.get("n_fft"), 2048)
            params = (
                _int_or(config.get("n_filters"), 4096)
                * (n_fft // 2 + 1)
                * _int_or(config.get("kernel_width"), 11)
            )
            if params > MAX_AUDIO_KERNEL_PARAMETERS:
                raise ModelConfigError(
                    f"{where}: the random kernel n_filters x (n_fft/2+1) x kernel_width = {params:,} parameters "
                    f"would be regenerated from the seed; at most {MAX_AUDIO_KERNEL_PARAMETERS:,} are allowed"
                )
        if model_type == "hfmech-perception-ensemble":
            for i, member in enumerate(config.get("members") or []):
                if not isinstance(member, dict):
                    raise ModelConfigError(f"{where}: members[{i}] is not an object")
                check_config_limits(member, f"{where}: members[{i}]")
        return  # hfmech's own types: their table, then the byte cap on the meta model
    _check_generic(config, where)


def _int_or(value, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _numbers(value, where: str) -> Iterable[float]:
    """Every number in ``value`` (nested lists allowed); a non-number raises :class:`ModelConfigError`."""
    if isinstance(value, list):
        for item in value:
            yield from _numbers(item, where)
        return
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelConfigError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ModelConfigError(f"{where} must be finite, got {value!r}")
    yield value


_LAYER_KEY = re.compile(r"(layers|depths?|repeats|blocks)$")


def _check_generic(config: dict, where: str) -> None:
    """Any number at most :data:`MAX_CONFIG_NUMBER`; layer/depth counts summing to at most :data:`MAX_CONFIG_LAYERS`."""
    layers = 0

    def walk(value, key: str, depth: int) -> None:
        nonlocal layers
        if depth > 32:
            raise ModelConfigError(f"{where}: nested more than 32 levels deep")
        if isinstance(value, dict):
            for k, v in value.items():
                if k in ("id2label", "label2id"):
                    continue
                walk(v, str(k), depth + 1)
        elif isinstance(value, list):
            for v in value:
                walk(v, key, depth + 1)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ModelConfigError(f"{where}: {key} = {value!r} is not finite")
            if abs(value) > MAX_CONFIG_NUMBER:
                raise ModelConfigError(f"{where}: {key} = {value!r} exceeds the limit {MAX_CONFIG_NUMBER}")
            if isinstance(value, int) and _LAYER_KEY.search(key) and key.startswith(("num_", "depth", "n_")):
                layers += max(value, 0)

    walk(config, "config", 0)
    if layers > MAX_CONFIG_LAYERS:
        raise ModelConfigError(f"{where}: {layers} layers in all, more than the {MAX_CONFIG_LAYERS} allowed")


# --------------------------------------------------------------------------------------------------------------------
# the model on the meta device
# --------------------------------------------------------------------------------------------------------------------


def model_class_for(task: str | None, config) -> type:
    """The class transformers' ``pipeline(task, model=folder)`` would instantiate for ``config``.

    The task's auto classes in order (their mapping for ``type(config)``), then ``config.architectures``.
    """
    import transformers
    from transformers.pipelines import PIPELINE_REGISTRY

    candidates: list[type] = []
    if task is not None:
        try:
            pt = PIPELINE_REGISTRY.supported_tasks[task]["pt"]
        except KeyError:
            pt = ()
        candidates += list(pt) if isinstance(pt, tuple | list) else [pt]
    else:
        candidates.append(transformers.AutoModel)
    for name in getattr(config, "architectures", None) or []:
        cls = getattr(transformers, str(name), None)
        if isinstance(cls, type):
            candidates.append(cls)
    found = None
    for cls in candidates:
        mapping = getattr(cls, "_model_mapping", None)
        if mapping is None:
            found = cls
            break
        try:
            found = mapping[type(config)]
            break
        except KeyError:
            continue
    if found is not None:
        modality = PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("type") if task is not None else None
        accepted = getattr(found, "input_modalities", None)
        accepted = (accepted,) if isinstance(accepted, str) else tuple(accepted or ())
        if modality in ("image", "audio", "text") and accepted and modality not in accepted:
            raise ModelConfigError(
                f"a {config.model_type!r} model ({found.__name__}) takes {', '.join(accepted)} input; the task "
                f"{task!r} needs a model for {modality}"
            )
        return found
    raise ModelConfigError(
        f"a {config.model_type!r} model cannot run the task {task!r} (no model class for this config)"
    )


def build_config(folder: str | os.PathLike, data: dict):
    """The ``PretrainedConfig`` of ``data`` (from ``folder/config.json``); its own checks become ModelConfigError."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(os.fspath(folder))
    except Exception as e:  # noqa: BLE001 — a config's own __post_init__ may raise anything on bad values
        raise ModelConfigError(
            f"{Path(folder) / 'config.json'}: invalid config: {type(e).__name__}: {' '.join(str(e).split())}"
        ) from None


@dataclass
class Expected:
    """What a model built from its config holds: ``{name: (shape, safetensors dtype)}`` and what may be absent."""

    tensors: dict[str, tuple[tuple[int, ...], str]]
    optional: list[re.Pattern]
    tied: dict[str, str]


def expected_tensors(model_class: type, config) -> Expected:
    """Build ``model_class(config)`` on the meta device (no memory, no initialisation) and read its state dict."""
    import torch
    from transformers.utils.generic import ContextManagers

    dtype = getattr(config, "dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        dtype = torch.float32
    try:
        contexts = model_class.get_init_context(dtype, False, False, None, config)
        with ContextManagers(contexts):
            model = model_class(copy.deepcopy(config))
    except Exception as e:  # noqa: BLE001 — a model's __init__ may raise anything on a bad config
        raise ModelConfigError(
            f"cannot build {model_class.__name__} from this config: {type(e).__name__}: {' '.join(str(e).split())}"
        ) from None
    tensors = {}
    for name, tensor in model.state_dict().items():
        st = _TORCH_TO_ST.get(str(tensor.dtype).removeprefix("torch."))
        tensors[name] = (tuple(tensor.shape), st or str(tensor.dtype))
    patterns = [re.compile(p) for p in (getattr(model, "_keys_to_ignore_on_load_missing", None) or [])]
    patterns += [re.compile(re.escape(p)) for p in (getattr(model, "_keys_to_ignore_on_save", None) or [])]
    tied = dict(getattr(model, "all_tied_weights_keys", None) or {})
    return Expected(tensors, patterns, tied)


def _nbytes(shape: tuple[int, ...], dtype: str) -> int:
    return math.prod(shape) * DTYPES.get(dtype, (4, ""))[0]


# --------------------------------------------------------------------------------------------------------------------
# the folder
# --------------------------------------------------------------------------------------------------------------------


def weight_files(folder: str | os.PathLike) -> dict[str, dict[str, TensorEntry]]:
    """``{file path: header}`` of the folder's safetensors weights (single file or an index with shards)."""
    folder = Path(folder)
    index = folder / WEIGHTS_INDEX_NAME
    single = folder / WEIGHTS_NAME
    if single.exists():
        return {str(single): read_safetensors_header(single)}
    if index.exists():
        data = _read_json(index, WeightsError)
        weight_map = data.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise WeightsError(f"{index}: no weight_map")
        shards = sorted(set(weight_map.values()), key=str)
        if len(shards) > MAX_SHARDS:
            raise WeightsError(f"{index}: {len(shards)} shards, more than {MAX_SHARDS}")
        headers = {}
        for shard in shards:
            if not isinstance(shard, str) or Path(shard).name != shard or not shard.endswith(".safetensors"):
                raise WeightsError(f"{index}: invalid shard name {shard!r}")
            headers[str(folder / shard)] = read_safetensors_header(folder / shard)
        for name, shard in weight_map.items():
            if name not in headers[str(folder / shard)]:
                raise WeightsError(f"{index}: tensor {name!r} is not in its shard {shard}")
        return headers
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file())
    if pickles:
        raise WeightsError(
            f"{folder}: holds only {', '.join(pickles)} (a pickle or another non-safetensors format); hfmech loads "
            f"{WEIGHTS_NAME} only and never unpickles weights"
        )
    raise WeightsError(f"{folder}: no {WEIGHTS_NAME} (and no {WEIGHTS_INDEX_NAME})")


def verify_weights(
    headers: dict[str, dict[str, TensorEntry]],
    expected: Expected,
    model_type: str,
    where: str,
    storage_dtype: str | None = None,
) -> None:
    """Compare the headers with the meta model: every tensor present, none unexpected, same shapes and dtypes.

    ``storage_dtype`` (a config's declared on-disk float dtype, e.g. ``"float16"``) must then match exactly."""
    found: dict[str, tuple[str, TensorEntry]] = {}
    for path, entries in headers.items():
        for name, entry in entries.items():
            if name in found:
                raise WeightsError(f"{path}: tensor {name!r} is also in {found[name][0]}")
            found[name] = (path, entry)
    storage = STORAGE_DTYPES.get(model_type, frozenset())
    declared = (
        {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}.get(str(storage_dtype)) if storage else None
    )
    for name, (path, entry) in sorted(found.items()):
        if name not in expected.tensors:
            raise WeightsError(
                f"{path}: unexpected tensor {name!r} ({entry.dtype} {entry.shape}): a {model_type} model has no such "
                "weight (renamed or from another model?)"
            )
        shape, dtype = expected.tensors[name]
        if entry.shape != shape:
            raise WeightsError(f"{path}: tensor {name!r} has shape {entry.shape}, the config expects {shape}")
        if declared is not None and entry.dtype in storage and entry.dtype != declared:
            raise WeightsError(
                f"{path}: tensor {name!r} is stored as {entry.dtype}, but the config declares storage_dtype "
                f"{storage_dtype!r} (re-typed header?)"
            )
        if entry.dtype != dtype and not (entry.dtype in storage and dtype in storage):
            raise WeightsError(
                f"{path}: tensor {name!r} is stored as {entry.dtype}, the model expects {dtype}"
            )
    for name in sorted(expected.tensors):
        if name in found:
            continue
        if any(p.search(name) for p in expected.optional):
            continue
        if name in expected.tied and expected.tied[name] in found:
            continue
        raise WeightsError(
            f"{where}: tensor {name!r} is missing from the weights: it would be randomly initialised"
        )


@dataclass
class VerifiedModel:
    """What :func:`verify_folder` established: the folder, its config and the class to load it with."""

    folder: Path
    config: object
    model_class: type


def verify_folder(
    folder: str | os.PathLike, task: str | None = None, model_class: type | None = None
) -> VerifiedModel:
    """Check ``folder`` (config limits, then every safetensors header against the meta model) before loading.

    The expected tensors are those of ``model_class`` when given (a direct ``Model.from_pretrained``), else of the
    class ``pipeline(task, model=folder)`` would build. Raises :class:`ModelConfigError` or :class:`WeightsError`
    (both :class:`~hfmech.errors.ModelLoadError`).
    """
    folder = Path(folder)
    data = read_config(folder)
    check_config_limits(data, str(folder / "config.json"))
    headers = weight_files(folder)  # a pickle-only or weightless folder fails before the config is built
    config = build_config(folder, data)
    model_class = model_class or model_class_for(task, config)
    expected = expected_tensors(model_class, config)
    total = sum(_nbytes(shape, dtype) for shape, dtype in expected.tensors.values())
    if total > MAX_MODEL_BYTES:
        raise ModelConfigError(
            f"{folder / 'config.json'}: the model would hold {total / 2**30:.1f} GiB of tensors, more than the "
            f"{MAX_MODEL_BYTES / 2**30:.0f} GiB allowed"
        )
    verify_weights(
        headers, expected, data["model_type"], str(folder), storage_dtype=data.get("storage_dtype")
    )
    return VerifiedModel(folder, config, model_class)


__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_MODEL_BYTES",
    "MODEL_LIMITS",
    "TensorEntry",
    "VerifiedModel",
    "check_config_limits",
    "expected_tensors",
    "model_class_for",
    "read_config",
    "read_safetensors_header",
    "verify_folder",
    "verify_weights",
    "weight_files",
]
