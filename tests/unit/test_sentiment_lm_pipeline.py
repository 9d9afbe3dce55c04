"""The ``sentiment-neuron`` pipeline on a causal LM (a tiny random Llama with a byte-level tokenizer, saved to a
folder): reading (value = the pooled unit, the per-token trace is the value of every prefix), the honesty floor, the
clamp during generation (held at every position, hook removed afterwards) and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tiny_models
import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    pipeline,
)

import hfmech  # noqa: F401  (registers the task)
from hfmech.errors import HfmechError, LimitError, SeedError
from hfmech.sentiment import ClampError, SentimentConfigError, SentimentInputError, UnknownUnitError
from hfmech.sentiment.lm_neuron import UnknownLayerError, featurize, resolve_site
from hfmech.sentiment.pipeline_sentiment_neuron import (
    MAX_NEW_TOKENS_LIMIT,
    SentimentNeuronPipeline,
    TextTooLongError,
    format_reading,
    neuron_spec,
)

LAYER, UNIT, WIDTH = 1, 7, 24


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """Every byte one token, plus an end-of-text token that is also the beginning-of-text token."""
    return tiny_models.byte_tokenizer("<|endoftext|>", bos_token="<|endoftext|>")


def neuron(**over) -> dict:
    info = {
        "site": "mlp",
        "layer": LAYER,
        "unit": UNIT,
        "pool": "mean",
        "polarity": -1,
        "threshold": 0.01,
        "scale": 3.0,
        "clamp_value": 2.0,
        "unit_accuracy": 0.83,
        "measured_on": "a toy set",
        "max_tokens": 64,
    }
    info.update(over)
    return info


def save_tiny(folder, info: dict | None) -> str:
    torch.manual_seed(0)
    tok = byte_tokenizer()
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=WIDTH,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
    )
    model = LlamaForCausalLM(cfg)
    if info is not None:
        model.config.sentiment_neuron = info
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny-llama"), neuron())


@pytest.fixture(scope="module")
def pipe(folder):
    return pipeline("sentiment-neuron", model=folder)


def test_factory_gives_a_causal_lm_with_its_unit(pipe):
    assert isinstance(pipe, SentimentNeuronPipeline) and pipe.family == "causal-lm"
    # the task loads with AutoModel (no LM head): the pipeline reloads the folder as a causal LM to generate
    assert pipe.model.get_output_embeddings() is not None and pipe.model.dtype == torch.float32
    spec = neuron_spec(pipe.model)
    assert (spec.site, spec.layer, spec.unit, spec.polarity, spec.width) == ("mlp", LAYER, UNIT, -1, WIDTH)
    assert spec.calibrated


def test_value_is_the_probe_feature_and_trace_is_every_prefix(pipe):
    text = "A wonderful film!"
    out = pipe(text)
    feats = featurize(pipe.model, pipe.tokenizer, [text], layers=[LAYER], site="mlp", pool="mean")
    assert out["value"] == pytest.approx(float(next(iter(feats.values()))[0, UNIT]), abs=1e-5)
    assert len(out["trace"]) == len(out["tokens"]) == len(out["token_values"]) == len(text.encode())
    assert "".join(out["tokens"]) == text and out["trace"][-1] == pytest.approx(out["value"], abs=1e-9)
    assert out["trace"] == pytest.approx(
        np.cumsum(out["token_values"]) / np.arange(1, len(text) + 1), abs=1e-9
    )
    # causal: the trace after token t is exactly the reading of the text cut there
    for cut in (1, 5, 11):
        assert pipe(text[:cut])["value"] == pytest.approx(out["trace"][cut - 1], abs=1e-5)
    # label and score from the configured polarity, threshold and scale
    margin = -1 * (out["value"] - 0.01)
    assert out["label"] == ("POSITIVE" if margin > 0 else "NEGATIVE") and out["calibrated"] is True
    assert out["score"] == pytest.approx(1 / (1 + math.exp(-3.0 * abs(margin))), abs=1e-9)
    assert (out["site"], out["layer"], out["pool"]) == ("mlp", LAYER, "mean")
    assert format_reading(out).startswith(out["label"]) and "layer 1" in format_reading(out)


def test_last_token_pool_and_residual_site(tmp_path):
    p = pipeline("sentiment-neuron", model=save_tiny(tmp_path, neuron(pool="last", site="residual", unit=3)))
    out = p("so good")
    assert out["value"] == pytest.approx(out["token_values"][-1]) and out["trace"] == out["token_values"]
    feats = featurize(p.model, p.tokenizer, ["so good"], layers=[LAYER], site="residual", pool="last")
    assert out["value"] == pytest.approx(float(next(iter(feats.values()))[0, 3]), abs=1e-5)


def test_uncalibrated_lm_unit_gives_no_label(tmp_path):
    p = pipeline(
        "sentiment-neuron", model=save_tiny(tmp_path, neuron(unit_accuracy=0.55, measured_on="SST-2"))
    )
    out = p("great")
    assert out["label"] is None and out["score"] is None and "55.0 %" in out["message"]
    assert format_reading(out).startswith("UNCALIBRATED")


def test_overrides_read_but_never_label(pipe):
    out = pipe("great", unit=2, layer=0)
    assert (out["unit"], out["layer"], out["label"]) == (2, 0, None)
    assert out["value"] != pipe("great")["value"]


def test_clamp_holds_the_unit_and_leaves_the_model_unchanged(pipe):
    site = resolve_site(pipe.model, LAYER, "mlp")
    before = pipe("The film")["token_values"]
    seen = []
    # a forward hook sees the input after the pipeline's clamping pre-hook has replaced it
    handle = site.module.register_forward_hook(lambda _m, a, _o: seen.append(a[0][..., UNIT].clone()))
    try:
        out = pipe.generate("The film", clamp=1.5, max_new_tokens=6, seed=0)
    finally:
        handle.remove()
    assert out["clamp"] == {UNIT: -1.5}  # polarity -1: "positive" is a low value
    # every forward step (the prompt, then each new token) saw the unit at the clamp value
    assert len(seen) >= 6 and all(torch.all(v == -1.5) for v in seen)
    assert not site.module._forward_pre_hooks  # the clamp hook is gone afterwards
    assert pipe("The film")["token_values"] == before  # reading after generation sees the model's own values
    assert out == pipe.generate("The film", clamp=1.5, max_new_tokens=6, seed=0)  # seeded
    free = pipe.generate("The film", clamp=None, max_new_tokens=6, seed=0)
    assert free["clamp"] == {} and isinstance(free["text"], str)
    greedy = pipe.generate("The film", clamp={3: 0.5}, max_new_tokens=4, temperature=0)
    assert greedy == pipe.generate("The film", clamp={3: 0.5}, max_new_tokens=4, temperature=0, seed=9)
    # given bytes only, a causal LM generates ceil(bytes / 4) tokens
    assert pipe.generate("", max_bytes=20, seed=1) == pipe.generate("", max_new_tokens=5, seed=1)
    assert pipe.generate("", max_bytes=20, seed=1) != pipe.generate("", max_new_tokens=6, seed=1)


@pytest.mark.parametrize("bad", ["", "  \n", b"\xff\xfe", 3.5, None])
def test_bad_text(pipe, bad):
    with pytest.raises(SentimentInputError):
        pipe(bad)


def test_too_long_text_is_a_clear_limit_or_truncated(pipe):
    long = "good " * 20  # 100 tokens > max_tokens 64
    with pytest.raises(TextTooLongError, match="at most 64"):
        pipe(long)
    assert issubclass(TextTooLongError, LimitError)
    out = pipe(long, truncate=True)
    assert out["truncated"] is True and len(out["tokens"]) == 64
    with pytest.raises(TextTooLongError):  # 1 MB: refused before tokenising
        pipe("x" * 1_000_000)


@pytest.mark.parametrize("unit", [WIDTH, -1, 2.5, "7"])
def test_unit_out_of_range(pipe, unit):
    with pytest.raises(UnknownUnitError):
        pipe("fine", unit=unit)


@pytest.mark.parametrize("layer", [3, -1, 1.0, "1"])
def test_layer_out_of_range(pipe, layer):
    with pytest.raises(UnknownLayerError):
        pipe("fine", layer=layer)
    with pytest.raises(UnknownLayerError):
        pipe.generate("x", clamp=1.0, layer=layer)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"clamp": float("nan")},
        {"clamp": float("inf")},
        {"clamp": {UNIT: float("-inf")}},
        {"clamp": "loud"},
        {"clamp": [1.0]},
        {"max_new_tokens": 0},
        {"max_new_tokens": MAX_NEW_TOKENS_LIMIT + 1},
        {"max_new_tokens": 2.5},
        {"max_bytes": -1},
        {"temperature": -1},
        {"temperature": float("nan")},
        {"clamp_on": "h"},
    ],
)
def test_bad_generation_settings(pipe, kwargs):
    with pytest.raises(ClampError):
        pipe.generate("x", **kwargs)


def test_bad_clamp_unit_and_seed(pipe):
    with pytest.raises(UnknownUnitError):
        pipe.generate("x", clamp={WIDTH: 1.0})
    for seed in (-1, 1.5, "abc", True):
        with pytest.raises(SeedError):
            pipe.generate("x", clamp=1.0, seed=seed)


def test_model_without_a_discovered_unit(tmp_path):
    p = pipeline("sentiment-neuron", model=save_tiny(tmp_path, None))
    with pytest.raises(SentimentConfigError, match="no sentiment unit"):
        p("good")
    with pytest.raises(SentimentConfigError):
        p.generate("x", clamp=1.0)
    out = p("good", unit=1, layer=0)  # explicit unit and layer still read, without a label
    assert out["label"] is None and np.isfinite(out["value"])
    assert p.generate("x", max_new_tokens=2)["clamp"] == {}


@pytest.mark.parametrize(
    "bad",
    [
        {"site": "attention"},
        {"pool": "max"},
        {"unit": WIDTH},
        {"layer": 3},
        {"polarity": 0},
        {"threshold": "nan"},
        {"unit_accuracy": -0.1},
    ],
)
def test_malformed_config_is_refused(tmp_path, bad):
    with pytest.raises(SentimentConfigError):
        pipeline("sentiment-neuron", model=save_tiny(tmp_path, neuron(**bad)))


def test_errors_are_hfmech_errors():
    for err in (TextTooLongError, SentimentConfigError, ClampError, UnknownLayerError, UnknownUnitError):
        assert issubclass(err, HfmechError)


def test_model_object_and_tokenizer_can_be_passed(folder):
    model = AutoModelForCausalLM.from_pretrained(folder)
    p = pipeline("sentiment-neuron", model=model, tokenizer=byte_tokenizer())
    assert p("fine")["unit"] == UNIT


def test_discovery_features_equal_the_probe_features(pipe, tmp_path):
    """``discover_lm.featurize_all`` (every layer, both sites and pools in one pass, float16 on disk) gives the same
    features as ``lm_neuron.featurize`` for each."""
    from hfmech.sentiment.discover_lm import featurize_all

    texts = ["good", "a much longer and rather dull sentence", "ok!"]
    info = featurize_all(pipe.model, pipe.tokenizer, texts, tmp_path, batch_size=2, log_every=0)
    assert info["texts"] == 3 and info["n_layers"] == 3
    for site in ("mlp", "residual"):
        for pool in ("mean", "last"):
            stored = np.load(tmp_path / f"{site}-{pool}.npy")
            assert stored.dtype == np.float16 and stored.shape[:2] == (3, 3)
            for layer in range(3):
                ref = next(iter(featurize(pipe.model, pipe.tokenizer, texts, [layer], site, pool).values()))
                np.testing.assert_allclose(stored[:, layer].astype(np.float32), ref, rtol=2e-3, atol=2e-3)


def test_unit_scale_recovers_a_logistic_slope():
    from hfmech.sentiment.discover_lm import unit_scale

    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 1.0, 20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-2.5 * -(x - 0.3)))).astype(int)  # polarity -1, slope 2.5
    assert unit_scale(x, y, -1, 0.3) == pytest.approx(2.5, rel=0.08)


def test_best_single_units_finds_a_planted_unit_and_its_exact_threshold():
    from hfmech.sentiment.discover_lm import best_single_units
    from hfmech.sentiment.probe import single_unit_accuracy

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    X[:, 4] = np.where(y == 1, -1.0, 1.0) + 0.8 * rng.normal(size=400)  # unit 4: high = negative
    acc, pol, thr = best_single_units(X, y)
    assert int(np.argmax(acc)) == 4 and pol[4] == -1
    ref = single_unit_accuracy(X, y, X, y, 4, -1)  # the probe's exact search gives the same train accuracy
    assert acc[4] == pytest.approx(ref.train_accuracy)
    assert float(((-(X[:, 4] - thr[4]) > 0) == y).mean()) == pytest.approx(acc[4])
    assert acc.min() >= 0.5  # the better polarity is never below chance on train


def test_scan_picks_each_candidates_best_unit_on_train(tmp_path):
    """``discover_lm scan`` on synthetic features: unit 2 separates the classes on train, unit 0 only on dev."""
    import json

    import numpy as np

    from hfmech.sentiment.discover_lm import best_single_units, main

    rng = np.random.default_rng(0)
    feats = tmp_path / "feats"
    for split, n in (("train", 400), ("dev", 200), ("test", 200)):
        y = rng.integers(0, 2, n)
        x = rng.normal(size=(n, 1, 4)).astype(np.float16)  # (N, layers, units)
        x[:, 0, 2] += np.where(y == 1, -2.0, 2.0).astype(
            np.float16
        )  # negative polarity, strong on every split
        if split == "dev":
            x[:, 0, 0] += np.where(y == 1, 5.0, -5.0).astype(np.float16)  # perfect on dev only
        (feats / f"sst2-{split}").mkdir(parents=True)
        np.save(feats / f"sst2-{split}" / "mlp-last.npy", x)
        np.save(feats / f"sst2-{split}" / "labels.npy", y)
    out = tmp_path / "scan.json"
    assert main(["scan", "--feats", str(feats), "--out", str(out), "--configs", "mlp-last"]) == 0
    (row,) = json.loads(out.read_text())
    assert row["train_unit"] == 2 and row["train_unit_polarity"] == -1 and row["best_dev_unit"] == 0
    assert row["train_unit_dev"] > 0.9 and row["bd_dev"] == 1.0
    # the vectorised exact search agrees with brute force over every cut of unit 2
    x = np.load(feats / "sst2-train" / "mlp-last.npy")[:, 0].astype(np.float32)
    y = np.load(feats / "sst2-train" / "labels.npy")
    acc, pol, thr = best_single_units(x, y)
    v = np.sort(x[:, 2])
    cuts = np.concatenate([[v[0] - 1], (v[1:] + v[:-1]) / 2, [v[-1] + 1]])
    brute = max(max(((x[:, 2] > c) == y).mean(), ((x[:, 2] < c) == y).mean()) for c in cuts)
    assert abs(acc[2] - brute) < 1e-9
    assert ((pol[2] * (x[:, 2] - thr[2]) > 0) == y).mean() == acc[2]
