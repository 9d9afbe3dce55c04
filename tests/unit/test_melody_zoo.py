"""The committed zoo model ``musicvae-mel2bar-folk``: built from the weights in the package, it reconstructs held-out
tunes better than the "always hold" baseline, interpolates, and its attribute vectors are stored and non-zero."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hfmech.melody.data import NO_EVENT
from hfmech.melody.pipeline_melody_vae import MelodyVAEPipeline, melody_windows
from hfmech.melody.zoo_music_vae import WEIGHTS_DIR

pytestmark = pytest.mark.skipif(
    not (WEIGHTS_DIR / "model.safetensors").is_file(), reason="weights not present"
)


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    from transformers import pipeline

    from hfmech.hub import zoo

    torch.set_num_threads(1)
    return pipeline("melody-vae", model=str(zoo.build("musicvae-mel2bar-folk")))


def held_out_tunes() -> list[np.ndarray]:
    return [np.asarray(e["events"]) for e in json.loads((WEIGHTS_DIR / "examples.json").read_text())]


def test_weights_fit_the_budget_and_record_their_training():
    assert (WEIGHTS_DIR / "model.safetensors").stat().st_size < 6 * 1024 * 1024
    info = json.loads((WEIGHTS_DIR / "training.json").read_text())
    assert info["steps"] > 0 and info["data"]["heldout_windows"] > 0
    assert info["heldout"]["teacher_forced_accuracy"] > 0.6


def test_reconstructs_held_out_tunes_better_than_holding(pipe):
    assert isinstance(pipe, MelodyVAEPipeline)
    accuracies, baselines = [], []
    for events in held_out_tunes():
        out = pipe(events, greedy=True)
        accuracies.append(out.accuracy)
        classes = melody_windows(events)
        baselines.append(float((classes == 0).mean()))  # predict "no event" everywhere
    assert np.mean(accuracies) > np.mean(baselines) + 0.05, (np.mean(accuracies), np.mean(baselines))


def test_interpolates_two_tunes(pipe):
    a, b = held_out_tunes()[:2]
    path = pipe.interpolate(a, b, steps=5, greedy=True)
    assert len(path) == 5 and all(p.shape == (32,) for p in path)
    assert any(np.any(p != NO_EVENT) for p in path)


def test_attribute_vectors_are_stored(pipe):
    for name in pipe.model.config.attribute_names:
        v = pipe.attribute_vector(name)
        assert v.shape == (pipe.model.config.z_size,) and float(v.norm()) > 0
