"""The fast inference paths of the byte mLSTM (in-place recurrence, byte tables, shrinking sorted batches, streamed
traces) against encoder.py's equations and against the plain per-step loop of :func:`mlstm_scan`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hfmech.sentiment import modeling_mlstm
from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM, mlstm_scan
from hfmech.sentiment.preprocessing import preprocess

from .test_mlstm import encoder_py_reference, synthetic_openai_arrays

H = 8


@pytest.fixture(scope="module")
def converted():
    from hfmech.sentiment.convert_openai import convert_openai

    arrays = synthetic_openai_arrays(seed=3)
    return arrays, convert_openai(arrays).double().eval()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return MLSTMForByteLM(MLSTMConfig(hidden_size=H)).eval()


TEXTS = ["", "a", "ab", "same len", "same le2", "a medium review of a film", "x" * 40, "é😀 日本語", "z" * 97]


@pytest.mark.parametrize("batch_size, chunk", [(1, 256), (3, 5), (4, 1), (64, 7), (64, 10_000)])
def test_shrinking_batches_match_encoder_py(converted, batch_size, chunk):
    """Every text's final c and h equal encoder.py's, whatever the batch (texts end at different steps inside and
    across chunks) and the chunk size."""
    arrays, model = converted
    feats_c = model.featurize(TEXTS, state="c", batch_size=batch_size, chunk_size=chunk)
    feats_h = model.featurize(TEXTS, state="h", batch_size=batch_size, chunk_size=chunk)
    for k, text in enumerate(TEXTS):
        _, _, ref_c, ref_h = encoder_py_reference(arrays, preprocess(text))
        np.testing.assert_allclose(feats_c[k], ref_c, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(feats_h[k], ref_h, rtol=1e-5, atol=1e-6)


def test_workspace_cap_splits_chunks(converted, monkeypatch):
    """A tiny workspace forces one-step chunks; the features do not change."""
    arrays, model = converted
    full = model.featurize(TEXTS, batch_size=4)
    monkeypatch.setattr(modeling_mlstm, "WORKSPACE_BYTES", 1)
    assert model._chunk_steps(4, 256) == 1
    np.testing.assert_allclose(model.featurize(TEXTS, batch_size=4), full, rtol=0, atol=1e-12)
    ref = encoder_py_reference(arrays, preprocess(TEXTS[5]))[0]
    np.testing.assert_allclose(model.trace(TEXTS[5]), ref, rtol=1e-5, atol=1e-6)


def test_featurize_empty_list(tiny):
    assert tiny.featurize([]).shape == (0, H)


def test_read_sorted_requires_longest_first(tiny):
    w = tiny.effective_weights()
    with pytest.raises(ValueError, match="longest first"):
        tiny._read_sorted([b"ab", b"abc"], w, tiny.input_tables(w), None)


def test_fast_run_equals_loop_and_leaves_inputs_alone(tiny):
    """run() without gradients (in-place, time-major) equals mlstm_scan's per-step loop (forced by an all-True
    mask), returns (B, T, H) sequences, and does not modify the caller's state."""
    torch.manual_seed(1)
    ids = torch.randint(0, 256, (3, 300))  # more ids than byte values: the table path
    c0, h0 = torch.randn(3, H), torch.randn(3, H)
    keep = (c0.clone(), h0.clone())
    with torch.no_grad():
        fast = tiny.run(ids, (c0, h0), collect="both")
        slow = tiny.run(ids, (c0, h0), mask=torch.ones(3, 300, dtype=torch.bool), collect="both")
        short = tiny.run(ids[:, :5], (c0, h0), collect="c")  # fewer ids than byte values: direct projections
    for a, b in zip(fast, slow):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(short[3], slow[3][:, :5], rtol=1e-5, atol=1e-6)
    assert short[2] is None
    torch.testing.assert_close(c0, keep[0], rtol=0, atol=0)
    torch.testing.assert_close(h0, keep[1], rtol=0, atol=0)


def test_mlstm_scan_fast_path_does_not_overwrite_projections(tiny):
    w = {k: v.detach() for k, v in tiny.effective_weights().items()}
    xm, xz = torch.randn(2, 6, H), torch.randn(2, 6, 4 * H)
    xz_before = xz.clone()
    c, h = torch.zeros(2, H), torch.zeros(2, H)
    fast = mlstm_scan(xm, xz, c, h, w["wh"], w["wmh"], collect="h")
    slow = mlstm_scan(xm, xz, c, h, w["wh"], w["wmh"], mask=torch.ones(2, 6, dtype=torch.bool), collect="h")
    torch.testing.assert_close(xz, xz_before, rtol=0, atol=0)
    assert not c.any() and not h.any()
    for a, b in zip(fast, slow):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="collect"):
        mlstm_scan(xm, xz, c, h, w["wh"], w["wmh"], collect="x")


def test_training_path_still_has_gradients(tiny):
    """With gradients the loop of mlstm_scan runs (autograd through every step)."""
    model = MLSTMForByteLM(tiny.config)
    model.load_state_dict(tiny.state_dict())
    ids = torch.randint(0, 256, (2, 300))
    loss = model(ids[:, :-1], labels=ids[:, 1:]).loss
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with torch.no_grad():
        assert torch.allclose(model(ids[:, :-1], labels=ids[:, 1:]).loss, loss.detach(), atol=1e-6)
    model.zero_grad()
    frozen = {k: v.detach() for k, v in model.effective_weights().items()}  # only the embedding trains
    _, _, hs, _ = model.run(ids, weights=frozen)
    hs.sum().backward()
    assert model.embed.weight.grad is not None and model.embed.weight.grad.abs().sum() > 0


def test_trace_units_and_float16(converted):
    arrays, model = converted
    text = "trace me, all of me " * 20
    ref = encoder_py_reference(arrays, preprocess(text))[0]
    full = model.trace(text, chunk_size=16)
    assert full.shape == ref.shape and full.dtype == np.float32
    np.testing.assert_allclose(full, ref, rtol=1e-5, atol=1e-6)
    one = model.trace(text, unit=4, chunk_size=16)
    assert one.shape == (len(ref),)
    np.testing.assert_allclose(one, ref[:, 4], rtol=1e-5, atol=1e-6)
    half = model.trace(text, unit=[1, 4], chunk_size=16, dtype=np.float16)
    assert half.dtype == np.float16 and half.shape == (len(ref), 2)
    np.testing.assert_allclose(half.astype(np.float64), ref[:, [1, 4]], rtol=2e-3, atol=2e-3)
    h_trace = model.trace(text, unit=4, state="h")
    _, _, _, ref_h = encoder_py_reference(arrays, preprocess(text))
    assert h_trace[-1] == pytest.approx(ref_h[4], rel=1e-5, abs=1e-6)
    assert model.trace("", unit=1, preprocessed=True).shape == (0,)


@pytest.mark.parametrize("kwargs, match", [({"dtype": np.int32}, "dtype"), ({"chunk_size": 0}, "chunk_size")])
def test_trace_bad_arguments(tiny, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny.trace("text", **kwargs)
