"""Training recipe for the 2-bar melody VAE (MusicVAE, Roberts et al. 2018): ``python -m hfmech.melody.train``.

Three subcommands::

    python -m hfmech.melody.train data  --corpus .cache/melody/corpus --windows .cache/melody/windows.npz
    python -m hfmech.melody.train fit   --windows .cache/melody/windows.npz --run .cache/melody/run \\
        --preset cat-mel_2bar_cpu --max-steps 20000 --deadline 60
    python -m hfmech.melody.train export --run .cache/melody/run --out hfmech/melody/weights/musicvae-mel2bar-folk

``fit`` resumes from ``RUN/checkpoint/`` (``save_pretrained`` model, Adam moments in ``optimizer.safetensors``,
``trainer_state.json``; :mod:`hfmech.hub.checkpoints`, pickle-free, swapped in whole); ``--deadline MINUTES`` stops
cleanly (checkpoint written) when that much wall time has passed in this invocation. The loop goes through
``accelerate`` (``accelerate launch -m hfmech.melody.train fit …`` on GPUs, ``--mixed-precision bf16``) and falls
back to a plain torch loop without it (or with ``--no-accelerate``).
Batches: ``batch_size`` windows drawn uniformly from the deduplicated training windows, each transposed by a random
whole number of semitones in ``[-5, 5]`` (magenta's ``NoteSequenceAugmenter(transpose_range=(-5, 5))``; a shift that
would leave MIDI 21..108 keeps the window as it is). Adam with magenta's exponential decay and global-norm clipping.

``export`` evaluates the held-out windows (per-step accuracy teacher-forced and free-running greedy, from ``μ``),
computes the five attribute vectors from the training windows (mean ``μ`` of the top quartile minus mean ``μ`` of
the bottom quartile of each attribute, :func:`hfmech.latent.attribute_vector`) and writes fp16 ``model.safetensors``
+ ``config.json`` + ``training.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..hub.checkpoints import adam_state_tensors, checkpoint_folder, load_adam_state
from ..hub.files import write_json_atomic
from .data import transpose
from .dataset import ATTRIBUTES, attributes, build_windows, load_windows
from .modeling_music_vae import (
    MusicVAEConfig,
    MusicVAEModel,
    count_parameters,
    learning_rate_at,
)

TRANSPOSE_RANGE = (-5, 5)


CHECKPOINT = (
    "checkpoint"  # RUN/checkpoint/: config.json, model.safetensors, optimizer.safetensors, trainer_state.json
)


def save_checkpoint(run: Path, model: MusicVAEModel, optimizer, state: dict) -> None:
    """Model (``save_pretrained``), Adam moments and the JSON trainer state into ``RUN/checkpoint``, written whole into
    a temporary sibling and swapped in (:func:`hfmech.hub.checkpoints.checkpoint_folder`)."""
    from safetensors.torch import save_file

    with checkpoint_folder(Path(run) / CHECKPOINT) as tmp:
        model.save_pretrained(tmp)
        save_file(adam_state_tensors(optimizer), str(tmp / "optimizer.safetensors"))
        write_json_atomic(tmp / "trainer_state.json", state, indent=1)


def has_checkpoint(run: Path) -> bool:
    run = Path(run)
    return (run / CHECKPOINT / "trainer_state.json").is_file() or (run / "checkpoint.safetensors").is_file()


def _legacy_tensors(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(Path(run) / "checkpoint.safetensors"))


def load_checkpoint(run: Path) -> tuple[MusicVAEModel, dict]:
    """``(model, trainer_state)`` from ``RUN/checkpoint`` (float32; Adam's moments: :func:`load_optimizer`). Also
    reads the older single-file layout (``RUN/checkpoint.safetensors`` + ``RUN/state.json``)."""
    run = Path(run)
    folder = run / CHECKPOINT
    if (folder / "trainer_state.json").is_file():
        state = json.loads((folder / "trainer_state.json").read_text())
        model = MusicVAEModel.from_pretrained(folder).float()
        return model, state
    if not (run / "checkpoint.safetensors").is_file():
        raise FileNotFoundError(f"no checkpoint in {run}")
    state = json.loads((run / "state.json").read_text())
    tensors = _legacy_tensors(run)
    model = MusicVAEModel(MusicVAEConfig.from_preset(state["preset"]))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    return model, state


def load_optimizer(run: Path, model: MusicVAEModel, optimizer) -> None:
    """Restore Adam's moments saved beside the model (either checkpoint layout) into ``optimizer``."""
    run = Path(run)
    if (run / CHECKPOINT / "optimizer.safetensors").is_file():
        load_adam_state(run / CHECKPOINT / "optimizer.safetensors", optimizer)
        return
    tensors = _legacy_tensors(run)
    for name, p in model.named_parameters():
        if f"adam.exp_avg.{name}" in tensors:
            optimizer.state[p] = {
                "exp_avg": tensors[f"adam.exp_avg.{name}"],
                "exp_avg_sq": tensors[f"adam.exp_avg_sq.{name}"],
                "step": tensors[f"adam.step.{name}"].reshape(()),
            }


class _PlainAccelerator:
    """The few ``accelerate.Accelerator`` members the loop uses, for one process without ``accelerate``."""

    num_processes, process_index, is_main_process = 1, 0, True

    def __init__(self, cpu: bool = False, mixed_precision: str = "no"):
        if mixed_precision != "no":
            raise SystemExit("--mixed-precision needs accelerate (pip install accelerate)")
        self.device = torch.device("cuda" if torch.cuda.is_available() and not cpu else "cpu")

    def prepare(self, *objects):
        return tuple(o.to(self.device) if isinstance(o, torch.nn.Module) else o for o in objects)

    def backward(self, loss):
        loss.backward()

    def clip_grad_norm_(self, parameters, max_norm):
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def unwrap_model(self, model):
        return model

    def wait_for_everyone(self):
        pass


def make_accelerator(use_accelerate: bool = True, cpu: bool = False, mixed_precision: str = "no"):
    """``accelerate.Accelerator`` when importable (and wanted), else :class:`_PlainAccelerator`."""
    if use_accelerate:
        try:
            from accelerate import Accelerator
        except ImportError:  # pragma: no cover - accelerate is a dependency of hfmech
            pass
        else:
            return Accelerator(cpu=cpu, mixed_precision=mixed_precision)
    return _PlainAccelerator(cpu=cpu, mixed_precision=mixed_precision)


@torch.no_grad()
def evaluate(model: MusicVAEModel, windows: np.ndarray, batch: int = 512) -> dict:
    """Per-step accuracy on ``windows (W, 32)`` from ``z = μ``: teacher-forced arg-max and free-running greedy."""
    model.eval()
    tf_correct = greedy_correct = total = 0
    ev_tf = ev_greedy = ev_total = 0
    r_sum = kl_sum = 0.0
    for i in range(0, len(windows), batch):
        x = torch.from_numpy(windows[i : i + batch])
        out = model(x, sample_posterior=False)
        tf_correct += int((out.logits.argmax(-1) == x).sum())
        rec = model.decode(out.mu, 1.0, greedy=True)
        greedy_correct += int((rec == x).sum())
        total += x.numel()
        events = x != 0  # steps whose target is a note-on or note-off (not "no event")
        ev_tf += int(((out.logits.argmax(-1) == x) & events).sum())
        ev_greedy += int(((rec == x) & events).sum())
        ev_total += int(events.sum())
        r_sum += float(out.r_loss.sum())
        kl_sum += float(out.kl.sum())
    n = max(len(windows), 1)
    return {
        "windows": int(len(windows)),
        "teacher_forced_accuracy": tf_correct / max(total, 1),
        "sampled_accuracy": greedy_correct / max(total, 1),
        "teacher_forced_event_accuracy": ev_tf / max(ev_total, 1),
        "sampled_event_accuracy": ev_greedy / max(ev_total, 1),
        "r_loss": r_sum / n,
        "kl_bits": kl_sum / n / math.log(2.0),
    }


def _stop_now(accelerator, flag: bool) -> bool:
    """The main process's deadline decision, shared with every process (so all stop on the same step)."""
    if accelerator.num_processes == 1:
        return flag
    from accelerate.utils import broadcast_object_list

    box = [flag]
    broadcast_object_list(box, from_process=0)
    return bool(box[0])


def fit(args) -> int:
    """Train (or resume) with magenta's schedules. Under ``accelerate launch`` each process draws its own batches
    (a numpy generator seeded by seed, step and process index) and DDP averages the gradients."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_w, held_w, data_info = load_windows(args.windows)
    windows_mtime = Path(args.windows).stat().st_mtime
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    accelerator = make_accelerator(not args.no_accelerate, args.cpu, args.mixed_precision)
    main = accelerator.is_main_process
    if has_checkpoint(run):
        model, state = load_checkpoint(run)
        config = model.config
        opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        load_optimizer(run, model, opt)
        if main:
            print(f"resumed at step {state['step']}", flush=True)
    else:
        config = MusicVAEConfig.from_preset(args.preset)
        if args.batch_size:
            config.batch_size = args.batch_size
        model = MusicVAEModel(config)
        opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        state = {"step": 0, "seconds": 0.0, "log": [], "preset": args.preset, "data": data_info}
    state.update(
        threads=args.threads, processes=accelerator.num_processes, mixed_precision=args.mixed_precision
    )
    state["accelerate"] = not isinstance(accelerator, _PlainAccelerator)
    model, opt = accelerator.prepare(model, opt)
    unwrapped = accelerator.unwrap_model(model)
    device = accelerator.device
    step = int(state.get("step", 0))
    rng = np.random.default_rng([args.seed, step, accelerator.process_index])
    started = time.time()
    seconds_before = float(state.get("seconds", 0.0))
    last_ckpt = time.time()
    eval_subset = held_w[: args.eval_windows]
    try:
        from tqdm import tqdm

        bar = tqdm(total=args.max_steps, initial=step, mininterval=10, file=sys.stdout, disable=not main)
    except ImportError:  # pragma: no cover
        bar = None

    def checkpoint():
        state["seconds"] = seconds_before + time.time() - started
        state["step"] = step
        if main:
            save_checkpoint(run, unwrapped, opt, state)
        accelerator.wait_for_everyone()

    model.train()
    stop_reason = "max_steps"
    while step < args.max_steps:
        if step % args.log_every == 0 and _stop_now(
            accelerator, bool(args.deadline) and time.time() - started > args.deadline * 60
        ):
            stop_reason = "deadline"
            break
        idx = rng.integers(0, len(train_w), config.batch_size)
        shifts = rng.integers(TRANSPOSE_RANGE[0], TRANSPOSE_RANGE[1] + 1, config.batch_size)
        x = torch.from_numpy(transpose(train_w[idx], shifts)).to(device)
        lr = learning_rate_at(config, step)
        for g in opt.param_groups:
            g["lr"] = lr
        out = model(x, step=step)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(out.loss)
        norm = accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        step += 1
        if bar is not None:
            bar.update(1)
        if step % args.log_every == 0 and Path(args.windows).stat().st_mtime != windows_mtime:
            train_w, held_w, data_info = load_windows(
                args.windows
            )  # the cache grew: train on all of it from now
            windows_mtime = Path(args.windows).stat().st_mtime
            eval_subset = held_w[: args.eval_windows]
            state["data"] = data_info
            if main:
                print(
                    f"reloaded windows at step {step}: {len(train_w)} train, {len(held_w)} held-out",
                    flush=True,
                )
        if step % args.log_every == 0 and main:
            row = {
                "step": step,
                "loss": round(float(out.loss.detach()), 4),
                "r_loss": round(float(out.r_loss.detach().mean()), 4),
                "kl_bits": round(float(out.kl.detach().mean()) / math.log(2), 3),
                "accuracy": round(float(out.accuracy.detach()), 4),
                "beta": round(out.beta, 5),
                "sampling_probability": round(out.sampling_probability, 4),
                "lr": lr,
                "grad_norm": round(float(norm), 3),
                "seconds": round(seconds_before + time.time() - started, 1),
            }
            if step % (args.log_every * args.eval_every) == 0 and len(eval_subset):
                ev = evaluate(unwrapped, eval_subset)
                model.train()
                row["heldout_tf_accuracy"] = round(ev["teacher_forced_accuracy"], 4)
                row["heldout_sampled_accuracy"] = round(ev["sampled_accuracy"], 4)
            state.setdefault("log", []).append(row)
            print(json.dumps(row), flush=True)
        if time.time() - last_ckpt > args.checkpoint_minutes * 60:
            checkpoint()
            last_ckpt = time.time()
    if bar is not None:
        bar.close()
    state["stop_reason"] = stop_reason
    checkpoint()
    if main:
        print(f"stopped ({stop_reason}) at step {step}, {state['seconds']:.0f} s in all", flush=True)
    return 0


@torch.no_grad()
def attribute_vectors(
    model: MusicVAEModel, windows: np.ndarray, batch: int = 1024
) -> tuple[torch.Tensor, dict]:
    """Per attribute: mean ``μ`` of the windows in the top quartile minus that of the bottom quartile ``(A, Z)``."""
    from ..latent import attribute_vector

    model.eval()
    mus = torch.cat(
        [model.encode(torch.from_numpy(windows[i : i + batch]))[0] for i in range(0, len(windows), batch)]
    )
    values = attributes(windows)
    vecs, info = [], {}
    for a, name in enumerate(ATTRIBUTES):
        lo, hi = np.quantile(values[:, a], [0.25, 0.75])
        top = values[:, a] >= hi
        bottom = values[:, a] <= lo
        if hi <= lo:  # a tied quartile: split at the median instead
            med = np.median(values[:, a])
            top, bottom = values[:, a] > med, values[:, a] <= med
        if not top.any() or not bottom.any():  # constant over these windows: no direction to learn
            print(f"attribute {name}: the same value in every window; its vector stays zero", flush=True)
            vecs.append(torch.zeros(mus.shape[1]))
            info[name] = {"top_windows": 0, "bottom_windows": 0, "norm": 0.0}
            continue
        vec = attribute_vector(mus[torch.from_numpy(top)], mus[torch.from_numpy(bottom)])
        vecs.append(vec)
        info[name] = {
            "top_windows": int(top.sum()),
            "bottom_windows": int(bottom.sum()),
            "top_mean": float(values[top, a].mean()),
            "bottom_mean": float(values[bottom, a].mean()),
            "norm": float(vec.norm()),
        }
    return torch.stack(vecs), info


def heldout_examples(corpus: Path, data_info: dict, count: int = 12, bars: int = 4) -> list[dict]:
    """The first ``bars`` bars (from the first bar with a note) of ``count`` held-out tunes, for the Space."""
    from .data import STEPS_PER_BAR, notes_to_events
    from .dataset import load_corpus

    notes, tunes, _ = load_corpus(corpus)
    out, seen = [], set()
    for i in data_info["heldout_tune_ids"]:
        events = notes_to_events(notes[i])
        onsets = np.flatnonzero(events >= 0)
        if not len(onsets):
            continue
        start = (onsets[0] // STEPS_PER_BAR) * STEPS_PER_BAR
        window = events[start : start + bars * STEPS_PER_BAR]
        title = tunes[i]["title"].strip() or f"tune {i}"
        if (
            len(window) < bars * STEPS_PER_BAR
            or title in seen
            or np.any((window >= 0) & ((window < 21) | (window > 108)))
        ):
            continue
        seen.add(title)
        out.append({"title": title, "source": tunes[i]["file"], "events": window.tolist()})
        if len(out) == count:
            break
    return out


def export(args) -> int:
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    model, state = load_checkpoint(run)
    train_w, held_w, data_info = load_windows(args.windows)
    model.eval()
    rng = np.random.default_rng(0)
    sub = train_w[rng.permutation(len(train_w))[: args.attribute_windows]]
    vecs, vec_info = attribute_vectors(model, sub)
    model.attribute_vectors.copy_(vecs)
    held = evaluate(model, held_w)
    training = {
        "preset": state["preset"],
        "steps": state["step"],
        "seconds": round(state["seconds"], 1),
        "threads": state.get("threads", 1),
        "stop_reason": state.get("stop_reason"),
        "parameters": count_parameters(model),
        "data": {k: v for k, v in data_info.items() if k != "heldout_tune_ids"},
        "heldout": held,
        "attribute_vectors": {"windows": int(len(sub)), **vec_info},
        "last_log": state["log"][-1] if state.get("log") else None,
    }
    model.config.training = {k: training[k] for k in ("preset", "steps", "seconds", "parameters", "heldout")}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(out)  # fp16 on disk; the zoo builder casts back to float32
    (out / "training.json").write_text(json.dumps(training, indent=1) + "\n")
    if args.corpus and Path(args.corpus).is_dir():
        (out / "examples.json").write_text(json.dumps(heldout_examples(Path(args.corpus), data_info)) + "\n")
    (out / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in state.get("log", [])))
    print(json.dumps(held, indent=1))
    return 0


def data(args) -> int:
    info = build_windows(Path(args.corpus), Path(args.windows), args.heldout_fraction, args.seed)
    print(json.dumps({k: v for k, v in info.items() if k != "heldout_tune_ids"}, indent=1))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="hfmech melody-train", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data", help="windows from the parsed corpus (train / held-out split by tune)")
    d.add_argument("--corpus", default=".cache/melody/corpus")
    d.add_argument("--windows", default=".cache/melody/windows.npz")
    d.add_argument("--heldout-fraction", type=float, default=0.05)
    d.add_argument("--seed", type=int, default=0)
    f = sub.add_parser("fit", help="train (resumable)")
    f.add_argument("--windows", default=".cache/melody/windows.npz")
    f.add_argument("--run", default=".cache/melody/run")
    f.add_argument("--preset", default="cat-mel_2bar_cpu")
    f.add_argument("--batch-size", type=int, default=None)
    f.add_argument("--max-steps", type=int, default=20000)
    f.add_argument("--deadline", type=float, default=None, help="minutes of wall time for this invocation")
    f.add_argument("--checkpoint-minutes", type=float, default=5.0)
    f.add_argument("--log-every", type=int, default=50)
    f.add_argument("--eval-every", type=int, default=10, help="held-out evaluation every N log rows")
    f.add_argument("--eval-windows", type=int, default=256)
    f.add_argument("--threads", type=int, default=1)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument(
        "--mixed-precision", choices=("no", "bf16", "fp16"), default="no", help="accelerate's autocast"
    )
    f.add_argument("--cpu", action="store_true", help="stay on the CPU even where a GPU exists")
    f.add_argument("--no-accelerate", action="store_true", help="plain torch loop (one process)")
    e = sub.add_parser("export", help="held-out metrics, attribute vectors, fp16 weights")
    e.add_argument("--run", default=".cache/melody/run")
    e.add_argument("--windows", default=".cache/melody/windows.npz")
    e.add_argument("--out", required=True)
    e.add_argument("--attribute-windows", type=int, default=20000)
    e.add_argument("--corpus", default=".cache/melody/corpus", help="for examples.json (held-out tunes)")
    e.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    return {"data": data, "fit": fit, "export": export}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
