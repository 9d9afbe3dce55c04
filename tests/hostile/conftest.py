"""The hostile corpus's shared pieces: tiny random-weight model folders (saved once per session), copies to tamper
with, and the one outcome check every case ends in.

Nothing binary is committed: every model, image, sound and corrupt file is made at test time.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch
from tiny_models import (  # noqa: F401  (re-exported for the hostile tests)
    AUDIO_CONFIG,
    AUDIO_SR,
    KINDS,
    PERCEPTION_FAST,
    WORDS,
    tiny_audio,
    tiny_ensemble,
    tiny_mlstm,
    tiny_music_vae,
    tiny_sketch_rnn,
    tiny_vgg,
    tiny_word_vectors,
)
from tiny_models import tiny_classifier as tiny_effnet  # noqa: F401

import hfmech  # noqa: F401  (registers the model types and tasks)
from hfmech.errors import HfmechError


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory) -> dict[str, Path]:
    folders = {}
    for task, build in KINDS.items():
        folder = tmp_path_factory.mktemp(f"model-{task}")
        model = build()
        if task == "word-analogy":
            model.save_pretrained(folder, dtype=torch.float16)  # as the zoo stores word vectors
        else:
            model.save_pretrained(folder)
        folders[task] = folder
    return folders


@pytest.fixture
def model_copy(saved_models, tmp_path):
    """``model_copy(task) -> Path``: a fresh copy of the saved tiny model for ``task``, free to tamper with."""

    def copy(task: str) -> Path:
        target = tmp_path / f"copy-{task}"
        shutil.copytree(saved_models[task], target)
        return target

    return copy


# --------------------------------------------------------------------------------------------- safetensors bytes


def read_safetensors(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def write_safetensors(path: Path, header: dict, data: bytes) -> None:
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + data)


def tensor_names(header: dict) -> list[str]:
    """Tensor names in data order (``__metadata__`` aside)."""
    return sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])


# ----------------------------------------------------------------------------------------------------- outcomes


def assert_typed(error: BaseException, *words: str) -> str:
    """The outcome of a refused case: an hfmech user error (typed, with a base of the package's own) whose message
    names the problem (every one of ``words``, case-insensitive) and is not a traceback or a torch internal."""
    assert isinstance(error, HfmechError), f"{type(error).__module__}.{type(error).__name__}: {error}"
    message = str(error)
    assert message and "Traceback" not in message
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return message
