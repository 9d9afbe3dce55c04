"""Zoo entry ``sketch-rnn-omniglot``: sketch-rnn (``cpu-small`` preset) trained by ``hfmech.sketch.train`` on
Omniglot strokes (MIT licence).

The weights ship inside the package (``hfmech/sketch/weights/sketch-rnn-omniglot``: ``config.json``,
``model.safetensors`` in fp16, ``training.json`` with the settings, steps, wall time and the held-out losses
measured by ``python -m hfmech.sketch.train export``, and ``latent.json`` with the attribute vectors and latent-space
measurements of ``benchmarks/sketch_latent.py``). The builder loads them in float32, stores the pipeline's
defaults in ``config.sketch_vae`` and writes a Hub-ready folder; no download is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..hub import zoo

NAME = "sketch-rnn-omniglot"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / NAME

#: Pipeline defaults stored in the built config (``config.sketch_vae``): see SketchSettings.
DEFAULTS = {"temperature": 0.1, "greedy": False, "seed": 0, "rdp_epsilon": 2.0}


def _f(x, digits: int = 3) -> str:
    return f"{float(x):.{digits}f}"


@zoo.register(
    NAME,
    card=f"{NAME}.md",
    task="sketch-vae",
    description="sketch-rnn VAE (cpu-small preset) trained by hfmech on Omniglot strokes (MIT)",
    source=lambda: zoo.files_fingerprint(WEIGHTS_DIR),
)
def build_sketch_rnn_omniglot(out_dir: Path) -> dict:
    import torch

    from .modeling_sketch_rnn import SketchRNNModel  # lazy: keeps `import hfmech` light

    info = json.loads((WEIGHTS_DIR / "training.json").read_text(encoding="utf-8"))
    model = SketchRNNModel.from_pretrained(WEIGHTS_DIR, dtype=torch.float32)
    cfg = model.config
    cfg.sketch_vae = {**DEFAULTS, **(cfg.sketch_vae or {}), "canvas": float(info["canvas"])}
    latent_path = WEIGHTS_DIR / "latent.json"
    latent = json.loads(latent_path.read_text(encoding="utf-8")) if latent_path.is_file() else {}
    if latent.get("attributes"):
        cfg.sketch_vae["attributes"] = latent["attributes"]
    model.save_pretrained(out_dir)
    test, valid = info["test"], info["valid"]
    return {
        "preset": cfg.preset,
        "enc_rnn_size": cfg.enc_rnn_size,
        "dec_rnn_size": cfg.dec_rnn_size,
        "dec_model": cfg.dec_model,
        "z_size": cfg.z_size,
        "num_mixture": cfg.num_mixture,
        "max_seq_len": cfg.max_seq_len,
        "batch_size": cfg.batch_size,
        "scale_factor": _f(cfg.scale_factor, 4),
        "canvas": _f(info["canvas"], 1),
        "parameters": f"{sum(p.numel() for p in model.parameters()):,}",
        "steps": f"{info['steps']:,}",
        "training_minutes": f"{info['seconds_training'] / 60:.1f}",
        "training_hours": f"{info['seconds_training'] / 3600:.1f}",
        "train_drawings": f"{info['train_drawings']:,}",
        "test_drawings": f"{info['test_drawings']:,}",
        "test_r_loss": _f(test["r_loss"]),
        "test_offset_loss": _f(test["offset_loss"]),
        "test_pen_loss": _f(test["pen_loss"]),
        "test_kl_raw": _f(test["kl_raw"]),
        "test_kl_loss": _f(test["kl_loss"]),
        "valid_r_loss": _f(valid["r_loss"]),
        "valid_kl_raw": _f(valid["kl_raw"]),
        "latent_summary": latent.get("summary", "not measured for this build."),
        "weights_sha256": zoo.sha256_file(WEIGHTS_DIR / "model.safetensors"),
    }
