"""Figures of the sentiment neuron: the unit's value by true label, and the unit read character by character.

* :func:`unit_histogram` — Radford et al. (2017) Fig. 4: the histogram of the sentiment unit's final value over a
  labelled test set, split by true label; a bimodal, well-separated pair of histograms is the visual claim that one
  unit carries sentiment.
* :func:`char_values` + :func:`heatmap_html` / :func:`heatmap_png` — Radford et al. Fig. 3 / the OpenAI blog's
  per-character heat map: the unit's value after each character of a review, red (negative) to green (positive).

PNG files are written with :func:`hfmech.vision.image_io.save_image_atomic`, HTML with a temp file + ``os.replace``.
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..hub.files import write_text_atomic


def _figure_to_png(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    from PIL import Image

    from ..vision.image_io import save_image_atomic

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    buf.seek(0)
    image = Image.open(buf).convert("RGB")
    image = image.quantize(colors=128).convert("RGB") if image.width * image.height > 600_000 else image
    return save_image_atomic(image, path, format="PNG", optimize=True)


def unit_histogram(
    values: np.ndarray,
    labels: np.ndarray,
    path: str | os.PathLike,
    title: str = "sentiment unit",
    bins: int = 50,
    label_names: Sequence[str] = ("negative", "positive"),
    xlabel: str = "unit value (final state)",
) -> Path:
    """Histogram of ``values (N,)`` split by ``labels (N,)`` in {0, 1} (paper Fig. 4); PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels)
    edges = np.histogram_bin_edges(values, bins=bins)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for cls, colour in ((0, "#d62728"), (1, "#2ca02c")):
        ax.hist(
            values[labels == cls],
            bins=edges,
            alpha=0.6,
            color=colour,
            label=f"{label_names[cls]} (n={int((labels == cls).sum())})",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("reviews")
    ax.set_title(title)
    ax.legend()
    try:
        return _figure_to_png(fig, path)
    finally:
        plt.close(fig)


def char_values(data: bytes, values: np.ndarray) -> list[tuple[str, float]]:
    """Pair each character of the UTF-8 ``data`` with the unit's value after its *last* byte.

    ``values (n_bytes,)`` is a per-byte trace (e.g. ``model.trace(text, unit)`` over ``preprocess(text)``).
    """
    values = np.asarray(values, dtype=np.float64)
    if len(values) != len(data):
        raise ValueError(f"{len(values)} trace values for {len(data)} bytes")
    out, start = [], 0
    text = data.decode("utf-8", errors="replace")
    for ch in text:
        n = len(ch.encode("utf-8")) if ch != "\ufffd" else 1
        end = min(start + n, len(data))
        out.append((ch, float(values[end - 1])))
        start = end
    return out


def _colour(v: float, vmax: float) -> tuple[int, int, int]:
    """Red (v = -vmax) → white (0) → green (+vmax)."""
    x = float(np.clip(v / vmax, -1.0, 1.0)) if vmax > 0 else 0.0
    if x >= 0:
        return int(255 - 211 * x), int(255 - 95 * x), int(255 - 211 * x)  # toward (44, 160, 44)
    x = -x
    return int(255 - 41 * x), int(255 - 216 * x), int(255 - 215 * x)  # toward (214, 39, 40)


def heatmap_html(
    pairs: Sequence[tuple[str, float]], polarity: int = 1, center: float = 0.0, vmax: float | None = None
) -> str:
    """An HTML fragment: each character on a background coloured by ``polarity * (value - center)``."""
    signed = [polarity * (v - center) for _, v in pairs]
    vmax = vmax if vmax is not None else (max((abs(s) for s in signed), default=1.0) or 1.0)
    spans = []
    for (ch, _), s in zip(pairs, signed):
        r, g, b = _colour(s, vmax)
        text = html.escape(ch) if ch not in "\n" else " "
        spans.append(f'<span style="background:rgb({r},{g},{b})" title="{s:+.3f}">{text}</span>')
    return (
        '<div class="sentiment-heatmap" style="font-family:monospace;white-space:pre-wrap;line-height:1.6">'
        + "".join(spans)
        + "</div>"
    )


def save_heatmap_html(pairs, path: str | os.PathLike, title: str = "sentiment unit", **kw) -> Path:
    body = heatmap_html(pairs, **kw)
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h3>{html.escape(title)}</h3>{body}</body></html>"
    )
    return write_text_atomic(path, doc)


def heatmap_png(
    pairs: Sequence[tuple[str, float]],
    path: str | os.PathLike,
    polarity: int = 1,
    center: float = 0.0,
    vmax: float | None = None,
    width: int = 80,
    title: str | None = None,
) -> Path:
    """The same heat map as a PNG: ``width`` characters per row, one coloured cell per character."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    signed = [polarity * (v - center) for _, v in pairs]
    vmax = vmax if vmax is not None else (max((abs(s) for s in signed), default=1.0) or 1.0)
    rows = max(1, int(np.ceil(len(pairs) / width)))
    fig, ax = plt.subplots(figsize=(width * 0.11, rows * 0.22 + (0.4 if title else 0.1)))
    ax.set_xlim(0, width)
    ax.set_ylim(rows, 0)
    ax.axis("off")
    for i, ((ch, _), s) in enumerate(zip(pairs, signed)):
        r, c = divmod(i, width)
        colour = tuple(x / 255 for x in _colour(s, vmax))
        ax.add_patch(plt.Rectangle((c, r), 1, 1, color=colour, linewidth=0))
        if ch.strip():
            ax.text(c + 0.5, r + 0.55, ch, ha="center", va="center", fontsize=7, family="monospace")
    if title:
        ax.set_title(title, fontsize=9)
    try:
        return _figure_to_png(fig, path, dpi=110)
    finally:
        plt.close(fig)


def data_efficiency_plot(curves: dict[str, list[dict]], path: str | os.PathLike, title: str = "") -> Path:
    """Test accuracy vs labelled examples (log x), one line per curve (paper Fig. 2). ``curves`` maps a name to the
    output of :func:`hfmech.sentiment.probe.data_efficiency_curve`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, curve in curves.items():
        n = [p["n"] for p in curve]
        m = np.array([p["accuracy_mean"] for p in curve]) * 100
        s = np.array([p["accuracy_std"] for p in curve]) * 100
        ax.errorbar(n, m, yerr=s, marker="o", capsize=2, label=f"{name}: all units")
        if "unit_accuracy_mean" in curve[0]:
            mu = np.array([p["unit_accuracy_mean"] for p in curve]) * 100
            su = np.array([p["unit_accuracy_std"] for p in curve]) * 100
            ax.errorbar(n, mu, yerr=su, marker="s", capsize=2, linestyle="--", label=f"{name}: single unit")
    ax.set_xscale("log")
    ax.set_xlabel("labelled training examples")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    try:
        return _figure_to_png(fig, path)
    finally:
        plt.close(fig)


def trace_comparison_png(
    tokens: Sequence[str],
    traces: dict[str, np.ndarray],
    path: str | os.PathLike,
    title: str = "",
    ylabel: str = "reading (+ positive), in train standard deviations",
) -> Path:
    """Per-token readings of several methods over one text (issue 19 §2's figure): ``traces`` maps a method name
    to ``(T,)`` values (already centred on its threshold and signed so that + is positive), ``tokens`` the ``T``
    token strings (x-axis labels). PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(tokens)
    if not traces or any(len(np.asarray(v)) != n for v in traces.values()):
        raise ValueError("every trace needs one value per token")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.22 * n), 3.4))
    colours = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")
    for (name, values), colour in zip(traces.items(), colours):
        ax.plot(
            np.arange(n),
            np.asarray(values, dtype=np.float64),
            marker="o",
            ms=3,
            lw=1.4,
            label=name,
            color=colour,
        )
    ax.axhline(0.0, color="#444", lw=0.8, ls="--")
    ax.set_xticks(np.arange(n))
    ax.set_xticklabels([t.replace("\n", "⏎") for t in tokens], rotation=90, fontsize=7)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylabel(ylabel, fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    try:
        return _figure_to_png(fig, path)
    finally:
        plt.close(fig)
