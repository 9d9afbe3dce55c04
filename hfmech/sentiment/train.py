"""Train the byte-level mLSTM language model on review text (Radford et al. 2017's recipe, scaled down).

Radford, Jozefowicz & Sutskever (2017), §2: a single-layer 4096-unit mLSTM trained on 82 M Amazon reviews to predict
the next byte; Adam at 5e-4 decayed linearly to zero; truncated backpropagation through time (they used 256-step
windows and batches of 128 parallel streams); weight normalisation. Here the same recipe runs on IMDB
(Maas et al. 2011) text, at a width and length that fit the hardware at hand:

* Data: a Hub dataset or local parquet/csv/json files loaded with ``datasets.load_dataset`` (default: the IMDB
  ``train`` + ``unsup`` parquet files; never ``test``). Each review is passed through encoder.py's ``preprocess``
  (``'\\n ' + text + ' '``, so the model sees the same framing as at featurisation), reviews are shuffled (seeded) and
  concatenated. The last ``--heldout-fraction`` of reviews is held out for bits-per-byte.
* Streams: the training bytes are cut into ``batch_size`` contiguous streams; step ``k`` reads window ``k`` of every
  stream, the state ``(c, h)`` is carried from window to window (detached: truncated BPTT).
* Optimiser: Adam (lr 5e-4) with a linear decay to 0 at the end of the planned bytes, gradient-norm clipping.
* Checkpoints (safetensors only): ``checkpoint/`` holds the model (``save_pretrained``), ``optimizer.safetensors``
  (Adam moments, flattened), ``streams.safetensors`` (carried state) and ``trainer_state.json``; ``--resume`` continues
  exactly where it stopped. ``log.jsonl`` records train and held-out bits per byte.
* Hardware: the loop uses ``accelerate`` — ``python -m hfmech.sentiment.train`` runs on CPU,
  ``accelerate launch -m hfmech.sentiment.train`` on one or more GPUs (each process reads its own share of streams).

Usage::

    python -m hfmech.sentiment.train --out runs/mlstm-imdb --hidden-size 256 --planned-mb 48 --threads 1
    python -m hfmech.sentiment.train --out runs/mlstm-imdb --resume
    python -m hfmech.sentiment.train export runs/mlstm-imdb/final hfmech/sentiment/weights/mlstm-imdb
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..hub.checkpoints import adam_state_tensors, checkpoint_folder, load_adam_state
from ..hub.files import write_json_atomic
from .modeling_mlstm import MLSTMConfig, MLSTMForByteLM
from .preprocessing import preprocess

CALIBRATION_STEPS = 20
DEFAULT_IMDB = ("../shared/data/imdb/train.parquet", "../shared/data/imdb/unsup.parquet")
LN2 = math.log(2.0)


@dataclass
class TrainSettings:
    out: str
    data_files: list[str] = field(default_factory=lambda: list(DEFAULT_IMDB))
    dataset: str | None = None
    split: str = "train"
    column: str = "text"
    hidden_size: int = 256
    embed_size: int = 64
    batch_size: int = 256
    seq_len: int = 128
    lr: float = 5e-4
    clip: float = 1.0
    planned_mb: float = 48.0
    heldout_fraction: float = 0.005
    heldout_eval_kb: int = 256
    eval_every_min: float = 6.0
    save_every_min: float = 4.0
    deadline_min: float | None = None
    seed: int = 0
    threads: int | None = None
    max_reviews: int | None = None
    tf32: bool = False


# ------------------------------------------------------------------------------------------------------------ data
def load_texts(s: TrainSettings) -> list[str]:
    """The text column of a Hub dataset (``--dataset``) or of local parquet/csv/json files (``--data-files``).

    Local files go through ``datasets.load_dataset``; where ``datasets`` is not installed (a bare GPU image, say),
    parquet files are read with pyarrow directly — the same rows in the same order.
    """
    if s.dataset:
        from datasets import load_dataset

        ds = load_dataset(s.dataset, split=s.split)
        columns, rows = ds.column_names, ds[s.column] if s.column in ds.column_names else None
    else:
        files = [str(Path(f)) for f in s.data_files]
        if any("test" in Path(f).stem for f in files):
            raise ValueError("refusing to train on a file named *test*: evaluation data must stay unseen")
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise FileNotFoundError(f"training files not found: {', '.join(missing)}")
        suffix = Path(files[0]).suffix.lstrip(".")
        builder = {"parquet": "parquet", "csv": "csv", "json": "json", "jsonl": "json"}.get(suffix)
        if builder is None:
            raise ValueError(f"unsupported data file type {suffix!r}: use parquet, csv or json(l)")
        try:
            from datasets import load_dataset
        except ImportError:
            if builder != "parquet":
                raise
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
            columns = table.column_names
            rows = table.column(s.column).to_pylist() if s.column in columns else None
        else:
            ds = load_dataset(builder, data_files={"train": files}, split="train")
            columns, rows = ds.column_names, ds[s.column] if s.column in ds.column_names else None
    if rows is None:
        raise ValueError(f"column {s.column!r} not in the dataset (columns: {', '.join(columns)})")
    return [t for t in rows if isinstance(t, str) and t.strip()]


def build_corpus(texts: list[str], s: TrainSettings) -> tuple[np.ndarray, np.ndarray, dict]:
    """Shuffle reviews (seeded), preprocess each as encoder.py, concatenate: ``(train_bytes, heldout_bytes, info)``."""
    order = list(range(len(texts)))
    random.Random(s.seed).shuffle(order)
    if s.max_reviews:
        order = order[: s.max_reviews]
    n_held = max(1, int(round(len(order) * s.heldout_fraction)))
    held_ids, train_ids = order[-n_held:], order[:-n_held]
    train = np.frombuffer(b"".join(preprocess(texts[i]) for i in train_ids), dtype=np.uint8)
    held = np.frombuffer(b"".join(preprocess(texts[i]) for i in held_ids), dtype=np.uint8)
    info = {
        "reviews_train": len(train_ids),
        "reviews_heldout": n_held,
        "bytes_train_available": int(train.size),
        "bytes_heldout": int(held.size),
    }
    return train, held, info


def make_streams(data: np.ndarray, batch: int) -> torch.Tensor:
    """(batch, L) contiguous streams over ``data`` (the tail that does not fill a row is dropped)."""
    length = data.size // batch
    if length < 2:
        raise ValueError(f"{data.size} bytes cannot feed {batch} streams")
    return torch.from_numpy(data[: batch * length].reshape(batch, length).astype(np.int64))


# -------------------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def bits_per_byte(model: MLSTMForByteLM, data: np.ndarray, streams: int = 16, seq_len: int = 256) -> float:
    """Mean next-byte cross-entropy in bits over ``data`` read as ``streams`` parallel streams (state carried)."""
    model.eval()
    x = make_streams(data, streams).to(model.device)
    state = model.zero_state(streams)
    total, count = 0.0, 0
    w = model.effective_weights()
    for t0 in range(0, x.shape[1] - 1, seq_len):
        inp = x[:, t0 : t0 + seq_len + 1]
        if inp.shape[1] < 2:
            break
        c, h, hs, _ = model.run(inp[:, :-1], state, weights=w)
        state = (c, h)
        logits = model.out(hs).float()
        total += F.cross_entropy(logits.reshape(-1, 256), inp[:, 1:].reshape(-1), reduction="sum").item()
        count += inp[:, 1:].numel()
    model.train()
    return total / max(count, 1) / LN2


# ------------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(folder: Path, model, optimizer, state, trainer_state: dict) -> None:
    """Model (safetensors via ``save_pretrained``), Adam moments and carried stream state (safetensors), JSON.

    Written whole to ``folder.tmp`` and swapped in, so a checkpoint is never half-written.
    """
    from safetensors.torch import save_file

    with checkpoint_folder(folder) as tmp:
        model.save_pretrained(tmp)
        save_file(adam_state_tensors(optimizer), str(tmp / "optimizer.safetensors"))
        save_file(
            {"c": state[0].detach().cpu().contiguous(), "h": state[1].detach().cpu().contiguous()},
            str(tmp / "streams.safetensors"),
        )
        write_json_atomic(tmp / "trainer_state.json", trainer_state)


def load_optimizer_state(folder: Path, optimizer) -> None:
    load_adam_state(folder / "optimizer.safetensors", optimizer)


# ---------------------------------------------------------------------------------------------------- training
def train(s: TrainSettings, resume: bool = False, log=print) -> Path:
    """Run (or resume) training; returns the folder of the final model (``<out>/final``)."""
    from accelerate import Accelerator
    from accelerate.utils import broadcast_object_list

    if s.threads:
        torch.set_num_threads(int(s.threads))
    if (
        s.tf32
    ):  # TensorFloat-32 matrix products on Ampere/Hopper GPUs (about 1e-3 relative error, 5-10x faster)
        torch.backends.cuda.matmul.allow_tf32 = True
    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint"
    accelerator = Accelerator()
    torch.manual_seed(s.seed)

    texts = load_texts(s)
    train_bytes, held_bytes, corpus = build_corpus(texts, s)
    del texts
    held_eval = held_bytes[: s.heldout_eval_kb * 1024]

    world, rank = accelerator.num_processes, accelerator.process_index
    streams_all = make_streams(train_bytes, s.batch_size * world)
    streams = streams_all[rank::world]
    bytes_per_step = s.batch_size * world * s.seq_len
    steps_per_pass = (streams.shape[1] - 1) // s.seq_len
    if steps_per_pass < 1:
        raise ValueError(f"seq_len {s.seq_len} is longer than each of the {s.batch_size * world} streams")
    auto_plan = not s.planned_mb
    if auto_plan and s.deadline_min is None:
        raise ValueError("planned_mb 0 (plan by time) needs a deadline_min")
    if not auto_plan and int(s.planned_mb * 1e6 // bytes_per_step) < 1:
        raise ValueError("planned_mb too small for one step")

    if resume and (ckpt / "config.json").is_file():
        model = MLSTMForByteLM.from_pretrained(ckpt, dtype=torch.float32)
        trainer_state = json.loads((ckpt / "trainer_state.json").read_text())
    else:
        resume = False
        model = MLSTMForByteLM(MLSTMConfig(hidden_size=s.hidden_size, embed_size=s.embed_size))
        trainer_state = {"step": 0, "elapsed_s": 0.0, "history": []}
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lr)
    if resume:
        load_optimizer_state(ckpt, optimizer)
    # The step budget. With planned_mb 0 it is None until CALIBRATION_STEPS timed steps fix it to what fits before
    # the deadline (then recorded in trainer_state/result.json, so a rerun can pass the same budget as --planned-mb);
    # the learning rate stays at its initial value until then.
    plan = {
        "steps": trainer_state.get("planned_steps")
        or (None if auto_plan else int(s.planned_mb * 1e6 // bytes_per_step))
    }
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: 1.0 if plan["steps"] is None else max(0.0, 1.0 - k / plan["steps"])
    )
    model, optimizer = accelerator.prepare(model, optimizer)
    device = accelerator.device
    streams = streams.to(device)

    state = (torch.zeros(streams.shape[0], s.hidden_size, device=device),) * 2
    if resume:
        from safetensors.torch import load_file

        saved = load_file(str(ckpt / "streams.safetensors"))
        state = (saved["c"].to(device), saved["h"].to(device))
    step = int(trainer_state["step"])
    for _ in range(step):
        schedule.step()

    info = {
        "settings": asdict(s),
        "corpus": corpus,
        "planned_steps": plan["steps"],
        "bytes_per_step": bytes_per_step,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if accelerator.is_main_process:
        write_json_atomic(out / "run.json", info)
        log(
            f"[train] {json.dumps(info['corpus'])}; {plan['steps'] or 'time-planned'} steps of {bytes_per_step} bytes; "
            f"{info['parameters']:,} parameters; starting at step {step}"
        )
    unwrapped = accelerator.unwrap_model(model)

    t_start = time.time() - float(trainer_state["elapsed_s"])
    last_save = last_eval = time.time()
    window_loss, window_bytes, window_t = 0.0, 0, time.time()
    stopped_early = False
    model.train()
    calib_start = None
    while plan["steps"] is None or step < plan["steps"]:
        if plan["steps"] is None:
            if calib_start is None and step >= 3:  # after warm-up (allocator, kernels)
                calib_start, calib_step = time.time(), step
            elif calib_start is not None and step - calib_step >= CALIBRATION_STEPS:
                per_step = (time.time() - calib_start) / (step - calib_step)
                left = s.deadline_min * 60 - (time.time() - t_start)
                # every process reaches this step together; all take the main process's plan (no rank stops early)
                plan["steps"] = broadcast_object_list([step + max(1, int(0.97 * left / per_step))])[0]
                trainer_state["planned_steps"] = plan["steps"]
                if accelerator.is_main_process:
                    log(
                        f"[train] {per_step * 1e3:.1f} ms/step: planned {plan['steps']} steps before the deadline"
                    )
        t0 = (step % steps_per_pass) * s.seq_len  # several passes wrap around the streams
        chunk = streams[:, t0 : t0 + s.seq_len + 1]
        c, h = state
        out_ = model(chunk[:, :-1], state=(c, h), labels=chunk[:, 1:])
        accelerator.backward(out_.loss)
        accelerator.clip_grad_norm_(model.parameters(), s.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        schedule.step()
        state = tuple(t.detach() for t in out_.state)
        step += 1
        window_loss += out_.loss.item() * chunk[:, 1:].numel()
        window_bytes += chunk[:, 1:].numel()
        now = time.time()
        if accelerator.is_main_process and (
            now - last_eval >= s.eval_every_min * 60 or step == plan["steps"]
        ):
            record = {
                "step": step,
                "bytes_seen": step * bytes_per_step,
                "lr": schedule.get_last_lr()[0],
                "train_bpb": window_loss / window_bytes / LN2,
                "bytes_per_s": window_bytes * world / (now - window_t),
                "elapsed_min": (now - t_start) / 60,
            }
            record["heldout_bpb"] = bits_per_byte(unwrapped, held_eval)
            trainer_state["history"].append(record)
            with open(out / "log.jsonl", "a", encoding="utf-8") as logf:
                logf.write(json.dumps(record) + "\n")
            log(
                "[train] "
                + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items())
            )
            window_loss, window_bytes, window_t = 0.0, 0, time.time()
            last_eval = time.time()
        deadline = s.deadline_min is not None and (time.time() - t_start) / 60 >= s.deadline_min
        if accelerator.is_main_process and (time.time() - last_save >= s.save_every_min * 60 or deadline):
            trainer_state.update(step=step, elapsed_s=time.time() - t_start)
            save_checkpoint(ckpt, unwrapped, optimizer, state, trainer_state)
            last_save = time.time()
        if deadline:
            stopped_early = True
            log(f"[train] deadline of {s.deadline_min} min reached at step {step}/{plan['steps']}")
            break

    final = out / "final"
    if accelerator.is_main_process:
        trainer_state.update(step=step, elapsed_s=time.time() - t_start)
        save_checkpoint(ckpt, unwrapped, optimizer, state, trainer_state)
        heldout_full = bits_per_byte(unwrapped, held_bytes)
        unwrapped.config.training = {
            "data": "IMDB train+unsup (Maas et al. 2011), test never read" if not s.dataset else s.dataset,
            "reviews_train": corpus["reviews_train"],
            "reviews_heldout": corpus["reviews_heldout"],
            "bytes_seen": step * bytes_per_step,
            "steps": step,
            "planned_steps": plan["steps"],
            "passes_over_data": round(step / steps_per_pass, 2),
            "stopped_early": stopped_early,
            "batch_size": s.batch_size * world,
            "seq_len": s.seq_len,
            "optimizer": f"Adam lr {s.lr} linear decay to 0, grad-norm clip {s.clip}",
            "heldout_bits_per_byte": round(heldout_full, 4),
            "heldout_bytes": corpus["bytes_heldout"],
            "minutes": round((time.time() - t_start) / 60, 1),
            "seed": s.seed,
        }
        unwrapped.save_pretrained(final)
        write_json_atomic(out / "result.json", unwrapped.config.training)
        log(f"[train] done: {json.dumps(unwrapped.config.training)}")
    return final


def export(folder: str | os.PathLike, out: str | os.PathLike, dtype=torch.float16) -> Path:
    """Copy a trained model folder as fp16 safetensors + config.json (the committed ``weights/mlstm-imdb``)."""
    model = MLSTMForByteLM.from_pretrained(folder, dtype=torch.float32)
    out = Path(out)
    model.to(dtype).save_pretrained(out)
    return out


# --------------------------------------------------------------------------------------------------------- CLI
def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainSettings(out="")
    p.add_argument("--out", required=True, help="run folder (checkpoint/, final/, log.jsonl)")
    p.add_argument(
        "--data-files", nargs="+", default=d.data_files, help="parquet/csv/json files with a text column"
    )
    p.add_argument(
        "--dataset", default=None, help="a Hub dataset name instead of --data-files (needs internet)"
    )
    p.add_argument("--split", default=d.split)
    p.add_argument("--column", default=d.column)
    p.add_argument("--hidden-size", type=int, default=d.hidden_size)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="parallel byte streams (per process)")
    p.add_argument("--seq-len", type=int, default=d.seq_len, help="truncated-BPTT window")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--clip", type=float, default=d.clip)
    p.add_argument(
        "--planned-mb",
        type=float,
        default=d.planned_mb,
        help="bytes to train on (LR reaches 0 there; several passes wrap around); 0: as many as fit before "
        "--deadline-min (timed over the first steps)",
    )
    p.add_argument("--heldout-fraction", type=float, default=d.heldout_fraction)
    p.add_argument("--eval-every-min", type=float, default=d.eval_every_min)
    p.add_argument("--save-every-min", type=float, default=d.save_every_min)
    p.add_argument("--deadline-min", type=float, default=None, help="stop (and save) after this many minutes")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (1 is fastest on a busy machine)"
    )
    p.add_argument("--max-reviews", type=int, default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--tf32", action="store_true", help="allow TF32 matrix products on the GPU")


def settings_from_args(a: argparse.Namespace) -> TrainSettings:
    return TrainSettings(
        out=a.out,
        data_files=a.data_files,
        dataset=a.dataset,
        split=a.split,
        column=a.column,
        hidden_size=a.hidden_size,
        batch_size=a.batch_size,
        seq_len=a.seq_len,
        lr=a.lr,
        clip=a.clip,
        planned_mb=a.planned_mb,
        heldout_fraction=a.heldout_fraction,
        eval_every_min=a.eval_every_min,
        save_every_min=a.save_every_min,
        deadline_min=a.deadline_min,
        seed=a.seed,
        threads=a.threads,
        max_reviews=a.max_reviews,
        tf32=a.tf32,
    )


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export"]:
        p = argparse.ArgumentParser(prog="python -m hfmech.sentiment.train export")
        p.add_argument("folder")
        p.add_argument("out")
        a = p.parse_args(argv[1:])
        print(export(a.folder, a.out))
        return 0
    p = argparse.ArgumentParser(prog="python -m hfmech.sentiment.train", description=__doc__.split("\n")[0])
    add_arguments(p)
    a = p.parse_args(argv)
    train(settings_from_args(a), resume=a.resume)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
