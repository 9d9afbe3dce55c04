"""Hostile model folders: tampered and corrupt weights, pickles, absurd configs — for every pipeline.

Each case builds a tiny random-weight model folder (saved with ``save_pretrained``), damages it one way, and loads it
through :func:`hfmech.hub.load_pipeline`, the one loading path of the API, the CLI and the Spaces. The outcome is
always a :class:`~hfmech.errors.ModelLoadError` (``WeightsError`` / ``ModelConfigError``) naming the file and the
tensor or key — never a silently random-initialised model, never a bare SafetensorError/UnpicklingError.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch
from conftest import KINDS, assert_typed, read_safetensors, tensor_names, write_safetensors
from safetensors.torch import load_file, save_file

import hfmech
from hfmech.errors import ModelConfigError, ModelLoadError, WeightsError
from hfmech.hub import load_pipeline
from hfmech.hub.weights import read_safetensors_header

TASKS = list(KINDS)
ST = "model.safetensors"


# ------------------------------------------------------------------------------------------------ header tampers
# Each takes the folder, damages model.safetensors, and returns the words the error must contain.


def rename_tensor(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    header[name + "_x"] = header.pop(name)  # what a tampered header looks like: the weight lands elsewhere
    write_safetensors(folder / ST, header, data)
    return [ST, name + "_x"]


def rename_tensor_same_length(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[-1]
    renamed = name[:-1] + ("X" if name[-1] != "X" else "Y")
    header[renamed] = header.pop(name)
    write_safetensors(folder / ST, header, data)
    return [ST, renamed]


SAME_SIZE = {"F32": "I32", "F16": "I16", "F64": "I64", "I64": "F64", "BF16": "I16"}


def retype_same_size(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    old = header[name]["dtype"]
    header[name]["dtype"] = SAME_SIZE[old]  # same byte size: the offsets still add up
    write_safetensors(folder / ST, header, data)
    return [ST, name, SAME_SIZE[old]]


def retype_float_to_other_float(folder):
    header, data = read_safetensors(folder / ST)
    name = next(n for n in tensor_names(header) if header[n]["dtype"] in ("F32", "F64"))
    header[name]["dtype"] = "U32" if header[name]["dtype"] == "F32" else "U64"
    write_safetensors(folder / ST, header, data)
    return [ST, name]


def retype_other_size(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    header[name]["dtype"] = "U8" if header[name]["dtype"] != "U8" else "F32"
    write_safetensors(folder / ST, header, data)
    return [ST, name, "bytes"]


def reshape_same_numel(folder):
    header, data = read_safetensors(folder / ST)
    name = next(
        n for n in tensor_names(header) if len(header[n]["shape"]) >= 1 and max(header[n]["shape"]) > 1
    )
    shape = header[name]["shape"]
    header[name]["shape"] = [*reversed(shape), 1] if shape == list(reversed(shape)) else list(reversed(shape))
    write_safetensors(folder / ST, header, data)
    return [ST, name, "shape"]


def truncate(folder):
    raw = (folder / ST).read_bytes()
    (folder / ST).write_bytes(raw[: max(9, len(raw) - 7)])
    return [ST, "truncated"]


def truncate_to_header(folder):
    raw = (folder / ST).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    (folder / ST).write_bytes(raw[: 8 + n // 2])
    return [ST, "truncated"]


def offsets_past_end(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[-1]
    begin, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [begin + 4096, end + 4096]
    write_safetensors(folder / ST, header, data)
    return [ST, name, "ends at byte"]


def overlapping_offsets(folder):
    header, data = read_safetensors(folder / ST)
    names = tensor_names(header)
    if len(names) < 2:  # one tensor: add a second one over the same bytes
        header["other"] = dict(header[names[0]])
    else:
        b = names[1]
        size = header[b]["data_offsets"][1] - header[b]["data_offsets"][0]
        header[b]["data_offsets"] = [0, size]
        header[b]["shape"], header[b]["dtype"] = [size], "U8"
    write_safetensors(folder / ST, header, data)
    return [ST, "corrupt"]


def huge_header_length(folder):
    raw = (folder / ST).read_bytes()
    (folder / ST).write_bytes(struct.pack("<Q", 2**62) + raw[8:])
    return [ST, "header length"]


def header_length_past_file(folder):
    raw = (folder / ST).read_bytes()
    (folder / ST).write_bytes(struct.pack("<Q", len(raw)) + raw[8:])
    return [ST, "truncated"]


def text_file(folder):
    (folder / ST).write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 1234\n"
    )
    return [ST, "not a safetensors file"]


def empty_file(folder):
    (folder / ST).write_bytes(b"")
    return [ST, "too short"]


def binary_garbage_header(folder):
    raw = (folder / ST).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    (folder / ST).write_bytes(raw[:8] + b"\xff\xfe" * (n // 2) + b"\xff" * (n % 2) + raw[8 + n :])
    return [ST, "JSON"]


def header_is_a_list(folder):
    _, data = read_safetensors(folder / ST)
    encoded = b"[1, 2, 3]"
    (folder / ST).write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)
    return [ST, "not an object"]


def unknown_dtype(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    header[name]["dtype"] = "F128"
    write_safetensors(folder / ST, header, data)
    return [ST, name, "unknown dtype"]


def negative_shape(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    header[name]["shape"] = [-1]
    write_safetensors(folder / ST, header, data)
    return [ST, name, "invalid shape"]


def bad_metadata(folder):
    header, data = read_safetensors(folder / ST)
    header["__metadata__"] = {"format": ["pt"]}
    write_safetensors(folder / ST, header, data)
    return [ST, "__metadata__"]


def drop_tensor(folder):
    tensors = load_file(folder / ST)
    name = sorted(tensors)[0]
    del tensors[name]
    if not tensors:  # a one-tensor model: the file then holds nothing at all
        tensors = {}
    save_file(tensors, folder / ST, metadata={"format": "pt"})
    return ["missing", name]


def extra_tensor(folder):
    tensors = load_file(folder / ST)
    tensors["backdoor.weight"] = torch.zeros(4, 4)
    save_file(tensors, folder / ST, metadata={"format": "pt"})
    return ["unexpected", "backdoor.weight"]


def no_weights_file(folder):
    (folder / ST).unlink()
    return [ST]


def sharded_index_escapes_folder(folder):
    header, _ = read_safetensors(folder / ST)
    (folder / ST).unlink()
    index = {"metadata": {}, "weight_map": {n: "../../etc/passwd.safetensors" for n in tensor_names(header)}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return ["invalid shard name"]


MARKER = "hostile-pickle-ran"


class _Exploit:
    """A pickle that would create a marker file when unpickled (it never may be)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def pickle_only(folder):
    (folder / ST).unlink()
    with open(folder / "pytorch_model.bin", "wb") as f:
        pickle.dump(_Exploit(str(folder / MARKER)), f)
    return ["pytorch_model.bin", "never unpickles"]


def pickle_named_safetensors(folder):
    with open(folder / ST, "wb") as f:
        pickle.dump(_Exploit(str(folder / MARKER)), f)
    return [ST]


HEADER_TAMPERS = [
    rename_tensor,
    rename_tensor_same_length,
    retype_same_size,
    retype_other_size,
    reshape_same_numel,
    truncate,
    truncate_to_header,
    offsets_past_end,
    overlapping_offsets,
    huge_header_length,
    header_length_past_file,
    text_file,
    empty_file,
    binary_garbage_header,
    header_is_a_list,
    unknown_dtype,
    negative_shape,
    bad_metadata,
    drop_tensor,
    extra_tensor,
    no_weights_file,
    sharded_index_escapes_folder,
    pickle_only,
    pickle_named_safetensors,
]


@pytest.mark.parametrize("tamper", HEADER_TAMPERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("task", TASKS)
def test_tampered_weights_are_refused_naming_file_and_tensor(task, tamper, model_copy):
    folder = model_copy(task)
    words = tamper(folder)
    with pytest.raises(ModelLoadError) as info:
        load_pipeline(task, str(folder))
    message = assert_typed(info.value, *words)
    assert str(folder) in message  # the file (or folder) is named
    if tamper not in (no_weights_file, sharded_index_escapes_folder) and "config" not in message:
        assert isinstance(info.value, WeightsError)
    assert not (folder / MARKER).exists(), "a pickle was executed"


@pytest.mark.parametrize("task", ["deep-dream", "style-transfer", "perception-engine"])
def test_float_declared_as_unsigned_int(task, model_copy):
    folder = model_copy(task)
    words = retype_float_to_other_float(folder)
    with pytest.raises(WeightsError) as info:
        load_pipeline(task, str(folder))
    assert_typed(info.value, *words, "stored as")


def test_word_vectors_stored_in_half_precision_still_load(saved_models):
    # the legitimate storage dtype (float16 on disk, float32 config) is not a tamper
    entries = read_safetensors_header(saved_models["word-analogy"] / ST)
    assert {e.dtype for e in entries.values()} == {"F16"}
    pipe = load_pipeline("word-analogy", str(saved_models["word-analogy"]))
    assert pipe.model.embeddings.weight.dtype == torch.float32


@pytest.mark.parametrize("task", TASKS)
def test_intact_folders_load(task, saved_models):
    pipe = load_pipeline(task, str(saved_models[task]))
    assert pipe.model.training is False


def test_committed_sentiment_weights_verify():
    # the shipped fp16 mLSTM (config dtype float16): verified and loaded by the same path
    folder = Path(hfmech.__file__).parent / "sentiment" / "weights" / "mlstm-imdb"
    pipe = load_pipeline("sentiment-neuron", str(folder))
    assert pipe.model.config.model_type == "hfmech-mlstm"


# ------------------------------------------------------------------------------------------------ config tampers


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if value is _DELETE:
            config.pop(key, None)
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))


_DELETE = object()

ABSURD_CONFIGS = [
    ("deep-dream", {"head_channels": 10**7}, "head_channels"),
    ("deep-dream", {"width_coefficient": 1e6}, "width_coefficient"),
    ("deep-dream", {"depth_coefficient": 1e9}, "depth_coefficient"),
    ("deep-dream", {"stem_channels": -8}, "stem_channels"),
    ("deep-dream", {"num_labels": 10**9, "id2label": _DELETE, "label2id": _DELETE}, "num_labels"),
    ("deep-dream", {"image_size": "huge"}, "image_size"),
    ("style-transfer", {"block_channels": [10**6] * 5}, "block_channels"),
    ("style-transfer", {"block_channels": [4] * 500}, "block_channels"),
    ("style-transfer", {"num_channels": 10**5}, "num_channels"),
    ("audio-style-transfer", {"n_filters": 10**6}, "n_filters"),
    ("audio-style-transfer", {"n_fft": 2**20}, "n_fft"),
    ("audio-style-transfer", {"kernel_width": 10**5}, "kernel_width"),
    ("audio-style-transfer", {"n_filters": 8192, "n_fft": 8192, "kernel_width": 64}, "random kernel"),
    ("audio-style-transfer", {"sampling_rate": 10**9}, "sampling_rate"),
    ("audio-style-transfer", {"hop_length": 0}, "hop_length"),
    ("word-analogy", {"vocab_size": 10**10}, "vocab_size"),
    ("word-analogy", {"vector_size": 10**6}, "vector_size"),
    ("word-analogy", {"vector_size": float("inf")}, "vector_size"),
    ("perception-engine", {"members": [{"model_type": "hfmech-efficientnet-lite"}] * 100}, "members"),
    (
        "perception-engine",
        {"members": [{"model_type": "hfmech-efficientnet-lite", "head_channels": 10**7}]},
        "members[0]",
    ),
]


@pytest.mark.parametrize(
    "task, changes, word", ABSURD_CONFIGS, ids=[f"{t}-{w}" for t, _, w in ABSURD_CONFIGS]
)
def test_absurd_config_sizes_are_refused_before_building(task, changes, word, model_copy):
    folder = model_copy(task)
    _edit_config(folder, **changes)
    with pytest.raises(ModelConfigError) as info:
        load_pipeline(task, str(folder))
    assert_typed(info.value, "config.json", word)


def test_config_whose_shapes_disagree_with_the_weights(model_copy):
    # a sane config for another model size: the header no longer matches, and the load stops before allocating
    folder = model_copy("word-analogy")
    _edit_config(folder, vocab_size=100_000)
    with pytest.raises(WeightsError) as info:
        load_pipeline("word-analogy", str(folder))
    assert_typed(info.value, "embeddings.weight", "shape")


@pytest.mark.parametrize(
    "content, word",
    [
        ("{not json", "JSON"),
        ("[1, 2]", "JSON object"),
        ('{"vocab_size": 3}', "model_type"),
        ('{"model_type": "no-such-model-type"}', "invalid config"),
        (b"\xff\xfe\x00", "JSON"),
        ("", "JSON"),
    ],
)
@pytest.mark.parametrize("task", ["deep-dream", "audio-style-transfer"])
def test_unreadable_config_json(task, content, word, model_copy):
    folder = model_copy(task)
    target = folder / "config.json"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ModelConfigError) as info:
        load_pipeline(task, str(folder))
    assert_typed(info.value, word)


def test_oversized_config_json_is_not_read(model_copy):
    folder = model_copy("deep-dream")
    with open(folder / "config.json", "ab") as f:
        f.truncate(17 * 2**20)  # sparse: 17 MiB of zeros after the JSON
    with pytest.raises(ModelConfigError) as info:
        load_pipeline("deep-dream", str(folder))
    assert_typed(info.value, "config.json", "bytes")


@pytest.mark.parametrize(
    "model, word",
    [
        ("/nonexistent/hfmech/model", "no such folder"),
        ("./also/not/here", "no such folder"),
        ("", "no such folder"),
    ],
)
def test_missing_model_paths(model, word):
    with pytest.raises(ModelLoadError) as info:
        load_pipeline("deep-dream", model)
    assert_typed(info.value, word)


def test_model_path_that_is_a_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"x")
    with pytest.raises(ModelLoadError) as info:
        load_pipeline("deep-dream", str(path))
    assert_typed(info.value, "not a model folder")


def test_folder_with_only_config(model_copy):
    folder = model_copy("style-transfer")
    for p in folder.iterdir():
        if p.name != "config.json":
            os.remove(p)
    with pytest.raises(WeightsError) as info:
        load_pipeline("style-transfer", str(folder))
    assert_typed(info.value, "no model.safetensors")


def test_model_of_the_wrong_task(saved_models):
    # a word-vector folder asked to dream: the class lookup fails clearly, nothing is loaded
    with pytest.raises(ModelLoadError) as info:
        load_pipeline("deep-dream", str(saved_models["word-analogy"]))
    assert_typed(info.value, "hfmech-word-vectors")


def test_word_vectors_half_precision_retyped_to_bfloat16_is_refused(model_copy):
    # the config declares storage_dtype "float16": a header re-typed to the other 2-byte float (same offsets) is a
    # tamper, not a storage choice
    folder = model_copy("word-analogy")
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    assert header[name]["dtype"] == "F16"
    header[name]["dtype"] = "BF16"
    write_safetensors(folder / ST, header, data)
    with pytest.raises(WeightsError) as info:
        load_pipeline("word-analogy", str(folder))
    assert_typed(info.value, name, "BF16", "storage_dtype")
