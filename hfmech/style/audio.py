"""Audio in and out for hfmech: loading (soundfile), mono downmix, band-limited resampling, STFT log-magnitude
spectrograms and Griffin-Lim phase reconstruction — in plain torch/scipy (torchaudio does not work here).

Loading (:func:`load_audio`)
----------------------------
Accepts a path (WAV, FLAC, MP3, OGG/Vorbis, AIFF — whatever the installed libsndfile reads; soundfile ≥ 0.12 with
libsndfile ≥ 1.1 reads and writes MP3), the file's bytes, an ``(array, sampling_rate)`` tuple, a dict
``{"array" | "raw": array, "sampling_rate": int}`` as transformers' audio pipelines take, or a bare array (taken to be
at the target rate, as transformers does). Documented conversions:

- **Multi-channel** audio is **downmixed to mono** by averaging the channels (a 2-D array is
  ``(samples, channels)`` as soundfile returns it, or ``(channels, samples)`` when its first axis is the shorter).
- **Integer** arrays are scaled to ``[-1, 1)`` (``int16 / 32768``, ``int32 / 2**31``, ``(uint8 - 128) / 128``).
- **Resampling** to ``sampling_rate`` (default 22 050 Hz, librosa's and Ulyanov & Lebedev's) is band-limited:
  :func:`resample` is ``scipy.signal.resample_poly`` (polyphase FIR, Kaiser window β = 5) with the rate ratio
  reduced to lowest terms.
- **Length**: an input longer than ``max_seconds`` raises :class:`AudioTooLongError` by default, or is truncated to
  its first ``max_seconds`` with ``on_too_long="truncate"`` (only those frames are decoded from a file). An input
  shorter than ``min_samples`` (after resampling) raises :class:`AudioTooShortError`.
- **Silence** (peak below ``SILENCE_PEAK`` = 1e-4, −80 dBFS, after the downmix) raises :class:`AudioSilentError`.

Every input problem is a subclass of :class:`AudioInputError` (a ``ValueError``); a missing path is
:class:`AudioNotFoundError`, also a ``FileNotFoundError``.

Saving (:func:`save_audio_atomic`)
----------------------------------
The format follows the suffix (``.wav`` 16-bit PCM by default, ``.flac``, ``.mp3``, ``.ogg``); the file is written to a
temporary sibling and ``os.replace``-d into place, so a reader never sees half a file.

Spectrograms (:func:`log_spectrogram`) and :func:`griffin_lim`
---------------------------------------------------------------
As Ulyanov & Lebedev's code (librosa defaults): ``n_fft = 2048``, ``hop = n_fft // 4``, periodic Hann window,
centred frames (reflect padding), features ``log1p(|STFT|)`` of shape ``(1, n_freq, n_frames)``,
``n_freq = n_fft // 2 + 1``, ``n_frames = 1 + n_samples // hop``. The waveform comes back from a magnitude by
Griffin & Lim (1984): start from random phases, alternate ``x = ISTFT(|S| e^{iφ})`` and ``φ = angle(STFT(x))``;
``momentum > 0`` gives the "fast Griffin-Lim" of Perraudin, Balazs & Søndergaard (2013).
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import HfmechError
from ..hub.files import atomic_path

DEFAULT_SAMPLING_RATE = 22050
DEFAULT_N_FFT = 2048
#: Highest input sampling rate accepted (a corrupt header can declare any rate; resampling cost grows with it).
MAX_SAMPLING_RATE = 384_000
#: Peak amplitude under which an input counts as silent (−80 dBFS).
SILENCE_PEAK = 1e-4


def _soundfile():
    """soundfile, imported on first use: ``import hfmech`` must not need libsndfile (GPU images lack it)."""
    import soundfile

    return soundfile


#: Output suffix -> (soundfile format, default subtype).
WRITE_FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".ogg": ("OGG", "VORBIS"),
}


class AudioInputError(HfmechError, ValueError):
    """Base class for every problem with an audio *input*; the message names the input and says what to do."""


class AudioNotFoundError(AudioInputError, FileNotFoundError):
    """The path does not exist. Also a ``FileNotFoundError``."""


class AudioDecodeError(AudioInputError):
    """Empty, corrupt or truncated file, an unsupported format, a directory, or an unusable array."""


class AudioNonFiniteError(AudioDecodeError):
    """Samples that are NaN or infinite (a float WAV can hold them): refused, from arrays and files alike."""


class AudioTooShortError(AudioInputError):
    """Shorter than one analysis window (the caller's ``min_samples``)."""


class AudioTooLongError(AudioInputError):
    """Longer than ``max_seconds`` (pass ``on_too_long="truncate"`` to keep the beginning instead)."""


class AudioSilentError(AudioInputError):
    """All samples are (nearly) zero: there is nothing to analyse."""


class AudioOutputError(HfmechError, ValueError):
    """An output path whose suffix names no supported audio format."""


@dataclass
class Audio:
    """A mono waveform ready for analysis.

    ``array``: float32 ``(n_samples,)``; ``sampling_rate``: its rate; ``source``: display name of the input;
    ``original_sampling_rate`` / ``original_channels``: before resampling and downmix; ``truncated``: whether
    ``max_seconds`` cut it.
    """

    array: np.ndarray
    sampling_rate: int
    source: str
    original_sampling_rate: int
    original_channels: int
    truncated: bool = False

    @property
    def seconds(self) -> float:
        return len(self.array) / self.sampling_rate


# ----------------------------------------------------------------------------------------------------------- loading
def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    if isinstance(source, (bytes, bytearray)):
        return "<bytes input>"
    return f"<{type(source).__name__} input>"


def _as_float_array(array: Any, name: str) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    try:
        array = np.asarray(array)
    except Exception as e:  # ragged lists and the like
        raise AudioDecodeError(f"{name}: cannot be read as an array of samples ({e})") from e
    if array.dtype == np.uint8:
        array = (array.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float64) / float(2 ** (8 * array.dtype.itemsize - 1))
    elif not np.issubdtype(array.dtype, np.floating):
        raise AudioDecodeError(f"{name}: samples must be numbers, got dtype {array.dtype}")
    if array.ndim == 0 or array.ndim > 2:
        raise AudioDecodeError(
            f"{name}: expected a 1-D (mono) or 2-D (multi-channel) array, got shape {array.shape}"
        )
    if array.size == 0:
        raise AudioTooShortError(f"{name}: contains no samples")
    _check_finite(array, name)
    return array.astype(np.float32, copy=False)


def _check_finite(array: np.ndarray, name: str) -> None:
    finite = np.isfinite(array)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        first = int(np.argmin(finite.reshape(-1)))
        raise AudioNonFiniteError(
            f"{name}: contains {bad} NaN or infinite sample(s) (the first at index {first}); "
            "the audio is corrupt or not normalised"
        )


def to_mono(array: np.ndarray) -> np.ndarray:
    """Average the channels: ``(n,)`` stays, ``(n, channels)`` or ``(channels, n)`` (shorter first axis) -> ``(n,)``."""
    if array.ndim == 1:
        return array
    channels_first = array.shape[0] < array.shape[1]
    return array.mean(axis=0 if channels_first else 1).astype(np.float32)


def _channels(array: np.ndarray) -> int:
    return 1 if array.ndim == 1 else int(min(array.shape))


def resample(array: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling of a mono float array with ``scipy.signal.resample_poly``.

    The ratio ``target_sr / orig_sr`` is reduced by their gcd (22 050 / 44 100 -> up 1, down 2); resample_poly
    upsamples by zero-stuffing, applies a Kaiser-windowed (β = 5) low-pass FIR at the lower Nyquist and decimates,
    so frequencies above the new Nyquist are removed rather than aliased. Output length ``ceil(n * up / down)``.
    """
    from scipy.signal import resample_poly

    orig_sr, target_sr = int(orig_sr), int(target_sr)
    if orig_sr == target_sr:
        return array.astype(np.float32, copy=False)
    g = math.gcd(orig_sr, target_sr)
    return resample_poly(array, target_sr // g, orig_sr // g).astype(np.float32)


def _read_file(source, name: str, max_frames: int | None) -> tuple[np.ndarray, int, bool]:
    """soundfile read with typed errors; decodes at most ``max_frames`` frames. Returns (array, sr, truncated)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.path.expanduser(os.fspath(source)))
        if not path.exists():
            raise AudioNotFoundError(f"no such audio file: {name}")
        if path.is_dir():
            raise AudioDecodeError(f"{name} is a directory, not an audio file")
        if path.stat().st_size == 0:
            raise AudioDecodeError(f"{name} is empty (0 bytes)")
        handle: Any = str(path)
    else:
        if len(source) == 0:
            raise AudioDecodeError(f"{name} is empty (0 bytes)")
        handle = io.BytesIO(bytes(source))
    sf = _soundfile()
    try:
        with sf.SoundFile(handle) as f:
            sr, total = f.samplerate, f.frames
            truncated = max_frames is not None and total > max_frames
            data = f.read(frames=max_frames if truncated else -1, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError) as e:
        detail = re.sub(r"^Error opening .*?: ", "", " ".join(str(e).split())) or type(e).__name__
        raise AudioDecodeError(
            f"cannot decode {name} as audio ({detail}); supported formats: WAV, FLAC, MP3, OGG/Vorbis, AIFF"
        ) from e
    if data.shape[0] == 0:
        raise AudioTooShortError(f"{name} contains no audio frames")
    _check_finite(data, name)  # a float WAV/FLAC can store NaN and infinity
    return data, int(sr), truncated


def _file_info(source, name: str) -> tuple[int, int] | None:
    """(frames, samplerate) of a file without decoding it, or None (errors surface in :func:`_read_file`)."""
    try:
        if isinstance(source, (str, os.PathLike)):
            info = _soundfile().info(os.path.expanduser(os.fspath(source)))
        else:
            info = _soundfile().info(io.BytesIO(bytes(source)))
        return int(info.frames), int(info.samplerate)
    except Exception:
        return None


def load_audio(
    source: Any,
    sampling_rate: int = DEFAULT_SAMPLING_RATE,
    *,
    max_seconds: float | None = None,
    min_samples: int = 0,
    on_too_long: str = "error",
    allow_silent: bool = False,
) -> Audio:
    """Load ``source`` as mono float32 audio at ``sampling_rate`` (see the module docstring for every rule).

    Raises :class:`AudioInputError` subclasses: not found, undecodable/unsupported, too short (``min_samples`` at
    ``sampling_rate``), too long (``max_seconds``, unless ``on_too_long="truncate"``), silent (unless
    ``allow_silent``). Never modifies the input.
    """
    if on_too_long not in ("error", "truncate"):
        raise ValueError(f"on_too_long must be 'error' or 'truncate', got {on_too_long!r}")
    name = _describe(source)
    if isinstance(source, dict):
        if "sampling_rate" not in source or not any(k in source for k in ("array", "raw")):
            raise AudioDecodeError(
                f"{name}: a dict input needs 'array' (or 'raw') and 'sampling_rate' keys, got {sorted(source)}"
            )
        source = (source["array"] if "array" in source else source["raw"], source["sampling_rate"])
    truncated = False
    if isinstance(source, (str, os.PathLike, bytes, bytearray)):
        max_frames = None
        if max_seconds is not None:
            info = _file_info(source, name)
            if info is not None:
                frames, sr = info
                if frames > max_seconds * sr and on_too_long == "error":
                    raise AudioTooLongError(
                        f"{name} is {frames / sr:.1f} s long; the limit is {max_seconds:g} s "
                        "(trim it, or let the caller truncate)"
                    )
                max_frames = int(math.floor(max_seconds * sr))
        array, orig_sr, truncated = _read_file(source, name, max_frames)
    elif isinstance(source, tuple):
        if len(source) != 2:
            raise AudioDecodeError(f"{name}: expected (array, sampling_rate), got a tuple of {len(source)}")
        array, orig_sr = source
        array = _as_float_array(array, name)
        if (
            isinstance(orig_sr, bool)
            or not isinstance(orig_sr, (int, np.integer))
            or not 1 <= orig_sr <= MAX_SAMPLING_RATE
        ):
            raise AudioDecodeError(
                f"{name}: sampling_rate must be an integer in 1..{MAX_SAMPLING_RATE}, got {orig_sr!r}"
            )
        orig_sr = int(orig_sr)
    elif isinstance(source, (np.ndarray, torch.Tensor, list)):
        array, orig_sr = _as_float_array(source, name), int(sampling_rate)
    else:
        raise AudioDecodeError(
            f"unsupported audio input of type {type(source).__name__}: pass a path, bytes, (array, sampling_rate) "
            "or {'array': ..., 'sampling_rate': ...}"
        )
    if not 1 <= orig_sr <= MAX_SAMPLING_RATE:
        raise AudioDecodeError(
            f"{name}: a sampling rate of {orig_sr} Hz is outside 1..{MAX_SAMPLING_RATE} (a corrupt header?)"
        )
    channels = _channels(array)
    mono = to_mono(array)
    if max_seconds is not None and len(mono) > max_seconds * orig_sr:
        if on_too_long == "error":
            raise AudioTooLongError(
                f"{name} is {len(mono) / orig_sr:.1f} s long; the limit is {max_seconds:g} s "
                "(trim it, or let the caller truncate)"
            )
        mono, truncated = mono[: int(math.floor(max_seconds * orig_sr))], True
    mono = resample(mono, orig_sr, sampling_rate)
    if len(mono) < min_samples:
        raise AudioTooShortError(
            f"{name} is {len(mono) / sampling_rate:.3f} s long ({len(mono)} samples at {sampling_rate} Hz); "
            f"at least {min_samples / sampling_rate:.3f} s ({min_samples} samples) are needed"
        )
    if not allow_silent and float(np.max(np.abs(mono), initial=0.0)) < SILENCE_PEAK:
        extra = " after downmixing its channels to mono" if channels > 1 else ""
        raise AudioSilentError(f"{name} is silent{extra} (peak below {SILENCE_PEAK:g}); nothing to analyse")
    return Audio(
        np.ascontiguousarray(mono, dtype=np.float32), int(sampling_rate), name, orig_sr, channels, truncated
    )


# ------------------------------------------------------------------------------------------------------------ saving
def save_audio_atomic(
    array: np.ndarray, sampling_rate: int, path: str | os.PathLike, subtype: str | None = None
) -> Path:
    """Write a mono (``(n,)``) or multi-channel (``(n, channels)``) float array to ``path`` atomically.

    Format from the suffix (:data:`WRITE_FORMATS`; ``subtype`` overrides the default, e.g. ``"FLOAT"`` for a
    bit-exact float32 WAV). Samples outside ``[-1, 1]`` are clipped by integer and MP3 encodings, not by us.
    """
    path = Path(os.path.expanduser(os.fspath(path)))
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise AudioOutputError(
            f"cannot write {str(path)!r}: unknown audio suffix {suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(WRITE_FORMATS))}"
        )
    fmt, default_subtype = WRITE_FORMATS[suffix]
    if not np.all(np.isfinite(np.asarray(array))):
        raise AudioOutputError(f"cannot write {str(path)!r}: the audio contains NaN or infinite samples")
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: the directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a directory")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        _soundfile().write(
            fh,
            np.asarray(array, dtype=np.float32),
            int(sampling_rate),
            format=fmt,
            subtype=subtype or default_subtype,
        )
    return path


# ------------------------------------------------------------------------------------------ STFT and Griffin-Lim
def _window(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, dtype=like.real.dtype, device=like.device)


def stft(waveform: torch.Tensor, n_fft: int = DEFAULT_N_FFT, hop_length: int | None = None) -> torch.Tensor:
    """Complex STFT ``(n_samples,) -> (n_fft // 2 + 1, 1 + n_samples // hop)`` (librosa's defaults)."""
    hop_length = hop_length or n_fft // 4
    return torch.stft(
        waveform,
        n_fft,
        hop_length,
        window=_window(n_fft, waveform),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )


def istft(spec: torch.Tensor, n_fft: int, hop_length: int | None, length: int) -> torch.Tensor:
    """Inverse of :func:`stft` (weighted overlap-add), trimmed/padded to ``length`` samples."""
    hop_length = hop_length or n_fft // 4
    return torch.istft(spec, n_fft, hop_length, window=_window(n_fft, spec), center=True, length=length)


def log_spectrogram(waveform, n_fft: int = DEFAULT_N_FFT, hop_length: int | None = None) -> torch.Tensor:
    """Ulyanov & Lebedev's features ``log1p(|STFT(x)|)``: float32 ``(1, n_freq, n_frames)``."""
    x = torch.as_tensor(np.asarray(waveform, dtype=np.float32)) if not torch.is_tensor(waveform) else waveform
    return torch.log1p(stft(x.float(), n_fft, hop_length).abs()).unsqueeze(0)


def magnitude_from_log(log_spec: torch.Tensor) -> torch.Tensor:
    """``expm1`` of a log1p spectrogram, clamped at 0 (an optimised spectrogram may dip below 0)."""
    return torch.expm1(log_spec).clamp_min(0.0)


def griffin_lim(
    magnitude: torch.Tensor,
    n_fft: int = DEFAULT_N_FFT,
    hop_length: int | None = None,
    n_iter: int = 500,
    length: int | None = None,
    momentum: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A waveform whose STFT magnitude approximates ``magnitude`` ``(n_freq, n_frames)`` (Griffin & Lim 1984).

    Random initial phases (uniform on ``[-π, π)``, from ``generator``), then ``n_iter`` rounds of
    ``x = ISTFT(|S|·e^{iφ})``, ``φ = angle(STFT(x))``, as Ulyanov & Lebedev's reconstruction loop (500 rounds).
    ``momentum`` (e.g. 0.99) applies Perraudin et al.'s fast Griffin-Lim acceleration; 0 is the original.
    Returns float ``(length,)``, ``length`` defaulting to ``(n_frames - 1) * hop``.
    """
    if magnitude.dim() == 3:
        magnitude = magnitude[0]
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    if n_iter < 0:
        raise ValueError(f"n_iter must be >= 0, got {n_iter!r}")
    hop_length = hop_length or n_fft // 4
    length = length or (magnitude.shape[-1] - 1) * hop_length
    magnitude = magnitude.detach().float()
    phase = (torch.rand(magnitude.shape, generator=generator) * 2 - 1) * math.pi
    angles = torch.polar(torch.ones_like(magnitude), phase.to(magnitude.device))
    previous = torch.zeros_like(angles)
    eps = 1e-12
    for _ in range(n_iter):
        waveform = istft(magnitude * angles, n_fft, hop_length, length)
        rebuilt = stft(waveform, n_fft, hop_length)
        update = rebuilt - (momentum / (1 + momentum)) * previous if momentum else rebuilt
        angles = update / update.abs().clamp_min(eps)
        previous = rebuilt
    return istft(magnitude * angles, n_fft, hop_length, length)


def spectral_convergence(
    magnitude: torch.Tensor, waveform: torch.Tensor, n_fft: int = DEFAULT_N_FFT, hop_length: int | None = None
) -> float:
    """``‖ |STFT(waveform)| − magnitude ‖_F / ‖magnitude‖_F`` — 0 for a perfectly consistent reconstruction."""
    if magnitude.dim() == 3:
        magnitude = magnitude[0]
    rebuilt = stft(waveform.float(), n_fft, hop_length).abs()
    return float(torch.linalg.norm(rebuilt - magnitude) / torch.linalg.norm(magnitude).clamp_min(1e-12))
