"""The sentiment-neuron probe and clamp on a tiny random LlamaForCausalLM (hidden 32): hooks read the right tensor,
pooling ignores padding, the forward stops early, clamping holds the unit and changes what is generated."""

import numpy as np
import pytest
import torch
from tiny_models import byte_tokenizer

from hfmech.sentiment import lm_neuron
from hfmech.sentiment.lm_neuron import LMNeuronError
from hfmech.vision.features import UnknownLayerError


@pytest.fixture(scope="module")
def tiny():
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    return model, tokenizer


TEXTS = ["a short one", "a considerably longer text than the first", "mid length"]


def test_mlp_site_reads_down_proj_input(tiny):
    model, tok = tiny
    layer = 1
    block = model.model.layers[layer]
    seen = {}
    handle = block.mlp.down_proj.register_forward_pre_hook(lambda m, a: seen.__setitem__("x", a[0].detach()))
    try:
        enc = tok([TEXTS[1]], return_tensors="pt")
        model(**enc)
    finally:
        handle.remove()
    feats = lm_neuron.featurize(model, tok, [TEXTS[1]], layers=layer, site="mlp", pool="mean")
    ((name, arr),) = feats.items()
    assert name == "layers.1.mlp" and arr.shape == (1, 48)
    np.testing.assert_allclose(arr[0], seen["x"][0].mean(0).numpy(), rtol=1e-5, atol=1e-6)


def test_residual_site_equals_hidden_states(tiny):
    model, tok = tiny
    enc = tok([TEXTS[0]], return_tensors="pt")
    with torch.no_grad():
        hs = model(
            **enc, output_hidden_states=True
        ).hidden_states  # (embeddings, block0, block1, block2 normed)
    for pool, ref in (("mean", hs[1][0].mean(0)), ("last", hs[1][0, -1])):
        arr = lm_neuron.featurize(model, tok, [TEXTS[0]], layers=0, site="residual", pool=pool)[
            "layers.0.residual"
        ]
        np.testing.assert_allclose(arr[0], ref.numpy(), rtol=1e-5, atol=1e-6)


def test_pooling_ignores_padding_and_order(tiny):
    model, tok = tiny
    for pool in ("mean", "last"):
        batched = lm_neuron.featurize(model, tok, TEXTS, layers=[0, 2], site="mlp", pool=pool, batch_size=3)
        for i, text in enumerate(TEXTS):
            alone = lm_neuron.featurize(model, tok, [text], layers=[0, 2], site="mlp", pool=pool)
            for key in alone:
                np.testing.assert_allclose(batched[key][i], alone[key][0], rtol=1e-4, atol=1e-5)


def test_forward_stops_after_deepest_layer(tiny):
    model, tok = tiny
    calls = []
    handle = model.model.layers[2].register_forward_hook(lambda *a: calls.append(1))
    try:
        lm_neuron.featurize(model, tok, TEXTS, layers=[0, 1], site="mlp")
    finally:
        handle.remove()
    assert calls == []


def test_clamp_holds_unit_at_every_position_and_is_removed(tiny):
    model, tok = tiny
    enc = tok(TEXTS[:1], return_tensors="pt")
    seen = []
    spy = model.model.layers[1].mlp.down_proj.register_forward_pre_hook(
        lambda m, a: seen.append(a[0].detach())
    )
    try:
        with torch.no_grad():
            before = model(**enc).logits
            with lm_neuron.clamp_units(model, {5: 3.0, 7: -2.0}, layer=1, site="mlp"):
                clamped = model(**enc).logits
            after = model(**enc).logits
    finally:
        spy.remove()
    # the spy is registered first, so it sees the input before the clamp hook rewrites it; check via a re-run
    assert not torch.allclose(before, clamped)
    torch.testing.assert_close(before, after)
    captured = {}
    with lm_neuron.clamp_units(model, {5: 3.0}, layer=1, site="mlp"):
        h = model.model.layers[1].mlp.down_proj.register_forward_pre_hook(
            lambda m, a: captured.__setitem__("x", a[0].detach())
        )
        try:
            with torch.no_grad():
                model(**enc)
        finally:
            h.remove()
    assert torch.all(captured["x"][..., 5] == 3.0)


def test_clamped_generation_changes_the_distribution(tiny):
    model, tok = tiny
    prompt = "the film"
    enc = tok([prompt], return_tensors="pt")
    with torch.no_grad():
        p0 = model(**enc).logits[0, -1].softmax(-1)
        with lm_neuron.clamp_units(model, {3: 50.0}, layer=2, site="residual"):
            p1 = model(**enc).logits[0, -1].softmax(-1)
    tv = 0.5 * (p0 - p1).abs().sum().item()
    assert tv > 0.05
    a = lm_neuron.generate_clamped(
        model, tok, prompt, None, layer=2, site="residual", n=4, max_new_tokens=12, seed=1
    )
    b = lm_neuron.generate_clamped(
        model, tok, prompt, None, layer=2, site="residual", n=4, max_new_tokens=12, seed=1
    )
    c = lm_neuron.generate_clamped(
        model, tok, prompt, {3: 50.0}, layer=2, site="residual", n=4, max_new_tokens=12, seed=1
    )
    assert a == b  # seeded
    assert a != c  # same seed, clamped: different text
    assert len(a) == 4 and all(isinstance(t, str) for t in a)


def test_probe_finds_unit_planted_in_lm_features(tiny):
    """A unit whose clamp value encodes the label is recovered by the probe from real hooked activations."""
    from hfmech.sentiment.probe import discover_unit

    model, tok = tiny
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("abcdefgh "), size=rng.integers(5, 20))) for _ in range(160)]
    labels = rng.integers(0, 2, size=160)
    feats = []
    for text, y in zip(texts, labels):
        with lm_neuron.clamp_units(model, {11: 1.0 if y else -1.0}, layer=0, site="residual"):
            feats.append(
                lm_neuron.featurize(model, tok, [text], layers=1, site="residual")["layers.1.residual"][0]
            )
    X = np.stack(feats)
    _, unit = discover_unit(X[:100], labels[:100], X[100:130], labels[100:130], X[130:], labels[130:])
    # the planted residual unit flows into layer 1's residual stream unchanged (residual connection) plus updates
    assert unit.unit == 11 and unit.test_accuracy == 1.0


@pytest.mark.parametrize(
    "kwargs, err",
    [
        ({"layers": 7}, UnknownLayerError),
        ({"layers": "x"}, LMNeuronError),
        ({"site": "attention"}, LMNeuronError),
        ({"site": "input:model.nope"}, UnknownLayerError),
        ({"pool": "max"}, LMNeuronError),
    ],
)
def test_featurize_bad_arguments(tiny, kwargs, err):
    model, tok = tiny
    with pytest.raises(err):
        lm_neuron.featurize(model, tok, TEXTS, **{"layers": 0, **kwargs})


def test_clamp_bad_arguments(tiny):
    model, tok = tiny
    with pytest.raises(LMNeuronError, match="number"):
        lm_neuron.generate_clamped(model, tok, "x", {1: "big"}, layer=0, max_new_tokens=2)
    with pytest.raises(LMNeuronError, match="non-negative"):
        lm_neuron.generate_clamped(model, tok, "x", {-1: 1.0}, layer=0, max_new_tokens=2)
    with pytest.raises(LMNeuronError, match="out of range"):
        lm_neuron.generate_clamped(model, tok, "x", {999: 1.0}, layer=0, max_new_tokens=2)
    with pytest.raises(LMNeuronError, match="no texts"):
        lm_neuron.featurize(model, tok, [], layers=0)


def test_module_path_sites(tiny):
    model, tok = tiny
    a = lm_neuron.featurize(model, tok, TEXTS, layers=0, site="input:model.layers.0.mlp.down_proj")
    b = lm_neuron.featurize(model, tok, TEXTS, layers=0, site="mlp")
    np.testing.assert_allclose(next(iter(a.values())), next(iter(b.values())))
