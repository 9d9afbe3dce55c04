"""sketch-rnn (Ha & Eck 2017) on tiny random models: the maths, the stroke formats, the pipeline and its errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import hfmech  # noqa: F401  (registers the task)
from hfmech.errors import HfmechError, LimitError, ModelConfigError, NonFiniteError, SeedError
from hfmech.latent import LatentError
from hfmech.sketch import strokes as S
from hfmech.sketch.modeling_sketch_rnn import (
    MAGENTA_DEFAULTS,
    SketchInputError,
    SketchRNNConfig,
    SketchRNNModel,
    bivariate_normal,
    kl_loss,
    split_params,
)
from hfmech.sketch.pipeline_sketch_vae import SketchLimitError, SketchVAEPipeline
from hfmech.sketch.train import schedules

TINY = dict(enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3, max_seq_len=40)


def tiny(seed=0, **kw) -> SketchRNNModel:
    torch.manual_seed(seed)
    cfg = SketchRNNConfig.from_preset("cpu-small", **{**TINY, **kw})
    cfg.scale_factor = 1.0
    return SketchRNNModel(cfg)


def random_drawing(rng, n):
    s = np.zeros((n, 3), dtype=np.float32)
    s[:, :2] = rng.normal(size=(n, 2))
    s[:, 2] = rng.random(n) < 0.2
    s[-1, 2] = 1
    return s


def square():
    return np.array(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 1], [0.5, 0.5, 1]], dtype=np.float32
    )


# ----------------------------------------------------------------------------------------------- strokes
def test_stroke3_stroke5_round_trip_is_exact():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 30):
        s3 = random_drawing(rng, n)
        s5 = S.stroke3_to_stroke5(s3, max_len=40)
        assert s5.shape == (41, 5)
        assert s5[0].tolist() == [0, 0, 1, 0, 0]
        assert (s5[n + 1 :, 4] == 1).all() and (s5[n + 1 :, :4] == 0).all()
        assert (s5[1 : n + 1, 2:5].sum(1) == 1).all()
        np.testing.assert_array_equal(S.stroke5_to_stroke3(s5), s3)


def test_lines_round_trip_is_exact():
    s3 = square()
    np.testing.assert_allclose(S.lines_to_stroke3(S.stroke3_to_lines(s3)), s3, atol=1e-6)


def test_normalizing_scale_is_the_offset_std_and_is_applied():
    rng = np.random.default_rng(1)
    data = [random_drawing(rng, 10) * np.array([5, 5, 1], np.float32) for _ in range(20)]
    sf = S.normalizing_scale_factor(data)
    assert sf == pytest.approx(np.std(np.concatenate([d[:, :2].ravel() for d in data])))
    norm = [S.normalize(d, sf) for d in data]
    assert S.normalizing_scale_factor(norm) == pytest.approx(1.0, rel=1e-5)


def test_augmentation_keeps_total_displacement_and_pen_lifts():
    rng = np.random.default_rng(2)
    s3 = random_drawing(rng, 60)
    s3[:, 2] = 0
    s3[[19, 39, 59], 2] = 1
    dropped = S.augment_strokes(s3, 0.5, rng)
    assert len(dropped) < len(s3)
    np.testing.assert_allclose(dropped[:, :2].sum(0), s3[:, :2].sum(0), atol=1e-4)
    assert dropped[:, 2].sum() == 3
    scaled = S.random_scale(s3, 0.15, rng)
    ratio = scaled[:, :2].sum(0) / s3[:, :2].sum(0)
    assert ((ratio > 0.85) & (ratio < 1.15)).all()


def test_rdp_keeps_corners_and_drops_collinear_points():
    line = np.array([[0, 0], [1, 0.01], [2, 0], [3, 0], [3, 1], [3, 2]], dtype=float)
    assert S.rdp(line, 0.1).tolist() == [[0, 0], [3, 0], [3, 2]]


def test_quickdraw_drawing_is_scaled_simplified_and_converted():
    xs = list(range(0, 101))
    drawing = [[xs, [0] * len(xs)], [[0, 0], [0, 50]]]
    s3 = S.drawing_to_stroke3(drawing)
    assert len(s3) == 4  # two 2-point strokes after RDP
    lines = S.stroke3_to_lines(s3)
    assert np.ptp(np.concatenate(lines)[:, 0]) == pytest.approx(255.0)
    assert s3[:, 2].tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize(
    "bad, err",
    [
        (np.zeros((0, 3)), S.StrokeError),
        (np.array([[0.0, 0.0, 1.0]]), S.StrokeError),
        (np.array([[np.nan, 0, 0], [1, 1, 1]]), NonFiniteError),
        (np.array([[np.inf, 0, 0], [1, 1, 1]]), S.StrokeValueError),
        (np.zeros((4, 5)), S.StrokeError),
        (np.zeros((4, 2)), S.StrokeError),
        (np.zeros((2, 3, 3)), S.StrokeError),
        (np.array([[1, 1, 0.5], [1, 1, 1]]), S.StrokeError),
        (np.ones((10_001, 3)), LimitError),
    ],
)
def test_bad_stroke3_arrays_are_typed_errors(bad, err):
    with pytest.raises(err) as e:
        S.as_stroke3(bad)
    assert isinstance(e.value, HfmechError)


def test_stroke5_hint_in_message():
    with pytest.raises(S.StrokeError, match="stroke-5"):
        S.as_stroke3(np.zeros((4, 5)))


@pytest.mark.parametrize(
    "bad", [[], [[1, 2]], [[[1, 2], [1]]], [[["a"], ["b"]]], "x", [[[0, float("nan")], [0, 1]]]]
)
def test_bad_drawings_are_typed_errors(bad):
    with pytest.raises(HfmechError):
        S.drawing_to_stroke3(bad)


def test_ndjson_line_that_is_not_a_drawing(tmp_path):
    p = tmp_path / "bad.ndjson"
    p.write_text(json.dumps({"word": "cat"}) + "\n")
    with pytest.raises(S.StrokeError, match="not a drawing"):
        S.read_ndjson(p)
    with pytest.raises(S.StrokeError):
        S.load_drawing_file(p)
    p.write_text("{not json\n")
    with pytest.raises(S.StrokeError, match="not JSON"):
        S.read_ndjson(p)


# ----------------------------------------------------------------------------------------------- model maths
def test_defaults_are_magentas_hparams():
    cfg = SketchRNNConfig()
    for k, v in MAGENTA_DEFAULTS.items():
        assert getattr(cfg, k) == v, k
    small = SketchRNNConfig.from_preset("cpu-small")
    assert (small.enc_rnn_size, small.dec_rnn_size, small.num_mixture) == (128, 256, 10)
    with pytest.raises(ModelConfigError):
        SketchRNNConfig.from_preset("huge")


def test_schedules_match_sketch_rnn_train():
    cfg = SketchRNNConfig()
    lr0, w0 = schedules(cfg, 0)
    assert lr0 == pytest.approx(0.001) and w0 == pytest.approx(0.01)
    lr, w = schedules(cfg, 10_000)
    assert lr == pytest.approx((0.001 - 1e-5) * 0.9999**10_000 + 1e-5)
    assert w == pytest.approx(0.5 - 0.49 * 0.99995**10_000)


def test_bivariate_normal_matches_a_direct_formula():
    x = torch.tensor([[0.3]]), torch.tensor([[-0.2]])
    mu1, mu2, s1, s2, rho = (torch.tensor([[v]]) for v in (0.1, 0.2, 0.5, 0.8, 0.3))
    cov = np.array([[0.25, 0.3 * 0.4], [0.3 * 0.4, 0.64]])
    d = np.array([0.2, -0.4])
    ref = math.exp(-0.5 * d @ np.linalg.inv(cov) @ d) / (2 * math.pi * math.sqrt(np.linalg.det(cov)))
    assert float(bivariate_normal(*x, mu1, mu2, s1, s2, rho)) == pytest.approx(ref, rel=1e-5)


def test_kl_is_averaged_over_dimensions_and_floored():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    presig = torch.zeros(2, 2)
    floored, raw = kl_loss(mu, presig, 0.2)
    assert float(raw) == pytest.approx(0.5 * 1.0 / 4)
    assert float(floored) == pytest.approx(0.2)
    floored, raw = kl_loss(mu * 3, presig, 0.2)
    assert float(floored) == float(raw) == pytest.approx(0.5 * 9 / 4)


def test_recurrent_weights_are_orthogonal_per_gate():
    m = tiny()
    h = m.config.dec_rnn_size
    for k in range(4):
        block = m.decoder.w_h[:, k * h : (k + 1) * h]
        torch.testing.assert_close(block.T @ block, torch.eye(h), atol=1e-5, rtol=0)
    e = m.config.enc_rnn_size
    block = m.encoder.weight_hh_l0[:e]
    torch.testing.assert_close(block @ block.T, torch.eye(e), atol=1e-5, rtol=0)


def _batch(rng, lengths, max_len=40):
    drawings = [random_drawing(rng, n) for n in lengths]
    x, ln = S.make_batch(drawings, max_len)
    return torch.from_numpy(x), torch.from_numpy(ln)


def test_encoder_ignores_padding():
    m = tiny().eval()
    rng = np.random.default_rng(3)
    x, ln = _batch(rng, [5, 12, 40])
    mu, presig = m.encode(x, ln)
    x2 = x.clone()
    for i, n in enumerate(ln.tolist()):
        x2[i, n + 1 :] = torch.randn(x2.shape[1] - n - 1, 5) * 10
    mu2, presig2 = m.encode(x2, ln)
    torch.testing.assert_close(mu, mu2)
    torch.testing.assert_close(presig, presig2)
    # and it does read the real points
    x3 = x.clone()
    x3[0, 3, 0] += 5
    assert not torch.allclose(m.encode(x3, ln)[0][0], mu[0])


def test_offsets_after_the_end_are_not_scored():
    m = tiny().eval()
    rng = np.random.default_rng(4)
    x, ln = _batch(rng, [6, 9])
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    base = m(x, ln, generator=g())
    x2 = x.clone()
    x2[0, 8:, :2] = 7.0  # offsets in end-of-drawing rows (p3 = 1)
    # the encoder never reads them, the offset loss never scores them; only the decoder input changes
    out = m(x2, ln, generator=g())
    torch.testing.assert_close(base.mu, out.mu)
    y = split_params(base.params, m.config.num_mixture)
    assert y.pi_logits.shape == (2, 40, 3) and base.params.shape[-1] == 6 * 3 + 3


def test_loss_falls_on_a_tiny_set():
    m = tiny(1)
    rng = np.random.default_rng(5)
    x, ln = _batch(rng, [8, 10, 12, 6])
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        out = m(x, ln, kl_weight=0.1)
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_value_(m.parameters(), 1.0)
        opt.step()
        first = float(out.loss.detach()) if first is None else first
    assert float(out.loss.detach()) < first - 0.3


def test_recurrent_dropout_is_active_in_training_only():
    m = tiny()
    rng = np.random.default_rng(6)
    x, ln = _batch(rng, [10, 10])
    m.train()
    a = m(x, ln, sample_z=False).params
    b = m(x, ln, sample_z=False).params
    assert not torch.allclose(a, b)
    m.eval()
    torch.testing.assert_close(m(x, ln, sample_z=False).params, m(x, ln, sample_z=False).params)


def test_temperature_to_zero_is_deterministic_and_greedy_is_deterministic():
    m = tiny(2).eval()
    z = torch.randn(2, 4)
    a = m.decode(z, 1e-10, generator=torch.Generator().manual_seed(0))
    b = m.decode(z, 1e-10, generator=torch.Generator().manual_seed(99))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_allclose(u, v, atol=1e-3)
    g1, g2 = m.decode(z, 1.0, greedy=True), m.decode(z, 1.0, greedy=True)
    for u, v in zip(g1, g2, strict=True):
        np.testing.assert_array_equal(u, v)
    hot = m.decode(z, 1.0, generator=torch.Generator().manual_seed(0))
    assert any(len(u) != len(v) or not np.allclose(u, v) for u, v in zip(a, hot, strict=True))


def test_shared_noise_decodes_equal_codes_equally_and_samples_the_same_distribution():
    from hfmech.sketch.modeling_sketch_rnn import _inverse_cdf

    m = tiny(3).eval()
    z = torch.randn(1, 4).repeat(3, 1)
    with torch.no_grad():
        shared = m.decode(z, 1.0, generator=torch.Generator().manual_seed(0), shared_noise=True)
        independent = m.decode(z, 1.0, generator=torch.Generator().manual_seed(0))
    for u in shared[1:]:  # same z, same random numbers: the same drawing
        np.testing.assert_array_equal(u, shared[0])
    assert any(
        len(u) != len(independent[0]) or not np.array_equal(u, independent[0]) for u in independent[1:]
    )
    # the inverse-CDF draw is an exact categorical sample: frequencies match the probabilities
    probs = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([_inverse_cdf(probs, torch.rand(1, generator=g)) for _ in range(20000)])
    freq = torch.stack([(draws == k).float().mean(0) for k in range(3)], 1)
    torch.testing.assert_close(freq, probs, atol=0.015, rtol=0)
    assert int(_inverse_cdf(probs, torch.tensor([1.0 - 1e-9]))[0]) == 2  # never past the last category


@pytest.mark.parametrize("t", [0, -1, float("nan"), float("inf"), "hot", True])
def test_bad_temperatures(t):
    with pytest.raises(SketchInputError):
        tiny().decode(torch.zeros(4), t)


def test_unconditional_model_decodes():
    m = tiny(conditional=False).eval()
    assert not hasattr(m, "encoder")
    out = m.decode(None, 0.5, batch=3, max_len=10, generator=torch.Generator().manual_seed(0))
    assert len(out) == 3 and all(o.shape[1] == 3 and len(o) <= 10 for o in out)


def test_save_and_load_round_trip(tmp_path):
    m = tiny(3).eval()
    m.save_pretrained(tmp_path)
    m2 = SketchRNNModel.from_pretrained(tmp_path).eval()
    for (n, p), (_, q) in zip(m.state_dict().items(), m2.state_dict().items(), strict=True):
        torch.testing.assert_close(p, q, msg=n)
    assert m2.config.scale_factor == 1.0


# ----------------------------------------------------------------------------------------------- pipeline
@pytest.fixture(scope="module")
def pipe():
    m = tiny(4).eval()
    m.config.sketch_vae = {"temperature": 0.1, "canvas": 10.0, "rdp_epsilon": 0.0}
    return SketchVAEPipeline(model=m)


def test_pipeline_reconstructs_and_renders(pipe):
    out = pipe(square())
    assert out.strokes.ndim == 2 and out.strokes.shape[1] == 3
    assert out.svg.startswith("<svg") and 'stroke-linecap="round"' in out.svg
    assert out.svg.count("<path") == int(out.strokes[:, 2].sum())
    assert out.image.size == (256, 256)
    np.testing.assert_allclose(out.extra["input"], square())


def test_pipeline_from_the_factory(tmp_path):
    from transformers import pipeline

    m = tiny(5)
    m.save_pretrained(tmp_path)
    p = pipeline("sketch-vae", model=str(tmp_path))
    assert isinstance(p, SketchVAEPipeline)
    assert len(p(square(), seed=1).strokes) >= 1


def test_pipeline_accepts_drawings_json_and_files(pipe, tmp_path):
    drawing = [[[0, 10, 20], [0, 0, 5]], [[5, 5], [0, 20]]]
    a = pipe.encode(drawing)
    torch.testing.assert_close(pipe.encode(json.dumps({"drawing": drawing})), a)
    f = tmp_path / "d.ndjson"
    f.write_text(json.dumps({"word": "x", "drawing": drawing}) + "\n")
    torch.testing.assert_close(pipe.encode(str(f)), a)
    assert a.shape == (4,)


def test_slerp_path_decodes_with_the_endpoints_codes(pipe):
    a, b = square(), square()[::-1].copy()
    b[-1, 2] = 1
    outs = pipe.interpolate(a, b, steps=5)
    assert len(outs) == 5
    torch.testing.assert_close(outs[0].z, pipe.encode(a))
    torch.testing.assert_close(outs[-1].z, pipe.encode(b))
    lerp = pipe.interpolate(pipe.encode(a), pipe.encode(b), steps=5, method="lerp")
    torch.testing.assert_close(lerp[2].z, (outs[0].z + outs[-1].z) / 2)


def test_analogy_and_attribute_use_latent_arithmetic(pipe):
    a, b, c = square(), square() * np.array([2, 1, 1], np.float32), square() * np.array([1, 2, 1], np.float32)
    out = pipe.analogy(a, b, c)
    torch.testing.assert_close(out.z, pipe.encode(c) + pipe.encode(b) - pipe.encode(a))
    v = pipe.attribute_vector([b, b], [a])
    torch.testing.assert_close(v, pipe.encode(b) - pipe.encode(a))
    outs = pipe.attribute(a, v, strengths=[-1, 0, 2])
    torch.testing.assert_close(outs[2].z, pipe.encode(a) + 2 * v)


def test_sampling_is_seeded(pipe):
    a = pipe.sample(3, temperature=0.5, seed=7)
    b = pipe.sample(3, temperature=0.5, seed=7)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u.strokes, v.strokes)


@pytest.mark.parametrize(
    "call, err",
    [
        (lambda p: p(np.zeros((0, 3))), S.StrokeError),
        (lambda p: p(np.array([[np.nan, 1, 0], [1, 1, 1]])), NonFiniteError),
        (lambda p: p(np.zeros((4, 5))), S.StrokeError),
        (lambda p: p(square(), temperature=0), SketchInputError),
        (lambda p: p(square(), temperature=float("nan")), SketchInputError),
        (lambda p: p(square(), seed=-1), SeedError),
        (lambda p: p(square(), seed="abc"), SeedError),
        (lambda p: p.interpolate(square(), square(), steps=0), LimitError),
        (lambda p: p.interpolate(square(), square(), steps=10**6), SketchLimitError),
        (lambda p: p.interpolate(square(), square(), method="cubic"), LatentError),
        (lambda p: p.decode(torch.zeros(5)), SketchInputError),
        (lambda p: p.decode(torch.full((4,), float("nan"))), SketchInputError),
        (lambda p: p.sample(0), SketchLimitError),
        (lambda p: p.attribute(square(), torch.zeros(3)), SketchInputError),
        (lambda p: p.attribute(square(), torch.zeros(4), strengths=[float("inf")]), SketchInputError),
        (lambda p: p('{"word": "cat"}'), S.StrokeError),
        (lambda p: p(np.ones((10_001, 3))), LimitError),
    ],
)
def test_pipeline_bad_input_is_typed(pipe, call, err):
    with pytest.raises(err) as e:
        call(pipe)
    assert isinstance(e.value, HfmechError)


def test_long_drawings_are_simplified_to_fit(pipe):
    t = np.linspace(0, 2 * np.pi, 400)
    circle = [[list(10 * np.cos(t)), list(10 * np.sin(t))]]
    z = pipe.encode({"drawing": circle})  # 400 points: RDP (growing tolerance) brings it under max_seq_len 40
    assert z.shape == (4,)


def test_model_without_normalisation_scale_is_refused():
    m = tiny()
    m.config.scale_factor = None
    with pytest.raises(ModelConfigError, match="scale"):
        SketchVAEPipeline(model=m)


def test_decoder_only_model_samples_through_the_pipeline_and_refuses_to_encode():
    m = tiny(6, conditional=False).eval()
    p = SketchVAEPipeline(model=m)
    outs = p.sample(2, temperature=0.5, seed=0, max_len=12)
    assert len(outs) == 2 and all(o.strokes.shape[1] == 3 and o.z is None for o in outs)
    with pytest.raises(SketchInputError, match="decoder-only"):
        p(square())


def test_real_quickdraw_ndjson_converts():
    """The raw Quick, Draw! subset in ../shared (skipped when absent): RDP + conversion keep one pen lift per stroke
    and put the drawing on the 255-unit canvas."""
    from pathlib import Path

    path = (
        Path(__file__).resolve().parents[2].parent
        / "shared"
        / "data"
        / "strokes"
        / "quickdraw_subset.ndjson.gz"
    )
    if not path.is_file():
        pytest.skip(f"{path} not found")
    records = S.read_ndjson(path, limit=30)
    assert len(records) == 30
    for rec in records:
        s3 = S.drawing_to_stroke3(rec["drawing"])
        assert int(s3[:, 2].sum()) == len(rec["drawing"])
        raw = sum(len(st[0]) for st in rec["drawing"])
        assert len(s3) <= raw
        xy = np.concatenate(S.stroke3_to_lines(s3))
        assert (
            255.0 - 2 * S.RDP_EPSILON <= np.ptp(xy, axis=0).max() <= 255.0 + 1e-3
        )  # RDP may drop an extreme
