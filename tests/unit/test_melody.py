"""Melody VAE (MusicVAE, Roberts et al. 2018): representation, model maths, pipeline and bad input on tiny models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hfmech.errors import HfmechError, SeedError
from hfmech.melody.data import (
    NO_EVENT,
    NOTE_OFF,
    NUM_CLASSES,
    classes_to_events,
    dedupe,
    events_to_classes,
    events_to_notes,
    extract_windows,
    fold_into_range,
    notes_to_events,
    one_hot,
    transpose,
)
from hfmech.melody.dataset import ATTRIBUTES, attributes
from hfmech.melody.modeling_music_vae import (
    PRESETS,
    MelodyVAEError,
    MusicVAEConfig,
    MusicVAEModel,
    beta_at,
    learning_rate_at,
    sampling_probability_at,
)
from hfmech.melody.pipeline_melody_vae import MelodyVAEPipeline, melody_windows


def scale_melody(bars: int = 4, seed: int = 0) -> np.ndarray:
    """A random but melody-like events array: eighth and quarter notes, some rests, MIDI 60..79."""
    rng = np.random.default_rng(seed)
    events = np.full(bars * 16, NO_EVENT, dtype=np.int64)
    t = 0
    while t < len(events):
        length = int(rng.choice([2, 2, 4, 1, 3]))
        events[t] = NOTE_OFF if rng.random() < 0.1 else int(rng.integers(60, 80))
        t += length
    return events


def tiny_model(seed: int = 0, **overrides) -> MusicVAEModel:
    torch.manual_seed(seed)
    values = {"enc_rnn_size": [16], "dec_rnn_size": [16, 16], "z_size": 8, "batch_size": 8}
    values.update(overrides)
    return MusicVAEModel(MusicVAEConfig(**values)).eval()


# ---------------------------------------------------------------------------------------------- representation
def test_class_layout_is_magentas():
    assert NUM_CLASSES == 90
    assert events_to_classes(np.array([NO_EVENT, NOTE_OFF, 21, 108, 60])).tolist() == [0, 1, 2, 89, 41]
    assert classes_to_events(np.arange(90)).tolist() == [NO_EVENT, NOTE_OFF, *range(21, 109)]
    oh = one_hot(np.array([[0, 89]]))
    assert oh.shape == (1, 2, 90) and oh[0, 1, 89] == 1 and oh.sum() == 2


def test_notes_to_events_keeps_the_highest_onset_and_writes_note_offs():
    notes = np.array([[0, 4, 60], [0, 4, 67], [4, 6, 62], [8, 10, 64]])  # a chord, a note, a rest, a note
    events = notes_to_events(notes, num_steps=16)
    assert events[:12].tolist() == [67, -2, -2, -2, 62, -2, -1, -2, 64, -2, -1, -2]
    back = events_to_notes(events)
    assert back.tolist() == [[0, 4, 67], [4, 6, 62], [8, 10, 64]]


def test_melody_to_windows_to_melody_is_exact():
    events = scale_melody(bars=8)
    classes = melody_windows(events)
    assert classes.shape == (4, 32)
    assert np.array_equal(classes_to_events(classes).reshape(-1), events)
    wins = extract_windows(events)  # hop one bar: 7 windows of 2 bars
    assert wins.shape == (7, 32)
    assert np.array_equal(wins[2], events[32:64])


def test_windows_dedupe_drop_rests_and_transposition_stays_in_range():
    events = np.tile(scale_melody(bars=2), 3)
    wins = extract_windows(events)
    assert len(dedupe(wins)) == 2 and len(wins) == 5
    silent = np.full(64, NO_EVENT)
    assert len(extract_windows(silent)) == 0
    classes = events_to_classes(np.array([[100, NO_EVENT], [60, NOTE_OFF]]))
    moved = transpose(classes, np.array([10, 3]))
    assert classes_to_events(moved).tolist() == [[100, NO_EVENT], [63, NOTE_OFF]]  # 110 would leave 21..108
    assert fold_into_range(np.array([10, 120, 60, NO_EVENT])).tolist() == [22, 108, 60, NO_EVENT]


def test_attributes_on_hand_made_windows():
    events = np.full(32, NO_EVENT)
    events[[0, 2, 5, 8]] = [60, 62, 61, 67]  # onsets on 0, 2 (8th off-beat), 5 (16th), 8
    a = attributes(events_to_classes(events))[0]
    values = dict(zip(ATTRIBUTES, a))
    assert values["note_density"] == pytest.approx(4 / 32)
    assert values["average_interval"] == pytest.approx((2 + 1 + 6) / 3)
    assert values["syncopation_16th"] == pytest.approx(1 / 4)
    assert values["syncopation_8th"] == pytest.approx(1 / 4)
    assert values["c_diatonic"] == pytest.approx(3 / 4)  # C#4 is not in C major


# ---------------------------------------------------------------------------------------------- model maths
def test_presets_are_magentas_cat_mel_2bar_small():
    small = MusicVAEConfig.from_preset("cat-mel_2bar_small")
    assert (small.enc_rnn_size, small.dec_rnn_size, small.z_size) == ([512], [256, 256], 256)
    assert (small.max_beta, small.beta_rate, small.free_bits, small.sampling_rate) == (
        0.2,
        0.99999,
        0.0,
        1000.0,
    )
    assert small.batch_size == 512 and small.num_classes == 90 and small.max_seq_len == 32
    assert set(PRESETS) == {"cat-mel_2bar_small", "cat-mel_2bar_cpu", "cat-mel_2bar_tiny"}


def test_schedules():
    cfg = MusicVAEConfig.from_preset("cat-mel_2bar_small")
    assert beta_at(cfg, 0) == 0.0
    assert beta_at(cfg, 100_000) == pytest.approx(0.2 * (1 - 0.99999**100_000))
    k = 1000.0
    assert sampling_probability_at(cfg, 0) == pytest.approx(1 - k / (k + 1))
    assert sampling_probability_at(cfg, int(k * math.log(k))) == pytest.approx(0.5, abs=1e-3)
    assert sampling_probability_at(cfg, 10**7) == 1.0
    assert learning_rate_at(cfg, 0) == pytest.approx(1e-3)
    assert learning_rate_at(cfg, 10**7) == pytest.approx(1e-5)


def test_kl_and_loss_match_the_formulas():
    model = tiny_model().train()
    x = torch.from_numpy(melody_windows(scale_melody(bars=8)))
    out = model(x, step=5000, generator=torch.Generator().manual_seed(0))
    q = torch.distributions.Normal(out.mu.float(), out.sigma.float())
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(out.kl, kl, rtol=1e-5, atol=1e-5)
    assert out.beta == pytest.approx(beta_at(model.config, 5000))
    torch.testing.assert_close(out.loss, out.r_loss.mean() + out.beta * out.kl.mean())
    assert out.logits.shape == (4, 32, 90) and out.mu.shape == (4, 8)
    assert torch.all(out.sigma > 0)


def test_mu_and_sigma_layers_start_small():
    model = MusicVAEModel(MusicVAEConfig.from_preset("cat-mel_2bar_cpu"))
    assert model.mu.weight.std() < 0.002 and model.sigma.weight.std() < 0.002
    h = model.config.enc_rnn_size[0]
    assert torch.all(model.encoder.bias_ih_l0[h : 2 * h] == 1.0)  # forget bias 1


def test_loss_falls_and_accuracy_rises_on_a_tiny_set():
    torch.manual_seed(0)
    model = tiny_model(enc_rnn_size=[32], dec_rnn_size=[32, 32], z_size=16).train()
    x = torch.from_numpy(np.concatenate([melody_windows(scale_melody(bars=8, seed=s)) for s in range(2)]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    first = None
    for _ in range(300):
        out = model(x, step=0, generator=g)
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        first = first if first is not None else (float(out.r_loss.mean()), float(out.accuracy))
    model.eval()
    final = model(x, sample_posterior=False)
    assert float(final.r_loss.mean()) < 0.3 * first[0]
    assert float(final.accuracy) > first[1] + 0.15


def test_scheduled_sampling_changes_the_decoder_inputs():
    model = tiny_model().train()
    x = torch.from_numpy(melody_windows(scale_melody(bars=4)))
    z = torch.randn(2, 8)
    tf = model.decoder_logits(z, x, 0.0)
    same = model.decoder_logits(z, x, 1e-12, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(tf, same, rtol=1e-5, atol=1e-5)  # the step-by-step path is the same LSTM
    free = model.decoder_logits(z, x, 1.0, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(tf[:, 1:], free[:, 1:])
    torch.testing.assert_close(tf[:, 0], free[:, 0])  # the first input is the zero vector either way


def test_temperature_towards_zero_is_deterministic_and_greedy():
    model = tiny_model()
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    greedy = model.decode(z, greedy=True)
    for seed in range(3):
        cold = model.decode(z, 1e-4, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(cold, greedy)
    hot = [model.decode(z, 5.0, generator=torch.Generator().manual_seed(s)) for s in range(2)]
    assert not torch.equal(hot[0], hot[1])


def test_decode_is_the_teacher_forced_arg_max_path():
    model = tiny_model()
    z = torch.randn(2, 8)
    out = model.decode(z, greedy=True)
    logits = model.decoder_logits(z, out, 0.0)
    assert torch.equal(logits.argmax(-1), out)


def test_save_and_load_keep_weights_and_attribute_vectors(tmp_path):
    model = tiny_model()
    model.attribute_vectors.normal_()
    model.save_pretrained(tmp_path)
    loaded = MusicVAEModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded.attribute_vectors, model.attribute_vectors)
    x = torch.from_numpy(melody_windows(scale_melody()))
    torch.testing.assert_close(loaded.encode(x)[0], model.encode(x)[0])
    assert loaded.config.model_type == "hfmech-music-vae"


# ---------------------------------------------------------------------------------------------- pipeline
@pytest.fixture(scope="module")
def pipe():
    model = tiny_model()
    with torch.no_grad():
        model.attribute_vectors.normal_(generator=torch.Generator().manual_seed(0))
    return MelodyVAEPipeline(model=model)


def test_pipeline_reconstruct_encode_decode(pipe):
    events = scale_melody(bars=6)
    out = pipe(events, seed=0)
    assert out.windows == 3 and out.events.shape == (96,)
    assert np.array_equal(out.input_events, events[:96])
    z = pipe.encode(events)
    assert z.shape == (3, 8)
    again = pipe.decode(z, temperature=0.5, seed=0)
    assert np.array_equal(again, out.events)  # same seed, same temperature: same decoding
    assert 0.0 <= out.accuracy <= 1.0


def test_pipeline_sample_interpolate_attribute(pipe):
    samples = pipe.sample(3, temperature=1.0, seed=4)
    assert len(samples) == 3 and all(s.shape == (32,) for s in samples)
    assert all(np.array_equal(a, b) for a, b in zip(samples, pipe.sample(3, temperature=1.0, seed=4)))
    a, b = scale_melody(seed=1), scale_melody(seed=2)
    path = pipe.interpolate(a, b, steps=5, greedy=True)
    assert len(path) == 5
    za, zb = pipe.encode(a)[0], pipe.encode(b)[0]
    assert np.array_equal(path[0], pipe.decode(za, greedy=True))
    assert np.array_equal(path[-1], pipe.decode(zb, greedy=True))
    moved = pipe.attribute(a, "note_density", [-1, 0, 1], greedy=True)
    assert len(moved) == 3 and np.array_equal(moved[1], path[0])
    v = pipe.attribute_vector("note_density")
    assert np.array_equal(moved[2], pipe.decode(za + v, greedy=True))


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.decode(torch.zeros(7)),  # wrong z size
        lambda p: p.decode(torch.full((8,), float("nan"))),
        lambda p: p.decode(torch.zeros(8), temperature=0),
        lambda p: p.decode(torch.zeros(8), temperature=-1.0),
        lambda p: p.decode(torch.zeros(8), temperature=float("nan")),
        lambda p: p.sample(0),
        lambda p: p.sample(10**6),
        lambda p: p.interpolate(scale_melody(), scale_melody(), steps=1),
        lambda p: p.interpolate(scale_melody(), scale_melody(), method="cubic"),
        lambda p: p.attribute(scale_melody(), "loudness", [1]),
        lambda p: p.attribute(scale_melody(), "note_density", [float("inf")]),
        lambda p: p.attribute(scale_melody(), "note_density", [100]),
        lambda p: p(scale_melody(), temperature=0.0),
        lambda p: p(scale_melody(), colour="red"),
        lambda p: p(np.full(64, NO_EVENT)),  # no notes
        lambda p: p(scale_melody(bars=1)),  # shorter than 2 bars
        lambda p: p(np.array([60, 200] * 32)),  # not events
    ],
)
def test_bad_pipeline_input_raises_typed_errors(pipe, call):
    with pytest.raises(HfmechError):
        call(pipe)


def test_bad_seed(pipe):
    with pytest.raises(SeedError):
        pipe.sample(1, seed=-1)


def test_zero_attribute_vector_is_refused():
    p = MelodyVAEPipeline(model=tiny_model())
    with pytest.raises(MelodyVAEError, match="never computed"):
        p.attribute_vector("note_density")
