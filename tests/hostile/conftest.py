"""The hostile corpus's shared pieces: tiny random-weight model folders (saved once per session), copies to tamper
with, and the one outcome check every case ends in.

Nothing binary is committed: every model, image, sound and corrupt file is made at test time.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import hfmech  # noqa: F401  (registers the model types and tasks)
from hfmech.errors import HfmechError

# ------------------------------------------------------------------------------------------------- tiny models


def tiny_effnet(num_labels: int = 10, image_size: int = 32, seed: int = 0):
    from hfmech.vision.modeling_efficientnet_lite import (
        EfficientNetLiteConfig,
        EfficientNetLiteForImageClassification,
    )

    torch.manual_seed(seed)
    config = EfficientNetLiteConfig(
        width_coefficient=0.25,
        depth_coefficient=0.25,
        image_size=image_size,
        head_channels=64,
        num_labels=num_labels,
        deep_dream={"layer": "stage3", "tile_size": None, "octaves": 1, "steps": 1},
    )
    return EfficientNetLiteForImageClassification(config).eval()


def tiny_vgg():
    from hfmech.style.random_networks import random_vgg_config
    from hfmech.vision.modeling_vgg import random_vgg

    return random_vgg(random_vgg_config(seed=0, block_channels=[4, 8, 8, 16, 16]))


AUDIO_SR = 8000
AUDIO_CONFIG = dict(sampling_rate=AUDIO_SR, n_fft=256, hop_length=64, n_filters=64, kernel_width=11, seed=0)


def tiny_audio():
    from hfmech.style.modeling_random_audio_conv import RandomAudioConvConfig, RandomAudioConvModel

    return RandomAudioConvModel(RandomAudioConvConfig(**AUDIO_CONFIG))


WORDS = ["the", "man", "woman", "king", "queen", "apple", "prince", "princess"] + [f"w{i}" for i in range(40)]


def tiny_word_vectors():
    from hfmech.analogy.modeling_word_vectors import WordVectorsModel

    rng = np.random.default_rng(0)
    return WordVectorsModel.from_arrays(WORDS, None, rng.standard_normal((len(WORDS), 8)).astype(np.float32))


PERCEPTION_FAST = {"steps": 2, "size": 32, "views": 1, "stop_probability": None, "resolution": None}


def tiny_ensemble():
    from hfmech.perception import PerceptionEnsembleModel

    members = [tiny_effnet(1000, 32, seed=0), tiny_effnet(1000, 32, seed=1)]
    return PerceptionEnsembleModel.from_members(
        members, ["tiny-a", "judge"], ["training", "held_out"], perception_engine=PERCEPTION_FAST
    )


def tiny_mlstm():
    from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM

    torch.manual_seed(0)
    config = MLSTMConfig(
        hidden_size=16,
        sentiment_unit=3,
        polarity=1,
        threshold=0.0,
        sentiment_neuron={"unit_accuracy": 0.75, "measured_on": "a test set"},
    )
    return MLSTMForByteLM(config).eval()


def tiny_sketch_rnn():
    from hfmech.sketch.modeling_sketch_rnn import SketchRNNConfig, SketchRNNModel

    torch.manual_seed(0)
    config = SketchRNNConfig.from_preset(
        "cpu-small", enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3, max_seq_len=40
    )
    config.scale_factor = 1.0
    return SketchRNNModel(config).eval()


def tiny_music_vae():
    from hfmech.melody.modeling_music_vae import MusicVAEConfig, MusicVAEModel

    torch.manual_seed(0)
    return MusicVAEModel(
        MusicVAEConfig(enc_rnn_size=[16], dec_rnn_size=[16, 16], z_size=8, batch_size=8)
    ).eval()


#: task -> builder; each is saved once per session and copied for every tampered case.
KINDS = {
    "deep-dream": tiny_effnet,
    "style-transfer": tiny_vgg,
    "audio-style-transfer": tiny_audio,
    "word-analogy": tiny_word_vectors,
    "perception-engine": tiny_ensemble,
    "sentiment-neuron": tiny_mlstm,
    "sketch-vae": tiny_sketch_rnn,
    "melody-vae": tiny_music_vae,
}


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
