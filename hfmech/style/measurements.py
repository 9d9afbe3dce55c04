"""Measured numbers that go into the style model cards (written by docs/figures/make_style_figures.py).

``random_vs_pretrained.json`` beside this module holds the table of §"Does the network need training?" in
docs/style.md: the style loss of outputs made with each backbone, measured in the pretrained vgg16-hed-trunk's Gram
space. The zoo's card templates render it; nothing here is invented — when the file is absent the cards say so.
"""

from __future__ import annotations

import json
from pathlib import Path

MEASUREMENTS = Path(__file__).with_name("random_vs_pretrained.json")


def load() -> dict | None:
    if not MEASUREMENTS.is_file():
        return None
    return json.loads(MEASUREMENTS.read_text(encoding="utf-8"))


def claim_table_markdown(data: dict | None = None) -> str:
    """Markdown table: backbone used for the transfer -> style / content loss measured with the pretrained VGG."""
    data = data if data is not None else load()
    if not data:
        return "_Not measured in this build (run `python docs/figures/make_style_figures.py`)._"
    styles = data["styles"]
    head = (
        "| transfer backbone | "
        + " | ".join(f"style loss: {s}" for s in styles)
        + " | mean | content loss (mean) |"
    )
    rule = "|" + "---|" * (len(styles) + 3)
    rows = [head, rule]
    for row in data["rows"]:
        cells = " | ".join(f"{row['style_loss'][s]:.3f}" for s in styles)
        rows.append(
            f"| {row['backbone']} | {cells} | {row['style_loss_mean']:.3f} | {row['content_loss_mean']:.3f} |"
        )
    return "\n".join(rows)


def card_values() -> dict:
    data = load()
    setup = data["setup"] if data else "not measured"
    return {"claim_table": claim_table_markdown(data), "claim_setup": setup}
