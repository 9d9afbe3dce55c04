"""The ``perception-engine`` pipeline and ``PerceptionEnsembleModel`` on tiny random-weight classifiers."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from PIL import Image
from transformers import AutoModel, pipeline

import hfmech  # noqa: F401  (registers the task and the model type)
from hfmech.errors import USER_ERRORS
from hfmech.perception import (
    DrawingParameterError,
    EnsembleConfigError,
    PerceptionEnginePipeline,
    PerceptionEnsembleConfig,
    PerceptionEnsembleModel,
    PerceptionParameterError,
    RobustnessTransforms,
    UnknownClassError,
)
from hfmech.perception.drawing import default_palette
from hfmech.vision import EfficientNetLiteConfig, EfficientNetLiteForImageClassification

NO_TRANSFORMS = RobustnessTransforms.none().to_dict()
FAST = {"steps": 6, "size": 48, "views": 2, "stop_probability": None, "resolution": None}


def _tiny(image_size: int, seed: int) -> EfficientNetLiteForImageClassification:
    torch.manual_seed(seed)
    config = EfficientNetLiteConfig(
        width_coefficient=0.25,
        depth_coefficient=0.25,
        image_size=image_size,
        head_channels=64,
        num_labels=1000,
    )
    model = EfficientNetLiteForImageClassification(config).eval()
    with (
        torch.no_grad()
    ):  # sharper logits than the default init: the target's probability responds to the input
        model.classifier.weight.mul_(40.0)
    return model


@pytest.fixture(scope="module")
def ensemble() -> PerceptionEnsembleModel:
    return PerceptionEnsembleModel.from_members(
        [_tiny(32, 0), _tiny(40, 1), _tiny(36, 2)],
        ["tiny-a", "tiny-b", "judge"],
        ["training", "training", "held_out"],
        perception_engine=FAST,
    )


@pytest.fixture(scope="module")
def saved(ensemble, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ensemble")
    ensemble.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def engine(saved):
    return pipeline("perception-engine", model=str(saved))


def test_save_and_load_round_trip(ensemble, saved):
    assert (saved / "model.safetensors").is_file()
    config = json.loads((saved / "config.json").read_text())
    assert config["model_type"] == "hfmech-perception-ensemble"
    assert config["roles"] == ["training", "training", "held_out"]
    assert [m["model_type"] for m in config["members"]] == ["hfmech-efficientnet-lite"] * 3
    loaded = AutoModel.from_pretrained(saved).eval()
    assert isinstance(loaded, PerceptionEnsembleModel)
    pixels = torch.rand(2, 3, 50, 50)
    with torch.no_grad():
        expected, got = ensemble(pixels).log_probs, loaded(pixels).log_probs
    assert got.shape == (3, 2, 1000)
    # weights exact; outputs to the last bits (CPU kernels may take alignment-dependent paths for loaded tensors)
    reference = ensemble.state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in loaded.state_dict().items())
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    assert loaded.config.perception_engine == FAST


def test_none_keeps_the_default_and_settings_replace_sets_none(saved):
    """A call's ``decay_steps=None`` means "not given" (the pipeline's setting stays); None as a value (decay over
    the whole run, the default) goes through ``pipe.settings``."""
    pipe = pipeline("perception-engine", model=str(saved))
    assert pipe.settings.decay_steps is None
    assert pipe(545, seed=0, steps=2, decay_steps=7, progress=False)["settings"]["decay_steps"] == 7
    pipe.settings = dataclasses.replace(pipe.settings, decay_steps=50)
    out = pipe(545, seed=0, steps=2, decay_steps=None, progress=False)
    assert out["settings"]["decay_steps"] == 50
    pipe.settings = dataclasses.replace(pipe.settings, decay_steps=None)
    assert pipe(545, seed=0, steps=2, progress=False)["settings"]["decay_steps"] is None


def test_members_see_their_own_size_and_normalisation(ensemble):
    pixels = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        lp = ensemble(pixels, indices=[1]).log_probs[0]
        member = ensemble.members[1]
        resized = torch.nn.functional.interpolate(pixels, size=(40, 40), mode="bilinear", antialias=True)
        mean = torch.tensor(member.config.image_mean).view(1, 3, 1, 1)
        std = torch.tensor(member.config.image_std).view(1, 3, 1, 1)
        direct = member(pixel_values=(resized - mean) / std).logits.log_softmax(-1)
    assert torch.allclose(lp, direct, atol=1e-5)


def test_pipeline_through_transformers_factory(engine):
    assert isinstance(engine, PerceptionEnginePipeline)
    out = engine("electric fan", seed=0, strokes=5, palette=3, progress=False)
    assert isinstance(out["image"], Image.Image) and out["image"].size == (48, 48)
    assert out["target"] == {"index": 545, "label": "electric fan, blower"}
    assert set(out["scores"]) == {"training", "held_out"}
    assert set(out["scores"]["training"]) == {"tiny-a", "tiny-b"} and set(out["scores"]["held_out"]) == {
        "judge"
    }
    assert all(0 < p < 1 for role in out["scores"].values() for p in role.values())
    assert set(out["ranks"]["training"]) == {"tiny-a", "tiny-b"} and set(out["ranks"]["held_out"]) == {
        "judge"
    }
    assert len(out["history"]) == out["steps"] == 6 and out["renders"] == 6
    assert len(out["drawing"]["strokes"]) == 5 and out["drawing"]["blobs"] == []
    assert out["svg"].lstrip().startswith("<?xml") and out["svg"].count("<polyline") == 5
    # the image is the drawing in exactly the 3-ink palette (plus paper and anti-aliased edges)
    inks = {s["color"] for s in out["drawing"]["strokes"]}
    assert inks <= {"#1b1b1b", "#c8102e", "#1f4e9c"}


def test_same_seed_same_drawing(engine):
    a = engine(545, seed=1, progress=False, steps=3)
    b = engine(545, seed=1, progress=False, steps=3)
    assert a["drawing"] == b["drawing"]
    assert a["image"].tobytes() == b["image"].tobytes()


@pytest.mark.parametrize("objective", ["mean-log-prob", "product"])
def test_objective_rises(engine, objective):
    out = engine(
        "hammerhead",
        seed=0,
        steps=12,
        learning_rate=0.3,
        decay_steps=100,  # ~constant lr over these 12 steps: the test is of the ascent, not of the schedule
        transforms=NO_TRANSFORMS,
        objective=objective,
        progress=False,
        strokes=6,
        blobs=2,
        init_candidates=1,  # the optimiser from one random start (the best of 16 is tested separately)
    )
    values = [h["objective"] for h in out["history"]]
    assert max(values[-3:]) > values[0] + 0.05, values
    # and the ensemble's clean probability of the target went up with it
    assert out["history"][-1]["reward"] > out["history"][0]["reward"]


def test_es_optimizer_counts_renders(engine):
    out = engine("hammerhead", seed=0, optimizer="es", steps=3, population=4, progress=False)
    assert out["renders"] == 3 * 5
    assert {"reward", "population_best"} <= set(out["history"][0])


@pytest.mark.parametrize("optimizer", ["adam", "es"])
def test_callback_sees_each_step_renders_on_demand_and_can_stop(engine, optimizer):
    from hfmech.perception.pipeline_perception_engine import PerceptionEngineOutput

    seen = []

    def stop_at_two(pipeline, step, total, state):
        seen.append((step, total, state["objective"], state["render"]()))
        pipeline.interrupt = step >= 2

    extra = {"population": 4} if optimizer == "es" else {}
    out = engine(
        "hammerhead",
        seed=0,
        steps=6,
        optimizer=optimizer,
        progress=False,
        callback_on_step_end=stop_at_two,
        **extra,
    )
    assert (
        isinstance(out, PerceptionEngineOutput) and out.interrupted is True and out.stopped == "interrupted"
    )
    assert [s[:2] for s in seen] == [(1, 6), (2, 6)] and out.steps == 2
    assert [s[2] for s in seen] == out.objective_history
    assert all(s[3].size == out.image.size for s in seen)
    with pytest.warns(FutureWarning, match="callback_on_step_end"):
        old = engine("hammerhead", seed=0, steps=2, progress=False, callback=lambda step, record: None)
    assert old.interrupted is False and old.steps == 2


def test_stop_probability_ends_early(engine):
    out = engine("hammerhead", seed=0, steps=20, stop_probability=1e-6, clean_view=False, progress=False)
    # without the clean view the clean render is checked every 5 steps
    assert out["stopped"] == "threshold" and out["steps"] == 5


def test_init_candidates_start_from_the_best_random_drawing(engine, ensemble):
    """``init_candidates=8, steps=0``: the returned drawing is the candidate with the highest mean training log p of
    the target on the clean render, among the 8 the seed draws — 4 scatter, 4 radial (``init_layout="mixed"``,
    the default) — recomputed here independently."""
    from hfmech.perception import DrawingSpec, render

    spec = DrawingSpec(num_strokes=5, palette=["#1b1b1b", "#c8102e", "#1f4e9c"])
    out = engine("hammerhead", seed=3, steps=0, init_candidates=8, strokes=5, palette=3, progress=False)
    raw = spec.initial_raw(torch.Generator().manual_seed(3), batch=8, layout="mixed")
    with torch.no_grad():
        images = render(spec.constrain(raw), 48)
        lp = ensemble(images, indices=[0, 1]).log_probs[..., 4].mean(0)  # (8,): 4 = hammerhead
    best = int(lp.argmax())
    expected = spec.constrain({k: v[best : best + 1] for k, v in raw.items()}).to_dict()
    assert out["drawing"] == expected
    # ranks: 1 + the number of classes each member (judge included) rates above the target on that drawing
    with torch.no_grad():
        every = ensemble(images[best : best + 1]).log_probs[:, 0]  # (3 members, 1000)
    ranks = [1 + int((m > m[4]).sum()) for m in every]
    assert [*out["ranks"]["training"].values(), *out["ranks"]["held_out"].values()] == ranks
    assert best != 0 or lp[0] > lp[1:].max()  # (a real choice among the candidates)


def test_clean_view_checks_the_clean_render_every_step(engine):
    out = engine("hammerhead", seed=0, steps=4, clean_view=True, progress=False)
    assert all("probability" in h for h in out["history"]) and out["renders"] == 4
    # the recorded probability is the least convinced training member on the clean render of that step's drawing
    first = engine("hammerhead", seed=0, steps=0, progress=False)
    assert out["history"][0]["probability"] == pytest.approx(
        min(first["scores"]["training"].values()), rel=1e-4
    )
    stopped = engine("hammerhead", seed=0, steps=20, clean_view=True, stop_probability=1e-6, progress=False)
    assert stopped["stopped"] == "threshold" and stopped["steps"] == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"strokes": -1}, DrawingParameterError),
        ({"strokes": 100000}, DrawingParameterError),
        ({"strokes": 0, "blobs": 0}, DrawingParameterError),
        ({"palette": 0}, DrawingParameterError),
        ({"palette": []}, DrawingParameterError),
        ({"palette": ["#zzzzzz"]}, DrawingParameterError),
        ({"background": "not a colour"}, DrawingParameterError),
        ({"size": 100000}, PerceptionParameterError),
        ({"size": 4}, PerceptionParameterError),
        ({"steps": -3}, PerceptionParameterError),
        ({"optimizer": "sgd"}, PerceptionParameterError),
        ({"objective": "max"}, PerceptionParameterError),
        ({"views": 0}, PerceptionParameterError),
        ({"population": 3, "optimizer": "es"}, PerceptionParameterError),
        ({"init_candidates": 0}, PerceptionParameterError),
        ({"init_layout": "grid"}, PerceptionParameterError),
        ({"ink_learning_rate": -1.0}, PerceptionParameterError),
        ({"clean_view": "yes"}, PerceptionParameterError),
    ],
)
def test_bad_parameters_raise_typed_user_errors(engine, kwargs, error):
    with pytest.raises(error) as info:
        engine("electric fan", progress=False, **kwargs)
    assert isinstance(info.value, USER_ERRORS)


def test_unknown_class_suggests_close_names(engine):
    with pytest.raises(UnknownClassError, match="hammerhead") as info:
        engine("hamerhead", progress=False)
    assert isinstance(info.value, USER_ERRORS)


def test_bad_ensemble_configs():
    member = _tiny(32, 0).config
    with pytest.raises(EnsembleConfigError):
        PerceptionEnsembleConfig(members=[member], member_names=["a"], roles=["judge"])
    with pytest.raises(EnsembleConfigError):
        PerceptionEnsembleConfig(members=[member], member_names=["a"], roles=["held_out"])
    with pytest.raises(EnsembleConfigError):
        PerceptionEnsembleConfig(members=[member, member], member_names=["a", "a"], roles=["training"] * 2)


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_perceive_with_a_saved_model(saved, tmp_path, capsys):
    from hfmech.cli import main

    out, svg = tmp_path / "fan.png", tmp_path / "fan.svg"
    code = main(
        ["perceive", "electric fan", "-o", str(out), "--model", str(saved), "--strokes", "4", "--steps", "2"]
        + ["--seed", "0", "--svg", str(svg), "--palette", "2", "--init-layout", "radial"]
    )
    assert code == 0
    with Image.open(out) as im:
        assert im.size == (48, 48)
    assert svg.read_text().count("<polyline") == 4
    printed = capsys.readouterr().out
    assert "electric fan" in printed and "held_out" in printed and "judge" in printed and "rank" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["perceive", "hamerhead", "-o", "{tmp}/x.png"], "did you mean"),
        (["perceive", "hammerhead", "-o", "{tmp}/x.txt"], "unknown image suffix"),
        (["perceive", "hammerhead", "-o", "{tmp}/x.png", "--svg", "{tmp}/x.png"], ".svg"),
        (["perceive", "hammerhead", "-o", "{tmp}/no/such/dir/x.png"], "does not exist"),
    ],
)
def test_cli_perceive_user_errors_before_loading(argv, message, tmp_path, capsys):
    from hfmech.cli import main

    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_perceive_out_of_range_counts(saved, tmp_path, capsys):
    from hfmech.cli import main

    code = main(
        ["perceive", "hammerhead", "-o", str(tmp_path / "x.png"), "--model", str(saved), "--strokes", "-2"]
    )
    assert code == 2
    assert "num_strokes" in capsys.readouterr().err


def test_ensemble_zoo_build_is_keyed_on_its_defaults(monkeypatch):
    """A cached ``perception-ensemble-lite`` built with other defaults (e.g. 6 inks, lr 0.05) is rebuilt, not served
    with a stale ``config.perception_engine``: the build's fingerprint is a hash of the defaults."""
    from hfmech.hub import zoo
    from hfmech.perception import zoo_ensemble

    entry = zoo.get("perception-ensemble-lite")
    before = entry.source()
    assert before == zoo_ensemble.defaults_fingerprint()
    assert zoo_ensemble.PERCEPTION_ENGINE_DEFAULTS["drawing"]["palette"] == default_palette(10)
    monkeypatch.setitem(zoo_ensemble.PERCEPTION_ENGINE_DEFAULTS, "learning_rate", 0.05)
    assert entry.source() != before
