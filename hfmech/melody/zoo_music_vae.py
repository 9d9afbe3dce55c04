"""Zoo entry ``musicvae-mel2bar-folk``: the 2-bar melody VAE trained by ``hfmech.melody.train`` on public-domain folk
tunes (O'Neill 1850 and 963 of Ryan's 1,059 files of 1883, from the ``music21`` wheel; see its card).

The weights ship inside the package (``hfmech/melody/weights/musicvae-mel2bar-folk``: fp16 ``model.safetensors``
with the five attribute vectors, ``config.json``, ``training.json`` with the data counts, settings, steps, wall time
and held-out accuracy measured at export, ``log.jsonl``). The builder casts them to float32 into a Hub-ready
:class:`~hfmech.melody.modeling_music_vae.MusicVAEModel` folder; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..hub import zoo

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights" / "musicvae-mel2bar-folk"


def _pct(x) -> str:
    return f"{100 * float(x):.1f} %"


@zoo.register(
    "musicvae-mel2bar-folk",
    card="musicvae-mel2bar-folk.md",
    task="melody-vae",
    description="MusicVAE cat-mel_2bar (reduced CPU preset) trained by hfmech on public-domain folk tunes",
    source=lambda: zoo.files_fingerprint(WEIGHTS_DIR),
)
def build_musicvae_mel2bar_folk(out_dir: Path) -> dict:
    import torch

    from .modeling_music_vae import MusicVAEModel  # lazy: keeps `import hfmech` light

    model = MusicVAEModel.from_pretrained(WEIGHTS_DIR, dtype=torch.float32).float().eval()
    model.config.dtype = "float32"
    model.save_pretrained(out_dir)
    info = json.loads((WEIGHTS_DIR / "training.json").read_text(encoding="utf-8"))
    data, held, cfg = info["data"], info["heldout"], model.config
    attr = info["attribute_vectors"]
    return {
        "tunes": f"{data['tunes']:,}",
        "train_tunes": f"{data['train_tunes']:,}",
        "heldout_tunes": f"{data['heldout_tunes']:,}",
        "train_windows": f"{data['train_windows']:,}",
        "train_windows_raw": f"{data['train_windows_raw']:,}",
        "heldout_windows": f"{data['heldout_windows']:,}",
        "meters": ", ".join(data["meters"]),
        "preset": info["preset"],
        "enc_rnn_size": cfg.enc_rnn_size,
        "dec_rnn_size": cfg.dec_rnn_size,
        "z_size": cfg.z_size,
        "batch_size": cfg.batch_size,
        "max_beta": cfg.max_beta,
        "beta_rate": cfg.beta_rate,
        "free_bits": cfg.free_bits,
        "sampling_rate": cfg.sampling_rate,
        "learning_rate": cfg.learning_rate,
        "decay_rate": cfg.decay_rate,
        "grad_clip": cfg.grad_clip,
        "parameters": f"{info['parameters']:,}",
        "steps": f"{info['steps']:,}",
        "training_minutes": f"{info['seconds'] / 60:.1f}",
        "threads": info["threads"],
        "heldout_tf_accuracy": _pct(held["teacher_forced_accuracy"]),
        "heldout_sampled_accuracy": _pct(held["sampled_accuracy"]),
        "heldout_tf_event_accuracy": _pct(held["teacher_forced_event_accuracy"]),
        "heldout_sampled_event_accuracy": _pct(held["sampled_event_accuracy"]),
        "heldout_kl_bits": f"{held['kl_bits']:.1f}",
        "attribute_windows": f"{attr['windows']:,}",
        "weights_sha256": zoo.sha256_file(WEIGHTS_DIR / "model.safetensors"),
    }
