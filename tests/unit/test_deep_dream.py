"""DeepDream pipeline, objectives, gradients and feature visualisation on tiny random-weight models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    ConvNextConfig,
    ConvNextForImageClassification,
    ResNetConfig,
    ResNetForImageClassification,
    pipeline,
)

import hfmech
from hfmech.dream import DeepDreamPipeline, DreamParameterError, objectives
from hfmech.dream.gradients import (
    laplacian_merge,
    laplacian_split,
    normalise_gradient,
    objective_gradient,
)
from hfmech.dream.param import FourierImage
from hfmech.vision.features import FeatureExtractor, UnknownLayerError
from hfmech.vision.modeling_efficientnet_lite import (
    EfficientNetLiteConfig,
    EfficientNetLiteForImageClassification,
)


def tiny_effnet(**dream) -> EfficientNetLiteForImageClassification:
    torch.manual_seed(0)
    config = EfficientNetLiteConfig(
        width_coefficient=0.25,
        depth_coefficient=0.5,
        num_labels=10,
        image_size=64,
        deep_dream={
            "layer": "stage3",
            "presets": {"shallow": "stage2", "deep": "stage5"},
            "tile_size": None,
            **dream,
        },
    )
    return EfficientNetLiteForImageClassification(config).eval()


def tiny_resnet() -> ResNetForImageClassification:
    torch.manual_seed(0)
    config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)
    return ResNetForImageClassification(config).eval()


def tiny_convnext() -> ConvNextForImageClassification:
    torch.manual_seed(0)
    config = ConvNextConfig(num_channels=3, num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)
    return ConvNextForImageClassification(config).eval()


def photo(size=(72, 64), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([x / size[0], y / size[1], 0.5 + 0.5 * np.sin(x / 5.0)], -1)
    noisy = np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1)
    return Image.fromarray((noisy * 255).astype(np.uint8))


# jitter 0: on a 64 px image a ±32 px roll moves every activation across the stride grid of a random net, so
# single runs are too noisy to assert a rise; jitter itself is covered by the determinism test and the integration
# tier (real weights, real photo, default jitter).
DREAM = dict(octaves=2, steps=4, jitter=0, seed=0, progress=False)


# --- the pipeline -----------------------------------------------------------------------------------------------------


def test_layer_objective_rises_and_output_keeps_size():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    image = photo()
    out = pipe(image, **DREAM)
    assert out["image"].size == image.size
    assert out["objective"] == "L2(stage3)"
    assert out["objective_end"] > out["objective_start"] * 1.05
    assert len(out["objective_history"]) == 2 * 4


def test_callback_sees_every_step_and_can_stop_the_dream():
    from hfmech.dream.pipeline_deep_dream import DeepDreamOutput

    pipe = DeepDreamPipeline(model=tiny_effnet())
    seen = []

    def record(pipeline, step, total, state):
        seen.append((step, total, state["octave"], tuple(state["pixels"].shape), state["objective"]))

    out = pipe(photo(), **DREAM, callback_on_step_end=record)
    assert isinstance(out, DeepDreamOutput) and out.image is out["image"] and out.interrupted is False
    assert [s[0] for s in seen] == list(range(1, 9)) and {s[1] for s in seen} == {8}
    assert [s[4] for s in seen] == out["objective_history"]
    assert seen[0][3][-2:] != seen[-1][3][-2:]  # the first octave is smaller than the last

    def stop_at_three(pipeline, step, total, state):
        pipeline.interrupt = step >= 3

    image = photo()
    early = pipe(image, **DREAM, callback_on_step_end=stop_at_three)
    assert early.interrupted is True and len(early.objective_history) == 3
    assert early.image.size == image.size  # the detail of the small octave, on the full-size image
    again = pipe(image, **DREAM)
    assert again.interrupted is False and len(again.objective_history) == 8  # the flag is reset per call
    with pytest.raises(TypeError, match="callable"):
        pipe(image, **DREAM, callback_on_step_end="not a function")


def test_deterministic_under_seed_and_seed_matters():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    jittered = {**DREAM, "jitter": 8}
    a = np.asarray(pipe(photo(), **jittered)["image"])
    b = np.asarray(pipe(photo(), **jittered)["image"])
    c = np.asarray(pipe(photo(), **{**jittered, "seed": 1})["image"])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_octave_frames_grow_and_detail_is_carried():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    out = pipe(
        photo((96, 96)), octaves=3, octave_scale=1.5, steps=3, seed=0, return_frames=True, progress=False
    )
    sizes = [f.size for f in out["frames"]]
    assert sizes == [(43, 43), (64, 64), (96, 96)]
    # the last octave starts from base + upscaled detail: with 0 steps on the final octave the detail survives
    carried = pipe(
        photo((96, 96)), octaves=2, octave_scale=1.5, steps=3, seed=0, return_frames=True, progress=False
    )
    assert not np.array_equal(np.asarray(carried["frames"][-1]), np.asarray(photo((96, 96))))


def test_input_image_is_not_modified():
    image = photo()
    before = np.asarray(image).copy()
    DeepDreamPipeline(model=tiny_effnet())(image, **DREAM)
    assert np.array_equal(np.asarray(image), before)


def test_presets_and_config_defaults():
    pipe = DeepDreamPipeline(model=tiny_effnet(octaves=2, steps=2))
    assert pipe.resolve_layer("shallow") == "stage2"
    assert pipe.resolve_layer("deep") == "stage5"
    out = pipe(photo(), seed=0, return_frames=True, progress=False)
    assert len(out["frames"]) == 2 and len(out["objective_history"]) == 4
    deep = pipe(photo(), layer="deep", seed=0, progress=False)
    assert deep["objective"] == "L2(stage5)"


def test_unknown_layer_lists_valid_ones():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    with pytest.raises(UnknownLayerError) as err:
        pipe(photo(), layer="inception_4c", **DREAM)
    assert "stage3" in str(err.value) and "shallow" in str(err.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"octaves": 0},
        {"octaves": 2.5},
        {"octave_scale": 1.0},
        {"steps": -1},
        {"step_size": 0.0},
        {"jitter": -3},
        {"grad_norm": "l1"},
        {"tile_size": 8},
    ],
)
def test_out_of_range_parameters(kwargs):
    pipe = DeepDreamPipeline(model=tiny_effnet())
    with pytest.raises(DreamParameterError):
        pipe(photo(), **{**DREAM, **kwargs})


def test_image_too_small_for_octaves():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    with pytest.raises(DreamParameterError, match="too small"):
        pipe(photo((24, 24)), octaves=4, steps=1, progress=False)


@pytest.mark.parametrize("grad_norm", ["mean-abs", "std", "laplacian"])
def test_each_gradient_normalisation_dreams(grad_norm):
    pipe = DeepDreamPipeline(model=tiny_effnet())
    out = pipe(photo(), grad_norm=grad_norm, **DREAM)
    assert out["objective_end"] > out["objective_start"]


def test_tiled_dream_evaluates_one_tile_at_a_time():
    """Every forward pass sees at most a 1.5-tile crop; the dream still changes the image at full size.

    (That tiling reaches the same objective as whole-image ascent is checked with real weights in the integration
    tier: a random net's response to a random tile roll is too erratic to assert a rise here.)
    """
    model = tiny_effnet()
    shapes = []
    model.stem.register_forward_hook(lambda m, i, o: shapes.append(tuple(i[0].shape[-2:])))
    pipe = DeepDreamPipeline(model=model)
    image = photo((150, 130))
    out = pipe(image, octaves=1, steps=2, tile_size=64, jitter=0, seed=0, progress=False)
    assert out["image"].size == (150, 130)
    assert not np.array_equal(np.asarray(out["image"]), np.asarray(image))
    assert max(max(s) for s in shapes) <= 96  # last tile of a row/column is at most 1.5 tiles
    assert len(shapes) >= 2 * 4  # 2x2 tiles per step


def test_guided_dream_uses_guide_objective():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    out = pipe(photo(), guide=photo((40, 40), seed=5), **DREAM)
    assert out["objective"] == "guide(stage3)"
    assert out["objective_end"] > out["objective_start"]


def test_composed_objective_in_pipeline():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    objective = objectives.layer("stage2") + 0.5 * objectives.channel("stage4", 3)
    out = pipe(photo(), objective=objective, **DREAM)
    assert out["objective_end"] > out["objective_start"]


def test_transformers_factory_and_saved_folder(tmp_path):
    model = tiny_effnet()
    model.save_pretrained(tmp_path)
    pipe = pipeline("deep-dream", model=str(tmp_path))
    assert isinstance(pipe, DeepDreamPipeline)
    assert isinstance(pipe.model, EfficientNetLiteForImageClassification)
    direct = DeepDreamPipeline(model=model)(photo(), **DREAM)
    via_hub = pipe(photo(), **DREAM)
    assert np.array_equal(np.asarray(direct["image"]), np.asarray(via_hub["image"]))
    assert "deep-dream" in hfmech.TASKS


@pytest.mark.parametrize("factory", [tiny_resnet, tiny_convnext])
def test_transformers_image_classifiers_dream(factory, tmp_path):
    model = factory()
    model.save_pretrained(tmp_path)
    pipe = pipeline("deep-dream", model=str(tmp_path))
    out = pipe(photo(), layer="hidden_states.2", **DREAM)
    assert out["objective_end"] > out["objective_start"]
    out = pipe(photo(), objective=objectives.class_logit(1), **DREAM)
    assert out["objective_end"] > out["objective_start"]


# --- feature extraction ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [tiny_resnet, tiny_convnext])
def test_hidden_state_layers_match_transformers(factory):
    model = factory()
    pixels = torch.rand(1, 3, 64, 64)
    extractor = FeatureExtractor(model, ["hidden_states.1", "hidden_states.2"])
    feats = extractor(pixels)
    with torch.no_grad():
        ref = model(pixel_values=extractor.normalise(pixels), output_hidden_states=True).hidden_states
    assert torch.equal(feats["hidden_states.1"], ref[1])
    assert torch.equal(feats["hidden_states.2"], ref[2])


def test_forward_stops_at_deepest_requested_layer():
    model = tiny_effnet()
    calls = []
    model.head.register_forward_hook(lambda *a: calls.append("head"))
    model.classifier.register_forward_hook(lambda *a: calls.append("classifier"))
    FeatureExtractor(model, ["stage2"])(torch.rand(1, 3, 64, 64))
    assert calls == []
    FeatureExtractor(model, ["stage2", "logits"])(torch.rand(1, 3, 64, 64))
    assert calls == ["head", "classifier"]


def test_feature_extractor_unknown_layer():
    with pytest.raises(UnknownLayerError, match="valid layers"):
        FeatureExtractor(tiny_resnet(), ["nope"])


def test_hfmech_normalisation_is_upstream_preprocessing():
    extractor = FeatureExtractor(tiny_effnet(), ["stage1"])
    pixels = torch.tensor([0.0, 127 / 255, 1.0]).view(1, 3, 1, 1)
    expected = (torch.tensor([0.0, 127.0, 255.0]) - 127.0) / 128.0
    assert torch.allclose(extractor.normalise(pixels).flatten(), expected, atol=1e-6)


# --- objectives -----------------------------------------------------------------------------------------------------


def test_objective_arithmetic():
    acts = {"a": torch.randn(2, 4, 3, 3), "b": torch.randn(2, 4, 3, 3)}
    la, cb = objectives.layer("a"), objectives.channel("b", 2)
    combined = la + 2 * cb - 0.5 * la
    expected = 0.5 * la(acts) + 2 * cb(acts)
    assert torch.allclose(combined(acts), expected)
    assert set(combined.layers) == {"a", "b"}
    assert torch.allclose(sum([la, cb])(acts), la(acts) + cb(acts))
    assert not (la + objectives.neuron("a", 0)).spatially_additive


def test_objective_range_errors():
    acts = {"a": torch.randn(1, 4, 3, 3), "logits": torch.randn(1, 5)}
    with pytest.raises(ValueError, match="channel 9"):
        objectives.channel("a", 9)(acts)
    with pytest.raises(ValueError, match="class index"):
        objectives.class_logit(7)(acts)


def test_guide_gradient_is_best_matching_guide_feature():
    x = torch.randn(1, 6, 4, 5, requires_grad=True)
    guide_feats = torch.randn(1, 6, 3, 3)
    objectives.guide("l", guide_feats)({"l": x}).sum().backward()
    xf, yf = x.detach().flatten(2)[0], guide_feats.flatten(2)[0]  # (C, N), (C, M)
    best = (xf.T @ yf).argmax(1)
    expected = yf[:, best] / xf.shape[1]  # the mean over positions
    assert torch.allclose(x.grad.flatten(2)[0], expected, atol=1e-6)


def test_channels_objective_batches_features():
    acts = {"a": torch.randn(3, 5, 2, 2)}
    values = objectives.channels("a", [4, 0, 2])(acts)
    assert torch.allclose(
        values, torch.stack([acts["a"][0, 4].mean(), acts["a"][1, 0].mean(), acts["a"][2, 2].mean()])
    )


# --- gradients ------------------------------------------------------------------------------------------------------


def test_tiled_gradient_covers_every_pixel_once():
    pixels = torch.rand(1, 3, 150, 97)
    score = lambda x: (x**2).flatten(1).sum(1)  # noqa: E731  (per-pixel: tiles must reproduce 2x exactly)
    full, _ = objective_gradient(score, pixels)
    tiled, _ = objective_gradient(score, pixels, tile_size=32, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(full, 2 * pixels) and torch.allclose(tiled, full)


def test_gradient_normalisations():
    g = torch.randn(2, 3, 40, 30) * torch.tensor([1.0, 5.0]).view(2, 1, 1, 1)
    assert torch.allclose(
        normalise_gradient(g, "mean-abs").abs().flatten(1).mean(1), torch.ones(2), atol=1e-4
    )
    assert torch.allclose(normalise_gradient(g, "std").flatten(1).std(1), torch.ones(2), atol=1e-4)
    bands = laplacian_split(g, 4)
    assert torch.allclose(laplacian_merge(bands), g, atol=1e-5)
    lap = normalise_gradient(g, "laplacian")
    for band in laplacian_split(lap, 4)[1:]:
        # every band of the normalised gradient carries comparable energy
        assert 0.3 < band.pow(2).mean().sqrt() < 3.0
    with pytest.raises(ValueError):
        normalise_gradient(g, "l1")


# --- feature visualisation ------------------------------------------------------------------------------------------


def test_fourier_image_range_and_determinism():
    a = FourierImage(2, 33, 40, generator=torch.Generator().manual_seed(0))()
    b = FourierImage(2, 33, 40, generator=torch.Generator().manual_seed(0))()
    assert a.shape == (2, 3, 33, 40) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b)


def test_visualize_channels_batch_objective_rises():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    out = pipe.visualize(
        objectives.channels("stage3", [0, 1, 2]), size=48, batch=3, steps=30, seed=0, progress=False
    )
    assert len(out["images"]) == 3 and out["images"][0].size == (48, 48)
    history = out["objective_history"]
    assert np.mean(history[-5:]) > np.mean(history[:5])
    again = pipe.visualize(
        objectives.channels("stage3", [0, 1, 2]), size=48, batch=3, steps=30, seed=0, progress=False
    )
    assert np.array_equal(np.asarray(out["images"][1]), np.asarray(again["images"][1]))


def test_visualize_pixel_parameterisation_and_bad_args():
    pipe = DeepDreamPipeline(model=tiny_effnet())
    out = pipe.visualize(
        "shallow", size=32, steps=10, parameterization="pixel", transforms=[], seed=0, progress=False
    )
    assert out["objective_history"][-1] > out["objective_history"][0]
    with pytest.raises(ValueError):
        pipe.visualize("shallow", size=32, steps=1, parameterization="dct", progress=False)
    with pytest.raises(ValueError):
        pipe.visualize("shallow", size=5000, steps=1, progress=False)


def test_batchnorm_folding_keeps_the_function_and_the_original():
    from hfmech.vision.fusion import fold_batchnorm

    model = tiny_effnet()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as in a trained model
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    pixels = torch.rand(2, 3, 64, 64)
    layers = ["stage2", "stage5", "logits"]
    ref = FeatureExtractor(model, layers)(pixels)
    fast = FeatureExtractor(folded, layers, channels_last=True)(pixels)
    for name in layers:
        assert torch.allclose(ref[name], fast[name], rtol=1e-4, atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
