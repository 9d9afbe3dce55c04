"""Audio style transfer (Ulyanov & Lebedev 2016) on tiny random-conv models: the kernel, the losses, the pipeline.

The tiny model keeps the paper's structure (log1p STFT, one random Conv1d of width 11 + ReLU, Gram style loss,
L-BFGS, Griffin-Lim) at 8 kHz with n_fft 256 and 128 filters, so a transfer takes about a second.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModel, pipeline

import hfmech  # noqa: F401  (registers the task and the model type)
from hfmech.errors import USER_ERRORS, SeedError
from hfmech.hub import render_card, zoo
from hfmech.style import demo_sounds
from hfmech.style.audio import AudioSilentError, AudioTooLongError, AudioTooShortError, save_audio_atomic
from hfmech.style.modeling_random_audio_conv import (
    RandomAudioConvConfig,
    RandomAudioConvModel,
    build_random_audio_conv,
    kernel_std,
)
from hfmech.style.pipeline_audio_style_transfer import (
    AudioStyleParameterError,
    AudioStyleTransferPipeline,
    content_loss,
    gram_matrix,
    style_loss,
)

SR = 8000
TINY = dict(sampling_rate=SR, n_fft=256, hop_length=64, n_filters=128, kernel_width=11, seed=0)
FAST = {"griffin_lim_iters": 20, "progress": False}


@pytest.fixture(scope="module")
def model() -> RandomAudioConvModel:
    return RandomAudioConvModel(RandomAudioConvConfig(**TINY))


@pytest.fixture(scope="module")
def pipe(model) -> AudioStyleTransferPipeline:
    return AudioStyleTransferPipeline(model=model)


@pytest.fixture(scope="module")
def sounds():
    return {
        "content": (demo_sounds.melody(1.5, sr=SR), SR),
        "style": (demo_sounds.rain(1.5, sr=SR), SR),
    }


def features(model, spectrogram) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.as_tensor(spectrogram)[None])


# ------------------------------------------------------------------------------------------------------ the model
def test_kernel_is_the_notebooks_numpy_draw(model):
    c = model.config
    std = np.sqrt(2) * np.sqrt(2.0 / ((c.n_freq + c.n_filters) * c.kernel_width))  # the notebook's formula
    assert kernel_std(c.n_freq, c.n_filters, c.kernel_width) == pytest.approx(std)
    kernel = np.random.RandomState(c.seed).randn(1, c.kernel_width, c.n_freq, c.n_filters) * std
    expected = torch.from_numpy(kernel[0].astype(np.float32)).permute(2, 1, 0)
    assert model.conv.weight.shape == (c.n_filters, c.n_freq, c.kernel_width) and model.conv.bias is None
    assert torch.equal(model.conv.weight, expected)


def test_forward_is_tf_valid_conv_plus_relu(model):
    """out[f, t] = relu(Σ_k Σ_c kernel[0, k, c, f] · x[c, t + k]) — tf.nn.conv2d(..., padding="VALID") + relu."""
    c = model.config
    x = torch.rand(1, c.n_freq, 20)
    out = model(x)
    assert out.shape == (1, c.n_filters, 20 - c.kernel_width + 1)
    tf_kernel = model.conv.weight.permute(2, 1, 0)  # back to [width, in, out]
    windows = x[0].unfold(1, c.kernel_width, 1)  # (in, t, width)
    manual = torch.relu(torch.einsum("ctk,kcf->ft", windows, tf_kernel))
    assert torch.allclose(out[0], manual, atol=1e-5)
    assert out.min() >= 0 and (out == 0).any() and (out > 0).any()
    with pytest.raises(ValueError, match="frequency channels"):
        model(torch.rand(1, c.n_freq + 1, 20))


def test_other_filter_counts_draw_their_own_kernel(model):
    small = model.kernel(16)
    assert small.shape == (16, model.config.n_freq, model.config.kernel_width)
    assert model.kernel(16) is small  # cached
    fresh = RandomAudioConvModel(RandomAudioConvConfig(**{**TINY, "n_filters": 16}))
    assert torch.equal(small, fresh.conv.weight)
    assert model(torch.rand(1, model.config.n_freq, 15), n_filters=16).shape == (1, 16, 5)
    with pytest.raises(ValueError):
        model.kernel(0)


def test_config_only_repo_round_trip(tmp_path, model):
    values = build_random_audio_conv(tmp_path, **TINY)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["config.json", "model.safetensors"]
    assert (tmp_path / "model.safetensors").stat().st_size < 1024  # only the fingerprint, never the kernel
    config = json.loads((tmp_path / "config.json").read_text())
    assert (
        config["model_type"] == "hfmech-random-audio-conv" and config["audio_style_transfer"]["steps"] == 300
    )
    assert isinstance(AutoConfig.from_pretrained(tmp_path), RandomAudioConvConfig)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, RandomAudioConvModel)
    assert torch.equal(loaded.conv.weight, model.conv.weight)  # regenerated from the seed
    assert loaded.verify_kernel()
    # a different seed regenerates a different kernel, and the saved fingerprint notices
    config["seed"] = 1
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert not AutoModel.from_pretrained(tmp_path).verify_kernel()
    # the card template renders with the builder's values
    card = render_card("random-audio-conv.md", values)
    assert "Ulyanov" in card and str(values["num_parameters"]) in card


def test_zoo_entry_is_registered():
    entry = zoo.get("random-audio-conv")
    assert entry.task == "audio-style-transfer" and entry.requires == []


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_filters"):
        RandomAudioConvConfig(n_filters=0)
    with pytest.raises(ValueError, match="hop_length"):
        RandomAudioConvConfig(n_fft=256, hop_length=512)


# ----------------------------------------------------------------------------------------------------- the losses
def test_losses_are_the_notebooks_formulas():
    rng = np.random.default_rng(0)
    a, b = rng.random((1, 6, 9)), rng.random((1, 6, 9))
    n_frames = 19
    gram_a = a[0] @ a[0].T / n_frames
    gram_b = b[0] @ b[0].T / n_frames
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    assert np.allclose(gram_matrix(ta, n_frames).numpy(), gram_a)
    # 2 * tf.nn.l2_loss(gram - style_gram) == sum of squares
    assert float(style_loss(ta, n_frames, torch.from_numpy(gram_b))) == pytest.approx(
        ((gram_a - gram_b) ** 2).sum()
    )
    assert float(content_loss(ta, tb)) == pytest.approx(((a - b) ** 2).sum())


# --------------------------------------------------------------------------------------------------- the pipeline
def test_transfer_moves_style_statistics_and_keeps_content(pipe, model, sounds):
    """Paper weights (content_weight 1e-2): the style loss falls by a large factor, the Gram statistics land much
    nearer the style's than the content's are, and the content term holds the output nearer the content than a
    pure texture synthesis (content_weight 0) from the same start."""
    out = pipe(sounds["content"], style=sounds["style"], steps=60, seed=0, return_spectrograms=True, **FAST)
    texture = pipe(sounds["content"], style=sounds["style"], steps=60, content_weight=0.0, seed=0,
                   return_spectrograms=True, **FAST)  # fmt: skip
    a_out, a_content, a_style = (
        features(model, out[k]) for k in ("spectrogram", "content_spectrogram", "style_spectrogram")
    )
    a_texture = features(model, texture["spectrogram"])
    n_frames, n_style = out["spectrogram"].shape[-1], out["style_spectrogram"].shape[-1]
    g_out, g_content, g_style = (
        gram_matrix(a_out, n_frames),
        gram_matrix(a_content, n_frames),
        gram_matrix(a_style, n_style),
    )

    start, end = out["style_loss_start"], out["style_loss"]
    assert end < start / 20  # measured: ≈ 63×
    assert torch.linalg.norm(g_out - g_style) < 0.2 * torch.linalg.norm(
        g_content - g_style
    )  # measured ≈ 0.10
    assert torch.linalg.norm(a_out - a_content) < 0.85 * torch.linalg.norm(a_texture - a_content)  # ≈ 0.72
    assert out["content_loss"] < out["content_loss_start"]

    history = out["loss_history"]
    assert len(history) > 10 and history[-1] < history[0] / 10
    assert np.all(np.isfinite(history))


def test_a_larger_content_weight_stays_nearer_the_content_than_the_style(pipe, model, sounds):
    out = pipe(sounds["content"], style=sounds["style"], steps=60, content_weight=0.1, seed=0,
               return_spectrograms=True, **FAST)  # fmt: skip
    a_out, a_content, a_style = (
        features(model, out[k]) for k in ("spectrogram", "content_spectrogram", "style_spectrogram")
    )
    n = out["spectrogram"].shape[-1]
    assert torch.linalg.norm(a_out - a_content) < 0.75 * torch.linalg.norm(
        a_out - a_style
    )  # measured 42 vs 69
    # ... and its style statistics still moved toward the style
    g_style = gram_matrix(a_style, out["style_spectrogram"].shape[-1])
    assert torch.linalg.norm(gram_matrix(a_out, n) - g_style) < 0.6 * torch.linalg.norm(
        gram_matrix(a_content, n) - g_style
    )


def test_output_audio_and_determinism(pipe, sounds):
    content, _ = sounds["content"]
    a = pipe(sounds["content"], style=sounds["style"], steps=5, seed=3, **FAST)
    b = pipe(sounds["content"], style=sounds["style"], steps=5, seed=3, **FAST)
    assert a["sampling_rate"] == SR and a["audio"].dtype == np.float32
    assert a["audio"].shape == content.shape  # the content's length
    assert np.array_equal(a["audio"], b["audio"]) and a["loss_history"] == b["loss_history"]
    assert 0 < np.max(np.abs(a["audio"])) <= 0.99 + 1e-6
    assert np.all(np.isfinite(a["audio"]))


def test_callback_sees_each_evaluation_and_can_stop(pipe, sounds):
    from hfmech.style.pipeline_audio_style_transfer import AudioStyleTransferOutput

    seen = []

    def stop_at_three(pipeline, step, total, state):
        seen.append((step, total, state["loss"]))
        pipeline.interrupt = step >= 3

    out = pipe(
        sounds["content"], style=sounds["style"], steps=5, seed=3, callback_on_step_end=stop_at_three, **FAST
    )
    assert isinstance(out, AudioStyleTransferOutput) and out.interrupted is True
    assert [s[0] for s in seen] == [1, 2, 3] and {s[1] for s in seen} == {10}
    assert [s[2] for s in seen] == out.loss_history
    assert out.audio.shape == sounds["content"][0].shape and np.all(np.isfinite(out.audio))


def test_styles_of_another_length_and_rate_work(pipe, sounds):
    style_44k = (demo_sounds.drums(0.7, sr=44100), 44100)  # resampled to 8 kHz, shorter than the content
    out = pipe(sounds["content"], style=style_44k, steps=5, seed=0, **FAST)
    assert out["audio"].shape == sounds["content"][0].shape
    assert out["style_loss"] < out["style_loss_start"]


def test_zero_steps_and_content_init(pipe, sounds):
    out = pipe(sounds["content"], style=sounds["style"], steps=0, init="content", seed=0, **FAST)
    assert out["loss_history"] == [] and out["content_loss"] == pytest.approx(0.0, abs=1e-6)


def test_task_factory_and_file_inputs(tmp_path, sounds):
    build_random_audio_conv(tmp_path / "model", **TINY)
    pipe = pipeline("audio-style-transfer", model=str(tmp_path / "model"))
    assert isinstance(pipe, AudioStyleTransferPipeline)
    content = save_audio_atomic(sounds["content"][0], SR, tmp_path / "content.flac")
    style = save_audio_atomic(*sounds["style"], tmp_path / "style.wav")
    out = pipe(str(content), style=style, steps=3, seed=0, **FAST)
    assert len(out["audio"]) == len(sounds["content"][0])
    assert pipe.settings.steps == 300 and pipe.settings.content_weight == 1e-2  # the repo's defaults


# ------------------------------------------------------------------------------------------------ bad parameters
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": -1}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"content_weight": -1.0}, "content_weight"),
        ({"content_weight": math.nan}, "content_weight"),
        ({"n_filters": 0}, "n_filters"),
        ({"init": "zeros"}, "init"),
        ({"griffin_lim_momentum": 1.0}, "momentum"),
        ({"max_seconds": 0}, "max_seconds"),
        ({"on_too_long": "drop"}, "on_too_long"),
    ],
)
def test_bad_parameters_are_typed_errors(pipe, sounds, kwargs, match):
    with pytest.raises(AudioStyleParameterError, match=match):
        pipe(sounds["content"], style=sounds["style"], **kwargs)
    assert issubclass(AudioStyleParameterError, USER_ERRORS)


@pytest.mark.parametrize("seed", ["x", -1, 2**70, 1.5, True])
def test_bad_seeds_are_seed_errors(pipe, sounds, seed):
    with pytest.raises(SeedError, match="seed"):
        pipe(sounds["content"], style=sounds["style"], seed=seed)


def test_init_content_runs_and_starts_at_the_content(pipe, sounds):
    # the content spectrogram is a non-contiguous view: L-BFGS's grad.view(-1) failed on its clone
    out = pipe(sounds["content"], style=sounds["style"], init="content", steps=2, seed=0, **FAST)
    assert np.isfinite(out["audio"]).all() and len(out["audio"]) == len(sounds["content"][0])
    assert out["content_loss_start"] == 0.0  # the first evaluation is at the content itself


def test_missing_style(pipe, sounds):
    with pytest.raises(AudioStyleParameterError, match="style"):
        pipe(sounds["content"])


def test_bad_audio_reaches_the_user_as_typed_errors(pipe, sounds, tmp_path):
    min_samples = pipe.model.config.min_samples  # one full window and kernel_width frames
    assert min_samples == max(256, 10 * 64)
    with pytest.raises(AudioTooShortError):
        pipe((sounds["content"][0][: min_samples - 1], SR), style=sounds["style"], **FAST)
    with pytest.raises(AudioSilentError):
        pipe(sounds["content"], style=(np.zeros(SR, np.float32), SR), **FAST)
    with pytest.raises(AudioTooLongError):
        pipe(sounds["content"], style=sounds["style"], max_seconds=1.0, **FAST)
    out = pipe(
        sounds["content"], style=sounds["style"], max_seconds=1.0, on_too_long="truncate", steps=2, **FAST
    )
    assert len(out["audio"]) == SR
    with pytest.raises(FileNotFoundError):
        pipe(str(tmp_path / "missing.wav"), style=sounds["style"], **FAST)
