"""Train sketch-rnn (Ha & Eck 2017) on a stroke-3 dataset — magenta's ``sketch_rnn_train.py`` loop.

- Data: a pickle-free ``.npz`` with ``<split>_strokes`` / ``<split>_offsets`` (``../shared/data/strokes``; tests and
  recipes only). Drawings longer than ``max_seq_len`` are dropped, offsets clamped to ±1000, every split divided by
  the **training** set's offset std (stored as ``config.scale_factor``). Each step draws a random batch (magenta's
  ``random_batch``) with random scaling (``random_scale_factor``) and point dropping (``augment_stroke_prob``).
- Schedules (per step, exactly ``sketch_rnn_train.train``): ``lr = (lr0 − lr_min)·decay_rate^step + lr_min``,
  ``w_KL = w − (w − w_start)·kl_decay_rate^step``; Adam; gradients clipped **by value** to ±``grad_clip``.
- Checkpoints: ``<out>/checkpoint/`` (``save_pretrained`` + ``optimizer.safetensors`` Adam moments +
  ``trainer_state.json`` with step, RNG states and the log), written atomically every ``--save-every`` steps, at the
  deadline and at the end; ``--resume`` continues from it. ``<out>/log.jsonl`` has train and validation losses.
- Hardware: the loop goes through ``accelerate`` (``accelerate launch -m hfmech.sketch.train …`` on a GPU);
  ``--threads`` sets torch's CPU threads.

Usage::

    python -m hfmech.sketch.train --data ../shared/data/strokes/omniglot.stroke3.npz --out runs/sketch-omniglot \\
        --preset cpu-small --deadline 60 --threads 1
    python -m hfmech.sketch.train --out runs/sketch-omniglot --resume --deadline 30
    python -m hfmech.sketch.train export runs/sketch-omniglot hfmech/sketch/weights/sketch-rnn-omniglot
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..hub.checkpoints import adam_state_tensors, checkpoint_folder, load_adam_state
from ..hub.files import write_json_atomic
from . import strokes as S
from .modeling_sketch_rnn import PRESETS, SketchRNNConfig, SketchRNNModel


def schedules(cfg: SketchRNNConfig, step: int) -> tuple[float, float]:
    """``(learning rate, KL weight)`` at ``step`` (sketch_rnn_train.py's two exponential schedules)."""
    lr = (cfg.learning_rate - cfg.min_learning_rate) * cfg.decay_rate**step + cfg.min_learning_rate
    klw = cfg.kl_weight - (cfg.kl_weight - cfg.kl_weight_start) * cfg.kl_decay_rate**step
    return lr, klw


def load_splits(path, max_seq_len: int) -> dict[str, list[np.ndarray]]:
    """``{"train", "valid", "test"}`` → preprocessed (un-normalised) stroke-3 drawings."""
    return {
        split: S.preprocess(S.load_stroke3_npz(path, split), max_seq_len)
        for split in ("train", "valid", "test")
    }


@torch.no_grad()
def evaluate(model: SketchRNNModel, drawings: list[np.ndarray], batch_size: int = 100, seed: int = 0) -> dict:
    """Held-out losses in magenta's eval mode (pen loss masked after the end, ``z`` sampled with a fixed seed):
    ``r_loss`` (L_R), ``kl_loss`` (L_KL, floored at ``kl_tolerance``) and ``kl_raw`` (unfloored), averaged over
    batches weighted by size. ``drawings`` are normalised stroke-3."""
    was = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    tot = {"r_loss": 0.0, "offset_loss": 0.0, "pen_loss": 0.0, "kl_loss": 0.0, "kl_raw": 0.0}
    n = 0
    for i in range(0, len(drawings), batch_size):
        chunk = drawings[i : i + batch_size]
        x, lengths = S.make_batch(chunk, model.config.max_seq_len)
        out = model(torch.from_numpy(x), torch.from_numpy(lengths), mask_pen=True, generator=g)
        for k in tot:
            tot[k] += float(getattr(out, k)) * len(chunk)
        n += len(chunk)
    model.train(was)
    return {k: v / max(n, 1) for k, v in tot.items()}


def drawing_extent(drawings: list[np.ndarray]) -> float:
    """Median longer side of the drawings' bounding boxes (data units): the size a user's drawing is scaled to."""
    sides = []
    for d in drawings:
        xy = np.cumsum(np.asarray(d, dtype=np.float64)[:, :2], axis=0)
        sides.append(float((xy.max(0) - xy.min(0)).max()))
    return float(np.median(sides))


def save_checkpoint(folder: Path, model, optimizer, trainer_state: dict) -> None:
    """Model (``save_pretrained``), Adam moments (safetensors) and JSON state, written whole then swapped in."""
    from safetensors.torch import save_file

    with checkpoint_folder(folder) as tmp:
        model.save_pretrained(tmp)
        save_file(adam_state_tensors(optimizer), str(tmp / "optimizer.safetensors"))
        write_json_atomic(tmp / "trainer_state.json", trainer_state)


def load_optimizer_state(folder: Path, optimizer) -> None:
    load_adam_state(folder / "optimizer.safetensors", optimizer)


def _parse_deadline(value: str | None, t0: float) -> float | None:
    """Minutes from now (``60``) or an absolute epoch time in seconds (``@1765130000``) → epoch seconds."""
    if value is None:
        return None
    if value.startswith("@"):
        return float(value[1:])
    return t0 + float(value) * 60


def train(a: argparse.Namespace, log=print) -> Path:
    from accelerate import Accelerator
    from tqdm.auto import tqdm

    if a.threads:
        torch.set_num_threads(a.threads)
    t0 = time.time()
    deadline = _parse_deadline(a.deadline, t0)
    out = Path(a.out)
    ckpt = out / "checkpoint"
    if a.resume:
        if not (ckpt / "trainer_state.json").is_file():
            raise SystemExit(f"--resume: no checkpoint in {ckpt}")
        ts = json.loads((ckpt / "trainer_state.json").read_text())
        settings = ts["settings"]
        model = SketchRNNModel.from_pretrained(ckpt)
        cfg = model.config
    else:
        settings = {
            k: getattr(a, k)
            for k in ("data", "preset", "max_seq_len", "batch_size", "steps", "seed", "save_every")
        }
        settings["eval_every"] = a.eval_every
        overrides = {"batch_size": a.batch_size}
        if a.max_seq_len:
            overrides["max_seq_len"] = a.max_seq_len
        cfg = SketchRNNConfig.from_preset(a.preset, **overrides)
        ts = {"step": 0, "seconds": 0.0, "settings": settings, "log": []}
    splits = load_splits(settings["data"], cfg.max_seq_len)
    if not a.resume:
        cfg.scale_factor = S.normalizing_scale_factor(splits["train"])
        torch.manual_seed(settings["seed"])
        model = SketchRNNModel(cfg)
    data = {k: [S.normalize(d, cfg.scale_factor) for d in v] for k, v in splits.items()}
    log(
        f"[sketch-train] {settings['data']}: train {len(data['train'])}, valid {len(data['valid'])}, "
        f"test {len(data['test'])} drawings (<= {cfg.max_seq_len} points); scale {cfg.scale_factor:.4f}; "
        f"{sum(p.numel() for p in model.parameters()):,} parameters ({cfg.preset})"
    )
    accelerator = Accelerator(cpu=a.cpu)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    if a.resume:
        load_optimizer_state(ckpt, optimizer)
    model, optimizer = accelerator.prepare(model, optimizer)
    unwrapped = accelerator.unwrap_model(model)
    rng = np.random.default_rng(settings["seed"])
    if "numpy_rng" in ts:
        rng.bit_generator.state = ts["numpy_rng"]
    if "torch_rng" in ts:
        torch.random.set_rng_state(torch.tensor(ts["torch_rng"], dtype=torch.uint8))
    step = ts["step"]
    seconds_before = ts["seconds"]
    t_run = time.time()
    model.train()
    bar = tqdm(total=settings["steps"], initial=step, disable=not a.progress, dynamic_ncols=True)
    log_path = out / "log.jsonl"
    out.mkdir(parents=True, exist_ok=True)
    stopped = "steps"
    recent = []

    def checkpoint():
        ts.update(
            step=step,
            seconds=seconds_before + time.time() - t_run,
            numpy_rng=rng.bit_generator.state,
            torch_rng=torch.random.get_rng_state().tolist(),
        )
        if accelerator.is_main_process:
            save_checkpoint(ckpt, unwrapped, optimizer, ts)

    while step < settings["steps"]:
        lr, klw = schedules(cfg, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = rng.permutation(len(data["train"]))[: cfg.batch_size]
        x, lengths = S.make_batch(
            [data["train"][i] for i in idx],
            cfg.max_seq_len,
            scale_factor=cfg.random_scale_factor,
            stroke_drop=cfg.augment_stroke_prob,
            rng=rng,
        )
        x = torch.from_numpy(x).to(accelerator.device)
        lengths = torch.from_numpy(lengths).to(accelerator.device)
        o = model(x, lengths, kl_weight=klw)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(o.loss)
        accelerator.clip_grad_value_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        step += 1
        recent.append((float(o.loss.detach()), float(o.r_loss.detach()), float(o.kl_raw.detach())))
        bar.update(1)
        if step % 20 == 0:
            m = np.mean(recent, axis=0)
            bar.set_postfix(
                loss=f"{m[0]:.3f}", r=f"{m[1]:.3f}", kl=f"{m[2]:.3f}", lr=f"{lr:.2e}", w=f"{klw:.3f}"
            )
        if step % settings["eval_every"] == 0 or step == settings["steps"]:
            m = np.mean(recent, axis=0)
            recent = []
            ev = evaluate(unwrapped, data["valid"], batch_size=cfg.batch_size)
            rec = {
                "step": step,
                "seconds": round(seconds_before + time.time() - t_run, 1),
                "lr": lr,
                "kl_weight": klw,
                "train_loss": float(m[0]),
                "train_r": float(m[1]),
                "train_kl_raw": float(m[2]),
                **{f"valid_{k}": v for k, v in ev.items()},
            }
            ts["log"].append(rec)
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            log(f"[sketch-train] {json.dumps(rec)}")
        if step % settings["save_every"] == 0:
            checkpoint()
        if deadline is not None and time.time() >= deadline:
            stopped = "deadline"
            break
    bar.close()
    checkpoint()
    log(f"[sketch-train] stopped ({stopped}) at step {step}; checkpoint {ckpt}")
    return ckpt


def export(run: Path, dest: Path, log=print) -> None:
    """Checkpoint → shipped fp16 folder (``config.json``, ``model.safetensors``, ``training.json`` with settings,
    steps, wall time, measured valid/test losses and speed)."""
    run = Path(run)
    ckpt = run / "checkpoint"
    ts = json.loads((ckpt / "trainer_state.json").read_text())
    model = SketchRNNModel.from_pretrained(ckpt)
    cfg = model.config
    splits = load_splits(ts["settings"]["data"], cfg.max_seq_len)
    data = {k: [S.normalize(d, cfg.scale_factor) for d in v] for k, v in splits.items()}
    t = time.time()
    test = evaluate(model, data["test"], batch_size=cfg.batch_size)
    eval_s = time.time() - t
    valid = evaluate(model, data["valid"], batch_size=cfg.batch_size)
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, dtype=torch.float16) if _save_takes_dtype() else model.half().save_pretrained(
        tmp
    )
    info = {
        "settings": ts["settings"],
        "preset": cfg.preset,
        "steps": ts["step"],
        "seconds_training": ts["seconds"],
        "train_drawings": len(data["train"]),
        "valid": valid,
        "test": test,
        "test_eval_seconds": eval_s,
        "test_drawings": len(data["test"]),
        "canvas": drawing_extent(splits["train"]),
        "log_tail": ts["log"][-5:],
        "threads": torch.get_num_threads(),
    }
    write_json_atomic(tmp / "training.json", info)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)
    log(json.dumps({"test": test, "valid": valid, "steps": ts["step"], "seconds": ts["seconds"]}, indent=1))


def _save_takes_dtype() -> bool:
    import inspect

    from transformers import PreTrainedModel

    return "dtype" in inspect.signature(PreTrainedModel.save_pretrained).parameters


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hfmech.sketch.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="stroke-3 .npz with train/valid/test splits")
    p.add_argument("--out", required=True, help="run folder (checkpoint/, log.jsonl)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu-small")
    p.add_argument("--max-seq-len", type=int, default=0, help="drop longer drawings (0: the preset's 250)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--steps", type=int, default=100_000, help="total steps (stop earlier with --deadline)")
    p.add_argument(
        "--deadline", default=None, help="minutes from now, or @EPOCH_SECONDS; saves and stops there"
    )
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--cpu", action="store_true", help="force CPU even where an accelerator exists")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export"]:
        if len(argv) != 3:
            print("usage: python -m hfmech.sketch.train export RUN_FOLDER DEST_FOLDER", file=sys.stderr)
            return 2
        export(Path(argv[1]), Path(argv[2]))
        return 0
    a = build_parser().parse_args(argv)
    if not a.resume and not a.data:
        print("--data is required (unless --resume)", file=sys.stderr)
        return 2
    train(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["evaluate", "export", "load_splits", "main", "schedules", "train"]
