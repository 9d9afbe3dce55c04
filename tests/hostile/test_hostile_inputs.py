"""Hostile inputs and parameters for the pipelines: corrupt and thin images, audio with NaN, absurd sizes and counts,
bad seeds, huge topn, NaN inside an optimisation. Each case ends in a sensible result or a typed hfmech error whose
message names the problem — and the refused ones are refused before the work (they return in milliseconds).
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import (
    AUDIO_SR,
    PERCEPTION_FAST,
    WORDS,
    assert_typed,
    tiny_audio,
    tiny_effnet,
    tiny_ensemble,
    tiny_vgg,
    tiny_word_vectors,
)
from PIL import Image

from hfmech.analogy.pipeline_word_analogy import WordAnalogyPipeline
from hfmech.dream import DeepDreamPipeline
from hfmech.errors import HfmechError, NonFiniteError, SeedError
from hfmech.perception import PerceptionEnginePipeline
from hfmech.style.pipeline_audio_style_transfer import AudioStyleTransferPipeline
from hfmech.style.pipeline_style_transfer import StyleTransferPipeline


@pytest.fixture(scope="module")
def dream():
    return DeepDreamPipeline(model=tiny_effnet())


@pytest.fixture(scope="module")
def style():
    return StyleTransferPipeline(model=tiny_vgg())


@pytest.fixture(scope="module")
def audio():
    return AudioStyleTransferPipeline(model=tiny_audio())


@pytest.fixture(scope="module")
def analogy():
    return WordAnalogyPipeline(model=tiny_word_vectors())


@pytest.fixture(scope="module")
def perception():
    return PerceptionEnginePipeline(model=tiny_ensemble())


DREAM = dict(octaves=1, steps=1, jitter=0, progress=False)
STYLE = dict(size=32, steps=1, progress=False)
AUDIO = dict(steps=1, griffin_lim_iters=2, progress=False)
PERCEIVE = dict(progress=False)


def photo(w=48, h=40, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def tone(seconds=0.5, freq=440.0) -> np.ndarray:
    t = np.arange(int(seconds * AUDIO_SR)) / AUDIO_SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def refused(call, *words, error=HfmechError):
    with pytest.raises(error) as info:
        call()
    return assert_typed(info.value, *words)


# -------------------------------------------------------------------------------------------------- images


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width x height`` (a decompression bomb's header) with one tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _bad_image(kind: str, tmp_path):
    """``(source, words)``: an image input and what its refusal must name."""
    if kind == "truncated-png":
        path = tmp_path / "cut.png"
        path.write_bytes(_png_bytes(photo())[:60])
        return str(path), ["cut.png"]
    if kind == "text-as-png":
        path = tmp_path / "notes.png"
        path.write_text("this is not an image\n" * 10)
        return str(path), ["notes.png"]
    if kind == "empty-file":
        path = tmp_path / "empty.jpg"
        path.write_bytes(b"")
        return str(path), ["empty.jpg"]
    if kind == "missing-file":
        return str(tmp_path / "nope.png"), ["nope.png"]
    if kind == "directory":
        return str(tmp_path), [str(tmp_path)]
    if kind == "bomb-header":
        path = tmp_path / "bomb.png"
        path.write_bytes(_png_declaring(100_000, 100_000))
        return str(path), ["bomb.png", "pixels"]
    if kind == "thin-1x10000":
        return Image.new("RGB", (10_000, 1), (200, 10, 10)), ["aspect ratio"]
    if kind == "tall-10000x1":
        return Image.new("RGB", (1, 10_000), (200, 10, 10)), ["aspect ratio"]
    if kind == "thin-png-file":
        path = tmp_path / "thin.png"
        Image.new("RGB", (5_000, 2)).save(path)
        return str(path), ["thin.png", "aspect ratio"]
    if kind == "nan-array":
        arr = np.full((40, 40, 3), np.nan, np.float32)
        return arr, ["numpy"]
    if kind == "inf-array":
        arr = np.full((40, 40, 3), np.inf, np.float32)
        return arr, ["numpy"]
    if kind == "zero-size-array":
        return np.zeros((0, 10, 3), np.uint8), ["numpy"]
    if kind == "5d-array":
        return np.zeros((1, 1, 8, 8, 3), np.uint8), ["numpy"]
    if kind == "unsupported-url":
        return "ftp://example.invalid/x.png", ["ftp://"]
    raise AssertionError(kind)


BAD_IMAGES = [
    "truncated-png",
    "text-as-png",
    "empty-file",
    "missing-file",
    "directory",
    "bomb-header",
    "thin-1x10000",
    "tall-10000x1",
    "thin-png-file",
    "nan-array",
    "inf-array",
    "zero-size-array",
    "5d-array",
    "unsupported-url",
]


@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_dream_bad_images(dream, kind, tmp_path):
    source, words = _bad_image(kind, tmp_path)
    refused(lambda: dream(source, **DREAM), *words)


@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_style_bad_content_images(style, kind, tmp_path):
    source, words = _bad_image(kind, tmp_path)
    refused(lambda: style(source, style=photo(), **STYLE), *words)


@pytest.mark.parametrize("kind", ["truncated-png", "thin-1x10000", "nan-array", "bomb-header"])
def test_style_bad_style_images(style, kind, tmp_path):
    source, words = _bad_image(kind, tmp_path)
    refused(lambda: style(photo(), style=source, **STYLE), *words)


@pytest.mark.parametrize("kind", ["truncated-png", "thin-1x10000"])
def test_dream_bad_guide_images(dream, kind, tmp_path):
    source, words = _bad_image(kind, tmp_path)
    refused(lambda: dream(photo(), guide=source, **DREAM), *words)


def test_thin_but_accepted_images_stay_small(style, dream):
    # 16:1 is accepted by the dream, 64:1 by the style: the result stays bounded (no 32 px short-side blow-up)
    out = dream(Image.new("RGB", (256, 16), (90, 120, 30)), **DREAM)
    assert out["image"].size == (256, 16)
    out = style(photo(48, 40), style=Image.new("RGB", (320, 10), (10, 200, 30)), **STYLE)
    assert max(out["image"].size) <= 40  # the content at size 32, its short side lifted to 32 px


# --------------------------------------------------------------------------------------------------- audio


def _wav(tmp_path, samples, name="a.wav", subtype="FLOAT", sr=AUDIO_SR):
    path = tmp_path / name
    sf.write(path, samples, sr, subtype=subtype)
    return str(path)


def _bad_audio(kind, tmp_path):
    x = tone()
    if kind == "nan-in-float-wav":
        y = x.copy()
        y[10] = np.nan
        return _wav(tmp_path, y, "nan.wav"), ["nan.wav", "NaN"]
    if kind == "inf-in-float-wav":
        y = x.copy()
        y[-1] = np.inf
        return _wav(tmp_path, y, "inf.wav"), ["inf.wav", "infinite"]
    if kind == "all-nan-double-wav":
        return _wav(tmp_path, np.full(4000, np.nan), "allnan.wav", "DOUBLE"), ["allnan.wav", "NaN"]
    if kind == "nan-in-stereo-flac-bytes":
        y = np.stack([x, x], 1)
        y[5, 1] = np.nan
        buf = io.BytesIO()
        sf.write(buf, y, AUDIO_SR, format="WAV", subtype="FLOAT")
        return buf.getvalue(), ["NaN"]
    if kind == "nan-array":
        y = x.copy()
        y[3] = np.nan
        return (y, AUDIO_SR), ["NaN"]
    if kind == "inf-array-dict":
        y = x.copy()
        y[3] = -np.inf
        return {"array": y, "sampling_rate": AUDIO_SR}, ["infinite"]
    if kind == "silent-file":
        return _wav(tmp_path, np.zeros(4000, np.float32), "silent.wav"), ["silent.wav", "silent"]
    if kind == "text-as-wav":
        path = tmp_path / "text.wav"
        path.write_text("RIFF? no.\n" * 20)
        return str(path), ["text.wav"]
    if kind == "empty-file":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
        return str(path), ["empty.wav"]
    if kind == "too-short":
        return (x[:10], AUDIO_SR), ["samples"]
    if kind == "absurd-sampling-rate":
        return (x, 10**9), ["sampling_rate"]
    if kind == "zero-sampling-rate":
        return (x, 0), ["sampling_rate"]
    if kind == "string-samples":
        return (np.array(["a", "b"]), AUDIO_SR), ["dtype"]
    if kind == "3d-array":
        return (np.zeros((2, 2, 2), np.float32), AUDIO_SR), ["shape"]
    if kind == "missing-file":
        return str(tmp_path / "nope.wav"), ["nope.wav"]
    raise AssertionError(kind)


BAD_AUDIO = [
    "nan-in-float-wav",
    "inf-in-float-wav",
    "all-nan-double-wav",
    "nan-in-stereo-flac-bytes",
    "nan-array",
    "inf-array-dict",
    "silent-file",
    "text-as-wav",
    "empty-file",
    "too-short",
    "absurd-sampling-rate",
    "zero-sampling-rate",
    "string-samples",
    "3d-array",
    "missing-file",
]


@pytest.mark.parametrize("kind", BAD_AUDIO)
def test_audio_bad_content(audio, kind, tmp_path):
    source, words = _bad_audio(kind, tmp_path)
    refused(lambda: audio(source, style=(tone(freq=880.0), AUDIO_SR), **AUDIO), *words)


@pytest.mark.parametrize("kind", ["nan-in-float-wav", "silent-file", "inf-array-dict"])
def test_audio_bad_style(audio, kind, tmp_path):
    source, words = _bad_audio(kind, tmp_path)
    refused(lambda: audio((tone(), AUDIO_SR), style=source, **AUDIO), *words)


def test_audio_init_content_gives_finite_audio(audio):
    out = audio((tone(), AUDIO_SR), style=(tone(freq=880.0), AUDIO_SR), init="content", seed=0, **AUDIO)
    assert np.isfinite(out["audio"]).all() and len(out["audio"]) == len(tone())


# ---------------------------------------------------------------------------------------------- parameters

DREAM_PARAMS = [
    ({"steps": 10**9}, "steps"),
    ({"steps": -1}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"octaves": 10**6}, "octaves"),
    ({"octave_scale": math.inf}, "octave_scale"),
    ({"step_size": math.nan}, "step_size"),
    ({"jitter": -5}, "jitter"),
    ({"max_pixels": 10**12}, "max_pixels"),
    ({"tile_size": 10**9}, "tile_size"),
    ({"grad_norm": "l7"}, "grad_norm"),
    ({"layer": "no-such-layer"}, "no-such-layer"),
]


@pytest.mark.parametrize("kwargs, word", DREAM_PARAMS, ids=[w for _, w in DREAM_PARAMS])
def test_dream_absurd_parameters(dream, kwargs, word):
    refused(lambda: dream(photo(), **{**DREAM, **kwargs}), word)


VISUALIZE_PARAMS = [
    ({"steps": 10**9}, "steps"),
    ({"steps": 0}, "steps"),
    ({"size": 10**6}, "size"),
    ({"size": 3}, "size"),
    ({"batch": 10**6}, "batch"),
    ({"learning_rate": math.nan}, "learning_rate"),
    ({"learning_rate": math.inf}, "learning_rate"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"parameterization": "wavelet"}, "parameterization"),
]


@pytest.mark.parametrize(
    "kwargs, word", VISUALIZE_PARAMS, ids=[f"{w}-{i}" for i, (_, w) in enumerate(VISUALIZE_PARAMS)]
)
def test_visualize_absurd_parameters(dream, kwargs, word):
    refused(lambda: dream.visualize("stage3", progress=False, **kwargs), word)


STYLE_PARAMS = [
    ({"steps": 10**9}, "steps"),
    ({"size": 10**9}, "size"),
    ({"scales": [64] * 1000}, "scales"),
    ({"style_weight": math.nan}, "style_weight"),
    ({"content_weight": math.inf}, "content_weight"),
    ({"style_scale": math.inf}, "style_scale"),
    ({"max_pixels": 10**12}, "max_pixels"),
    ({"lbfgs_history": 10**9}, "lbfgs_history"),
    ({"pyramid_levels": 100}, "pyramid_levels"),
    ({"init": "mystery"}, "init"),
]


@pytest.mark.parametrize("kwargs, word", STYLE_PARAMS, ids=[w for _, w in STYLE_PARAMS])
def test_style_absurd_parameters(style, kwargs, word):
    refused(lambda: style(photo(), style=photo(seed=1), **{**STYLE, **kwargs}), word)


def test_style_too_many_styles(style):
    refused(lambda: style(photo(), style=[photo()] * 100, **STYLE), "style images")


AUDIO_PARAMS = [
    ({"steps": 10**9}, "steps"),
    ({"n_filters": 10**9}, "n_filters"),
    ({"n_filters": 0}, "n_filters"),
    ({"griffin_lim_iters": 10**9}, "griffin_lim_iters"),
    ({"max_seconds": math.inf}, "max_seconds"),
    ({"content_weight": math.inf}, "content_weight"),
    ({"griffin_lim_momentum": math.nan}, "momentum"),
]


@pytest.mark.parametrize(
    "kwargs, word", AUDIO_PARAMS, ids=[f"{w}-{i}" for i, (_, w) in enumerate(AUDIO_PARAMS)]
)
def test_audio_absurd_parameters(audio, kwargs, word):
    refused(
        lambda: audio((tone(), AUDIO_SR), style=(tone(freq=880.0), AUDIO_SR), **{**AUDIO, **kwargs}), word
    )


PERCEPTION_PARAMS = [
    ({"steps": 10**9}, "steps"),
    ({"views": 10**6}, "views"),
    ({"size": 10**6}, "size"),
    ({"population": 10**9}, "population"),
    ({"sigma": math.inf}, "sigma"),
    ({"alpha": math.nan}, "alpha"),
    ({"learning_rate": math.nan}, "learning_rate"),
    ({"init_candidates": 10**7}, "init_candidates"),
    ({"strokes": 10**9}, "stroke"),
]


@pytest.mark.parametrize("kwargs, word", PERCEPTION_PARAMS, ids=[w for _, w in PERCEPTION_PARAMS])
def test_perception_absurd_parameters(perception, kwargs, word):
    refused(lambda: perception("goldfish", **{**PERCEIVE, **kwargs}), word)


@pytest.mark.parametrize("target", ["no such class at all", "", 10**9, -1])
def test_perception_unknown_targets(perception, target):
    with pytest.raises(HfmechError) as info:
        perception(target, **PERCEIVE)
    assert_typed(info.value)


# -------------------------------------------------------------------------------------------- word analogy


@pytest.mark.parametrize("topn", [10**9, 10**12, 2**62])
def test_analogy_huge_topn_is_clamped_to_the_vocabulary(analogy, topn):
    answers = analogy("man:king::woman:?", topn=topn)
    assert len(answers) == len(WORDS) - 3  # every candidate, nothing allocated for the rest
    assert all(math.isfinite(a["score"]) for a in answers)


ANALOGY_BAD = [
    ({"topn": 0}, "topn"),
    ({"topn": -5}, "topn"),
    ({"topn": math.nan}, "topn"),
    ({"topn": "10"}, "topn"),
    ({"restrict_vocab": -1}, "restrict_vocab"),
    ({"method": "3cosdiv"}, "3cosdiv"),
]


@pytest.mark.parametrize(
    "kwargs, word", ANALOGY_BAD, ids=[f"{w}-{i}" for i, (_, w) in enumerate(ANALOGY_BAD)]
)
def test_analogy_bad_settings(analogy, kwargs, word):
    refused(lambda: analogy("man:king::woman:?", **kwargs), word)


@pytest.mark.parametrize(
    "query, word",
    [
        ("king " * 300_000, "characters"),
        (" + ".join(["king"] * 500), "words"),
        ({"positive": ["king"] * 1000}, "words"),
        ("", "empty"),
        ("man:king::", "malformed"),
        ("zzzz - man + woman", "zzzz"),
        (None, "query"),
        ({"positive": [], "negative": ["man"]}, "positive"),
    ],
    ids=["1MB", "500-terms", "1000-words", "empty", "malformed", "oov", "none", "no-positive"],
)
def test_analogy_hostile_queries(analogy, query, word):
    refused(lambda: analogy(query), word)


# ---------------------------------------------------------------------------------------------------- seeds

BAD_SEEDS = ["x", "12abc", -1, 2**63, 2**70, 1.5, True, [1]]


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_seed_dream(dream, seed):
    refused(lambda: dream(photo(), seed=seed, **DREAM), "seed", error=SeedError)


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_seed_visualize(dream, seed):
    refused(
        lambda: dream.visualize("stage3", size=16, steps=1, seed=seed, progress=False),
        "seed",
        error=SeedError,
    )


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_seed_style(style, seed):
    refused(lambda: style(photo(), style=photo(seed=1), seed=seed, **STYLE), "seed", error=SeedError)


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_seed_audio(audio, seed):
    refused(
        lambda: audio((tone(), AUDIO_SR), style=(tone(freq=880.0), AUDIO_SR), seed=seed, **AUDIO),
        "seed",
        error=SeedError,
    )


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_seed_perception(perception, seed):
    refused(lambda: perception("goldfish", seed=seed, **PERCEIVE), "seed", error=SeedError)


def test_string_seed_is_the_same_draw_as_the_integer(dream):
    a = dream(photo(), seed="7", **{**DREAM, "jitter": 4})
    b = dream(photo(), seed=7, **{**DREAM, "jitter": 4})
    assert np.array_equal(np.asarray(a["image"]), np.asarray(b["image"]))


def test_largest_seed_is_accepted(perception):
    out = perception("goldfish", seed=2**63 - 1, **PERCEIVE)
    assert len(out["history"]) == PERCEPTION_FAST["steps"]


# ------------------------------------------------------------------------------- NaN inside an optimisation


def _poisoned(model):
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point():
                p.fill_(float("nan"))
    return model


def test_dream_nan_model_stops_naming_the_step():
    pipe = DeepDreamPipeline(model=_poisoned(tiny_effnet()))
    message = refused(lambda: pipe(photo(), **DREAM), "step 1", error=NonFiniteError)
    assert "octave 1" in message


def test_visualize_nan_model_stops_naming_the_step():
    pipe = DeepDreamPipeline(model=_poisoned(tiny_effnet()))
    refused(
        lambda: pipe.visualize("stage3", size=16, steps=3, progress=False), "step 1", error=NonFiniteError
    )


def test_style_nan_model_stops_naming_the_evaluation():
    pipe = StyleTransferPipeline(model=_poisoned(tiny_vgg()))
    refused(lambda: pipe(photo(), style=photo(seed=1), **STYLE), "evaluation 1", error=NonFiniteError)


def test_perception_nan_model_stops_naming_the_step():
    pipe = PerceptionEnginePipeline(model=_poisoned(tiny_ensemble()))
    refused(lambda: pipe("goldfish", **PERCEIVE), "step 1", error=NonFiniteError)


def test_audio_nan_kernel_stops_naming_the_evaluation():
    model = tiny_audio()
    with torch.no_grad():
        model.conv.weight.fill_(float("nan"))
    pipe = AudioStyleTransferPipeline(model=model)
    refused(
        lambda: pipe((tone(), AUDIO_SR), style=(tone(freq=880.0), AUDIO_SR), **AUDIO),
        "evaluation 1",
        error=NonFiniteError,
    )


def test_a_one_megabyte_generation_prompt_is_refused_before_any_work():
    from conftest import tiny_mlstm

    from hfmech.sentiment import SentimentNeuronPipeline
    from hfmech.sentiment.pipeline_sentiment_neuron import TextTooLongError

    pipe = SentimentNeuronPipeline(model=tiny_mlstm())
    with pytest.raises(TextTooLongError, match="prompt is 1,000,000 bytes"):
        pipe.generate("x" * 1_000_000, clamp=1.0, max_bytes=10)
