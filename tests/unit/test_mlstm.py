"""The byte mLSTM: encoder.py's equations (independent numpy reference), converter layout, featurisation, training."""

from __future__ import annotations

import html

import numpy as np
import pytest
import torch

from hfmech.sentiment.convert_openai import OpenAIWeightsError, convert_openai, load_openai_arrays
from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM, UnknownUnitError
from hfmech.sentiment.preprocessing import SentimentInputError, preprocess

H = 8


# ---------------------------------------------------------------------------------------------------------------------
# An independent numpy transcription of openai/generating-reviews-discovering-sentiment encoder.py (mlstm + model)
# ---------------------------------------------------------------------------------------------------------------------
def _l2n(w, g):  # tf.nn.l2_normalize(w, dim=0) * g
    return w / np.sqrt(np.maximum((w**2).sum(0, keepdims=True), 1e-12)) * g


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def encoder_py_reference(params15, data: bytes):
    """Return (cells (T, H), logits (T, 256), cfinal, hfinal) exactly as encoder.py computes them (batch 1)."""
    p = [np.asarray(a, dtype=np.float64) for a in params15]
    p[2] = np.concatenate(p[2:6], axis=1)
    p[3:6] = []
    embd, wx, wh, wmx, wmh, b, gx, gh, gmx, gmh, w_out, b_out = p
    wx, wh, wmx, wmh = _l2n(wx, gx), _l2n(wh, gh), _l2n(wmx, gmx), _l2n(wmh, gmh)
    hdim = wmh.shape[0]
    c = np.zeros((1, hdim))
    h = np.zeros((1, hdim))
    cells, logits = [], []
    for byte in data:
        x = embd[[byte]]
        m = (x @ wmx) * (h @ wmh)
        z = x @ wx + m @ wh + b
        i, f, o, u = np.split(z, 4, axis=1)
        i, f, o, u = _sigmoid(i), _sigmoid(f), _sigmoid(o), np.tanh(u)
        c = f * c + i * u
        h = o * np.tanh(c)
        cells.append(c[0])
        logits.append((h @ w_out + b_out)[0])
    return np.array(cells), np.array(logits), c[0], h[0]


def synthetic_openai_arrays(hdim=H, seed=0):
    """15 arrays in encoder.py's file layout (0 emb, 1 wx, 2-5 wh blocks, 6 wmx, 7 wmh, 8 b, 9-12 g's, 13-14 out)."""
    rng = np.random.default_rng(seed)
    shapes = [(256, 64), (64, 4 * hdim)] + [(hdim, hdim)] * 4 + [(64, hdim), (hdim, hdim), (4 * hdim,)]
    shapes += [(4 * hdim,), (4 * hdim,), (hdim,), (hdim,), (hdim, 256), (256,)]
    arrays = [rng.normal(0, 0.5, s).astype(np.float32) for s in shapes]
    for k in (9, 10, 11, 12):  # positive weight-norm gains
        arrays[k] = np.abs(arrays[k]) + 0.5
    return arrays


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return MLSTMForByteLM(MLSTMConfig(hidden_size=H)).eval()


def test_converter_matches_encoder_py_reference(tmp_path):
    arrays = synthetic_openai_arrays()
    for i, a in enumerate(arrays):
        np.save(tmp_path / f"{i}.npy", a)
    model = convert_openai(tmp_path).double()
    text = "I <b>loved</b> it &amp; would watch again.\nTen/10 — très bien"
    data = preprocess(text)
    assert data == ("\n " + html.unescape(text).replace("\n", " ").strip() + " ").encode()
    ref_cells, ref_logits, ref_c, ref_h = encoder_py_reference(arrays, data)
    out = model(model._ids(data).unsqueeze(0), output_cell_states=True)
    np.testing.assert_allclose(out.cell_states[0].detach().numpy(), ref_cells, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(out.logits[0].detach().numpy(), ref_logits, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.featurize([text], state="c")[0], ref_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.featurize([text], state="h")[0], ref_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.trace(text), ref_cells, rtol=1e-5, atol=1e-6)


def test_converter_rejects_other_layouts(tmp_path):
    arrays = synthetic_openai_arrays()
    swapped = list(arrays)
    swapped[6], swapped[7] = swapped[7], swapped[6]  # wmx <-> wmh
    with pytest.raises(OpenAIWeightsError, match="wmx"):
        convert_openai(swapped)
    with pytest.raises(OpenAIWeightsError, match="missing"):
        load_openai_arrays(tmp_path)


@pytest.mark.parametrize("bad", ["object", "text", "truncated", "strings"])
def test_converter_refuses_object_arrays_and_broken_files_without_unpickling(tmp_path, bad):
    for i, array in enumerate(synthetic_openai_arrays()):
        np.save(tmp_path / f"{i}.npy", array)
    target = tmp_path / "3.npy"
    if bad == "object":  # a pickled object array: np.load(allow_pickle=False) refuses it, we name the file
        np.save(target, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    elif bad == "text":
        target.write_text("not an array")
    elif bad == "truncated":
        target.write_bytes(target.read_bytes()[:100])
    else:
        np.save(target, np.array(["a", "b"]))
    with pytest.raises(OpenAIWeightsError, match="3.npy"):
        load_openai_arrays(tmp_path)


def test_gate_order_matters(tmp_path):
    """Swapping the i and f blocks of every gate matrix changes the states: the converter really uses i, f, o, u."""
    arrays = synthetic_openai_arrays(seed=1)
    a = convert_openai(arrays).double()
    perm = synthetic_openai_arrays(seed=1)
    for k in (1, 8, 9, 10):  # wx, b, gx, gh: swap column blocks 0 and 1
        blocks = np.split(perm[k], 4, axis=-1)
        perm[k] = np.concatenate([blocks[1], blocks[0], blocks[2], blocks[3]], axis=-1)
    perm[2], perm[3] = perm[3], perm[2]
    b = convert_openai(perm).double()
    ref = encoder_py_reference(arrays, preprocess("gate order"))[0]
    assert np.allclose(a.trace("gate order"), ref, atol=1e-5)
    assert not np.allclose(b.trace("gate order"), ref, atol=1e-3)


def test_chunked_equals_unchunked_and_batched_equals_single(tiny):
    texts = ["short", "a somewhat longer review, with punctuation!", "", "é😀 日本語 العربية", "x" * 700]
    single = np.stack([tiny.featurize([t], chunk_size=10_000)[0] for t in texts])
    for chunk, bs in ((1, 2), (7, 3), (64, 128)):
        feats = tiny.featurize(texts, batch_size=bs, chunk_size=chunk)
        assert feats.shape == (5, H) and feats.dtype == np.float32
        np.testing.assert_allclose(feats, single, rtol=0, atol=2e-6)
    trace_full = tiny.trace(texts[4], chunk_size=10_000)
    np.testing.assert_allclose(tiny.trace(texts[4], chunk_size=13), trace_full, atol=2e-6)
    np.testing.assert_allclose(trace_full[-1], single[4], atol=2e-6)
    assert tiny.trace(texts[4], unit=3).shape == (len(preprocess(texts[4])),)
    np.testing.assert_allclose(tiny.trace(texts[4], unit=[3, 5]), trace_full[:, [3, 5]], atol=2e-6)


def test_featurize_is_order_independent(tiny):
    texts = [f"review number {i} " * (i % 5 + 1) for i in range(11)]
    a = tiny.featurize(texts, batch_size=4)
    b = tiny.featurize(texts[::-1], batch_size=4)[::-1]
    np.testing.assert_allclose(a, b, atol=2e-6)


def test_loss_falls_when_training_on_a_repeated_string():
    torch.manual_seed(0)
    model = MLSTMForByteLM(MLSTMConfig(hidden_size=32))
    data = torch.tensor(list(b"the film was great. " * 6)).unsqueeze(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = model(data[:, :-1], labels=data[:, 1:]).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], losses[::8]


def test_weight_norm_scale_invariance(tiny):
    """Rescaling V leaves the model unchanged (only g sets the column norms): the weight norm is applied."""
    clone = MLSTMForByteLM(tiny.config)
    clone.load_state_dict(tiny.state_dict())
    with torch.no_grad():
        for v in (clone.wx, clone.wh, clone.wmx, clone.wmh):
            v.mul_(7.5)
    np.testing.assert_allclose(clone.featurize(["scale"]), tiny.featurize(["scale"]), atol=1e-5)


def test_save_and_load_round_trip(tiny, tmp_path):
    from transformers import AutoModel

    import hfmech  # noqa: F401  (registers the model type)

    tiny.config.sentiment_unit = 3
    tiny.save_pretrained(tmp_path)
    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, MLSTMForByteLM) and loaded.config.sentiment_unit == 3
    np.testing.assert_array_equal(loaded.featurize(["round trip"]), tiny.featurize(["round trip"]))
    tiny.config.sentiment_unit = None


@pytest.mark.parametrize(
    "bad, match",
    [(b"\xff\xfe bad", "not valid UTF-8"), ("lone \ud800 surrogate", "surrogate"), (42, "must be a string")],
)
def test_bad_text_raises_typed_error(tiny, bad, match):
    with pytest.raises(SentimentInputError, match=match):
        tiny.featurize([bad])


def test_unusual_but_valid_text(tiny):
    feats = tiny.featurize(
        ["", "   \n\t ", "ctrl \x00\x07\x1b chars", "Здравствуйте 你好 👍", "&lt;3 &#9731;"]
    )
    assert np.isfinite(feats).all()
    np.testing.assert_allclose(feats[0], feats[1], atol=1e-6)  # whitespace only == empty after strip()


@pytest.mark.parametrize("unit", [H, -1, 2.5, "3", True])
def test_unknown_units(tiny, unit):
    with pytest.raises(UnknownUnitError):
        tiny.trace("text", unit=unit)


def test_long_text_is_chunked_with_bounded_memory(tiny):
    """64 kB in chunks of 256: the one-unit trace is (n_bytes,) float32 and ends at the featurised state."""
    text = ("An overlong review. " * 3300)[:65536]
    values = tiny.trace(text, unit=2)
    assert (
        values.shape == (len(preprocess(text)),) and values.dtype == np.float32 and np.isfinite(values).all()
    )
    np.testing.assert_allclose(values[-1], tiny.featurize([text])[0, 2], atol=2e-6)


def test_mixed_precision_recurrence_is_close_but_not_float32(tiny):
    """precision="bfloat16": bfloat16 recurrent products, float32 state — close to float32, not identical; the trace
    ends on the featurised value; "auto" keeps a small model exact (float32); bad names are rejected."""
    texts = ["short", "a somewhat longer review, with punctuation!", "x" * 300]
    exact = tiny.featurize(texts, precision="float32")
    mixed = tiny.featurize(texts, precision="bfloat16", batch_size=2, chunk_size=7)
    assert not np.array_equal(mixed, exact)
    np.testing.assert_allclose(mixed, exact, rtol=0, atol=0.05 * np.abs(exact).max())
    np.testing.assert_allclose(tiny.trace(texts[2], precision="bfloat16")[-1], mixed[2], atol=1e-5)
    np.testing.assert_array_equal(tiny.featurize(texts), exact)  # config default "auto": H = 8 stays float32
    assert (
        tiny.recurrence_dtype("auto") == torch.float32 and tiny.recurrence_dtype("bfloat16") == torch.bfloat16
    )
    with pytest.raises(ValueError, match="precision"):
        tiny.featurize(texts, precision="float8")
    with pytest.raises(ValueError, match="precision"):
        MLSTMConfig(hidden_size=8, precision="half")
