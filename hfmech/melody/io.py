"""Melody input and output: MIDI (``mido``), ABC / MusicXML (``music21``), WAV from a numpy synthesiser, piano rolls.

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


def wav_bytes(events: np.ndarray, **kwargs) -> bytes:
    import soundfile as sf

    buf = _io.BytesIO()
    sr = kwargs.get("sample_rate", SAMPLE_RATE)
    sf.write(buf, synthesize(events, **kwargs), sr, format="WAV", subtype="PCM_16")
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
