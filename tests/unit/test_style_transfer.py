"""StyleTransferPipeline, losses and colour preservation on tiny random VGG / multi-scale networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import pipeline

import hfmech  # noqa: F401  (registers the task)
from hfmech.style import StyleTransferPipeline, color
from hfmech.style.losses import (
    blended_grams,
    content_loss,
    gatys_layer_loss,
    gram_matrix,
    gram_style_loss,
    style_layer_loss,
    total_variation,
)
from hfmech.style.modeling_random_multiscale import RandomMultiscaleConfig, RandomMultiscaleModel
from hfmech.style.zoo_random import random_vgg_config
from hfmech.vision.image_io import image_to_tensor
from hfmech.vision.modeling_vgg import random_vgg

TINY = [4, 8, 8, 16, 16]
FAST = {"size": 48, "steps": 12, "seed": 0, "progress": False}


def _image(seed: int, w: int = 48, h: int = 36, stripes: bool = False) -> Image.Image:
    rng = np.random.default_rng(seed)
    if stripes:
        xx = np.arange(w)[None, :, None]
        arr = (127 + 120 * np.sin(xx / 2.0 + np.array([0, 2, 4]))) * np.ones((h, 1, 1))
    else:
        arr = rng.integers(0, 256, size=(h // 6, w // 6, 3)).repeat(6, 0).repeat(6, 1)
    return Image.fromarray(arr.astype(np.uint8))


@pytest.fixture(scope="module")
def tiny_vgg():
    return random_vgg(random_vgg_config(seed=0, block_channels=TINY))


@pytest.fixture(scope="module")
def pipe(tiny_vgg):
    return StyleTransferPipeline(model=tiny_vgg)


# ---------------------------------------------------------------------------------------------------------- losses
def test_gram_matrix_hand_computed():
    # F = [[1, 2], [3, 4]] (C = 2 channels, H·W = 2 positions): F Fᵀ = [[5, 11], [11, 25]], / (C·H·W = 4)
    features = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 2, 1, 2)
    torch.testing.assert_close(gram_matrix(features), torch.tensor([[[1.25, 2.75], [2.75, 6.25]]]))
    # Gatys' E_l = Σ (G − A)² / (4 N² M²) with raw Grams equals gatys_layer_loss on normalised ones
    other = torch.tensor([0.0, 1.0, 2.0, 0.5]).view(1, 2, 1, 2)
    raw = lambda f: f.reshape(2, 2) @ f.reshape(2, 2).T  # noqa: E731
    expected = ((raw(features) - raw(other)) ** 2).sum() / (4 * 2**2 * 2**2)
    torch.testing.assert_close(gatys_layer_loss(gram_matrix(features), gram_matrix(other)), expected)
    # the relative form is that loss times 4 / Σ Â²
    rel = style_layer_loss(gram_matrix(features), gram_matrix(other))
    torch.testing.assert_close(rel, expected * 4 / (gram_matrix(other) ** 2).sum())


def test_gram_is_size_invariant_and_losses_are_zero_at_target():
    f = torch.rand(1, 3, 4, 4)
    tiled = f.repeat(1, 1, 2, 2)  # same statistics, 4x the positions
    torch.testing.assert_close(gram_matrix(f), gram_matrix(tiled))
    assert float(content_loss(f, f)) == 0.0 and float(style_layer_loss(gram_matrix(f), gram_matrix(f))) == 0.0
    flat = torch.full((1, 3, 5, 5), 0.3)
    assert float(total_variation(flat)) == 0.0
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 3, 5, 5)
    assert float(total_variation(ramp)) == pytest.approx(1.0)  # dx = 1 everywhere, dy = 0


@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_gram_style_loss_equals_the_composition_with_its_gradient(channels_last):
    g = torch.Generator().manual_seed(0)
    features = torch.rand(1, 5, 4, 3, generator=g, dtype=torch.float64)
    if channels_last:
        features = features.contiguous(memory_format=torch.channels_last)
    features.requires_grad_(True)
    target = gram_matrix(torch.rand(1, 5, 6, 2, generator=g, dtype=torch.float64))
    assert torch.autograd.gradcheck(lambda f: gram_style_loss(f, target), (features,))
    fused = gram_style_loss(features, target)
    (grad_fused,) = torch.autograd.grad(fused, features)
    plain = style_layer_loss(gram_matrix(features), target)
    (grad_plain,) = torch.autograd.grad(plain, features)
    torch.testing.assert_close(fused, plain)
    torch.testing.assert_close(grad_fused, grad_plain)
    # the gradient keeps the activation's memory format (no conversion in the backbone's backward)
    assert grad_fused.is_contiguous(memory_format=torch.channels_last) == channels_last


@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_gram_style_loss_in_bfloat16_is_accumulated_in_float32(channels_last):
    # 4096 positions: a Gram summed in bfloat16 would be off by ~1 % (8-bit mantissa); float32 accumulation of the
    # exact bfloat16 products leaves only the final rounding of the (C, C) result (~2^-9 relative)
    g = torch.Generator().manual_seed(1)
    features = torch.rand(1, 8, 64, 64, generator=g)
    target = gram_matrix(torch.rand(1, 8, 64, 64, generator=g) * 0.9)
    low = features.bfloat16()
    if channels_last:
        low = low.contiguous(memory_format=torch.channels_last)
    low.requires_grad_(True)
    loss = gram_style_loss(low, target)
    (grad,) = torch.autograd.grad(loss, low)
    assert loss.dtype == torch.float32 and grad.dtype == torch.bfloat16
    assert grad.is_contiguous(memory_format=torch.channels_last) == channels_last
    exact_in = low.detach().double().requires_grad_(True)
    exact = style_layer_loss(gram_matrix(exact_in), target.double())
    (exact_grad,) = torch.autograd.grad(exact, exact_in)
    assert abs(float(loss.detach()) / float(exact.detach()) - 1) < 2e-3
    assert float((grad.double() - exact_grad).norm() / exact_grad.norm()) < 1e-2


def test_blended_grams_normalises_weights():
    a, b = {"l": torch.ones(1, 2, 2)}, {"l": torch.zeros(1, 2, 2)}
    torch.testing.assert_close(blended_grams([a, b], [1, 3])["l"], torch.full((1, 2, 2), 0.25))


# ---------------------------------------------------------------------------------------------------------- colour
def test_histogram_matching_matches_mean_and_covariance():
    g = torch.Generator().manual_seed(0)
    style = torch.rand(1, 3, 30, 30, generator=g) * torch.tensor([0.5, 0.2, 0.9]).view(1, 3, 1, 1)
    content = torch.rand(1, 3, 20, 25, generator=g) * 0.3 + 0.4
    content[:, 1] = 0.5 * content[:, 0] + 0.2  # correlated channels
    matched = color.match_color_histogram(style, content, clip=False)
    mu_m, cov_m = color._moments(matched)
    mu_c, cov_c = color._moments(content)
    torch.testing.assert_close(mu_m, mu_c, atol=1e-5, rtol=0)
    torch.testing.assert_close(cov_m, cov_c, atol=1e-4, rtol=0)


def test_yiq_round_trip_and_luminance_matching():
    x = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(color.yiq_to_rgb(color.rgb_to_yiq(x)), x, atol=1e-5, rtol=0)
    s, c = torch.rand(1, 1, 8, 8) * 0.2, torch.rand(1, 1, 8, 8) * 0.8 + 0.1
    m = color.match_luminance(s, c)
    assert float(m.mean()) == pytest.approx(float(c.mean()), abs=1e-5)
    assert float(m.std()) == pytest.approx(float(c.std()), abs=1e-5)


def test_keep_colors_luminance_keeps_content_chroma(pipe):
    content = _image(1)
    out = pipe(content, style=_image(2, stripes=True), keep_colors="luminance", **FAST)
    result = image_to_tensor(out["image"])
    reference = image_to_tensor(content.resize(out["image"].size, Image.Resampling.LANCZOS))
    iq_out, iq_ref = color.rgb_to_yiq(result)[:, 1:], color.rgb_to_yiq(reference)[:, 1:]
    # chroma equal up to clipping into [0, 1] and 8-bit rounding; luminance did change
    assert float((iq_out - iq_ref).abs().mean()) < 0.02
    assert float((color.luminance(result) - color.luminance(reference)).abs().mean()) > 0.005
    assert (
        out["style_loss"]
        < pipe(content, style=_image(2, stripes=True), keep_colors="luminance", **{**FAST, "steps": 0})[
            "style_loss"
        ]
    )


def test_keep_colors_histogram_runs_and_differs(pipe):
    content, style = _image(1), _image(2, stripes=True)
    plain = pipe(content, style=style, **FAST)["image"]
    matched = pipe(content, style=style, keep_colors="histogram", **FAST)["image"]
    assert np.abs(np.asarray(plain, float) - np.asarray(matched, float)).mean() > 1.0


# -------------------------------------------------------------------------------------------------------- pipeline
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loss_falls(pipe, optimizer):
    out = pipe(
        _image(1),
        style=_image(2, stripes=True),
        optimizer=optimizer,
        steps=25,
        size=48,
        seed=0,
        progress=False,
        learning_rate=0.05 if optimizer == "adam" else None,
    )
    history = out["loss_history"]
    assert len(history) == 25
    assert history[-1] < 0.5 * history[0]
    assert set(out["style_loss_per_layer"]) == {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
    assert max(out["image"].size) == 48 and out["image"].size[0] > out["image"].size[1]  # content's aspect


def test_bfloat16_working_precision_tracks_float32(pipe):
    kwargs = dict(style=_image(2, stripes=True), steps=20, size=48, seed=0, progress=False)
    seen = []
    low = pipe(
        _image(1),
        precision="bfloat16",
        callback_on_step_end=lambda p, step, total, state: seen.append((step, total)),
        **kwargs,
    )
    full = pipe(_image(1), precision="float32", **kwargs)
    assert seen == [(i, 20) for i in range(1, 21)]
    assert low["loss_history"][0] == pytest.approx(
        full["loss_history"][0], rel=0.03
    )  # same start, bf16 rounding
    assert low["loss_history"][-1] < 0.2 * low["loss_history"][0]

    # the same optimisation: the final losses, recomputed in float32, agree to ~25 % (L-BFGS without line search
    # amplifies rounding differences, more so on the clamped objective: on this 4-channel net the two runs' totals
    # differ by 5 % after 10 evaluations, 15 % after 15, 3 % after 20 and 38 % after 30; a wrong bfloat16 loss or
    # gradient ends far from float32's)
    def total(out):
        return out["content_loss"] + 20.0 * out["style_loss"] + out["tv_loss"]

    assert total(low) == pytest.approx(total(full), rel=0.25)
    assert pipe.working_dtype("float32") == torch.float32 and pipe.working_dtype("bfloat16") == torch.bfloat16
    assert pipe.working_dtype("auto") in (torch.float32, torch.bfloat16)


def test_pyramid_parametrisation(pipe):
    img = torch.rand(1, 3, 20, 30)
    params = StyleTransferPipeline.pyramid_parameters(img.clone(), 3)
    assert [tuple(t.shape[-2:]) for t in params] == [(20, 30), (10, 15), (5, 7), (2, 3)]
    torch.testing.assert_close(
        StyleTransferPipeline.compose_pyramid(params), img
    )  # coarse levels start at zero
    # a constant on level k adds 2^-k everywhere (bilinear upsampling of a constant is that constant)
    with torch.no_grad():
        params[2].fill_(1.0)
    torch.testing.assert_close(StyleTransferPipeline.compose_pyramid(params), img + 0.25)
    kwargs = dict(
        style=_image(2, stripes=True), steps=15, size=48, seed=0, progress=False, precision="float32"
    )
    plain = pipe(_image(1), pyramid_levels=0, **kwargs)["loss_history"]
    pyramid = pipe(_image(1), pyramid_levels=3, **kwargs)["loss_history"]
    assert plain[0] == pytest.approx(pyramid[0])  # same starting image, same loss
    assert pyramid != plain and pyramid[-1] < 0.5 * pyramid[0]


def test_style_loss_falls_from_noise_on_random_multiscale():
    model = RandomMultiscaleModel(RandomMultiscaleConfig(filter_sizes=[3, 7, 15], filters_per_scale=8))
    multiscale = StyleTransferPipeline(model=model)
    out = multiscale(
        _image(1), style=_image(2, stripes=True), init="noise", content_weight=0.0, **{**FAST, "steps": 20}
    )
    start = multiscale(
        _image(1), style=_image(2, stripes=True), init="noise", content_weight=0.0, **{**FAST, "steps": 0}
    )
    assert out["style_loss"] < 0.2 * start["style_loss"]


def test_deterministic_under_seed(pipe):
    kwargs = dict(style=_image(2), init="noise", size=32, steps=5, progress=False)
    a = np.asarray(pipe(_image(1), seed=3, **kwargs)["image"])
    b = np.asarray(pipe(_image(1), seed=3, **kwargs)["image"])
    c = np.asarray(pipe(_image(1), seed=4, **kwargs)["image"])
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_multi_style_blend(pipe):
    content, s1, s2 = _image(1), _image(2, stripes=True), _image(3)
    single = pipe(content, style=s1, **FAST)
    weighted = pipe(content, style=[s1, s2], style_weights=[1.0, 0.0], **FAST)
    assert np.array_equal(np.asarray(single["image"]), np.asarray(weighted["image"]))
    both = pipe(content, style=[s1, s2], style_weights=[0.5, 0.5], **FAST)
    assert not np.array_equal(np.asarray(single["image"]), np.asarray(both["image"]))


def test_multiscale_coarse_to_fine(pipe):
    out = pipe(_image(1, 96, 72), style=_image(2), scales=[32, 64], steps=4, seed=0, progress=False)
    assert out["scales"] == [32, 64] and max(out["image"].size) == 64 and len(out["loss_history"]) == 8


def test_steps_per_scale(pipe):
    out = pipe(_image(1, 96, 72), style=_image(2), scales=[32, 64], steps=[5, 2], seed=0, progress=False)
    assert len(out["loss_history"]) == 7 and max(out["image"].size) == 64


def test_every_evaluation_scores_the_clamped_image_that_is_returned(pipe):
    # content init at pure black and white and a strong style pull: unclamped, L-BFGS pushes pixels out of range
    content = Image.fromarray(np.where(np.indices((40, 48)).sum(0) % 2, 255, 0).astype(np.uint8)).convert(
        "RGB"
    )
    seen = []
    out = pipe(
        content,
        style=_image(2, stripes=True),
        steps=12,
        size=48,
        seed=0,
        progress=False,
        precision="float32",
        pyramid_levels=0,
        callback_on_step_end=lambda p, step, total, state: seen.append(state["pixels"].clone()),
    )
    assert all(float(x.min()) >= 0.0 and float(x.max()) <= 1.0 for x in seen)
    assert out["loss_history"][-1] < out["loss_history"][0]


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_callback_can_stop_the_transfer_and_the_old_callback_warns(pipe, optimizer):
    from hfmech.style.pipeline_style_transfer import StyleTransferOutput

    kwargs = dict(
        style=_image(2, stripes=True), steps=10, size=48, seed=0, progress=False, optimizer=optimizer
    )

    def stop_at_four(pipeline, step, total, state):
        pipeline.interrupt = step >= 4

    out = pipe(_image(1), callback_on_step_end=stop_at_four, **kwargs)
    assert isinstance(out, StyleTransferOutput) and out.interrupted is True and len(out.loss_history) == 4
    assert max(out.image.size) == 48
    full = pipe(_image(1), **kwargs)
    assert full.interrupted is False and len(full.loss_history) == 10
    old = []
    with pytest.warns(FutureWarning, match="callback_on_step_end"):
        pipe(_image(1), callback_on_evaluation=lambda i, x, loss: old.append(i), **kwargs)
    assert old == list(range(10))


def test_reported_losses_are_those_of_the_returned_image():
    # from noise on a random multi-scale net L-BFGS pushes pixels far out of [0, 1]; the reported style loss must be
    # the returned (clamped) picture's, re-measured here by a 0-step call on that picture (uint8-rounded)
    model = RandomMultiscaleModel(RandomMultiscaleConfig(filter_sizes=[3, 7, 15], filters_per_scale=8))
    multiscale = StyleTransferPipeline(model=model)
    kwargs = dict(style=_image(2, stripes=True), content_weight=0.0, size=48, seed=0, progress=False)
    out = multiscale(_image(1), init="noise", steps=10, **kwargs)
    again = multiscale(out["image"], init="content", steps=0, **kwargs)
    assert out["style_loss"] == pytest.approx(again["style_loss"], rel=0.05)


def test_auto_scales():
    from hfmech.style import StyleSettings

    assert StyleSettings(size=256).scale_sizes() == [256]
    assert StyleSettings(size=512).scale_sizes() == [256, 512]
    assert StyleSettings(size=1024).scale_sizes() == [256, 512, 1024]


def test_style_of_very_different_shape_and_grayscale(pipe):
    content = _image(1, 72, 48)
    thin_gray = Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (6, 300), dtype=np.uint8)
    )  # 'L', 50:1
    out = pipe(content, style=thin_gray, **FAST)
    assert out["image"].mode == "RGB" and max(out["image"].size) == 48
    assert out["loss_history"][-1] < out["loss_history"][0]


def test_config_defaults_and_transformers_factory(tmp_path, tiny_vgg):
    tiny_vgg.config.style_transfer = {
        "content_layers": ["relu2_2"],
        "style_layers": ["relu1_1", "relu2_1"],
        "steps": 3,
        "size": 64,
    }
    tiny_vgg.save_pretrained(tmp_path)
    tiny_vgg.config.style_transfer = random_vgg_config().style_transfer
    pipe = pipeline("style-transfer", model=str(tmp_path))
    assert isinstance(pipe, StyleTransferPipeline)
    out = pipe(_image(1, 96, 72), style=_image(2), seed=0, progress=False)
    assert len(out["loss_history"]) == 3 and out["image"].size == (64, 48)
    assert set(out["style_loss_per_layer"]) == {"relu1_1", "relu2_1"}
