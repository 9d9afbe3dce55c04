"""Training and held-out windows from the parsed corpus (:mod:`hfmech.melody.corpus`), and the paper's attributes.

Split by **tune** (a tune is held out when a hash of its file, index and the seed falls in the first
``heldout_fraction``; stable as the cache grows), so no window of a held-out tune was seen in training;
held-out windows that also occur verbatim in the training split are removed. Each split is deduplicated. Windows are
class arrays ``(W, 32)`` (:mod:`hfmech.melody.data`). Cached as ``windows.npz`` (no pickle).

Attributes (MusicVAE §5.3, computed on a 32-step event window; the paper gives names, not code, so the definitions
are hfmech's and stated here):

- ``note_density`` — note onsets per step;
- ``average_interval`` — mean absolute interval in semitones between consecutive onsets (0 with < 2 onsets);
- ``syncopation_16th`` — fraction of onsets on an odd 16th step (off the 8th-note grid);
- ``syncopation_8th`` — fraction of onsets on an 8th-note off-beat (step ≡ 2 mod 4);
- ``c_diatonic`` — fraction of onsets whose pitch class is in the C major scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data import (
    NUM_SPECIAL,
    classes_to_events,
    dedupe,
    events_to_classes,
    extract_windows,
    notes_to_events,
)
from .modeling_music_vae import ATTRIBUTES

C_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)


def load_corpus(corpus_dir: Path) -> tuple[list[np.ndarray], list[dict], dict]:
    arrays = np.load(Path(corpus_dir) / "notes.npz")
    meta = json.loads((Path(corpus_dir) / "tunes.json").read_text())
    offs = arrays["offsets"]
    notes = [arrays["notes"][offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
    return notes, meta["tunes"], meta


def tune_windows(notes: np.ndarray) -> np.ndarray:
    """Class windows ``(W, 32)`` of one tune (pitches outside 21..108 make the window dropped, as magenta does)."""
    wins = extract_windows(notes_to_events(notes))
    ok = [w for w in wins if np.all((w < 0) | ((w >= 21) & (w <= 108)))]
    if not ok:
        return np.zeros((0, wins.shape[1] if wins.ndim == 2 else 32), np.int64)
    return events_to_classes(np.stack(ok))


def is_heldout(tune: dict, fraction: float, seed: int = 0) -> bool:
    """A tune's split from a hash of its file and index (stable when more tunes are added to the cache)."""
    import hashlib

    digest = hashlib.sha256(f"{seed}:{tune['file']}:{tune['index']}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def build_windows(corpus_dir: Path, out: Path, heldout_fraction: float = 0.05, seed: int = 0) -> dict:
    notes, tunes, meta = load_corpus(corpus_dir)
    held_ids = {i for i, t in enumerate(tunes) if is_heldout(t, heldout_fraction, seed)}
    n_held = len(held_ids)
    train, held = [], []
    for i, n in enumerate(notes):
        w = tune_windows(n)
        (held if i in held_ids else train).append(w)
    raw_train = int(sum(len(w) for w in train))
    raw_held = int(sum(len(w) for w in held))
    train_w = dedupe(np.concatenate(train)) if train else np.zeros((0, 32), np.int64)
    held_w = dedupe(np.concatenate(held)) if held else np.zeros((0, 32), np.int64)
    seen = {w.tobytes() for w in train_w}
    held_w = np.stack([w for w in held_w if w.tobytes() not in seen]) if len(held_w) else held_w
    info = {
        "tunes": len(tunes),
        "train_tunes": len(tunes) - n_held,
        "heldout_tunes": n_held,
        "train_windows_raw": raw_train,
        "train_windows": int(len(train_w)),
        "heldout_windows_raw": raw_held,
        "heldout_windows": int(len(held_w)),
        "heldout_fraction": heldout_fraction,
        "seed": seed,
        "sources": sorted({t["source"] for t in tunes}),
        "meters": sorted({t["meter"] for t in tunes}),
        "corpus_stats": meta.get("stats", {}),
        "corpus_complete": meta.get("complete", False),
        "heldout_tune_ids": sorted(held_ids),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, train=train_w.astype(np.int8), heldout=held_w.astype(np.int8))
    out.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info


def load_windows(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    arrays = np.load(path)
    info = json.loads(Path(path).with_suffix(".json").read_text())
    return arrays["train"].astype(np.int64), arrays["heldout"].astype(np.int64), info


def attributes(classes: np.ndarray) -> np.ndarray:
    """The five attributes of class windows ``(B, T)`` → ``(B, 5)`` float64, in :data:`ATTRIBUTES` order."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.ndim == 1:
        classes = classes[None]
    b, t = classes.shape
    out = np.zeros((b, len(ATTRIBUTES)))
    events = classes_to_events(classes)
    for i in range(b):
        steps = np.flatnonzero(classes[i] >= NUM_SPECIAL)
        pitches = events[i, steps]
        n = len(steps)
        out[i, 0] = n / t
        out[i, 1] = float(np.abs(np.diff(pitches)).mean()) if n >= 2 else 0.0
        if n:
            out[i, 2] = float(np.mean(steps % 2 == 1))
            out[i, 3] = float(np.mean(steps % 4 == 2))
            out[i, 4] = float(np.mean(C_MAJOR[pitches % 12]))
    return out
