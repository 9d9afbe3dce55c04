"""The zoo (build/resolve/push, card rendering) and the Hub round trip against the local Hub server."""

from __future__ import annotations

import json

import numpy as np
import pytest
from huggingface_hub import ModelCard
from PIL import Image
from tiny_models import TINY_DREAM_CARD
from transformers import AutoConfig, AutoModel, pipeline

import hfmech
from hfmech.dream import DeepDreamPipeline
from hfmech.hub import cards, zoo
from hfmech.hub.cards import CardTemplateError, render_card
from hfmech.vision.modeling_efficientnet_lite import (
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
)


def test_build_writes_a_hub_ready_folder_once(tiny_zoo):
    path = zoo.build("tiny-dream")
    assert {p.name for p in path.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "README.md",
        zoo.BUILD_RECORD,
    }
    card = ModelCard.load(path / "README.md")
    assert card.data.library_name == "hfmech" and "deep-dream" in card.data.tags
    assert str(sum(p.numel() for p in AutoModel.from_pretrained(path).parameters())) in card.text
    assert zoo.build("tiny-dream") == path and len(tiny_zoo) == 1  # cached
    zoo.build("tiny-dream", force=True)
    assert len(tiny_zoo) == 2
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no staging left behind
    assert json.loads((path / zoo.BUILD_RECORD).read_text())["task"] == "deep-dream"


def test_failed_build_leaves_previous_build_intact(tiny_zoo, monkeypatch):
    path = zoo.build("tiny-dream")
    before = (path / "model.safetensors").read_bytes()

    def broken(out_dir):
        (out_dir / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("upstream download died")

    monkeypatch.setitem(
        zoo._ZOO,
        "tiny-dream",
        zoo._ZOO["tiny-dream"].__class__(**{**zoo._ZOO["tiny-dream"].__dict__, "builder": broken}),
    )
    with pytest.raises(RuntimeError):
        zoo.build("tiny-dream", force=True)
    assert (path / "model.safetensors").read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]


def test_changed_source_fingerprint_rebuilds(tiny_zoo, tmp_path, monkeypatch):
    """An entry built from weights shipped in the package is rebuilt when those weights change (a new release)."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "model.safetensors").write_bytes(b"weights v1")
    entry = zoo._ZOO["tiny-dream"]
    monkeypatch.setitem(
        zoo._ZOO,
        "tiny-dream",
        entry.__class__(**{**entry.__dict__, "source": lambda: zoo.files_fingerprint(shipped)}),
    )
    path = zoo.build("tiny-dream")
    recorded = json.loads((path / zoo.BUILD_RECORD).read_text())["source"]
    assert recorded == zoo.files_fingerprint(shipped) and len(tiny_zoo) == 1
    assert zoo.build("tiny-dream") == path and len(tiny_zoo) == 1  # same weights: cached
    (shipped / "model.safetensors").write_bytes(b"weights v2")
    assert not zoo.is_built("tiny-dream")
    zoo.build("tiny-dream")
    assert len(tiny_zoo) == 2 and zoo.is_built("tiny-dream")


def test_resolve_and_unknown_names(tiny_zoo, tmp_path):
    assert zoo.resolve("tiny-dream") == str(zoo.build("tiny-dream"))
    assert zoo.resolve("some-org/some-model") == "some-org/some-model"
    assert zoo.resolve(str(tmp_path)) == str(tmp_path)
    with pytest.raises(zoo.ZooError, match="efficientnet-lite0-imagenet"):
        zoo.build("no-such-model")


def test_real_zoo_entries_are_registered():
    assert {"efficientnet-lite0-imagenet", "efficientnet-lite2-imagenet"} <= set(zoo.names())
    for name in ("efficientnet-lite0-imagenet", "efficientnet-lite2-imagenet"):
        entry = zoo.get(name)
        assert entry.task == "deep-dream" and entry.requires
        # every shipped card template parses and declares the Hub metadata
        text = (cards.card_template_dir() / entry.card).read_text()
        assert "library_name: hfmech" in text and "pipeline_tag:" in text and "license:" in text


def test_card_placeholders_must_be_filled(tmp_path, monkeypatch):
    (tmp_path / "c.md").write_text(TINY_DREAM_CARD)
    monkeypatch.setattr(cards, "card_template_dir", lambda: tmp_path)
    with pytest.raises(CardTemplateError, match="num_parameters"):
        render_card("c.md", {})
    (tmp_path / "bad.md").write_text("no yaml here {{ x }}")
    with pytest.raises(CardTemplateError):
        render_card("bad.md", {"x": 1})


def test_auto_classes_know_hfmech_models():
    config = AutoConfig.for_model("hfmech-efficientnet-lite", width_coefficient=0.25, depth_coefficient=0.5)
    assert isinstance(config, EfficientNetLiteConfig)
    assert isinstance(AutoModel.from_config(config), EfficientNetLiteForImageClassification)


def test_push_then_pipeline_from_hub_id_dreams(tiny_zoo, local_hub):
    """build → push to the local Hub → pipeline("deep-dream", model="org/name") downloads and dreams."""
    url = zoo.push("tiny-dream", "hfmech-test/tiny-dream", token="hf_test")
    assert "hfmech-test/tiny-dream" in url
    pipe = pipeline("deep-dream", model="hfmech-test/tiny-dream")
    assert isinstance(pipe, DeepDreamPipeline) and hfmech.TASKS["deep-dream"] is DeepDreamPipeline
    image = Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8))
    out = pipe(image, octaves=2, steps=3, seed=0, progress=False)
    assert out["objective"] == "L2(stage3)"  # the default layer came from the pushed config
    assert out["objective_end"] > out["objective_start"]
    card = ModelCard.load("hfmech-test/tiny-dream")
    assert card.data.library_name == "hfmech"
