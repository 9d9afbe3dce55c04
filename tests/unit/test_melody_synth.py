"""Audio for melodies: the choice between FluidSynth (+ a General MIDI soundfont) and the built-in numpy synthesiser
(always tested, with FluidSynth's presence faked both ways), and real FluidSynth rendering where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hfmech.cli import main
from hfmech.errors import HfmechError
from hfmech.melody import io as mio
from hfmech.melody.data import NO_EVENT, NOTE_OFF
from hfmech.melody.modeling_music_vae import MusicVAEConfig, MusicVAEModel

pytest.importorskip("mido")


@pytest.fixture
def no_system_soundfont(monkeypatch):
    monkeypatch.setattr(mio, "SOUNDFONT_CANDIDATES", ())
    monkeypatch.delenv(mio.SOUNDFONT_ENV, raising=False)


@pytest.fixture
def soundfont(tmp_path):
    path = tmp_path / "gm.sf2"
    path.write_bytes(b"RIFF0000sfbk")  # only its existence matters to the choice
    return path


def test_builtin_is_chosen_whatever_is_installed(monkeypatch, soundfont):
    monkeypatch.setattr(mio, "fluidsynth_backend", lambda: "binary")
    assert mio.choose_synth("builtin", soundfont) == ("builtin", None)


def test_without_fluidsynth_auto_falls_back_and_fluidsynth_is_a_clear_error(monkeypatch, soundfont):
    monkeypatch.setattr(mio, "fluidsynth_backend", lambda: None)
    assert mio.choose_synth("auto", soundfont) == ("builtin", None)
    with pytest.raises(mio.SynthError, match="apt-get install fluidsynth") as info:
        mio.choose_synth("fluidsynth", soundfont)
    assert isinstance(info.value, HfmechError)


def test_without_a_soundfont_auto_falls_back_and_fluidsynth_says_how_to_get_one(
    monkeypatch, no_system_soundfont
):
    monkeypatch.setattr(mio, "fluidsynth_backend", lambda: "binary")
    assert mio.choose_synth("auto") == ("builtin", None)
    with pytest.raises(mio.SynthError, match="HFMECH_SOUNDFONT"):
        mio.choose_synth("fluidsynth")


def test_soundfont_from_argument_then_environment_then_system(monkeypatch, tmp_path, soundfont):
    monkeypatch.setattr(mio, "fluidsynth_backend", lambda: "python")
    system = tmp_path / "system.sf2"
    system.write_bytes(b"x")
    monkeypatch.setattr(mio, "SOUNDFONT_CANDIDATES", (str(tmp_path / "absent.sf2"), str(system)))
    monkeypatch.delenv(mio.SOUNDFONT_ENV, raising=False)
    assert mio.choose_synth("auto") == ("fluidsynth", system)
    env = tmp_path / "env.sf2"
    env.write_bytes(b"x")
    monkeypatch.setenv(mio.SOUNDFONT_ENV, str(env))
    assert mio.choose_synth("fluidsynth") == ("fluidsynth", env)
    assert mio.choose_synth("fluidsynth", soundfont) == ("fluidsynth", soundfont)
    # an explicit path that is not there is an error, never silently replaced by another soundfont
    monkeypatch.setenv(mio.SOUNDFONT_ENV, str(tmp_path / "missing.sf2"))
    with pytest.raises(mio.SynthError, match=r"\$HFMECH_SOUNDFONT"):
        mio.choose_synth("auto")
    with pytest.raises(mio.SynthError, match="--soundfont"):
        mio.choose_synth("fluidsynth", tmp_path / "nope.sf2")


def test_unknown_synth_name(monkeypatch):
    with pytest.raises(mio.SynthError, match="one of"):
        mio.choose_synth("timidity")


def test_wav_bytes_with_the_builtin_synth_matches_synthesize():
    events = _a4()
    import io

    import soundfile as sf

    audio, sr = sf.read(io.BytesIO(mio.wav_bytes(events, synth="builtin")), dtype="float32")
    assert sr == mio.SAMPLE_RATE
    np.testing.assert_allclose(audio, mio.synthesize(events), atol=1.0 / 32767 + 1e-6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = MusicVAEModel(MusicVAEConfig(enc_rnn_size=[16], dec_rnn_size=[16, 16], z_size=8))
    folder = tmp_path_factory.mktemp("tiny-music-vae")
    model.save_pretrained(folder)
    return str(folder)


def test_cli_synth_fluidsynth_missing_is_a_one_line_error(monkeypatch, tiny, tmp_path, capsys):
    monkeypatch.setattr(mio, "fluidsynth_backend", lambda: None)
    argv = ["melody-sample", "--model", tiny, "-n", "1", "-o", str(tmp_path / "s.mid")]
    assert main([*argv, "--wav", str(tmp_path / "s.wav"), "--synth", "fluidsynth"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "fluidsynth" in err
    assert not (tmp_path / "s.mid").exists() and not (tmp_path / "s.wav").exists()
    assert main([*argv, "--wav", str(tmp_path / "s.wav"), "--synth", "auto"]) == 0
    assert "(builtin)" in capsys.readouterr().out


def _a4(steps: int = 32) -> np.ndarray:
    events = np.full(steps, NO_EVENT)
    events[0], events[-1] = 69, NOTE_OFF
    return events


def _dominant_hz(audio: np.ndarray, sr: int) -> float:
    seg = audio[int(0.2 * sr) : int(1.2 * sr)].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    freqs = np.fft.rfftfreq(len(seg), 1.0 / sr)
    band = (freqs > 100) & (freqs < 2000)
    return float(freqs[band][np.argmax(spec[band])])


def test_builtin_synth_sounds_the_pitch():
    assert abs(_dominant_hz(mio.synthesize(_a4()), mio.SAMPLE_RATE) - 440.0) < 3.0


needs_fluidsynth = pytest.mark.skipif(
    mio.fluidsynth_backend() is None or mio.find_soundfont() is None,
    reason="FluidSynth and a General MIDI soundfont are not installed",
)


@needs_fluidsynth
def test_fluidsynth_renders_the_pitch_for_real():
    audio = mio.render_fluidsynth(_a4(), mio.find_soundfont())
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) >= 4.0 * mio.SAMPLE_RATE  # 2 bars at 120 bpm = 4 s (plus the release tail)
    assert np.abs(audio).max() <= 1.0 and np.sqrt(np.mean(audio[: mio.SAMPLE_RATE] ** 2)) > 0.01
    assert abs(_dominant_hz(audio, mio.SAMPLE_RATE) - 440.0) < 3.0
    assert not np.allclose(
        audio[: 4 * mio.SAMPLE_RATE], mio.synthesize(_a4())[: 4 * mio.SAMPLE_RATE], atol=0.05
    )


@needs_fluidsynth
def test_cli_writes_a_fluidsynth_wav(tiny, tmp_path, capsys):
    wav = tmp_path / "s.wav"
    argv = ["melody-sample", "--model", tiny, "-n", "1", "-o", str(tmp_path / "s.mid"), "--wav", str(wav)]
    assert main([*argv, "--synth", "fluidsynth"]) == 0
    assert "(fluidsynth, " in capsys.readouterr().out and wav.read_bytes()[:4] == b"RIFF"
