"""Text → bytes exactly as OpenAI's ``encoder.py`` (openai/generating-reviews-discovering-sentiment) prepares it.

Radford, Jozefowicz & Sutskever (2017), "Learning to Generate Reviews and Discovering Sentiment"::

    def preprocess(text, front_pad='\\n ', end_pad=' '):
        text = html.unescape(text)
        text = text.replace('\\n', ' ').strip()
        text = front_pad + text + end_pad
        text = text.encode()
        return text

The model reads UTF-8 bytes (vocabulary of 256). Bad input raises :class:`SentimentInputError` (a ``ValueError``):
anything that is not ``str``/``bytes``, bytes that are not valid UTF-8, strings with lone surrogates. Empty and
whitespace-only text is *valid* here (it becomes the 3 padding bytes, as in encoder.py); the pipeline, which must
return a meaningful label, rejects it (:func:`require_text`).
"""

from __future__ import annotations

import html

from ..errors import HfmechError

FRONT_PAD = "\n "
END_PAD = " "

__all__ = [
    "END_PAD",
    "FRONT_PAD",
    "SentimentInputError",
    "clean_text",
    "preprocess",
    "require_text",
    "to_text",
]


class SentimentInputError(HfmechError, ValueError):
    """Text the sentiment model cannot read: not a string, invalid UTF-8, lone surrogates, or empty where a
    label is requested."""


def to_text(text) -> str:
    """Accept ``str`` or UTF-8 ``bytes``; anything else (or undecodable bytes) raises :class:`SentimentInputError`."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SentimentInputError(
                f"text is not valid UTF-8: byte {raw[exc.start]:#04x} at position {exc.start} ({exc.reason})"
            ) from None
    if not isinstance(text, str):
        raise SentimentInputError(f"text must be a string, got {type(text).__name__}")
    return text


def clean_text(text) -> str:
    """``html.unescape``, newlines → spaces, ``strip`` (encoder.py's cleaning, without the padding)."""
    return html.unescape(to_text(text)).replace("\n", " ").strip()


def preprocess(text, front_pad: str = FRONT_PAD, end_pad: str = END_PAD) -> bytes:
    """encoder.py's ``preprocess``: the UTF-8 bytes of ``front_pad + clean_text(text) + end_pad``."""
    body = front_pad + clean_text(text) + end_pad
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SentimentInputError(
            f"text holds a lone surrogate {body[exc.start]!r} at character {exc.start - len(front_pad)}: "
            "not encodable as UTF-8"
        ) from None


def require_text(text) -> str:
    """The cleaned text, or :class:`SentimentInputError` when nothing but whitespace is left."""
    cleaned = clean_text(text)
    if not cleaned:
        raise SentimentInputError("text is empty (or whitespace only): nothing to read")
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SentimentInputError(
            f"text holds a lone surrogate at character {exc.start}: not UTF-8"
        ) from None
    return cleaned
