"""The zoo repo ``random-audio-conv`` at the paper's size (4096 filters × 1025 bins × width 11): built, reloaded
through transformers, its regenerated kernel checked against the saved fingerprint, and one short transfer run.

The "weights" are a seeded random draw, so nothing is downloaded; the test is an integration test because the
46 M-parameter kernel makes it slow (tens of seconds on 2 CPU cores).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import pipeline

import hfmech
from hfmech.style import demo_sounds
from hfmech.style.modeling_random_audio_conv import RandomAudioConvModel, kernel_std

pytestmark = pytest.mark.integration
SR = 22050


@pytest.fixture(scope="module")
def pipe():
    folder = hfmech.zoo.build("random-audio-conv")
    return pipeline("audio-style-transfer", model=str(folder))


def test_zoo_repo_is_config_only_and_regenerates_the_paper_kernel(pipe):
    folder = hfmech.zoo.build("random-audio-conv")
    assert (folder / "model.safetensors").stat().st_size < 1024
    model = pipe.model
    assert isinstance(model, RandomAudioConvModel)
    c = model.config
    assert (c.n_freq, c.n_filters, c.kernel_width, c.n_fft, c.hop_length, c.sampling_rate) == (
        1025, 4096, 11, 2048, 512, 22050,
    )  # fmt: skip
    assert model.verify_kernel()
    std = float(model.conv.weight.double().std())
    assert std == pytest.approx(kernel_std(1025, 4096, 11), rel=1e-3)
    assert "Ulyanov" in (folder / "README.md").read_text()


def test_short_transfer_at_paper_scale(pipe):
    content = (demo_sounds.melody(1.0), SR)
    style = (demo_sounds.drums(1.0), SR)
    out = pipe(content, style=style, steps=15, griffin_lim_iters=30, seed=0, progress=False)
    start, end = out["style_loss_start"], out["style_loss"]
    assert end < start / 3
    assert out["audio"].shape == (SR,) and np.all(np.isfinite(out["audio"]))
    assert out["sampling_rate"] == SR
    assert torch.get_num_threads() >= 1
