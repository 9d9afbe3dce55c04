"""Audio I/O, resampling, STFT and Griffin-Lim of hfmech.style.audio (mechanism 2, audio).

Every sound is made here (numpy); no audio data is shipped.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
import torch

from hfmech.errors import USER_ERRORS
from hfmech.style import demo_sounds
from hfmech.style.audio import (
    SILENCE_PEAK,
    AudioDecodeError,
    AudioInputError,
    AudioNonFiniteError,
    AudioNotFoundError,
    AudioOutputError,
    AudioSilentError,
    AudioTooLongError,
    AudioTooShortError,
    griffin_lim,
    istft,
    load_audio,
    log_spectrogram,
    resample,
    save_audio_atomic,
    spectral_convergence,
    stft,
    to_mono,
)

SR = 22050


def dominant_frequency(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)])


@pytest.fixture
def tone_wav(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, demo_sounds.tone(440.0, 1.0, SR), SR, subtype="FLOAT")
    return path


# ------------------------------------------------------------------------------------------------- round trips
def test_float_wav_round_trip_is_exact(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, 5000).astype(np.float32)
    path = save_audio_atomic(x, SR, tmp_path / "x.wav", subtype="FLOAT")
    y, sr = sf.read(path, dtype="float32")
    assert sr == SR and np.array_equal(x, y)
    assert np.array_equal(load_audio(path, SR).array, x)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_pcm16_round_trip_is_exact_on_16_bit_samples(tmp_path, suffix):
    codes = np.random.default_rng(1).integers(-32768, 32767, 4000)
    x = (codes / 32768.0).astype(np.float32)
    path = save_audio_atomic(x, SR, tmp_path / f"x{suffix}")
    back, _ = sf.read(path, dtype="int16")
    assert np.array_equal(back, codes.astype(np.int16))
    assert np.array_equal(load_audio(path, SR).array, x)


def test_mp3_and_ogg_write_and_read_keep_the_tone(tmp_path):
    x = demo_sounds.tone(1000.0, 1.0, SR)
    for suffix in (".mp3", ".ogg"):
        path = save_audio_atomic(x, SR, tmp_path / f"tone{suffix}")
        audio = load_audio(path, SR)
        assert abs(audio.seconds - 1.0) < 0.1, suffix
        assert abs(dominant_frequency(audio.array, SR) - 1000.0) < 5, suffix


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError):  # soundfile refuses the subtype while writing the temporary file
        save_audio_atomic(np.zeros(100, np.float32), SR, target, subtype="NOT_A_SUBTYPE")
    assert target.read_bytes() == b"previous"  # untouched on failure
    save_audio_atomic(demo_sounds.tone(), SR, target)
    assert sf.info(target).frames == SR * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_save_rejects_unknown_suffix_and_missing_directory(tmp_path):
    with pytest.raises(AudioOutputError, match="unknown audio suffix"):
        save_audio_atomic(np.zeros(10, np.float32), SR, tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError):
        save_audio_atomic(np.zeros(10, np.float32), SR, tmp_path / "nope" / "x.wav")
    assert issubclass(AudioOutputError, USER_ERRORS)


# ------------------------------------------------------------------------------------------------- input kinds
def test_every_input_kind_gives_the_same_audio(tone_wav):
    x, _ = sf.read(tone_wav, dtype="float32")
    original = x.copy()
    expected = load_audio(tone_wav, SR).array
    for source in (
        str(tone_wav),
        tone_wav,
        tone_wav.read_bytes(),
        (x, SR),
        {"array": x, "sampling_rate": SR},
        {"raw": x, "sampling_rate": SR},
        x,  # a bare array is taken to be at the target rate, as transformers does
        torch.from_numpy(x),
    ):
        assert np.array_equal(load_audio(source, SR).array, expected), type(source)
    assert np.array_equal(x, original)  # inputs are never modified


def test_integer_arrays_are_scaled():
    codes = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    out = load_audio((np.tile(codes, 100), SR), SR).array
    assert np.allclose(out[:4], [0.0, 0.5, -1.0, 32767 / 32768])


def test_multichannel_is_downmixed_by_averaging(tmp_path):
    left = demo_sounds.tone(440.0, 0.5, SR)
    right = demo_sounds.tone(880.0, 0.5, SR, amplitude=0.25)
    stereo = np.stack([left, right], axis=1)  # (samples, channels), as soundfile
    path = tmp_path / "stereo.flac"
    sf.write(path, stereo, SR, subtype="PCM_24")
    audio = load_audio(path, SR)
    assert audio.original_channels == 2 and audio.array.ndim == 1
    assert np.allclose(audio.array, (left + right) / 2, atol=1e-6)
    # (channels, samples) arrays: the shorter axis is the channel axis
    assert np.allclose(load_audio((stereo.T, SR), SR).array, (left + right) / 2, atol=1e-7)
    assert np.array_equal(to_mono(left), left)


def test_anti_phase_stereo_is_silent_after_the_downmix():
    x = demo_sounds.tone(440.0, 0.5, SR)
    with pytest.raises(AudioSilentError, match="after downmixing"):
        load_audio((np.stack([x, -x], axis=1), SR), SR)


# -------------------------------------------------------------------------------------------------- resampling
@pytest.mark.parametrize("orig_sr", [44100, 48000, 16000, 8000])
def test_resampler_preserves_a_tones_frequency(orig_sr):
    x = demo_sounds.tone(1000.0, 1.0, orig_sr)
    y = resample(x, orig_sr, SR)
    assert len(y) == int(np.ceil(len(x) * SR / orig_sr))
    assert abs(dominant_frequency(y, SR) - 1000.0) <= 1.0
    assert load_audio((x, orig_sr), SR).original_sampling_rate == orig_sr


def test_resampler_is_band_limited():
    """A 15 kHz tone at 44.1 kHz is above the new Nyquist (11 025 Hz): removed, not aliased to 7 050 Hz."""
    x = demo_sounds.tone(15000.0, 1.0, 44100)
    y = resample(x, 44100, SR)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 1e-3 * np.sqrt(np.mean(x**2))
    naive = x[::2]  # decimation without the low-pass aliases the tone
    assert abs(dominant_frequency(naive, SR) - 7050.0) < 2


# ------------------------------------------------------------------------------------------------- bad inputs
def test_missing_file(tmp_path):
    with pytest.raises(AudioNotFoundError, match="no such audio file") as err:
        load_audio(tmp_path / "missing.wav")
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "content",
    [b"this is not audio at all\n" * 50, b"\x89PNG\r\n\x1a\n" + bytes(200), b"RIFF\x10\x00\x00\x00WAVEfmt "],
    ids=["text", "png", "truncated-wav"],
)
def test_corrupt_or_unsupported_files(tmp_path, content):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match="cannot decode") as err:
        load_audio(path)
    assert "supported formats" in str(err.value) and "Traceback" not in str(err.value)
    with pytest.raises(AudioDecodeError):
        load_audio(content)


def test_empty_file_and_directory(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty"):
        load_audio(empty)
    with pytest.raises(AudioDecodeError, match="directory"):
        load_audio(tmp_path)


def test_silent_input(tmp_path):
    path = save_audio_atomic(np.zeros(SR, np.float32), SR, tmp_path / "silence.wav")
    with pytest.raises(AudioSilentError, match="silent"):
        load_audio(path)
    quiet = np.full(SR, SILENCE_PEAK / 2, np.float32)
    with pytest.raises(AudioSilentError):
        load_audio((quiet, SR))
    assert len(load_audio((quiet, SR), allow_silent=True).array) == SR


def test_too_short_input():
    with pytest.raises(AudioTooShortError, match="at least"):
        load_audio((demo_sounds.tone(440, 0.05, SR), SR), SR, min_samples=2048)
    with pytest.raises(AudioTooShortError):
        load_audio((np.zeros(0, np.float32), SR))


def test_too_long_input_errors_or_truncates(tmp_path):
    x = demo_sounds.melody(3.0, SR)
    path = save_audio_atomic(x, SR, tmp_path / "long.flac")
    for source in (path, (x, SR)):
        with pytest.raises(AudioTooLongError, match="limit is 2 s"):
            load_audio(source, SR, max_seconds=2.0)
        cut = load_audio(source, SR, max_seconds=2.0, on_too_long="truncate")
        assert cut.truncated and len(cut.array) == 2 * SR
        assert np.allclose(cut.array, x[: 2 * SR], atol=1 / 32768)
    assert not load_audio(path, SR, max_seconds=5.0).truncated


def test_unusable_arrays_and_types():
    with pytest.raises(AudioDecodeError, match="NaN"):
        load_audio((np.array([0.1, np.nan] * 3000, np.float32), SR))
    with pytest.raises(AudioDecodeError, match="1-D"):
        load_audio((np.zeros((2, 2, 2000), np.float32), SR))
    with pytest.raises(AudioDecodeError, match="sampling_rate"):
        load_audio((np.ones(3000, np.float32), -5))
    with pytest.raises(AudioDecodeError, match="dict input"):
        load_audio({"array": np.ones(100)})
    with pytest.raises(AudioDecodeError, match="unsupported audio input"):
        load_audio(12345)


def test_every_input_error_is_a_user_error():
    for cls in (
        AudioNotFoundError,
        AudioDecodeError,
        AudioSilentError,
        AudioTooShortError,
        AudioTooLongError,
    ):
        assert issubclass(cls, AudioInputError) and issubclass(cls, ValueError)
    assert issubclass(AudioInputError, USER_ERRORS)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
def test_non_finite_samples_in_a_file_are_refused(tmp_path, bad, subtype):
    # float WAVs store NaN/inf as they are; the array path refused them, the file path let them through (and the
    # silence check compared NaN), giving an all-NaN transfer or a full-scale WAV
    samples = demo_sounds.tone(440.0, 0.5, sr=8000).astype(np.float64)
    samples[100] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, samples, 8000, subtype=subtype)
    with pytest.raises(AudioNonFiniteError, match="NaN or infinite") as info:
        load_audio(str(path), 8000)
    assert "bad.wav" in str(info.value) and "index 100" in str(info.value)
    with pytest.raises(AudioNonFiniteError):
        load_audio(path.read_bytes(), 8000)


def test_an_absurd_sampling_rate_is_refused():
    with pytest.raises(AudioDecodeError, match="sampling_rate"):
        load_audio((np.ones(100, np.float32), 10**9), 8000)


def test_saving_non_finite_audio_is_refused(tmp_path):
    with pytest.raises(AudioOutputError, match="NaN"):
        save_audio_atomic(np.full(10, np.nan, np.float32), SR, tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------- STFT and Griffin-Lim
def test_log_spectrogram_shape_and_values():
    x = demo_sounds.chirp(200, 4000, 1.0, SR)
    spec = log_spectrogram(x)
    assert spec.shape == (1, 1025, 1 + len(x) // 512) and spec.dtype == torch.float32
    assert torch.allclose(spec, torch.log1p(stft(torch.from_numpy(x)).abs()).unsqueeze(0))
    assert spec.min() >= 0


def test_stft_istft_is_a_perfect_reconstruction():
    x = torch.from_numpy(demo_sounds.melody(1.0, SR))
    y = istft(stft(x), 2048, 512, len(x))
    assert torch.max(torch.abs(x - y)) < 1e-5


def test_griffin_lim_reconstructs_a_known_magnitude():
    x = torch.from_numpy(demo_sounds.chirp(300, 3000, 1.0, SR) + demo_sounds.tone(440, 1.0, SR, 0.3))
    magnitude = stft(x).abs()
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    random_phase = griffin_lim(magnitude, n_iter=0, length=len(x), generator=gen())
    plain = griffin_lim(magnitude, n_iter=100, length=len(x), generator=gen())
    fast = griffin_lim(magnitude, n_iter=100, length=len(x), momentum=0.99, generator=gen())
    sc0, sc_plain, sc_fast = (spectral_convergence(magnitude, y) for y in (random_phase, plain, fast))
    # measured here: 0.65 from random phases, 0.11 after 100 plain rounds, 0.06 with momentum 0.99
    assert sc0 > 0.5
    assert sc_plain < 0.15 and sc_plain < sc0 / 4
    assert sc_fast < 0.08 and sc_fast < sc_plain  # Perraudin et al.'s acceleration converges faster
    assert len(plain) == len(x)
    again = griffin_lim(magnitude, n_iter=100, length=len(x), generator=gen())
    assert torch.equal(plain, again)  # seeded


def test_write_examples(tmp_path):
    paths = demo_sounds.write_examples(tmp_path, seconds=1.0, with_speech=False)
    assert set(paths) == {"melody", "drums", "rain", "chirp"}
    for path in paths.values():
        audio = load_audio(path)
        assert abs(audio.seconds - 1.0) < 1e-3 and np.max(np.abs(audio.array)) <= 1.0
    assert not any(name.startswith(".") for name in os.listdir(tmp_path))


def test_speech_from_espeak_ng():
    spoken = demo_sounds.speech("style")
    if spoken is None:
        pytest.skip("espeak-ng is not installed")
    assert len(spoken) > SR // 10 and np.max(np.abs(spoken)) > 0.01
