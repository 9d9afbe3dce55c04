"""The shared pipeline plumbing (hfmech.hub.pipelines): every task's pipeline is model-only, and every settings
dataclass reads its defaults from the config, ignores unknown keys, keeps defaults for ``None`` and validates."""

from dataclasses import asdict
from types import SimpleNamespace

import pytest

import hfmech
from hfmech.dream.pipeline_deep_dream import DreamParameterError, DreamSettings
from hfmech.hub.pipelines import ConfigSettings, ModelOnlyPipeline
from hfmech.perception.pipeline_perception_engine import PerceptionEngineSettings, PerceptionParameterError
from hfmech.style.pipeline_audio_style_transfer import AudioStyleParameterError, AudioStyleSettings
from hfmech.style.pipeline_style_transfer import StyleParameterError, StyleSettings

SETTINGS = [
    (DreamSettings, "deep_dream", {"octaves": 0}, DreamParameterError),
    (StyleSettings, "style_transfer", {"lbfgs_history": 0}, StyleParameterError),
    (AudioStyleSettings, "audio_style_transfer", {"steps": -1}, AudioStyleParameterError),
    (PerceptionEngineSettings, "perception_engine", {"views": 0}, PerceptionParameterError),
]


def test_every_task_pipeline_is_model_only():
    from transformers.pipelines import PIPELINE_REGISTRY

    for task in hfmech.TASKS:
        pipeline_class = PIPELINE_REGISTRY.check_task(task)[1]["impl"]
        assert issubclass(pipeline_class, ModelOnlyPipeline), task
        for loader in ("tokenizer", "image_processor", "feature_extractor", "processor", "video_processor"):
            assert getattr(pipeline_class, f"_load_{loader}") is False, (task, loader)


@pytest.mark.parametrize(("cls", "key", "bad", "error"), SETTINGS, ids=[s[1] for s in SETTINGS])
def test_settings_from_config_and_updated(cls, key, bad, error):
    assert issubclass(cls, ConfigSettings) and cls.config_key == key
    defaults = cls()
    stored = asdict(defaults)
    name, value = next((k, v) for k, v in stored.items() if isinstance(v, int) and not isinstance(v, bool))
    stored[name] = value + 1
    config = SimpleNamespace(**{key: {**stored, "a_key_from_a_newer_version": 1}})
    loaded = cls.from_config(config)
    assert getattr(loaded, name) == value + 1  # the stored default is used ...
    assert cls.from_config(SimpleNamespace()) == defaults  # ... and nothing stored means the class defaults
    # None keeps the default, a value replaces it, the original is not modified
    assert loaded.updated(**{name: None}) == loaded
    assert getattr(loaded.updated(**{name: value}), name) == value
    assert getattr(loaded, name) == value + 1
    with pytest.raises(error):
        defaults.updated(**bad)


def test_perception_nested_settings_merge_key_by_key():
    base = PerceptionEngineSettings().updated(drawing={"num_strokes": 8, "num_blobs": 2})
    merged = base.updated(drawing={"num_blobs": 0})
    assert merged.drawing == {"num_strokes": 8, "num_blobs": 0}


def test_style_aliases_from_the_cli_and_space():
    settings = StyleSettings().updated(keep_colors=True, line_search="none")
    assert settings.keep_colors == "luminance" and settings.line_search is None
    assert StyleSettings().updated(keep_colors="none").keep_colors is None
