"""Stroke data for sketch-rnn (Ha & Eck 2017, §3.1; magenta ``models/sketch_rnn/utils.py``).

Formats:

- **stroke-3** ``(N, 3)``: ``(Δx, Δy, p)`` per point, ``p = 1`` when the pen is lifted *after* this point (the last
  point of a stroke). This is the format of the sketch-rnn datasets and of everything the pipeline returns.
- **stroke-5** ``(N + 1, 5)``: ``(Δx, Δy, p1, p2, p3)`` with one-hot pen states (down, up, end of drawing), a start
  token ``(0, 0, 1, 0, 0)`` first and, padded to a fixed length, ``(0, 0, 0, 0, 1)`` after the drawing — magenta's
  ``DataLoader.pad_batch``.
- **drawing** (Quick, Draw! ndjson): a list of strokes ``[[x0, x1, …], [y0, y1, …](, [t…])]`` in absolute
  coordinates; :func:`drawing_to_stroke3` simplifies with Ramer–Douglas–Peucker (ε = 2, as the sketch-rnn datasets)
  and converts.

Every function validates its input and raises :class:`StrokeError` (an :class:`~hfmech.errors.HfmechError`) for an
empty drawing, a wrong shape or non-finite values. :func:`load_stroke3_npz` reads the pickle-free
``<split>_strokes`` / ``<split>_offsets`` archives used in tests and recipes.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from ..errors import HfmechError, LimitError, NonFiniteError

#: Longest drawing accepted before simplification (points); longer input is refused.
MAX_INPUT_POINTS = 10_000
#: RDP tolerance of the sketch-rnn datasets (Quick, Draw! ``simplified`` drawings, 256-px canvas).
RDP_EPSILON = 2.0


class StrokeError(HfmechError, ValueError):
    """A drawing that cannot be used: empty, one point, wrong array shape, not a drawing, too long."""


class StrokeValueError(StrokeError, NonFiniteError):
    """NaN or infinity among a drawing's offsets."""


class StrokeLengthError(StrokeError, LimitError):
    """A drawing with more points than the limit (after simplification, where it applies)."""


# --------------------------------------------------------------------------------------------------- validation
def as_stroke3(strokes, *, name: str = "drawing", max_points: int = MAX_INPUT_POINTS) -> np.ndarray:
    """Validate ``strokes`` as a stroke-3 array ``(N, 3)`` float32 (pen column 0/1) and return a copy.

    A stroke-5 array (5 columns), absolute coordinates (2 columns) and anything non-numeric are refused with a message
    saying which format was given.
    """
    try:
        arr = np.asarray(strokes, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise StrokeError(f"{name} is not a numeric stroke-3 array (N, 3): {e}") from e
    if arr.ndim != 2 or arr.shape[-1] != 3:
        hint = ""
        if arr.ndim == 2 and arr.shape[-1] == 5:
            hint = " (this looks like stroke-5: use stroke5_to_stroke3 first)"
        elif arr.ndim == 2 and arr.shape[-1] == 2:
            hint = " (this looks like absolute (x, y) points: use drawing_to_stroke3)"
        raise StrokeError(f"{name} must be a stroke-3 array of shape (N, 3), got shape {arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise StrokeError(f"{name} is empty (no points)")
    if not np.isfinite(arr).all():
        raise StrokeValueError(f"{name} has NaN or infinite values")
    if arr.shape[0] > max_points:
        raise StrokeLengthError(f"{name} has {arr.shape[0]} points; the limit is {max_points}")
    pen = arr[:, 2]
    if not np.isin(pen, (0.0, 1.0)).all():
        raise StrokeError(f"{name}: the pen column (third) must be 0 or 1")
    if arr.shape[0] < 2 and not np.any(arr[:, :2]):
        raise StrokeError(f"{name} is a single point with no offset: nothing to draw")
    out = arr.astype(np.float32)
    out[-1, 2] = 1.0  # a drawing ends with the pen lifted
    return out


# --------------------------------------------------------------------------------------------------- conversions
def stroke3_to_stroke5(strokes: np.ndarray, max_len: int | None = None) -> np.ndarray:
    """Stroke-3 ``(N, 3)`` → stroke-5 ``(L + 1, 5)`` with the start token and end padding (``L = max_len or N``).

    Exactly magenta's ``pad_batch`` for one drawing: row 0 is ``(0, 0, 1, 0, 0)``, rows ``1..N`` the points with
    ``p1 = 1 − p``, ``p2 = p``, rows ``N+1..L`` are ``(0, 0, 0, 0, 1)``.
    """
    s = np.asarray(strokes, dtype=np.float32)
    n = len(s)
    length = n if max_len is None else max_len
    if n > length:
        raise StrokeLengthError(f"drawing has {n} points, more than max_len={length}")
    out = np.zeros((length + 1, 5), dtype=np.float32)
    out[0, 2] = 1.0
    out[1 : n + 1, 0:2] = s[:, 0:2]
    out[1 : n + 1, 3] = s[:, 2]
    out[1 : n + 1, 2] = 1.0 - s[:, 2]
    out[n + 1 :, 4] = 1.0
    return out


def stroke5_to_stroke3(strokes5: np.ndarray) -> np.ndarray:
    """Stroke-5 → stroke-3, cut at the first end-of-drawing state (magenta's ``to_normal_strokes``).

    A leading start token ``(0, 0, 1, 0, 0)`` is dropped. The pen column is ``p2`` (and 1 on the last point kept).
    """
    s = np.asarray(strokes5, dtype=np.float32)
    if s.ndim != 2 or s.shape[1] != 5:
        raise StrokeError(f"stroke-5 array must have shape (N, 5), got {s.shape}")
    if len(s) and s[0, 2] == 1 and not s[0, :2].any() and not s[0, 3:].any():
        s = s[1:]
    end = np.flatnonzero(s[:, 4] > 0)
    n = int(end[0]) if len(end) else len(s)
    out = np.zeros((n, 3), dtype=np.float32)
    out[:, 0:2] = s[:n, 0:2]
    out[:, 2] = s[:n, 3]
    if n:
        out[-1, 2] = 1.0
    return out


def stroke3_to_lines(strokes: np.ndarray, factor: float = 1.0) -> list[np.ndarray]:
    """Stroke-3 → list of polylines ``(K_i, 2)`` in absolute coordinates (magenta's ``strokes_to_lines``).

    The first point of the drawing is its first offset from the origin; a pen lift ends the current polyline.
    """
    s = np.asarray(strokes, dtype=np.float64)
    xy = np.cumsum(s[:, :2], axis=0) * factor
    lines, current = [], []
    for i in range(len(s)):
        current.append(xy[i])
        if s[i, 2] > 0:
            lines.append(np.asarray(current))
            current = []
    if current:
        lines.append(np.asarray(current))
    return lines


def lines_to_stroke3(lines, start=(0.0, 0.0)) -> np.ndarray:
    """Polylines in absolute coordinates → stroke-3 (magenta's ``lines_to_strokes``); inverse of
    :func:`stroke3_to_lines`."""
    rows = []
    prev = np.asarray(start, dtype=np.float64)
    for line in lines:
        line = np.asarray(line, dtype=np.float64).reshape(-1, 2)
        for j, p in enumerate(line):
            rows.append((p[0] - prev[0], p[1] - prev[1], 1.0 if j == len(line) - 1 else 0.0))
            prev = p
    return np.asarray(rows, dtype=np.float32).reshape(-1, 3)


def rdp(points: np.ndarray, epsilon: float = RDP_EPSILON) -> np.ndarray:
    """Ramer–Douglas–Peucker simplification of one polyline ``(K, 2)`` (iterative, keeps both ends)."""
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) < 3:
        return pts
    keep = np.zeros(len(pts), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        lo, hi = stack.pop()
        if hi <= lo + 1:
            continue
        a, b = pts[lo], pts[hi]
        seg = b - a
        norm = np.hypot(*seg)
        inner = pts[lo + 1 : hi]
        if norm == 0:
            d = np.hypot(*(inner - a).T)
        else:
            d = np.abs(seg[0] * (inner[:, 1] - a[1]) - seg[1] * (inner[:, 0] - a[0])) / norm
        k = int(np.argmax(d))
        if d[k] > epsilon:
            idx = lo + 1 + k
            keep[idx] = True
            stack.append((lo, idx))
            stack.append((idx, hi))
    return pts[keep]


def drawing_to_stroke3(
    drawing, *, epsilon: float = RDP_EPSILON, max_points: int = MAX_INPUT_POINTS, canvas: float | None = 255.0
) -> np.ndarray:
    """A Quick, Draw! drawing (list of ``[xs, ys(, ts)]`` strokes, absolute) → stroke-3.

    With ``canvas`` set (default 255, Quick, Draw!'s simplified size) the drawing is first shifted to its top-left
    corner and scaled so its longer side is ``canvas``, as the sketch-rnn datasets were made; then each stroke is
    RDP-simplified with ``epsilon``. ``epsilon=0`` keeps every point.
    """
    if not isinstance(drawing, list | tuple) or len(drawing) == 0:
        raise StrokeError("a drawing must be a non-empty list of strokes [[x0, x1, …], [y0, y1, …]]")
    lines, total = [], 0
    for i, stroke in enumerate(drawing):
        if not isinstance(stroke, list | tuple) or len(stroke) < 2:
            raise StrokeError(f"stroke {i} is not [[x…], [y…]]")
        try:
            xs = np.asarray(stroke[0], dtype=np.float64)
            ys = np.asarray(stroke[1], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise StrokeError(f"stroke {i} has non-numeric coordinates") from e
        if xs.ndim != 1 or xs.shape != ys.shape or len(xs) == 0:
            raise StrokeError(f"stroke {i}: x and y must be equal-length, non-empty lists")
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise StrokeValueError(f"stroke {i} has NaN or infinite coordinates")
        total += len(xs)
        if total > max_points:
            raise StrokeLengthError(f"drawing has more than {max_points} points")
        lines.append(np.stack([xs, ys], axis=1))
    if canvas is not None:
        allpts = np.concatenate(lines)
        lo = allpts.min(0)
        extent = float((allpts.max(0) - lo).max())
        scale = canvas / extent if extent > 0 else 1.0
        lines = [(line - lo) * scale for line in lines]
    if epsilon > 0:
        lines = [rdp(line, epsilon) for line in lines]
    s3 = lines_to_stroke3(lines)
    if len(s3) == 0 or (len(s3) < 2 and not np.any(s3[:, :2])):
        raise StrokeError("the drawing has a single point: nothing to draw")
    return s3


def read_ndjson(path, limit: int | None = None) -> list[dict]:
    """Quick, Draw! records (``{"word": …, "drawing": […]}``) from an ``.ndjson`` or ``.ndjson.gz`` file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise StrokeError(f"{path}:{lineno}: not JSON: {e}") from e
            if not isinstance(rec, dict) or "drawing" not in rec:
                raise StrokeError(f"{path}:{lineno}: not a drawing (no 'drawing' field)")
            out.append(rec)
            if limit is not None and len(out) >= limit:
                break
    return out


def load_drawing_file(path, **kwargs) -> np.ndarray:
    """One drawing from a file: ``.ndjson``/``.json`` (first record, or a bare stroke list; ``kwargs`` go to
    :func:`drawing_to_stroke3`) or ``.npy`` stroke-3."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such drawing file: {path}")
    if path.suffix == ".npy":
        return as_stroke3(np.load(path, allow_pickle=False), name=str(path))
    text = path.read_text(encoding="utf-8").strip()
    first = text.splitlines()[0] if text else ""
    try:
        rec = json.loads(first if path.suffix == ".ndjson" else text)
    except json.JSONDecodeError as e:
        raise StrokeError(f"{path}: not JSON: {e}") from e
    if isinstance(rec, dict):
        if "drawing" not in rec:
            raise StrokeError(f"{path}: not a drawing (no 'drawing' field)")
        rec = rec["drawing"]
    return drawing_to_stroke3(rec, **kwargs)


def load_stroke3_npz(path, split: str) -> list[np.ndarray]:
    """The drawings of ``split`` from a pickle-free archive (``<split>_strokes`` + ``<split>_offsets``)."""
    with np.load(path, allow_pickle=False) as d:
        strokes = d[f"{split}_strokes"]
        offsets = d[f"{split}_offsets"]
    return [strokes[offsets[i] : offsets[i + 1]].astype(np.float32) for i in range(len(offsets) - 1)]


# --------------------------------------------------------------------------------------------------- datasets
def preprocess(drawings, max_seq_len: int, limit: float = 1000.0) -> list[np.ndarray]:
    """magenta ``DataLoader.preprocess``: drop drawings longer than ``max_seq_len``, clamp offsets to ±limit."""
    out = []
    for d in drawings:
        if 0 < len(d) <= max_seq_len:
            d = np.minimum(np.maximum(np.asarray(d, dtype=np.float32), -limit), limit)
            out.append(d)
    return out


def normalizing_scale_factor(drawings) -> float:
    """magenta ``calculate_normalizing_scale_factor``: the std of all Δx and Δy values together."""
    data = np.concatenate([np.asarray(d)[:, 0:2].reshape(-1) for d in drawings]).astype(np.float64)
    return float(np.std(data))


def normalize(strokes: np.ndarray, scale: float) -> np.ndarray:
    out = np.array(strokes, dtype=np.float32, copy=True)
    out[:, 0:2] /= scale
    return out


def random_scale(strokes: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """magenta ``random_scale``: x and y each scaled by an independent ``U(1 − factor, 1 + factor)``."""
    out = np.array(strokes, dtype=np.float32, copy=True)
    out[:, 0] *= (rng.random() - 0.5) * 2 * factor + 1.0
    out[:, 1] *= (rng.random() - 0.5) * 2 * factor + 1.0
    return out


def augment_strokes(strokes: np.ndarray, prob: float, rng: np.random.Generator) -> np.ndarray:
    """magenta ``augment_strokes``: drop interior points of a stroke (merged into the previous point's offset)
    with probability ``prob``, only after 2 kept points of the same stroke and never at a pen lift."""
    result, prev, count = [], [0.0, 0.0, 1.0], 0
    stroke = [0.0, 0.0, 1.0]  # the "previous point" of the first point is a pen lift
    for i in range(len(strokes)):
        candidate = [float(strokes[i][0]), float(strokes[i][1]), float(strokes[i][2])]
        if candidate[2] == 1 or prev[2] == 1:
            count = 0
        else:
            count += 1
        urnd = rng.random()
        if candidate[2] == 0 and prev[2] == 0 and count > 2 and urnd < prob:
            stroke[0] += candidate[0]
            stroke[1] += candidate[1]
        else:
            stroke = list(candidate)
            prev = stroke
            result.append(stroke)
    return np.asarray(result, dtype=np.float32).reshape(-1, 3)


def make_batch(
    drawings: list[np.ndarray],
    max_seq_len: int,
    *,
    scale_factor: float = 0.0,
    stroke_drop: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised stroke-3 drawings → ``(batch (B, max_seq_len + 1, 5) float32, lengths (B,) int64)``.

    Applies magenta's training augmentation when ``scale_factor``/``stroke_drop`` are non-zero (``rng`` required).
    """
    rows, lengths = [], []
    for d in drawings:
        if scale_factor > 0:
            d = random_scale(d, scale_factor, rng)
        if stroke_drop > 0:
            d = augment_strokes(d, stroke_drop, rng)
        rows.append(stroke3_to_stroke5(d, max_seq_len))
        lengths.append(len(d))
    return np.stack(rows), np.asarray(lengths, dtype=np.int64)


__all__ = [
    "MAX_INPUT_POINTS",
    "RDP_EPSILON",
    "StrokeError",
    "StrokeLengthError",
    "StrokeValueError",
    "as_stroke3",
    "augment_strokes",
    "drawing_to_stroke3",
    "lines_to_stroke3",
    "load_drawing_file",
    "load_stroke3_npz",
    "make_batch",
    "normalize",
    "normalizing_scale_factor",
    "preprocess",
    "random_scale",
    "rdp",
    "read_ndjson",
    "stroke3_to_lines",
    "stroke3_to_stroke5",
    "stroke5_to_stroke3",
]
