"""Melodies as magenta's ``OneHotMelodyConverter`` sees them (MusicVAE, Roberts et al. 2018, ``cat-mel_2bar``).

A melody is an int array of **events**, one per sixteenth-note step (16 steps per 4/4 bar, 4 per quarter):

- ``0..127`` — a note-on of that MIDI pitch (the note sounds until the next event that is not ``NO_EVENT``);
- ``NOTE_OFF = -1`` — silence from this step;
- ``NO_EVENT = -2`` — nothing changes (the previous note or rest continues).

One-hot classes (90 = 88 pitches + 2 specials), exactly magenta's ordering: class ``0`` = no-event, ``1`` =
note-off, ``2 + (pitch − 21)`` for MIDI 21..108. A 2-bar window is ``32`` steps, so a model input is a class
tensor ``(B, 32)`` (or one-hot ``(B, 32, 90)``).

Notes → events follows magenta's ``Melody.from_quantized_sequence`` with ``ignore_polyphonic_notes=True``: of notes
starting on the same step the highest is kept, a later onset cuts the sounding note, a note's end writes a
note-off unless another note starts on that step. Windows: 32 steps, hop one bar (16 steps), deduplicated, leading
rests trimmed to the first bar with a note, windows that are only rests dropped.
"""

from __future__ import annotations

import numpy as np

from ..errors import HfmechError

NOTE_OFF = -1
NO_EVENT = -2
MIN_PITCH = 21
MAX_PITCH = 108
NUM_SPECIAL = 2
NUM_CLASSES = MAX_PITCH - MIN_PITCH + 1 + NUM_SPECIAL  # 90
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16
WINDOW_BARS = 2
WINDOW_STEPS = WINDOW_BARS * STEPS_PER_BAR  # 32


class MelodyError(HfmechError, ValueError):
    """A melody that cannot be encoded: no notes, shorter than two bars, events outside the 90 classes."""


def notes_to_events(notes: np.ndarray, *, num_steps: int | None = None) -> np.ndarray:
    """``(n, 3)`` int rows ``(start_step, end_step, midi)`` → events ``(num_steps,)`` (highest note on shared onsets).

    ``num_steps`` defaults to the last note's end rounded up to a whole bar.
    """
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    if num_steps is None:
        last = int(notes[:, 1].max()) if len(notes) else 0
        num_steps = -(-last // STEPS_PER_BAR) * STEPS_PER_BAR
    events = np.full(num_steps, NO_EVENT, dtype=np.int64)
    if len(notes) == 0:
        return events
    # highest pitch per onset; order by onset then pitch descending
    order = np.lexsort((-notes[:, 2], notes[:, 0]))
    notes = notes[order]
    keep = np.ones(len(notes), bool)
    keep[1:] = notes[1:, 0] != notes[:-1, 0]
    notes = notes[keep]
    for i, (start, end, pitch) in enumerate(notes):
        if start < 0 or start >= num_steps:
            continue
        events[start] = pitch
        nxt = notes[i + 1, 0] if i + 1 < len(notes) else None
        if end < num_steps and (nxt is None or end < nxt):
            events[end] = NOTE_OFF
    return events


def events_to_notes(events: np.ndarray) -> np.ndarray:
    """Events ``(T,)`` → ``(n, 3)`` rows ``(start_step, end_step, midi)``; a note lasts until the next non-hold event."""
    events = np.asarray(events, dtype=np.int64)
    rows = []
    current = None
    for t, e in enumerate(events):
        if e == NO_EVENT:
            continue
        if current is not None:
            rows.append((current[0], t, current[1]))
            current = None
        if e >= 0:
            current = (t, int(e))
    if current is not None:
        rows.append((current[0], len(events), current[1]))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def events_to_classes(events: np.ndarray) -> np.ndarray:
    """Events → class indices (magenta's ``_melody_to_one_hot`` index); pitches must lie in 21..108."""
    events = np.asarray(events, dtype=np.int64)
    pitches = events[events >= 0]
    if len(pitches) and (pitches.min() < MIN_PITCH or pitches.max() > MAX_PITCH):
        raise MelodyError(
            f"pitches must lie in MIDI {MIN_PITCH}..{MAX_PITCH}, got {pitches.min()}..{pitches.max()}"
        )
    if np.any(events < NO_EVENT):
        raise MelodyError("events below -2 are not melody events")
    return np.where(events >= 0, events - MIN_PITCH + NUM_SPECIAL, events + NUM_SPECIAL)


def classes_to_events(classes: np.ndarray) -> np.ndarray:
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= NUM_CLASSES):
        raise MelodyError(f"classes must lie in 0..{NUM_CLASSES - 1}")
    return np.where(classes >= NUM_SPECIAL, classes - NUM_SPECIAL + MIN_PITCH, classes - NUM_SPECIAL)


def one_hot(classes: np.ndarray) -> np.ndarray:
    """Class indices ``(..., T)`` → float32 one-hot ``(..., T, 90)``."""
    classes = np.asarray(classes, dtype=np.int64)
    return np.eye(NUM_CLASSES, dtype=np.float32)[classes]


def fold_into_range(events: np.ndarray) -> np.ndarray:
    """Pitches outside 21..108 moved by whole octaves into range (magenta drops such melodies; hfmech keeps them)."""
    events = np.asarray(events, dtype=np.int64).copy()
    low = (events >= 0) & (events < MIN_PITCH)
    events[low] += 12 * ((MIN_PITCH - events[low] + 11) // 12)
    high = events > MAX_PITCH
    events[high] -= 12 * ((events[high] - MAX_PITCH + 11) // 12)
    return events


def extract_windows(events: np.ndarray, *, hop: int = STEPS_PER_BAR, steps: int = WINDOW_STEPS) -> np.ndarray:
    """All ``steps``-long windows at ``hop`` steps, from the first bar with a note-on; rest-only windows dropped.

    A window that starts inside a held note begins with ``NO_EVENT``s (as magenta's slices do): the model sees them
    as a held (unknown) note, the decoder output treats them as a rest. Returns ``(W, steps)`` events.
    """
    events = np.asarray(events, dtype=np.int64)
    onsets = np.flatnonzero(events >= 0)
    if len(onsets) == 0:
        return np.zeros((0, steps), np.int64)
    start = (onsets[0] // STEPS_PER_BAR) * STEPS_PER_BAR
    out = []
    for s in range(start, len(events) - steps + 1, hop):
        w = events[s : s + steps]
        if np.any(w >= 0):
            out.append(w)
    return np.stack(out) if out else np.zeros((0, steps), np.int64)


def dedupe(windows: np.ndarray) -> np.ndarray:
    """Unique rows, in first-seen order (magenta deduplicates its slices the same way)."""
    if len(windows) == 0:
        return windows
    _, idx = np.unique(windows, axis=0, return_index=True)
    return windows[np.sort(idx)]


def transpose(classes: np.ndarray, semitones: np.ndarray) -> np.ndarray:
    """Shift the pitch classes of ``(B, T)`` windows by ``semitones`` ``(B,)``; rows that would leave 21..108 are
    returned unchanged (magenta's augmenter skips such transpositions)."""
    classes = np.asarray(classes, dtype=np.int64)
    k = np.asarray(semitones, dtype=np.int64).reshape(-1, 1)
    is_pitch = classes >= NUM_SPECIAL
    shifted = np.where(is_pitch, classes + k, classes)
    ok = np.all(~is_pitch | ((shifted >= NUM_SPECIAL) & (shifted < NUM_CLASSES)), axis=1, keepdims=True)
    return np.where(ok, shifted, classes)


def melody_windows_roundtrip(events: np.ndarray) -> np.ndarray:
    """Concatenate non-overlapping 2-bar windows of ``events`` back into one melody (used by tests and the pipeline)."""
    events = np.asarray(events, dtype=np.int64)
    n = len(events) // WINDOW_STEPS
    if n == 0:
        raise MelodyError(f"a melody needs at least {WINDOW_STEPS} steps (2 bars of 4/4), got {len(events)}")
    wins = events[: n * WINDOW_STEPS].reshape(n, WINDOW_STEPS)
    return wins.reshape(-1)
