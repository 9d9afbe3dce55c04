"""Perception Engines transfer study: drawings vs PGD adversarial examples, judged by held-out Coral MobileNets.

Tom White's claim ("Perception Engines", 2018; "Shared Visual Abstractions", 2019): images optimised against a
*training* ensemble are read as the target by *held-out* classifiers when they are drawings made in a constrained
drawing system, but not when they are small adversarial perturbations of photos. Both kinds of image are made here
on the SAME training ensemble (EfficientNet-Lite0 + Lite2, mean log-probability) and judged by the four Coral
MobileNets (``hfmech.vision.zoo_coral``), which took no part in either optimisation.

Phases (each resumable; intermediate files under ``--work``, default ``.cache/perception_transfer/``):

1. ``pgd``: targeted L-inf PGD (eps 4/255, step 1/255) on the sample photos of ``../shared/data/images`` (centre
   square, 224 px), photo ``i mod 12`` attacked towards class ``i``; the clean photos are judged too
   (the baseline rate at which a judge already sees the target in the unperturbed photo).
2. ``draw``: one drawing per class from ``PerceptionEnginePipeline`` (task ``perception-engine``) with the training
   ensemble only; the settings actually used are recorded in the JSON.
3. ``evaluate``: :func:`hfmech.perception.transfer.evaluate_transfer` on the drawings, the adversarial photos and
   the clean photos, with the training members and the held-out judges; JSON + figures.

Run (from the repository root; the Coral files from ``HFMECH_CORAL_DIR`` or downloaded by the zoo)::

    HFMECH_CORAL_DIR=../shared/data/models/coral-mobilenet python benchmarks/perception_transfer.py \\
        --out benchmarks/results/perception_transfer.json --figures docs/figures

Not a timing benchmark: the ratio it reports is the held-out top-5 rate of drawings over that of PGD examples made
on the same ensemble in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "data" / "images"

CLASSES = [
    "electric fan", "binoculars", "tick", "cello", "hammerhead", "iron", "jack-o'-lantern", "lighthouse", "volcano",
    "stethoscope", "tricycle", "umbrella", "banana", "strawberry", "goldfish", "flamingo", "starfish", "pinwheel",
    "traffic light", "hourglass",
]  # fmt: skip


def _training_entries(args) -> dict[str, str]:
    """``{member: zoo entry}`` of ``--training-members`` (``lite1`` or ``efficientnet-lite1``; default Lite0 + Lite2)."""
    from hfmech.perception.zoo_ensemble import training_member_entries

    names = None
    if args.training_members:
        names = [
            m if m.startswith("efficientnet-") else f"efficientnet-{m}"
            for m in args.training_members.split(",")
        ]
    try:
        return training_member_entries(names)
    except ValueError as err:
        raise SystemExit(f"--training-members: {err}") from None


def _training_members(args):
    from transformers import AutoModelForImageClassification

    from hfmech.hub import zoo

    return {
        k: AutoModelForImageClassification.from_pretrained(zoo.build(entry)).eval()
        for k, entry in _training_entries(args).items()
    }


def _photos(size: int) -> tuple[list[str], torch.Tensor]:
    from hfmech.vision.image_io import image_to_tensor, load_image

    names, tensors = [], []
    for path in sorted(IMAGES.iterdir()):
        if path.suffix.lower() not in (".jpg", ".png"):
            continue
        im = load_image(path)
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((size, size))
        names.append(path.name)
        tensors.append(image_to_tensor(im))
    return names, torch.cat(tensors)


PGD_FILE = "pgd.safetensors"


def _save_pgd(path: Path, clean: torch.Tensor, adversarial: torch.Tensor, classes: list[int], **meta) -> None:
    """The PGD phase's images ``(N, 3, 224, 224)`` and targets as safetensors; the rest as JSON metadata."""
    from safetensors.torch import save_file

    from hfmech.hub.files import atomic_path

    tensors = {
        "clean": clean.contiguous(),
        "adversarial": adversarial.contiguous(),
        "classes": torch.tensor(classes, dtype=torch.int64),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta)})


def _load_pgd(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        out = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
        meta = json.loads(f.metadata()["meta"])
    return {**meta, **out, "classes": out["classes"].tolist()}


def phase_pgd(args, work: Path) -> None:
    from hfmech.perception.transfer import MeanLogProbEnsemble, pgd_attack, resolve_classes
    from hfmech.vision.fusion import fold_batchnorm

    if (work / PGD_FILE).is_file():
        print("pgd: already done")
        return
    names, photos = _photos(224)
    classes = resolve_classes(CLASSES[: args.classes], args.classes)
    x0 = torch.stack([photos[i % len(photos)] for i in range(len(classes))])
    sources = [names[i % len(names)] for i in range(len(classes))]
    # BatchNorm folded: the same function, faster on CPU
    members = {k: fold_batchnorm(m) for k, m in _training_members(args).items()}
    ensemble = MeanLogProbEnsemble(members)
    t0 = time.time()
    adv = pgd_attack(
        ensemble, x0, classes, epsilon=args.epsilon, step_size=args.pgd_step, steps=args.pgd_steps
    )
    seconds = time.time() - t0
    _save_pgd(
        work / PGD_FILE,
        x0,
        adv,
        classes,
        sources=sources,
        seconds=seconds,
        epsilon=args.epsilon,
        step_size=args.pgd_step,
        steps=args.pgd_steps,
    )
    print(f"pgd: {len(classes)} images x {args.pgd_steps} steps in {seconds:.0f} s", flush=True)


def _palette_arg(text: str):
    """``--palette``: ``"10"`` -> 10 (a size), ``"#000000,#c8102e"`` -> a list of colours."""
    return int(text) if text.strip().isdigit() else [c.strip() for c in text.split(",") if c.strip()]


def phase_draw(args, work: Path) -> None:
    from hfmech.hub.files import write_json_atomic, write_text_atomic
    from hfmech.perception.pipeline_perception_engine import PerceptionEnginePipeline
    from hfmech.perception.zoo_ensemble import build_ensemble
    from hfmech.vision.image_io import save_image_atomic

    training_members = list(_training_entries(args))
    model, _ = build_ensemble(judges=False, training=training_members)
    engine = PerceptionEnginePipeline(model=model)
    # only what the command line sets; everything else is the pipeline's default (the JSON records the settings
    # each drawing was actually made with)
    settings = {
        k: v
        for k, v in {
            "steps": args.steps,
            "learning_rate": args.learning_rate,
            "views": args.views,
            "size": args.size,
            "resolution": args.resolution,
            "stop_probability": args.stop_probability,
            "strokes": args.strokes,
            "blobs": args.blobs,
            "palette": args.palette,
        }.items()
        if v is not None
    }

    def agreed(record) -> bool:
        return all(rank == 1 for rank in record["training_ranks"].values())

    def worst(record) -> float:
        return min(record["training_scores"].values())

    for k, name in enumerate(CLASSES[: args.classes]):
        if args.deadline is not None and time.time() > args.deadline:
            print(f"draw: deadline reached, {k} of {args.classes} classes drawn", flush=True)
            break
        stem = f"{k:02d}_{name.replace(' ', '_').replace(chr(39), '')}"
        path = work / f"{stem}.json"
        kept = json.loads(path.read_text()) if path.is_file() else None
        summary_keys = ("seed", "steps", "seconds", "training_scores", "training_ranks")
        if kept is not None:
            kept.setdefault("seed", args.seed + k)  # records written before restarts existed
        attempts = (kept or {}).get("attempts") or (
            [{key: kept[key] for key in summary_keys}] if kept else []
        )
        # restarts (the study's protocol, not the pipeline's): while no attempt has every *training* member rank
        # the target first, draw again from a new seed, up to --restarts attempts; keep the attempt whose least
        # convinced training member gives the target the highest probability. The held-out judges are never used.
        while len(attempts) < max(1, args.restarts) and not (kept is not None and agreed(kept)):
            seed = args.seed + k + 1000 * len(attempts)
            out = engine(name, seed=seed, progress=False, **settings)
            record = {
                "class": name,
                "index": out["target"]["index"],
                "seed": seed,
                "steps": out["steps"],
                "stopped": out["stopped"],
                "seconds": out["seconds"],
                "training_scores": out["scores"]["training"],
                "training_ranks": out["ranks"]["training"],
                "settings": settings,
                "training_members": training_members,
                "effective_settings": out["settings"],
                "loadavg": os.getloadavg(),
            }
            summary = {key: record[key] for key in summary_keys}
            attempts = [*attempts, summary]
            if kept is None or worst(record) > worst(kept):
                save_image_atomic(out["image"], work / f"{stem}.png")
                write_text_atomic(work / f"{stem}.svg", out["svg"])
                kept = record
            kept["attempts"] = attempts
            write_json_atomic(path, kept)
            print(
                f"draw {stem} (attempt {len(attempts)}, seed {seed}): {out['steps']} steps, {out['seconds']:.0f} s, "
                f"p_train={out['scores']['training']}",
                flush=True,
            )


def phase_validate(args, work: Path) -> None:
    """The judges' conversion: float model vs the numpy reference of the TFLite graph, vs uint8-emulated activations,
    and top-1 on the sample photos."""
    from hfmech.hub.files import write_json_atomic
    from hfmech.perception.transfer import DEFAULT_JUDGES, load_judges
    from hfmech.vision.convert_mobilenet import emulate_uint8_activations
    from hfmech.vision.modeling_mobilenet import normalize, preprocess
    from hfmech.vision.tflite_reader import read_tflite, run_reference
    from hfmech.vision.zoo_coral import CORAL_MODELS, coral_file

    photos = sorted(p for p in IMAGES.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    judges = load_judges(DEFAULT_JUDGES)
    out: dict = {"photos": [p.name for p in photos], "judges": {}}
    for name, model in judges.items():
        graph = read_tflite(coral_file(CORAL_MODELS[name][0]))
        pixels = preprocess(photos, model.config.image_size)
        x = normalize(model, pixels)
        with torch.no_grad():
            probs = model(pixel_values=x).logits_with_background.double().softmax(-1)
            with emulate_uint8_activations(model, graph):
                xq = normalize(model, torch.round(pixels * 255) / 255)
                emulated = model(pixel_values=xq).logits.argmax(-1)
        reference = run_reference(graph, x[:2].permute(0, 2, 3, 1).numpy())
        top1 = probs[:, 1:].argmax(-1)
        out["judges"][name] = {
            "max_abs_prob_diff_vs_numpy_reference": float(abs(probs[:2].numpy() - reference).max()),
            "top1": [model.config.id2label[int(i)].split(",")[0] for i in top1],
            "top1_prob": [round(float(probs[i, 1 + int(c)]), 3) for i, c in enumerate(top1)],
            "top1_agreement_with_uint8_emulation": float((top1 == emulated).float().mean()),
        }
        print(f"validate {name}: {out['judges'][name]}", flush=True)
    write_json_atomic(work / "validation.json", out)


def phase_evaluate(args, work: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hfmech.perception.transfer import DEFAULT_JUDGES, _save_figure, evaluate_transfer, load_judges
    from hfmech.vision.image_io import image_to_tensor, load_image

    records = sorted(work.glob("[0-9][0-9]_*.json"))
    judges = load_judges(DEFAULT_JUDGES)
    training = _training_members(args)
    result: dict = {
        "claim": "drawings transfer to held-out judges; PGD examples made on the same ensemble do not",
        "training_members": list(training),
    }
    if (work / "validation.json").is_file():
        result["judges_validation"] = json.loads((work / "validation.json").read_text())

    if records:
        meta = [json.loads(p.read_text()) for p in records]
        drawings = torch.cat([image_to_tensor(load_image(p.with_suffix(".png"))) for p in records])
        classes = [m["index"] for m in meta]
        held = evaluate_transfer(drawings, classes, judges, json_path=work / "drawings_judges.json")
        train = evaluate_transfer(drawings, classes, training)
        result["drawings"] = {
            "n": len(meta),
            "settings": meta[0]["settings"],
            "effective_settings": meta[0].get("effective_settings"),
            "stopped": [m["stopped"] for m in meta],
            "loadavg_per_drawing": [m.get("loadavg") for m in meta],
            "steps_run": [m["steps"] for m in meta],
            "seconds": [round(m["seconds"], 1) for m in meta],
            "attempts": [len(m.get("attempts") or [m]) for m in meta],
            "seeds_kept": [m.get("seed") for m in meta],
            "seconds_all_attempts": [
                round(sum(a["seconds"] for a in (m.get("attempts") or [m])), 1) for m in meta
            ],
            "held_out": held.to_dict(),
            "training": train.to_dict(),
        }
    if (work / PGD_FILE).is_file():
        pgd = _load_pgd(work / PGD_FILE)
        adv_held = evaluate_transfer(pgd["adversarial"], pgd["classes"], judges)
        adv_train = evaluate_transfer(pgd["adversarial"], pgd["classes"], training)
        clean_held = evaluate_transfer(pgd["clean"], pgd["classes"], judges)
        clean_train = evaluate_transfer(pgd["clean"], pgd["classes"], training)
        linf = float((pgd["adversarial"] - pgd["clean"]).abs().max())
        result["pgd"] = {
            "n": len(pgd["classes"]),
            "epsilon": pgd["epsilon"],
            "step_size": pgd["step_size"],
            "steps": pgd["steps"],
            "measured_linf": linf,
            "seconds": round(pgd["seconds"], 1),
            "sources": pgd["sources"],
            "held_out": adv_held.to_dict(),
            "training": adv_train.to_dict(),
            "clean_held_out": {"top1_rate": clean_held.top1_rate, "top5_rate": clean_held.top5_rate},
            "clean_training": {"top1_rate": clean_train.top1_rate, "top5_rate": clean_train.top5_rate},
        }
    summary = {}
    for kind in ("drawings", "pgd"):
        if kind in result:
            summary[kind] = {
                "training_top1": result[kind]["training"]["top1_rate"],
                "training_top5": result[kind]["training"]["top5_rate"],
                "held_out_top1": result[kind]["held_out"]["top1_rate"],
                "held_out_top5": result[kind]["held_out"]["top5_rate"],
            }
    if "drawings" in summary and "pgd" in summary:
        base = summary["pgd"]["held_out_top5"]
        summary["held_out_top5_ratio_drawings_over_pgd"] = (
            summary["drawings"]["held_out_top5"] / base if base > 0 else None
        )
    result["summary"] = summary

    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    panels = [(k, result[k]) for k in ("drawings", "pgd") if k in result]
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 6.2))
        axes = [axes] if len(panels) == 1 else list(axes)
        for ax, (kind, block) in zip(axes, panels):
            r = block["held_out"]
            import numpy as np

            from hfmech.perception.transfer import TransferResult

            res = TransferResult(
                r["classes"],
                r["class_names"],
                r["judges"],
                np.array(r["top1"], bool),
                np.array(r["top5"], bool),
                np.array(r["target_prob"]),
                np.array(r["rank"]),
            )
            title = ("drawings" if kind == "drawings" else f"PGD eps={block['epsilon'] * 255:.0f}/255") + (
                f": target in held-out top-5 {res.top5_rate:.0%}"
            )
            res.plot(ax=ax, title=title)
        fig.suptitle("p(target) by held-out Coral judges (number = rank of the target)", fontsize=9)
        fig.tight_layout()
        _save_figure(fig, figures / "perception_transfer_heatmap.png", dpi=100)
        plt.close(fig)
    if records:
        n = len(records)
        cols = 5
        rows = -(-n // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.7, rows * 1.9))
        held = result["drawings"]["held_out"]
        for ax in axes.flat:
            ax.axis("off")
        for k, (ax, p) in enumerate(zip(axes.flat, records)):
            ax.imshow(load_image(p.with_suffix(".png")))
            hits = sum(held["top5"][k])
            ax.set_title(f"{held['class_names'][k].split(',')[0]}\njudges top-5: {hits}/4", fontsize=7)
        fig.tight_layout()
        _save_figure(fig, figures / "perception_transfer_drawings.jpg", dpi=90, pil_kwargs={"quality": 85})
        plt.close(fig)
    if "pgd" in result:  # ``pgd`` is the file loaded for the evaluation above
        k = min(4, len(pgd["classes"]))
        fig, axes = plt.subplots(2, k, figsize=(k * 2.0, 4.3))
        r = result["pgd"]
        for i in range(k):
            for row, key in enumerate(("clean", "adversarial")):
                ax = axes[row, i]
                ax.imshow(pgd[key][i].permute(1, 2, 0).numpy())
                ax.axis("off")
                if row == 1:
                    t = r["training"]["target_prob"][i]
                    h = r["held_out"]["top5"][i]
                    ax.set_title(
                        f"-> {r['held_out']['class_names'][i].split(',')[0]}\n"
                        f"p_train={sum(t) / len(t):.2f}, judges top-5 {sum(h)}/4",
                        fontsize=7,
                    )
                else:
                    ax.set_title(pgd["sources"][i], fontsize=7)
        fig.tight_layout()
        _save_figure(fig, figures / "perception_transfer_pgd.jpg", dpi=90, pil_kwargs={"quality": 85})
        plt.close(fig)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "perception_transfer.json"))
    parser.add_argument("--work", default=str(REPO / ".cache" / "perception_transfer"))
    parser.add_argument(
        "--deadline-minutes",
        type=float,
        default=None,
        help="start no new drawing after this many minutes (the JSON records how many were made)",
    )
    parser.add_argument("--figures", default=str(REPO / "docs" / "figures"))
    parser.add_argument("--phases", default="validate,pgd,draw,evaluate")
    parser.add_argument("--classes", type=int, default=len(CLASSES))
    # drawing settings: unset = the pipeline's default (model.config.perception_engine)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--views", type=int, default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--strokes", type=int, default=None)
    parser.add_argument("--blobs", type=int, default=None)
    parser.add_argument("--stop-probability", type=float, default=None)
    parser.add_argument(
        "--palette",
        type=_palette_arg,
        default=None,
        help="inks: a count (the first N of the default inks, e.g. 10 adds orange, violet, grey, white) or "
        "comma-separated colours (default: the pipeline's 10)",
    )
    parser.add_argument(
        "--training-members",
        default=None,
        help="comma-separated training ensemble, e.g. lite0,lite1,lite2 (default: the zoo ensemble's, Lite0 + Lite2)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--restarts",
        type=int,
        default=1,
        help="attempts per class (new seed each) until every training member ranks the target first; the attempt "
        "with the highest least-member p(target) is kept (default 1: no restarts)",
    )
    parser.add_argument("--epsilon", type=float, default=4 / 255)
    parser.add_argument("--pgd-step", type=float, default=1 / 255)
    parser.add_argument("--pgd-steps", type=int, default=20)
    args = parser.parse_args(argv)
    if not IMAGES.is_dir():
        print(f"sample photos not found at {IMAGES}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", category=UserWarning)
    import hfmech  # noqa: F401  (registers models and zoo entries)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    phases = args.phases.split(",")
    t0 = time.time()
    args.deadline = t0 + 60 * args.deadline_minutes if args.deadline_minutes else None
    if "validate" in phases:
        phase_validate(args, work)
    if "pgd" in phases:
        phase_pgd(args, work)
    if "draw" in phases:
        phase_draw(args, work)
    if "evaluate" in phases:
        result = phase_evaluate(args, work)
        result["machine"] = {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "loadavg": os.getloadavg(),
            "python": platform.python_version(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        result["evaluate_seconds"] = round(time.time() - t0, 1)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        from hfmech.hub.files import write_json_atomic

        write_json_atomic(out, result)
        print(json.dumps(result["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
