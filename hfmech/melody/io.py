"""Melody input and output: MIDI (``mido``), ABC / MusicXML (``music21``), WAV from a numpy synthesiser (or
FluidSynth with a General MIDI soundfont when installed: :func:`choose_synth`), piano rolls.

Every reader returns **events** at 16 steps per 4/4 bar (:mod:`hfmech.melody.data`) and refuses bad input with a
typed :class:`MelodyInputError` (an :class:`~hfmech.errors.HfmechError` and ``ValueError``):

==========================  ========================================================================================
input                       handling
==========================  ========================================================================================
corrupt or non-MIDI bytes   :class:`MidiFileError` (the header is checked before parsing; ``mido``'s errors wrapped)
a file over 8 MB            :class:`MidiFileError` before parsing
no notes                    :class:`EmptyMelodyError`
only drums (channel 10)     :class:`DrumsOnlyError` (drum notes are ignored in mixed files)
chords / several voices     the highest note among notes starting on the same step (magenta's melody extraction)
zero-length notes           lengthened to one step (magenta's quantiser does the same)
pitches outside 21..108     moved by whole octaves into range
a meter that is not 16      :class:`MeterError` (the model knows 4/4 and 2/2 only, as magenta's ``cat-mel_2bar``),
sixteenths per bar          unless ``allow_any_meter=True`` (steps are then regrouped into 16-step bars)
shorter than 2 bars         :class:`MelodyTooShortError`
longer than ``max_bars``    only the first ``max_bars`` bars (default 256) are read: a 2-hour file costs no more
==========================  ========================================================================================

``mido`` and ``music21`` are imported only when a file is read or written, so ``import hfmech`` needs neither.
"""

from __future__ import annotations

import io as _io
import math
import os
from pathlib import Path

import numpy as np

from ..errors import HfmechError
from .data import (
    MAX_PITCH,
    MIN_PITCH,
    NO_EVENT,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    WINDOW_STEPS,
    events_to_notes,
    fold_into_range,
    notes_to_events,
)

MAX_MIDI_BYTES = 8 * 1024 * 1024
MAX_BARS = 256
DRUM_CHANNEL = 9
SAMPLE_RATE = 22050


class MelodyInputError(HfmechError, ValueError):
    """A melody file or array that cannot be read as a melody."""


class MidiFileError(MelodyInputError):
    """Not a readable Standard MIDI File (corrupt header, truncated track, too large)."""


class EmptyMelodyError(MelodyInputError):
    """The input holds no notes."""


class DrumsOnlyError(MelodyInputError):
    """Every note is on the General MIDI drum channel (10): there is no melody to read."""


class MeterError(MelodyInputError):
    """A time signature whose bar is not 16 sixteenth-steps (the model knows 4/4 and 2/2)."""


class MelodyTooShortError(MelodyInputError):
    """Fewer than the two bars (32 steps) one window needs."""


def _require(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MelodyInputError(
            f"reading or writing this format needs the '{module}' package: pip install {module}"
        ) from exc


def _finish(notes: np.ndarray, *, max_bars: int, what: str) -> np.ndarray:
    """Quantised notes ``(n, 3)`` → events: zero-length notes lengthened, pitches folded, bars bounded, checked."""
    if len(notes) == 0:
        raise EmptyMelodyError(f"{what}: no notes")
    notes = np.asarray(notes, dtype=np.int64).copy()
    notes = notes[notes[:, 0] < max_bars * STEPS_PER_BAR]
    if len(notes) == 0:
        raise EmptyMelodyError(f"{what}: no notes in the first {max_bars} bars")
    zero = notes[:, 1] <= notes[:, 0]
    notes[zero, 1] = notes[zero, 0] + 1
    notes[:, 0] -= (notes[:, 0].min() // STEPS_PER_BAR) * STEPS_PER_BAR  # start at the first bar with a note
    notes[:, 1] = np.minimum(notes[:, 1], max_bars * STEPS_PER_BAR)
    events = notes_to_events(notes)
    events = fold_into_range(events)
    if len(events) < WINDOW_STEPS:
        raise MelodyTooShortError(
            f"{what}: {len(events)} steps ({len(events) / STEPS_PER_BAR:g} bars); a melody needs at least 2 bars of 4/4"
        )
    return events


def read_midi(source, *, max_bars: int = MAX_BARS, allow_any_meter: bool = False) -> np.ndarray:
    """A Standard MIDI File (path or bytes) → events ``(T,)`` at 4 steps per quarter (ticks quantised)."""
    if isinstance(source, bytes | bytearray):
        data, what = bytes(source), "MIDI data"
    else:
        path = Path(os.path.expanduser(os.fspath(source)))
        if not path.is_file():
            raise FileNotFoundError(f"no such MIDI file: {os.fspath(source)!r}")
        if path.stat().st_size > MAX_MIDI_BYTES:
            raise MidiFileError(f"{path}: {path.stat().st_size:,} bytes; at most {MAX_MIDI_BYTES:,} are read")
        data, what = path.read_bytes(), str(path)
    if len(data) > MAX_MIDI_BYTES:
        raise MidiFileError(f"{what}: {len(data):,} bytes; at most {MAX_MIDI_BYTES:,} are read")
    if len(data) < 14 or data[:4] != b"MThd":
        raise MidiFileError(f"{what}: not a Standard MIDI File (no 'MThd' header)")
    mido = _require("mido")
    try:
        mid = mido.MidiFile(file=_io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError on corrupt files
        raise MidiFileError(f"{what}: corrupt MIDI file ({type(exc).__name__}: {exc})") from None
    if mid.type == 2:
        raise MidiFileError(f"{what}: MIDI type 2 (independent sequences) is not supported")
    tpb = mid.ticks_per_beat
    if not tpb or tpb <= 0:
        raise MidiFileError(f"{what}: SMPTE time division is not supported (ticks per beat needed)")
    step_ticks = tpb / STEPS_PER_QUARTER
    limit_ticks = max_bars * STEPS_PER_BAR * step_ticks
    notes, drums = [], 0
    meters = set()
    for track in mid.tracks:
        tick = 0
        active: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += msg.time
            if tick > limit_ticks:
                break
            if msg.type == "time_signature":
                meters.add((msg.numerator, msg.denominator))
            elif msg.type in ("note_on", "note_off"):
                on = msg.type == "note_on" and msg.velocity > 0
                if msg.channel == DRUM_CHANNEL:
                    drums += on
                    continue
                key = (msg.channel, msg.note)
                if on:
                    active.setdefault(key, []).append(tick)
                elif active.get(key):
                    start = active[key].pop(0)
                    notes.append((start, tick, msg.note))
        for (_, pitch), starts in active.items():  # notes never switched off end at the track's end
            notes.extend((s, min(tick, limit_ticks), pitch) for s in starts)
    if not notes:
        if drums:
            raise DrumsOnlyError(f"{what}: only drum notes (MIDI channel 10); there is no melody")
        raise EmptyMelodyError(f"{what}: no notes")
    bad = sorted(m for m in meters if m[0] * 16 // m[1] != STEPS_PER_BAR or (m[0] * 16) % m[1])
    if bad and not allow_any_meter:
        raise MeterError(
            f"{what}: time signature {bad[0][0]}/{bad[0][1]}; the model knows bars of 16 sixteenths (4/4, 2/2) only"
        )
    arr = np.asarray(notes, dtype=np.float64)
    quant = np.stack(
        [np.round(arr[:, 0] / step_ticks), np.round(arr[:, 1] / step_ticks), arr[:, 2]], axis=1
    ).astype(np.int64)
    return _finish(quant, max_bars=max_bars, what=what)


def read_music21(source, *, max_bars: int = MAX_BARS, allow_any_meter: bool = False) -> np.ndarray:
    """ABC, MusicXML or anything else ``music21.converter.parse`` reads (a path, or ABC text) → events."""
    music21 = _require("music21")
    what = str(source)[:80]
    try:
        score = music21.converter.parse(source)
    except Exception as exc:
        raise MelodyInputError(f"{what}: music21 could not read it ({type(exc).__name__}: {exc})") from None
    part = score.parts[0] if getattr(score, "parts", None) else score
    ts = part.recurse().getElementsByClass("TimeSignature")
    if ts and not allow_any_meter:
        bar = ts[0].barDuration.quarterLength
        if bar * STEPS_PER_QUARTER != STEPS_PER_BAR:
            raise MeterError(f"{what}: time signature {ts[0].ratioString}; the model knows 4/4 and 2/2 only")
    rows = []
    for n in part.stripTies().flatten().notes:
        ql = float(n.duration.quarterLength)
        if n.duration.isGrace:
            continue
        off = float(n.getOffsetInHierarchy(part))
        rows.append(
            (
                round(off * STEPS_PER_QUARTER),
                round((off + ql) * STEPS_PER_QUARTER),
                max(p.midi for p in n.pitches),
            )
        )
    return _finish(np.asarray(rows, dtype=np.int64).reshape(-1, 3), max_bars=max_bars, what=what)


def read_melody(source, **kwargs) -> np.ndarray:
    """Events from a MIDI path/bytes, an ABC/MusicXML path, or an events array (checked)."""
    if isinstance(source, np.ndarray | list | tuple):
        events = np.asarray(source)
        if events.ndim != 1 or not np.issubdtype(events.dtype, np.integer):
            raise MelodyInputError(f"an events array must be 1-D integers, got {events.dtype} {events.shape}")
        if np.any(events < NO_EVENT) or np.any(events > 127):
            raise MelodyInputError("events must lie in -2..127 (no-event, note-off, MIDI pitch)")
        if not np.any(events >= 0):
            raise EmptyMelodyError("the events array holds no notes")
        events = fold_into_range(events.astype(np.int64))
        if len(events) < WINDOW_STEPS:
            raise MelodyTooShortError(f"{len(events)} steps; a melody needs at least {WINDOW_STEPS} (2 bars)")
        return events
    if isinstance(source, bytes | bytearray):
        return read_midi(source, **kwargs)
    suffix = Path(os.fspath(source)).suffix.lower()
    if suffix in (".mid", ".midi", ".smf"):
        return read_midi(source, **kwargs)
    if suffix in (".abc", ".xml", ".musicxml", ".mxl", ".krn"):
        path = Path(os.path.expanduser(os.fspath(source)))
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {os.fspath(source)!r}")
        return read_music21(str(path), **kwargs)
    raise MelodyInputError(f"{source}: unknown melody format (use .mid, .abc, .xml/.musicxml/.mxl)")


# ----------------------------------------------------------------------------------------------------- output
def midi_bytes(events: np.ndarray, *, bpm: float = 120.0, program: int = 0, velocity: int = 90) -> bytes:
    """Events → a type-0 Standard MIDI File (one track, 4/4, ``program`` a General MIDI instrument)."""
    mido = _require("mido")
    tpb = 480
    step_ticks = tpb // STEPS_PER_QUARTER
    mid = mido.MidiFile(type=0, ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.Message("program_change", program=int(program), time=0))
    timeline = []
    for start, end, pitch in events_to_notes(np.asarray(events)):
        timeline.append((int(end) * step_ticks, 0, int(pitch)))
        timeline.append((int(start) * step_ticks, 1, int(pitch)))
    timeline.sort()
    now = 0
    for tick, on, pitch in timeline:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=velocity if on else 0, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    buf = _io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def write_midi(path, events: np.ndarray, **kwargs) -> Path:
    from ..hub.files import write_bytes_atomic

    return write_bytes_atomic(path, midi_bytes(events, **kwargs))


def synthesize(
    events: np.ndarray, *, bpm: float = 120.0, sample_rate: int = SAMPLE_RATE, gain: float = 0.3
) -> np.ndarray:
    """A soft plucked-string timbre in numpy: float32 mono ``(samples,)`` in ``[-1, 1]``.

    Each note is six harmonics (amplitude ``1/k``, higher ones decaying faster) with a 5 ms attack, an exponential
    decay toward a sustain level and a 60 ms release after the note ends, plus a slight detuned second voice for
    warmth — not a bare sine.
    """
    events = np.asarray(events)
    step_s = 60.0 / bpm / STEPS_PER_QUARTER
    release = 0.06
    total = int(math.ceil((len(events) * step_s + release + 0.05) * sample_rate))
    out = np.zeros(total, dtype=np.float64)
    for start, end, pitch in events_to_notes(events):
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        dur = (end - start) * step_s
        n = int((dur + release) * sample_rate)
        t = np.arange(n) / sample_rate
        env = np.minimum(t / 0.005, 1.0) * (0.35 + 0.65 * np.exp(-t / 0.25))
        rel = t > dur
        env[rel] *= np.exp(-(t[rel] - dur) / (release / 4))
        tone = np.zeros(n)
        for k in range(1, 7):
            if k * f0 >= sample_rate / 2:
                break
            decay = np.exp(-t * (1.5 * k))
            tone += (
                (1.0 / k)
                * decay
                * (np.sin(2 * np.pi * k * f0 * t) + 0.5 * np.sin(2 * np.pi * k * f0 * 1.003 * t))
            )
        i0 = int(start * step_s * sample_rate)
        seg = out[i0 : i0 + n]
        seg += (env * tone)[: len(seg)]
    peak = np.abs(out).max()
    if peak > 0:
        out = out / peak * gain * 3
    return np.clip(out, -1.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------------------ optional FluidSynth
SYNTHS = ("builtin", "fluidsynth", "auto")
SOUNDFONT_ENV = "HFMECH_SOUNDFONT"
#: Where Debian/Ubuntu (``fluid-soundfont-gm``, ``timgm6mb-soundfont``), Fedora and Homebrew put a free GM soundfont.
SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
FLUIDSYNTH_TIMEOUT_S = 120


class SynthError(HfmechError, RuntimeError):
    """FluidSynth was asked for but is not installed, no soundfont was found, or it failed to render."""


def fluidsynth_backend() -> str | None:
    """``"binary"`` (``fluidsynth`` on PATH), ``"python"`` (``pyfluidsynth`` importable) or ``None``."""
    import importlib.util
    import shutil

    if shutil.which("fluidsynth"):
        return "binary"
    try:
        if importlib.util.find_spec("fluidsynth") is not None:
            return "python"
    except (ImportError, ValueError):  # pragma: no cover - a broken install
        pass
    return None


def find_soundfont(soundfont=None) -> Path | None:
    """The soundfont to use: ``soundfont`` if given, else ``$HFMECH_SOUNDFONT``, else the first of
    :data:`SOUNDFONT_CANDIDATES` that exists, else ``None``. A path given explicitly (argument or environment) that
    is not a file is a :class:`SynthError`, never silently replaced."""
    explicit = soundfont if soundfont not in (None, "") else os.environ.get(SOUNDFONT_ENV) or None
    if explicit is not None:
        path = Path(os.path.expanduser(os.fspath(explicit)))
        if not path.is_file():
            where = "--soundfont" if soundfont not in (None, "") else f"${SOUNDFONT_ENV}"
            raise SynthError(f"{where}: no soundfont file at {os.fspath(explicit)!r}")
        return path
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def choose_synth(synth: str = "auto", soundfont=None) -> tuple[str, Path | None]:
    """Resolve ``synth`` (``builtin``, ``fluidsynth`` or ``auto``) to ``("builtin", None)`` or
    ``("fluidsynth", soundfont_path)``. ``auto`` takes FluidSynth when it and a soundfont are installed, else the
    built-in synthesiser; ``fluidsynth`` without them is a :class:`SynthError` saying what to install."""
    if synth not in SYNTHS:
        raise SynthError(f"synth must be one of {SYNTHS}, got {synth!r}")
    if synth == "builtin":
        return "builtin", None
    backend = fluidsynth_backend()
    if synth == "auto":
        if backend is None:
            return "builtin", None
        sf2 = find_soundfont(soundfont)
        return ("fluidsynth", sf2) if sf2 is not None else ("builtin", None)
    if backend is None:
        raise SynthError(
            "synth 'fluidsynth' needs the fluidsynth program on PATH (apt-get install fluidsynth, brew install "
            "fluid-synth) or the pyfluidsynth package; or use the built-in synthesiser (--synth builtin)"
        )
    sf2 = find_soundfont(soundfont)
    if sf2 is None:
        raise SynthError(
            f"synth 'fluidsynth' needs a General MIDI soundfont: pass --soundfont PATH.sf2 or set "
            f"${SOUNDFONT_ENV} (apt-get install fluid-soundfont-gm puts one in /usr/share/sounds/sf2)"
        )
    return "fluidsynth", sf2


def _to_mono_float(audio: np.ndarray, gain: float) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    peak = np.abs(audio).max() if audio.size else 0.0
    if peak > 0:
        audio = audio / peak * gain * 3
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def render_fluidsynth(
    events: np.ndarray,
    soundfont,
    *,
    bpm: float = 120.0,
    sample_rate: int = SAMPLE_RATE,
    program: int = 0,
    gain: float = 0.3,
) -> np.ndarray:
    """Events through FluidSynth with ``soundfont`` (General MIDI ``program``, 0 = acoustic grand piano): float32
    mono ``(samples,)`` in ``[-1, 1]``, peak-normalised as :func:`synthesize`. The ``fluidsynth`` program renders a
    temporary MIDI file offline (``-F``); without it ``pyfluidsynth`` plays the notes into a buffer."""
    backend = fluidsynth_backend()
    if backend is None:
        raise SynthError("fluidsynth is not installed (neither the program nor pyfluidsynth)")
    soundfont = Path(soundfont)
    if backend == "binary":
        import subprocess
        import tempfile

        import soundfile as sf

        with tempfile.TemporaryDirectory(prefix="hfmech-fluidsynth-") as tmp:
            mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
            mid.write_bytes(midi_bytes(events, bpm=bpm, program=program))
            cmd = ["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", str(int(sample_rate))]
            cmd += ["-F", str(wav), "-T", "wav", str(soundfont), str(mid)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FLUIDSYNTH_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise SynthError(f"fluidsynth took over {FLUIDSYNTH_TIMEOUT_S} s") from None
            if proc.returncode != 0 or not wav.is_file() or wav.stat().st_size <= 44:
                detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
                raise SynthError(f"fluidsynth failed ({proc.returncode}): {detail[0]}")
            audio, _ = sf.read(str(wav), dtype="float32", always_2d=True)
        return _to_mono_float(audio, gain)
    import fluidsynth  # pyfluidsynth

    step_s = 60.0 / bpm / STEPS_PER_QUARTER
    synth = fluidsynth.Synth(samplerate=float(sample_rate))
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise SynthError(f"fluidsynth could not load the soundfont {soundfont}")
        synth.program_select(0, sfid, 0, int(program))
        timeline = []
        for start, end, pitch in events_to_notes(np.asarray(events)):
            timeline.append((int(round(end * step_s * sample_rate)), 0, int(pitch)))
            timeline.append((int(round(start * step_s * sample_rate)), 1, int(pitch)))
        timeline.sort()
        total = int(math.ceil((len(events) * step_s + 0.5) * sample_rate))
        chunks, now = [], 0
        for at, on, pitch in timeline + [(total, -1, 0)]:
            if at > now:
                chunks.append(np.asarray(synth.get_samples(at - now), dtype=np.float64).reshape(-1, 2))
                now = at
            if on == 1:
                synth.noteon(0, pitch, 90)
            elif on == 0:
                synth.noteoff(0, pitch)
    finally:
        synth.delete()
    return _to_mono_float(np.concatenate(chunks) if chunks else np.zeros((0, 2)), gain)


def render(
    events: np.ndarray,
    *,
    synth: str = "builtin",
    soundfont=None,
    bpm: float = 120.0,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Audio of ``events`` from the synthesiser :func:`choose_synth` picks: float32 mono ``(samples,)``."""
    kind, sf2 = choose_synth(synth, soundfont)
    if kind == "fluidsynth":
        return render_fluidsynth(events, sf2, bpm=bpm, sample_rate=sample_rate)
    return synthesize(events, bpm=bpm, sample_rate=sample_rate)


def wav_bytes(
    events: np.ndarray,
    *,
    synth: str = "builtin",
    soundfont=None,
    bpm: float = 120.0,
    sample_rate: int = SAMPLE_RATE,
) -> bytes:
    """A 16-bit mono WAV of ``events`` (``synth``: ``builtin``, ``fluidsynth`` or ``auto``; see :func:`choose_synth`)."""
    import soundfile as sf

    buf = _io.BytesIO()
    audio = render(events, synth=synth, soundfont=soundfont, bpm=bpm, sample_rate=sample_rate)
    sf.write(buf, audio, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def write_wav(path, events: np.ndarray, **kwargs) -> Path:
    from ..hub.files import write_bytes_atomic

    return write_bytes_atomic(path, wav_bytes(events, **kwargs))


def piano_roll(rows: list[np.ndarray], titles: list[str] | None = None):
    """A matplotlib Figure with one piano roll per events array (time in bars, MIDI pitch up)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = max(len(rows), 1)
    fig = Figure(figsize=(8, 1.3 * n + 0.4), dpi=100)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for i, (ax, ev) in enumerate(zip(axes, rows)):
        notes = events_to_notes(np.asarray(ev))
        for start, end, pitch in notes:
            ax.add_patch(
                matplotlib.patches.Rectangle(
                    (start / STEPS_PER_BAR, pitch - 0.4), (end - start) / STEPS_PER_BAR, 0.8, color="#3b6ea8"
                )
            )
        bars = len(ev) / STEPS_PER_BAR
        ax.set_xlim(0, max(bars, 1))
        lo = int(notes[:, 2].min()) - 2 if len(notes) else 60
        hi = int(notes[:, 2].max()) + 2 if len(notes) else 72
        ax.set_ylim(max(lo, MIN_PITCH - 1), min(hi, MAX_PITCH + 1))
        for b in range(int(bars) + 1):
            ax.axvline(b, color="#999", lw=0.5)
        ax.set_yticks([])
        if titles:
            ax.set_ylabel(titles[i], rotation=0, ha="right", va="center", fontsize=8)
    axes[-1].set_xlabel("bar")
    fig.tight_layout()
    return fig
