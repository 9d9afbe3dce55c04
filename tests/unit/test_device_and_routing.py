"""Two promises every pipeline keeps: it honours ``device=`` (here: the CPU, given three ways), and its settings are
spelled once — a call's keywords are routed by the settings dataclass (``ModelOnlyPipeline.call_settings``), so a
new setting is one dataclass field and nothing else."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_models import AUDIO_SR, KINDS, PERCEPTION_FAST
from transformers import pipeline

import hfmech
from hfmech.dream.pipeline_deep_dream import DeepDreamPipeline, DreamSettings
from hfmech.hub.pipelines import ModelOnlyPipeline, PipelineArgumentError
from hfmech.perception.drawing import default_palette
from hfmech.perception.pipeline_perception_engine import PerceptionEnginePipeline, PerceptionEngineSettings
from hfmech.style.pipeline_audio_style_transfer import AudioStyleTransferPipeline
from hfmech.style.pipeline_style_transfer import StyleTransferPipeline


def _image(seed: int, size: int = 32) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def _tone(hz: float) -> tuple[np.ndarray, int]:
    t = np.arange(AUDIO_SR // 2) / AUDIO_SR
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32), AUDIO_SR


def _melody() -> np.ndarray:
    events = np.full(32, -2, dtype=np.int64)
    events[::4] = 60 + np.arange(8)
    return events


def _drawing() -> np.ndarray:
    drawing = np.zeros((30, 3), dtype=np.float32)
    drawing[:, :2] = np.random.default_rng(0).normal(size=(30, 2))
    drawing[14, 2] = 1
    return drawing


#: the smallest real request of every task: (input, keyword arguments)
REQUESTS = {
    "deep-dream": (_image(0), {"octaves": 1, "steps": 1, "seed": 0}),
    "style-transfer": (_image(0), {"style": _image(1), "steps": 1, "size": 32, "seed": 0, "progress": False}),
    "audio-style-transfer": (
        _tone(220),
        {"style": _tone(330), "steps": 1, "griffin_lim_iters": 2, "seed": 0},
    ),
    "word-analogy": ("man:king::woman:?", {}),
    "perception-engine": ("hammerhead", {**PERCEPTION_FAST, "steps": 1, "init_candidates": 1, "seed": 0}),
    "sentiment-neuron": ("A fine film.", {}),
    "sketch-vae": (_drawing(), {"seed": 0}),
    "melody-vae": (_melody(), {"seed": 0}),
}


def test_every_task_has_a_request():
    assert set(REQUESTS) == set(KINDS) == set(hfmech.TASKS)


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), -1], ids=["str", "torch.device", "-1"])
@pytest.mark.parametrize("task", sorted(KINDS))
def test_every_pipeline_honours_device(task, device):
    model = KINDS[task]()
    pipe = pipeline(task, model=model, device=device)
    assert pipe.device == torch.device("cpu")
    assert all(p.device == pipe.device for p in pipe.model.parameters())
    inputs, kwargs = REQUESTS[task]
    out = pipe(inputs, **kwargs)
    assert out is not None and len(out) > 0


# ---------------------------------------------------------------------------------------------- settings, spelled once
SETTINGS_PIPELINES = [
    DeepDreamPipeline,
    StyleTransferPipeline,
    AudioStyleTransferPipeline,
    PerceptionEnginePipeline,
]


def test_the_pipelines_with_settings_are_all_here():
    from transformers.pipelines import PIPELINE_REGISTRY

    with_settings = {
        PIPELINE_REGISTRY.check_task(task)[1]["impl"]
        for task in hfmech.TASKS
        if PIPELINE_REGISTRY.check_task(task)[1]["impl"].settings_class is not None
    }
    assert with_settings == set(SETTINGS_PIPELINES)


@pytest.mark.parametrize("cls", SETTINGS_PIPELINES, ids=lambda c: c.__name__)
def test_no_setting_is_a_named_parameter_of_the_call(cls):
    """``_sanitize_parameters`` names only the pipeline's own arguments; every setting reaches it through ``**``."""
    assert issubclass(cls, ModelOnlyPipeline)
    parameters = inspect.signature(cls._sanitize_parameters).parameters
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = set(parameters) - {"self"}
    assert not named & set(cls.settings_class.call_names()), named & set(cls.settings_class.call_names())


@pytest.mark.parametrize(
    "task", ["deep-dream", "style-transfer", "audio-style-transfer", "perception-engine"]
)
def test_an_unknown_keyword_is_a_typed_error_naming_it(task):
    pipe = pipeline(task, model=KINDS[task]())
    inputs, kwargs = REQUESTS[task]
    with pytest.raises(PipelineArgumentError, match="tv_wieght") as caught:
        pipe(inputs, **kwargs, tv_wieght=1.0)
    assert "its settings are" in str(caught.value)


def test_every_field_is_routed_without_being_named():
    """Each field of DreamSettings (less the stored-only ones) given to a call lands in that call's settings."""
    pipe = DeepDreamPipeline(model=KINDS["deep-dream"]())
    for name in DreamSettings.call_names():
        value = getattr(pipe.settings, name)
        if not isinstance(value, int) or isinstance(value, bool) or name in ("max_pixels",):
            continue
        changed = value + 1
        _, forward, _ = pipe._sanitize_parameters(**{name: changed})
        assert getattr(forward["settings"], name) == changed, name
    with pytest.raises(PipelineArgumentError, match="presets"):
        pipe._sanitize_parameters(presets={})  # stored with the model, not a call's setting


def test_settings_given_when_the_pipeline_is_made_are_its_defaults():
    pipe = pipeline("deep-dream", model=KINDS["deep-dream"](), steps=3, octaves=2)
    assert (pipe.settings.steps, pipe.settings.octaves) == (3, 2)
    _, forward, _ = pipe._sanitize_parameters(octaves=1)
    assert (forward["settings"].steps, forward["settings"].octaves) == (3, 1)


def test_perception_shorthands_fill_the_drawing():
    settings = PerceptionEngineSettings().updated(
        strokes=8, blobs=2, palette=3, drawing={"points_per_stroke": 3}
    )
    assert settings.drawing == {
        "num_strokes": 8,
        "num_blobs": 2,
        "palette": default_palette(3),
        "points_per_stroke": 3,
    }
    assert set(PerceptionEngineSettings.call_aliases) <= set(PerceptionEngineSettings.call_names())


def test_perception_cli_flags_come_from_the_settings():
    import argparse

    from hfmech.hub.cli import settings_from_args
    from hfmech.perception.cli import SETTINGS_HELP, add_commands

    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["perceive", "fan", "-o", "x.png", "--strokes", "7", "--learning-rate", "0.05"])
    assert settings_from_args(args, PerceptionEngineSettings) == {"strokes": 7, "learning_rate": 0.05}
    assert set(SETTINGS_HELP) <= set(PerceptionEngineSettings.call_names())
