"""Model cards: Markdown templates in ``model_cards/NAME.md`` with YAML metadata, rendered into a repo's README.md.

A template may contain ``{{ key }}`` placeholders; :func:`render_card` fills them from a dict of values the zoo builder
measured (nothing else is ever written into a card's numbers). The rendered card is parsed by
:class:`huggingface_hub.ModelCard` so a malformed YAML header fails at build time, not on the Hub.
"""

from __future__ import annotations

import re
from pathlib import Path

from huggingface_hub import ModelCard

from ..errors import HfmechError

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class CardTemplateError(HfmechError, ValueError):
    """A model-card template is missing, or names a value the builder did not provide."""


def card_template_dir() -> Path:
    """Where the card templates live: inside the wheel (``hfmech/_model_cards``) or the repo checkout."""
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir / "_model_cards", package_dir.parent / "model_cards"):
        if candidate.is_dir():
            return candidate
    raise CardTemplateError(f"no model_cards directory found next to {package_dir}")


def render_card(template_name: str, values: dict | None = None) -> str:
    """Render ``model_cards/<template_name>`` with ``values``; returns the Markdown text (YAML header included)."""
    path = card_template_dir() / template_name
    if not path.is_file():
        raise CardTemplateError(f"model card template {template_name!r} not found in {path.parent}")
    text = path.read_text(encoding="utf-8")
    values = values or {}

    def substitute(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise CardTemplateError(f"{template_name}: placeholder {{{{ {key} }}}} has no value")
        return str(values[key])

    rendered = _PLACEHOLDER.sub(substitute, text)
    card = ModelCard(rendered)  # parses and validates the YAML metadata block
    if not card.data.to_dict():
        raise CardTemplateError(f"{template_name}: the card has no YAML metadata header")
    return rendered
