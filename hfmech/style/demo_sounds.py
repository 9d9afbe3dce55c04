"""Project-made demo and test sounds (no audio data is shipped): tones, chirps, a melody, noise textures,
and optional speech from ``espeak-ng``.

Every generator is deterministic (seeded), returns float32 mono ``(n,)`` in ``[-1, 1]`` at ``sampling_rate`` and
takes ``seconds``. :func:`write_examples` writes the Space's example clips (WAV) into a folder.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .audio import DEFAULT_SAMPLING_RATE, load_audio, save_audio_atomic

SR = DEFAULT_SAMPLING_RATE


def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(round(seconds * sr))) / sr


def _normalise(x: np.ndarray, peak: float = 0.8) -> np.ndarray:
    top = float(np.max(np.abs(x), initial=0.0))
    return (x * (peak / top) if top > 0 else x).astype(np.float32)


def tone(frequency: float = 440.0, seconds: float = 2.0, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    """A pure sine."""
    return (amplitude * np.sin(2 * np.pi * frequency * _time(seconds, sr))).astype(np.float32)


def chirp(f0: float = 200.0, f1: float = 4000.0, seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    """A logarithmic sweep from ``f0`` to ``f1`` Hz."""
    from scipy.signal import chirp as scipy_chirp

    t = _time(seconds, sr)
    return (0.5 * scipy_chirp(t, f0=f0, t1=seconds, f1=f1, method="logarithmic")).astype(np.float32)


def melody(
    seconds: float = 5.0,
    sr: int = SR,
    notes: tuple[int, ...] = (60, 62, 64, 65, 67, 65, 64, 62),
    bpm: float = 120,
) -> np.ndarray:
    """A plucked-string-like melody: MIDI ``notes`` as quarter notes at ``bpm``, 5 harmonics, exponential decay."""
    out = np.zeros(int(round(seconds * sr)), dtype=np.float64)
    beat = 60.0 / bpm
    n_beat = int(round(beat * sr))
    t = np.arange(n_beat) / sr
    envelope = np.exp(-t * 4.0) * np.minimum(1.0, t / 0.005)
    for i, start in enumerate(range(0, len(out), n_beat)):
        f = 440.0 * 2 ** ((notes[i % len(notes)] - 69) / 12)
        note = sum((0.6**k) * np.sin(2 * np.pi * f * (k + 1) * t) for k in range(5)) * envelope
        end = min(len(out), start + n_beat)
        out[start:end] += note[: end - start]
    return _normalise(out)


def white_noise(seconds: float = 2.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    return _normalise(np.random.default_rng(seed).standard_normal(int(round(seconds * sr))), 0.5)


def drums(seconds: float = 5.0, sr: int = SR, bpm: float = 150, seed: int = 0) -> np.ndarray:
    """A noise-burst beat: kicks (decaying 60 Hz sine) on the beat, hi-hats (high-passed noise) off the beat."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(round(seconds * sr)))
    step = int(round(60.0 / bpm * sr / 2))
    t = np.arange(step) / sr
    kick = np.sin(2 * np.pi * (60 + 90 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    for i, start in enumerate(range(0, len(out), step)):
        end = min(len(out), start + step)
        if i % 2 == 0:
            out[start:end] += kick[: end - start]
        else:
            hat = np.diff(rng.standard_normal(step + 1)) * np.exp(-t * 60) * 0.4
            out[start:end] += hat[: end - start]
    return _normalise(out)


def rain(seconds: float = 5.0, sr: int = SR, drops_per_second: float = 60, seed: int = 0) -> np.ndarray:
    """A texture: pink-ish noise bed plus random short resonant drops."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    bed = np.cumsum(rng.standard_normal(n)) * 0.002
    bed -= np.convolve(
        bed, np.ones(64) / 64, mode="same"
    )  # remove the random walk's drift (a crude high-pass)
    out = bed
    t = np.arange(int(0.03 * sr)) / sr
    for start in rng.integers(0, max(1, n - len(t)), int(drops_per_second * seconds)):
        f = rng.uniform(1500, 5000)
        out[start : start + len(t)] += 0.3 * np.sin(2 * np.pi * f * t) * np.exp(-t * 150)
    return _normalise(out)


def speech(
    text: str = "Hello from hfmech. This is style transfer for sound.", sr: int = SR
) -> np.ndarray | None:
    """``text`` spoken by ``espeak-ng`` (a Debian package), resampled to ``sr``; None when espeak-ng is absent."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-w", str(wav), text], check=True, capture_output=True, timeout=60)
        return load_audio(wav, sr).array


#: Name -> (generator, description) for the Space's examples.
EXAMPLES = {
    "melody": (melody, "a plucked melody (harmonic tones)"),
    "drums": (drums, "a noise-burst beat"),
    "rain": (rain, "a rain-like noise texture"),
    "chirp": (lambda seconds=5.0, sr=SR: chirp(200, 4000, seconds, sr), "a rising sweep"),
}


def write_examples(
    folder: str | Path, seconds: float = 5.0, sr: int = SR, with_speech: bool = True
) -> dict[str, Path]:
    """Write the example clips as ``<name>.wav`` into ``folder`` (created); returns name -> path.

    Adds ``speech.wav`` when ``with_speech`` and espeak-ng is installed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (make, _) in EXAMPLES.items():
        paths[name] = save_audio_atomic(make(seconds=seconds, sr=sr), sr, folder / f"{name}.wav")
    if with_speech:
        spoken = speech(sr=sr)
        if spoken is not None:
            paths["speech"] = save_audio_atomic(_normalise(spoken), sr, folder / "speech.wav")
    return paths
