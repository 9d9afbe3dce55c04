"""Parse the public-domain ABC collections of the ``music21`` corpus once into a pickle-free note cache.

Sources (all printed before 1900, public domain): O'Neill's *Music of Ireland* (1850), *Ryan's Mammoth Collection*
(1883) and *Aird's Selection of Scotch, English, Irish and Foreign Airs* (1782–1803), as ABC files in the
``music21`` wheel. The Essen folksong collection is **not** used: its licence file allows "non-commercial
distribution and use of these files in music21", which does not cover a model shipped in another package.

Only tunes whose meter is 16 sixteenth-steps per bar are kept (``M:4/4``, ``M:C``, ``M:C|``, ``M:2/2``), as magenta's
``OneHotMelodyConverter`` keeps only quantised sequences with ``steps_per_bar == 16``. The header is read from
the ABC text before music21 parses anything, so rejected meters cost nothing.

Cache (``notes.npz`` + ``tunes.json``, no pickle): ``notes`` int32 ``(N, 3)`` rows ``(start_step, end_step, midi)``
at 4 steps per quarter, bar 1 starting at step 0 (a pickup is shifted so its bar ends at step 16); ``offsets``
int64 ``(T + 1,)`` so tune ``i`` is ``notes[offsets[i]:offsets[i + 1]]``; ``tunes.json`` holds the source file,
title, meter and key of each tune and the parse statistics.

Run: ``python -m hfmech.melody.corpus --out .cache/melody/corpus --deadline-minutes 25`` (resumable: tunes already
in the cache are skipped).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

SOURCES = ("oneills1850", "ryansMammoth", "airdsAirs")
FOUR_FOUR = {"4/4", "C", "C|", "2/2"}
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).resolve().parent / "corpus"


def split_abc(text: str) -> list[str]:
    """The tunes of one ABC file: each chunk starts at an ``X:`` line; the file header (before the first) is dropped."""
    chunks, current = [], None
    for line in text.splitlines():
        if re.match(r"^X:", line):
            if current:
                chunks.append("\n".join(current))
            current = [line]
        elif current is not None:
            current.append(line)
    if current:
        chunks.append("\n".join(current))
    return chunks


def header(tune: str, field: str) -> str | None:
    m = re.search(rf"^{field}:\s*(.*)$", tune, flags=re.M)
    return m.group(1).strip() if m else None


def tune_to_notes(tune_text: str) -> np.ndarray:
    """``(n, 3)`` int32 ``(start_step, end_step, midi)`` of one ABC tune (first part, ties merged, grace notes dropped)."""
    import music21

    score = music21.converter.parse(tune_text, format="abc", forceSource=True)
    part = score.parts[0] if getattr(score, "parts", None) else score
    part = part.stripTies()
    measures = list(part.getElementsByClass("Measure"))
    shift = 0.0
    if measures:
        first = measures[0]
        bar_ql = 4.0
        dur = first.duration.quarterLength
        if 0 < dur < bar_ql:  # a pickup: its notes end where bar 1 starts
            shift = bar_ql - dur
    rows = []
    for n in part.flatten().notes:
        ql = float(n.duration.quarterLength)
        if ql <= 0 or n.duration.isGrace:
            continue
        start = round((float(n.getOffsetInHierarchy(part)) + shift) * STEPS_PER_QUARTER)
        end = round((float(n.getOffsetInHierarchy(part)) + shift + ql) * STEPS_PER_QUARTER)
        if end <= start:
            continue
        pitches = [p.midi for p in n.pitches]
        rows.append((start, end, max(pitches)))
    return np.asarray(rows, dtype=np.int32).reshape(-1, 3)


def parse(out: Path, deadline_minutes: float, sources=SOURCES, log=print) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "tunes.json"
    notes_path = out / "notes.npz"
    tunes, notes = [], []
    done = set()
    if meta_path.exists() and notes_path.exists():
        meta = json.loads(meta_path.read_text())
        arrays = np.load(notes_path)
        offs = arrays["offsets"]
        for i, t in enumerate(meta["tunes"]):
            tunes.append(t)
            notes.append(arrays["notes"][offs[i] : offs[i + 1]])
        done = {(t["file"], t["index"]) for t in tunes} | {tuple(x) for x in meta.get("failed", [])}
        failed = [tuple(x) for x in meta.get("failed", [])]
        log(f"resuming: {len(tunes)} tunes cached")
    else:
        failed = []
    stats = {"files": 0, "tunes_seen": 0, "meter_rejected": 0, "meters": {}}
    start = time.time()
    root = corpus_root()
    stopped = False

    def save(final=False):
        offsets = np.zeros(len(notes) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(n) for n in notes])
        flat = np.concatenate(notes) if notes else np.zeros((0, 3), np.int32)
        tmp = out / "notes.tmp.npz"
        np.savez_compressed(tmp, notes=flat.astype(np.int32), offsets=offsets)
        tmp.replace(notes_path)
        meta = {
            "tunes": tunes,
            "failed": [list(f) for f in failed],
            "stats": stats,
            "complete": final and not stopped,
        }
        tmpj = out / "tunes.tmp.json"
        tmpj.write_text(json.dumps(meta, indent=0))
        tmpj.replace(meta_path)

    last_save = time.time()
    for source in sources:
        for path in sorted((root / source).glob("*.abc")):
            stats["files"] += 1
            text = path.read_text(encoding="latin-1")
            # ABC file headers (before the first X:) can set L: and M: defaults
            for index, tune in enumerate(split_abc(text)):
                stats["tunes_seen"] += 1
                meter = (header(tune, "M") or "").replace(" ", "")
                stats["meters"][meter] = stats["meters"].get(meter, 0) + 1
                if meter not in FOUR_FOUR:
                    stats["meter_rejected"] += 1
                    continue
                key = (f"{source}/{path.name}", index)
                if key in done:
                    continue
                if time.time() - start > deadline_minutes * 60:
                    stopped = True
                    break
                try:
                    arr = tune_to_notes(tune)
                except Exception as exc:  # music21 raises many types on malformed ABC
                    failed.append(key)
                    log(f"failed {key}: {type(exc).__name__}: {str(exc)[:80]}")
                    continue
                if len(arr) == 0:
                    failed.append(key)
                    continue
                tunes.append(
                    {
                        "file": key[0],
                        "index": index,
                        "title": header(tune, "T") or "",
                        "meter": meter,
                        "key": header(tune, "K") or "",
                        "source": source,
                    }
                )
                notes.append(arr)
                if time.time() - last_save > 60:
                    save()
                    last_save = time.time()
                    log(f"{len(tunes)} tunes, {time.time() - start:.0f} s")
            if stopped:
                break
        if stopped:
            break
    stats["seconds"] = round(time.time() - start, 1)
    save(final=True)
    log(f"done: {len(tunes)} tunes ({len(failed)} failed), stopped early: {stopped}, {stats['seconds']} s")
    return {"tunes": len(tunes), "failed": len(failed), "stopped": stopped}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(".cache/melody/corpus"))
    ap.add_argument("--deadline-minutes", type=float, default=30.0)
    args = ap.parse_args(argv)
    parse(args.out, args.deadline_minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
