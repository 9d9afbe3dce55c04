"""Steering API (hfmech.sentiment.steering) and the TopK SAE (hfmech.sentiment.sae) on a tiny random
LlamaForCausalLM: activation addition adds exactly ``strength * v`` at the site, hooks leave the model unchanged,
clamping holds the unit, the mean difference recovers a planted direction, the SAE learns a planted dictionary, and
bad input is a typed error."""

import numpy as np
import pytest
import torch
from tiny_models import byte_tokenizer

from hfmech.errors import HfmechError
from hfmech.sentiment.sae import SAEError, TopKSAE, best_reading_feature, fvu, train_sae
from hfmech.sentiment.steering import (
    ControlVector,
    SentimentNeuron,
    SteeringError,
    SteeringVector,
    add_control,
    add_vector,
    continuation_nll,
    load_steering,
    mean_difference,
    response_mean_difference,
    site_width,
)

LAYER, UNIT, WIDTH = 1, 5, 24


@pytest.fixture(scope="module")
def tiny():
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=WIDTH,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    spec = {"site": "mlp", "layer": LAYER, "unit": UNIT, "polarity": -1, "clamp_value": 2.0, "pool": "last"}
    return SentimentNeuron(model, tok, spec)


def _site_input(model, text_ids):
    seen = {}
    h = model.model.layers[LAYER].mlp.down_proj.register_forward_pre_hook(
        lambda _m, a: seen.__setitem__("x", a[0].detach().clone())
    )
    try:
        with torch.no_grad():
            model(input_ids=text_ids)
    finally:
        h.remove()
    return seen["x"]


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_add_vector_adds_exactly_strength_times_v_at_every_position(tiny):
    model, tok = tiny.model, tiny.tokenizer
    ids = tok(["a short review"], return_tensors="pt")["input_ids"]
    v = torch.randn(WIDTH)
    before = _site_input(model, ids)
    with add_vector(model, v, 2.5, LAYER, "mlp"):
        # the capture hook is registered after the steering hook, so it sees the steered input
        during = _site_input(model, ids)
    torch.testing.assert_close(during - before, (2.5 * v).expand_as(before), rtol=0, atol=1e-5)


def test_context_managers_leave_the_model_unchanged(tiny):
    model, tok = tiny.model, tiny.tokenizer
    ids = tok(["the same text"], return_tensors="pt")["input_ids"]
    ref = _logits(model, ids)
    with tiny.steered(torch.randn(WIDTH), 8.0):
        assert not torch.allclose(_logits(model, ids), ref)
    with tiny.clamped(+3.0):
        assert not torch.allclose(_logits(model, ids), ref)
    with pytest.raises(RuntimeError), tiny.steered(torch.randn(WIDTH), 8.0):
        raise RuntimeError("inside the block")
    assert torch.equal(_logits(model, ids), ref)
    assert not model.model.layers[LAYER].mlp.down_proj._forward_pre_hooks


def test_generate_clamp_and_steer_change_samples_and_leave_the_model_unchanged(tiny):
    kw = {"max_new_tokens": 12, "seed": 3, "temperature": 0.0}
    base = tiny.generate("hello", **kw)
    assert tiny.generate("hello", clamp=+50.0, **kw) != base
    d = torch.zeros(WIDTH)
    d[0] = 1.0
    assert tiny.generate("hello", steer=d, strength=60.0, **kw) != base
    assert tiny.generate("hello", steer=d, strength=0.0, **kw) == base  # strength 0 is a no-op
    assert tiny.generate("hello", **kw) == base  # nothing left behind
    # sampling is seeded: same seed, same samples; the batch of prompts gives one sample per prompt and n
    s1 = tiny.generate(["hi", "a longer prompt"], n=2, max_new_tokens=5, seed=7)
    assert len(s1) == 4 and s1 == tiny.generate(["hi", "a longer prompt"], n=2, max_new_tokens=5, seed=7)


def test_clamp_holds_the_unit_at_polarity_times_value(tiny):
    model, tok = tiny.model, tiny.tokenizer
    ids = tok(["x y z"], return_tensors="pt")["input_ids"]
    with tiny.clamped(+1.5):
        x = _site_input(model, ids)
    assert torch.all(x[..., UNIT] == -1 * 1.5 * 2.0)  # polarity -1, clamp_value 2.0
    assert tiny.raw_clamp(-1.0) == {UNIT: 2.0}


def test_mean_difference_recovers_a_planted_direction():
    rng = np.random.default_rng(0)
    true = rng.normal(size=40)
    true /= np.linalg.norm(true)
    y = rng.integers(0, 2, size=2000)
    X = rng.normal(size=(2000, 40)) + np.outer(2 * y - 1, true) * 1.5
    sv = mean_difference(X, y, layer=3)
    assert float(sv.unit_vector.numpy() @ true) > 0.95
    assert (sv.predict(X) == y).mean() > 0.9
    assert sv.polarity == 1 and sv.layer == 3


def test_steering_vector_round_trip(tmp_path):
    sv = SteeringVector(torch.randn(WIDTH), LAYER, "mlp", threshold=0.25, polarity=-1, name="d")
    back = SteeringVector.load(sv.save(tmp_path / "d.safetensors"))
    assert torch.equal(back.vector, sv.vector)
    assert (back.layer, back.site, back.threshold, back.polarity, back.name) == (LAYER, "mlp", 0.25, -1, "d")
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(SteeringError):
        SteeringVector.load(tmp_path / "bad.safetensors")


def test_continuation_nll_is_the_cross_entropy_of_the_continuation(tiny):
    model, tok = tiny.model, tiny.tokenizer
    nll, count = continuation_nll(model, tok, ["ab"], ["cd"])
    ids = tok("abcd", return_tensors="pt")["input_ids"]
    logp = torch.log_softmax(_logits(model, ids)[0], -1)
    expected = -(logp[1, ids[0, 2]] + logp[2, ids[0, 3]])
    assert count[0] == 2 and nll[0] == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steer": torch.randn(WIDTH + 1)},  # wrong width
        {"steer": torch.full((WIDTH,), float("nan"))},
        {"steer": torch.randn(2, WIDTH)},
        {"steer": "direction"},
        {"steer": torch.randn(WIDTH), "strength": float("nan")},
        {"steer": torch.randn(WIDTH), "strength": float("inf")},
        {"clamp": float("nan")},
        {"clamp": float("-inf")},
        {"clamp": "high"},
        {"clamp": 1.0, "steer": torch.randn(WIDTH)},
        {"max_new_tokens": 0},
        {"max_new_tokens": 10_000},
        {"max_new_tokens": 4, "min_new_tokens": 5},
        {"temperature": -1.0},
        {"n": 0},
        {"n": 10_000},
    ],
)
def test_bad_generation_arguments_are_typed_errors(tiny, kwargs):
    with pytest.raises(SteeringError) as info:
        tiny.generate("hello", **kwargs)
    assert isinstance(info.value, HfmechError)


def test_bad_models_and_sites(tiny):
    model, tok = tiny.model, tiny.tokenizer
    with pytest.raises(SteeringError, match="no discovered sentiment unit"):
        SentimentNeuron(model, tok, spec={})
    with pytest.raises(SteeringError, match="out of range"):
        SentimentNeuron(model, tok, spec={"layer": LAYER, "unit": WIDTH})
    with pytest.raises(HfmechError):
        SentimentNeuron(model, tok, spec={"layer": 99, "unit": 0})
    with pytest.raises(SteeringError):
        tiny.generate(["ok", 3])
    assert site_width(model, LAYER, "mlp") == WIDTH and site_width(model, LAYER, "residual") == 16


def test_topk_sae_learns_a_planted_sparse_dictionary():
    torch.manual_seed(0)
    d, atoms, k = 16, 48, 2
    D = torch.nn.functional.normalize(torch.randn(atoms, d), dim=1)
    idx = torch.stack([torch.randperm(atoms)[:k] for _ in range(6000)])
    coef = torch.rand(6000, k) * 2 + 0.5
    X = torch.einsum("nk,nkd->nd", coef, D[idx]) + 0.3
    sae, report = train_sae(X, n_latents=96, k=4, batch_size=256, lr=3e-3, epochs=30, log=lambda m: None)
    assert report["tokens_seen"] > 6000 * 20
    assert fvu(sae, X) < 0.15  # a dense rank-4 fit of 48 atoms in 16-d leaves far more unexplained
    assert torch.allclose(sae.W_dec.norm(dim=1), torch.ones(96), atol=1e-4)
    z = sae.encode(X[:100])
    assert int((z > 0).sum(1).max()) <= 4
    # the sparse encoder path equals the dense definition
    pre = torch.relu(sae.pre_activations(X[:50]))
    dense = torch.zeros_like(pre).scatter(
        1, pre.topk(4, dim=1).indices, pre.gather(1, pre.topk(4, dim=1).indices)
    )
    torch.testing.assert_close(sae.encode(X[:50]), dense, rtol=1e-5, atol=1e-5)


def test_sae_reading_feature_and_errors(tmp_path):
    torch.manual_seed(0)
    sae = TopKSAE(8, 16, 3)
    y = np.arange(400) % 2
    # inputs along the decoder row of latent 5 only for positives: that latent reads the label
    X = np.random.default_rng(0).normal(size=(400, 8)).astype(np.float32) * 0.1
    X[y == 1] += 3.0 * sae.W_dec[5].detach().numpy()
    f, pol, _thr, acc, codes = best_reading_feature(sae, X, y)
    assert acc > 0.95 and codes.shape == (400, 16)
    back = TopKSAE.load(sae.save(tmp_path / "sae.safetensors", dtype=torch.float32))
    assert torch.equal(back.W_enc, sae.W_enc) and back.k == 3
    with pytest.raises(SAEError):
        sae.encode(torch.zeros(4, 9))
    with pytest.raises(SAEError):
        TopKSAE(8, 16, 0)
    with pytest.raises(SAEError):
        train_sae(torch.full((64, 8), float("nan")), 16, 2, batch_size=32)
    assert f in range(16) and pol in (-1, 1)


# ------------------------------------------------------------------------ contrastive, several layers (CAA)

HIDDEN = 16


def _block_outputs(model, ids):
    """(n_layers, T, hidden) block outputs, captured by hooks registered after any steering hook."""
    seen, handles = {}, []
    for i, block in enumerate(model.model.layers):
        handles.append(
            block.register_forward_hook(
                lambda _m, _a, out, i=i: seen.__setitem__(i, (out[0] if isinstance(out, tuple) else out)[0])
            )
        )
    try:
        with torch.no_grad():
            model(input_ids=ids)
    finally:
        for h in handles:
            h.remove()
    return torch.stack([seen[i] for i in range(len(seen))])


def test_control_vector_rows_are_unit_directions_times_one_percent_of_the_norm():
    rng = np.random.default_rng(0)
    diffs = rng.normal(size=(3, HIDDEN)).astype(np.float32)
    norms = np.array([10.0, 200.0, 50.0], dtype=np.float32)
    cv = ControlVector.from_differences(diffs, norms, [2, 0], name="caa")
    assert cv.layers == (2, 0) and cv.vectors.shape == (2, HIDDEN)
    torch.testing.assert_close(cv.vectors.norm(dim=1), torch.tensor([0.5, 0.1]))  # norms[l] / 100
    for row, layer in zip(cv.vectors, cv.layers):
        cos = float(row @ torch.from_numpy(diffs[layer])) / float(row.norm()) / np.linalg.norm(diffs[layer])
        assert cos == pytest.approx(1.0, abs=1e-6)
    for bad in (
        lambda: ControlVector.from_differences(diffs, norms, [3]),  # no such layer
        lambda: ControlVector.from_differences(diffs, norms[:2], [0]),  # norms do not match
        lambda: ControlVector.from_differences(np.zeros((3, HIDDEN)), norms, [1]),  # zero difference
        lambda: ControlVector(torch.ones(2, HIDDEN), (1, 1)),  # repeated layer
        lambda: ControlVector(torch.ones(2, HIDDEN), (1,)),  # rows != layers
        lambda: ControlVector(torch.full((1, HIDDEN), float("nan")), (1,)),
    ):
        with pytest.raises(SteeringError):
            bad()


def test_add_control_adds_each_row_at_its_layer_and_leaves_the_model_unchanged(tiny):
    model, tok = tiny.model, tiny.tokenizer
    ids = tok(["a short review"], return_tensors="pt")["input_ids"]
    v0, v2 = torch.randn(HIDDEN), torch.randn(HIDDEN)
    cv = ControlVector(torch.stack([v2, v0]), (2, 0))
    before = _block_outputs(model, ids)
    ref = _logits(model, ids)
    with add_control(model, cv, -1.5):
        during = _block_outputs(model, ids)
        steered = _logits(model, ids)
    # the first steered block's output moves by exactly strength * its row ...
    torch.testing.assert_close(during[0] - before[0], (-1.5 * v0).expand_as(before[0]), rtol=0, atol=1e-5)
    # ... and the result is the two single-layer additions composed, not one of them
    with add_vector(model, v0, -1.5, 0, "residual"), add_vector(model, v2, -1.5, 2, "residual"):
        torch.testing.assert_close(_logits(model, ids), steered, rtol=0, atol=1e-6)
    with add_vector(model, v0, -1.5, 0, "residual"):
        assert not torch.allclose(_logits(model, ids), steered, atol=1e-4)
    assert torch.equal(_logits(model, ids), ref)
    assert not any(block._forward_hooks for block in model.model.layers)
    with pytest.raises(SteeringError), add_control(model, cv, float("inf")):
        pass
    with pytest.raises(SteeringError), add_control(model, torch.ones(HIDDEN), 1.0):
        pass
    bad = ControlVector(torch.ones(1, HIDDEN + 1), (0,))  # wrong width for the model
    with pytest.raises(SteeringError), add_control(model, bad, 1.0):
        pass


def test_generate_steers_with_a_control_vector(tiny):
    kw = {"max_new_tokens": 12, "seed": 3, "temperature": 0.0}
    base = tiny.generate("hello", **kw)
    cv = ControlVector(torch.randn(2, HIDDEN), (0, 2))
    assert tiny.generate("hello", steer=cv, strength=40.0, **kw) != base
    assert tiny.generate("hello", steer=cv, strength=0.0, **kw) == base
    assert tiny.generate("hello", **kw) == base


def test_control_vector_round_trip_and_load_steering(tmp_path):
    cv = ControlVector(torch.randn(3, HIDDEN), (4, 1, 9), name="caa")
    back = ControlVector.load(cv.save(tmp_path / "c.safetensors"))
    assert torch.equal(back.vectors, cv.vectors) and back.layers == (4, 1, 9) and back.name == "caa"
    assert isinstance(load_steering(tmp_path / "c.safetensors"), ControlVector)
    SteeringVector(torch.randn(WIDTH), LAYER).save(tmp_path / "d.safetensors")
    assert isinstance(load_steering(tmp_path / "d.safetensors"), SteeringVector)
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    for load in (ControlVector.load, load_steering):
        with pytest.raises(SteeringError):
            load(tmp_path / "bad.safetensors")
    with pytest.raises(SteeringError):  # a direction file is not a control vector
        ControlVector.load(tmp_path / "d.safetensors")


def test_response_mean_difference_averages_the_response_tokens(tiny):
    model, tok = tiny.model, tiny.tokenizer
    contexts, pos, neg = ["ab", "a longer context "], ["good!", "nice and fine"], ["bad", "awful, awful"]
    diffs, norms = response_mean_difference(model, tok, contexts, pos, neg, batch_size=1)
    assert diffs.shape == (3, HIDDEN) and norms.shape == (3,)

    def side_mean(responses):
        rows, token_norms = [], []
        for c, r in zip(contexts, responses):
            h = _block_outputs(model, tok([c + r], return_tensors="pt")["input_ids"])
            start = len(tok(c)["input_ids"])
            rows.append(h[:, start:].mean(1))
            token_norms.append(h[:, start:].norm(dim=-1))
        return torch.stack(rows).mean(0), token_norms

    (mp, np_), (mn, nn_) = side_mean(pos), side_mean(neg)
    np.testing.assert_allclose(diffs, (mp - mn).numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(norms, torch.cat(np_ + nn_, dim=1).median(dim=1).values.numpy(), rtol=1e-4)
    # batched (right-padded) equals one by one; the same text on both sides gives no difference
    np.testing.assert_allclose(response_mean_difference(model, tok, contexts, pos, neg)[0], diffs, atol=1e-5)
    assert np.abs(response_mean_difference(model, tok, contexts, pos, pos)[0]).max() == 0
    with pytest.raises(SteeringError):
        response_mean_difference(model, tok, contexts, pos, neg[:1])
    with pytest.raises(SteeringError):
        response_mean_difference(model, tok, ["ab"], [""], ["x"])


# ------------------------------------------------------------------------------------- the pipeline's generate


@pytest.fixture(scope="module")
def pipe_folder(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-steer")
    tiny.model.config.sentiment_neuron = {
        **tiny.spec,
        "threshold": 0.0,
        "scale": 1.0,
        "unit_accuracy": 0.8,
        "measured_on": "a toy set",
    }
    tiny.model.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    return folder


def test_pipeline_steers_with_the_models_direction(pipe_folder):
    from transformers import pipeline

    from hfmech.sentiment import ClampError, SentimentConfigError

    pipe = pipeline("sentiment-neuron", model=str(pipe_folder))
    kw = {"max_new_tokens": 10, "temperature": 0, "seed": 0}
    with pytest.raises(SentimentConfigError, match="no sentiment direction"):
        pipe.generate("hello", steer="direction", **kw)
    direction = torch.zeros(WIDTH)
    direction[2] = 3.0
    SteeringVector(direction, LAYER, "mlp").save(pipe_folder / "sentiment_direction.safetensors")
    base = pipe.generate("hello", **kw)["text"]
    assert pipe.generate("hello", steer="direction", strength=0.0, **kw)["text"] == base
    steered = pipe.generate("hello", steer="direction", strength=80.0, **kw)
    assert steered["text"] != base and steered["steer_strength"] == 80.0 and steered["layer"] == LAYER
    # a raw vector is normalised: 3·e2 and e2 steer the same
    e2 = torch.zeros(WIDTH)
    e2[2] = 1.0
    assert pipe.generate("hello", steer=e2, strength=80.0, **kw)["text"] == steered["text"]
    assert pipe.generate("hello", **kw)["text"] == base  # the hook is gone
    for bad in (
        {"steer": torch.ones(WIDTH + 3)},
        {"steer": torch.full((WIDTH,), float("inf"))},
        {"steer": "direction", "strength": float("nan")},
        {"steer": "sideways"},
        {"steer": "direction", "clamp": 1.0},
    ):
        with pytest.raises(ClampError):
            pipe.generate("hello", **{**kw, **bad})


def test_bf16_selection_keeps_float32_values():
    torch.manual_seed(1)
    sae = TopKSAE(32, 128, 8)
    x = torch.randn(64, 32)
    ref = sae.encode(x)
    sae.select_dtype = torch.bfloat16
    low = sae.encode(x)
    same_rows = (ref.ne(0) == low.ne(0)).all(1)
    assert same_rows.float().mean() > 0.8  # the choice may differ on near-ties only
    torch.testing.assert_close(low[same_rows], ref[same_rows])  # chosen values are exact float32


def test_continuation_nll_batched_equals_one_by_one(tiny):
    model, tok = tiny.model, tiny.tokenizer
    prompts, conts = ["a", "a longer prompt here", "mid"], ["xyz", "q", "a rather longer continuation"]
    nll_b, count_b = continuation_nll(model, tok, prompts, conts, batch_size=3)
    nll_1, count_1 = continuation_nll(model, tok, prompts, conts, batch_size=1)
    assert list(count_b) == list(count_1) == [3, 1, 28]
    np.testing.assert_allclose(nll_b, nll_1, rtol=1e-4)


def test_space_steers_with_the_direction(pipe_folder):
    gr = pytest.importorskip("gradio")
    from transformers import pipeline

    from hfmech.sentiment.space import _has_direction, build_demo, steer_review

    d = torch.zeros(WIDTH)
    d[2] = 1.0
    SteeringVector(d, LAYER, "mlp").save(pipe_folder / "sentiment_direction.safetensors")
    pipe = pipeline("sentiment-neuron", model=str(pipe_folder))
    assert _has_direction(pipe)
    expected = pipe.generate("hi", steer="direction", strength=40.0, max_bytes=40, seed=3)["text"]
    assert steer_review("hi", 40.0, 40, 3, model=str(pipe_folder)) == "hi" + expected
    with pytest.raises(gr.Error, match="finite"):
        steer_review("hi", float("nan"), 40, 3, model=str(pipe_folder))
    demo = build_demo(model=str(pipe_folder))
    assert "steer" in {getattr(fn, "api_name", None) for fn in demo.fns.values()}


def test_cli_generate_steers_with_the_direction(pipe_folder, capsys):
    from hfmech import cli

    d = torch.zeros(WIDTH)
    d[2] = 1.0
    SteeringVector(d, LAYER, "mlp").save(pipe_folder / "sentiment_direction.safetensors")
    args = ["sentiment-generate", "The food", "--model", str(pipe_folder), "--max-new-tokens", "6"]
    assert cli.main([*args, "--steer", "direction", "--strength", "30"]) == 0
    assert capsys.readouterr().out.startswith("The food")
    assert cli.main([*args, "--steer", "direction", "--strength", "inf"]) == 2
    assert "finite" in capsys.readouterr().err


def test_the_shipped_caa_vector_is_a_control_vector_for_smollm2s_residual_stream():
    from hfmech.sentiment.zoo_smollm2 import DIRECTION_FILE

    caa = load_steering(DIRECTION_FILE.with_name("sentiment_caa.safetensors"))
    assert isinstance(caa, ControlVector) and caa.site == "residual" and caa.name == "caa"
    assert caa.layers == (6, 9, 12) and caa.vectors.shape == (3, 576)  # SmolLM2-135M: 30 blocks, hidden 576
    # each row is 1 % of the residual stream's median token norm at its layer (98.1, 131.3, 138.5 when built)
    torch.testing.assert_close(
        caa.vectors.norm(dim=1), torch.tensor([0.981, 1.313, 1.385]), rtol=0, atol=1e-3
    )
    cos = (
        torch.nn.functional.normalize(caa.vectors, dim=1)
        @ torch.nn.functional.normalize(caa.vectors, dim=1).T
    )
    assert 0.7 < float(cos[0, 2]) < float(cos[0, 1]) < 0.95  # neighbouring layers' directions agree more
    assert isinstance(load_steering(DIRECTION_FILE), SteeringVector)  # the reading direction is unchanged


def test_pipeline_steers_with_the_models_control_vector(pipe_folder, tmp_path):
    import shutil

    from transformers import pipeline

    from hfmech.sentiment import ClampError

    folder = tmp_path / "with-caa"
    shutil.copytree(pipe_folder, folder)
    kw = {"max_new_tokens": 10, "temperature": 0, "seed": 0}
    cv = ControlVector(torch.randn(2, HIDDEN), (0, 2), name="caa")
    cv.save(folder / "sentiment_caa.safetensors")
    pipe = pipeline("sentiment-neuron", model=str(folder))
    assert isinstance(pipe.steering_vector(), ControlVector)
    base = pipe.generate("hello", **kw)["text"]
    out = pipe.generate("hello", steer="direction", strength=60.0, **kw)
    with add_control(pipe.model, cv, 60.0):
        expected = pipe.generate("hello", **kw)["text"]
    assert out["text"] == expected != base and out["layer"] == [0, 2] and out["site"] == "residual"
    assert pipe.generate("hello", steer=cv, strength=60.0, **kw)["text"] == expected
    assert pipe.generate("hello", **kw)["text"] == base  # the hooks are gone
    with pytest.raises(ClampError):
        pipe.generate("hello", steer=ControlVector(torch.randn(1, HIDDEN + 2), (1,)), strength=1.0, **kw)
