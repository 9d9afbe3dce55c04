"""Zoo entry ``mlstm-imdb``: the byte mLSTM trained by hfmech's own recipe (:mod:`hfmech.sentiment.train`) on IMDB.

The weights ship inside the package (``hfmech/sentiment/weights/mlstm-imdb``: ``config.json`` + ``model.safetensors``
in float16, with the training record in ``config.training``). When the probe has been run
(``python -m hfmech.sentiment.evaluate mlstm ... --unit-json .../unit.json``), ``unit.json`` beside them names the
sentiment unit, its polarity and threshold; the builder writes them into the config, so the Hub repo defines its
demo. The built folder holds float32 weights (the CPU recurrence runs in float32).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..hub import zoo

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "mlstm-imdb"
UNIT_FILE = "unit.json"


def load_shipped_model(folder: Path = WEIGHTS_DIR):
    """The shipped model (float32) with the discovered unit (``unit.json``) applied to its config."""
    import torch

    from .modeling_mlstm import MLSTMForByteLM

    if not (folder / "config.json").is_file():
        raise zoo.ZooError(f"{folder} holds no trained weights (config.json missing): train them first")
    model = MLSTMForByteLM.from_pretrained(folder, dtype=torch.float32)
    unit_file = folder / UNIT_FILE
    info = json.loads(unit_file.read_text(encoding="utf-8")) if unit_file.is_file() else {}
    if info.get("sentiment_unit") is not None:
        model.config.sentiment_unit = int(info["sentiment_unit"])
        model.config.polarity = int(info.get("polarity", 1))
        model.config.threshold = float(info.get("threshold", 0.0))
        model.config.state = info.get("state", model.config.state)
        if info.get("clamp_scale_p99"):
            model.config.clamp_value = round(float(info["clamp_scale_p99"]), 3)
        if info.get("unit_scale"):
            model.config.unit_scale = float(info["unit_scale"])
        if info.get("imdb_single_unit_test_accuracy") is not None:
            model.config.sentiment_neuron = {
                "unit_accuracy": round(float(info["imdb_single_unit_test_accuracy"]) / 100.0, 4),
                "measured_on": info.get("measured_on", "IMDB test"),
            }
    return model, info


def _pct(value) -> str:
    return "not measured" if value is None else f"{float(value):.1f} %"


def _fmt(value, spec: str = "") -> str:
    if value is None:
        return "not measured"
    return format(value, spec) if spec else str(value)


@zoo.register(
    "mlstm-imdb",
    card="mlstm-imdb.md",
    task="sentiment-neuron",
    description="byte-level mLSTM language model trained by hfmech on IMDB train+unsup (sentiment neuron)",
    source=lambda: zoo.files_fingerprint(WEIGHTS_DIR),
)
def build_mlstm_imdb(out_dir: Path) -> dict:
    model, unit_info = load_shipped_model()
    model.save_pretrained(out_dir)
    cfg = model.config
    tr = cfg.training or {}
    digest = zoo.sha256_file(WEIGHTS_DIR / "model.safetensors")
    return {
        "hidden_size": cfg.hidden_size,
        "embed_size": cfg.embed_size,
        "parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "bytes_seen": _fmt(tr.get("bytes_seen"), ",") if tr.get("bytes_seen") is not None else "not recorded",
        "steps": _fmt(tr.get("steps")),
        "batch_size": _fmt(tr.get("batch_size")),
        "seq_len": _fmt(tr.get("seq_len")),
        "optimizer": _fmt(tr.get("optimizer")),
        "minutes": _fmt(tr.get("minutes")),
        "reviews_train": _fmt(tr.get("reviews_train"), ",") if tr.get("reviews_train") else "not recorded",
        "reviews_heldout": _fmt(tr.get("reviews_heldout"), ",")
        if tr.get("reviews_heldout")
        else "not recorded",
        "heldout_bytes": _fmt(tr.get("heldout_bytes"), ",") if tr.get("heldout_bytes") else "not recorded",
        "heldout_bpb": _fmt(tr.get("heldout_bits_per_byte")),
        "stopped_early": _fmt(tr.get("stopped_early")),
        "passes": _fmt(tr.get("passes_over_data")),
        "seed": _fmt(tr.get("seed")),
        "sentiment_unit": _fmt(cfg.sentiment_unit),
        "polarity": f"{cfg.polarity:+d}",
        "threshold": f"{cfg.threshold:.4f}",
        "clamp_value": f"{cfg.clamp_value:g}",
        "unit_test_accuracy": _pct(unit_info.get("imdb_single_unit_test_accuracy")),
        "all_units_test_accuracy": _pct(unit_info.get("imdb_all_units_test_accuracy")),
        "unit_discovered_on": _fmt(unit_info.get("discovered_on")),
        "weights_sha256": digest,
    }
