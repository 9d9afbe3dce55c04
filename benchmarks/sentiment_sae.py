"""A TopK sparse autoencoder on the sentiment unit's site of SmolLM2-135M (layer 14's MLP hidden activations, 1,536
wide), trained on CPU, and the one feature that best reads sentiment (issue 19 §2).

1. ``collect``: the site's activations at every token of the first ``--reviews`` IMDB *unsup* reviews (each cut to
   its first ``--tokens`` tokens), float16 ``(N_tokens, 1536)`` to ``WORK/acts.npy``; the forward pass stops at the
   site.
2. ``train``: :func:`hfmech.sentiment.sae.train_sae` (TopK, ``--latents`` = 8 × 1,536, ``--k``) on all but the last
   ``--holdout`` tokens, bounded by ``--max-seconds``; FVU on the held-out tokens; the feature that best reads
   SST-2 train at the last token (exact threshold), its accuracy on SST-2 dev/test, the IMDB test sample and the CR
   sample (features from ``discover_lm featurize`` / ``sentiment_steering.py prep``); the feature's decoder row is
   written as a :class:`~hfmech.sentiment.steering.SteeringVector` for steering.

    python benchmarks/sentiment_sae.py collect --data ../shared/data --work /tmp/sae
    python benchmarks/sentiment_sae.py train --work /tmp/sae --feats FEATS --steer-work /tmp/steer
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import machine_info, write_report  # noqa: E402
from hfmech.hub.files import atomic_path  # noqa: E402

LAYER, SITE = 14, "mlp"


def collect(args) -> None:
    import pyarrow.parquet as pq

    from hfmech.sentiment.lm_neuron import _StopForward, resolve_site
    from hfmech.sentiment.zoo_smollm2 import load_smollm2

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    texts = pq.read_table(Path(args.data) / "imdb" / "unsup.parquet", columns=["text"]).column("text")
    texts = [t.replace("<br />", " ") for t in texts.slice(0, args.reviews).to_pylist()]
    model, tok = load_smollm2(args.model)
    site = resolve_site(model, LAYER, SITE)
    grabbed = {}

    def hook(_m, a):
        grabbed["x"] = a[0]
        raise _StopForward

    handle = site.module.register_forward_pre_hook(hook)
    tok.padding_side = "right"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    chunks, n, t0 = [], 0, time.time()
    with torch.no_grad():
        for s in range(0, len(texts), args.batch_size):
            enc = tok(
                texts[s : s + args.batch_size],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=args.tokens,
            )
            with contextlib.suppress(_StopForward):
                model(**enc, use_cache=False)
            x = grabbed["x"][enc["attention_mask"].bool()]  # (tokens, 1536)
            chunks.append(x.half().numpy())
            n += len(x)
            if (s // args.batch_size) % 5 == 4 or s + args.batch_size >= len(texts):
                # saved as it goes: a run stopped early keeps every review read so far
                _save(work, chunks, s + args.batch_size, args.tokens, time.time() - t0)
                print(f"{s + args.batch_size} reviews, {n:,} tokens, {time.time() - t0:.0f}s", flush=True)
    handle.remove()


def _save(work: Path, chunks: list, reviews: int, tokens: int, seconds: float) -> None:
    acts = np.concatenate(chunks)
    with atomic_path(work / "acts.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, acts)
    info = {"reviews": reviews, "tokens": int(len(acts)), "max_tokens_per_review": tokens, "seconds": seconds}
    (work / "acts.json").write_text(json.dumps(info))


def _eval_sets(feats: Path, steer_work: Path) -> dict:
    sets = {}
    for name in ("sst2-train", "sst2-dev", "sst2-test", "imdb-test"):
        X = np.load(feats / name / "mlp-last.npy", mmap_mode="r")[:, LAYER, :].astype(np.float32)
        sets[name] = (X, np.load(feats / name / "labels.npy"))
    cr = steer_work / "cr-mlp-last-L14.npz"
    if cr.is_file():
        z = np.load(cr)
        sets["cr"] = (z["X"], z["y"])
    return sets


def train(args) -> None:
    from hfmech.sentiment.sae import best_reading_feature, fvu, train_sae
    from hfmech.sentiment.steering import SteeringVector

    torch.manual_seed(0)
    work = Path(args.work)
    acts = torch.from_numpy(np.load(work / "acts.npy"))
    train_x, held = acts[: -args.holdout], acts[-args.holdout :]
    sae, report = train_sae(
        train_x,
        n_latents=args.latents,
        k=args.k,
        batch_size=args.batch_size,
        lr=args.lr,
        epochs=args.epochs,
        max_seconds=args.max_seconds,
        log=lambda m: print(m, flush=True),
        select_dtype=torch.bfloat16 if args.bf16_select else torch.float32,
    )
    report["heldout_tokens"] = int(len(held))
    report["heldout_fvu"] = fvu(sae, held)
    report["collection"] = json.loads((work / "acts.json").read_text())
    sae.save(work / "sae.safetensors", {"layer": LAYER, "site": SITE})
    sets = _eval_sets(Path(args.feats), Path(args.steer_work))
    Xtr, ytr = sets["sst2-train"]
    f, pol, thr, train_acc, _ = best_reading_feature(sae, Xtr, ytr)
    reading = {"sst2-train": train_acc}
    with torch.no_grad():
        for name, (X, y) in sets.items():
            if name == "sst2-train":
                continue
            z = sae.encode(torch.from_numpy(np.asarray(X, dtype=np.float32)))[:, f].numpy()
            reading[name] = float(((pol * (z - thr) > 0).astype(int) == y).mean())
            reading[f"{name}-n"] = int(len(y))
        # how often the feature fires on SST-2 train at the last token
        z_tr = sae.encode(torch.from_numpy(Xtr))[:, f].numpy()
    report["feature"] = {
        "index": f,
        "polarity": pol,
        "threshold": thr,
        "fires_on_sst2_train": float((z_tr > 0).mean()),
        "reading": reading,
    }
    # the decoder row, signed so that adding it pushes towards positive
    vec = SteeringVector(
        sae.W_dec[f].detach().float() * pol, LAYER, SITE, threshold=0.0, polarity=1, name="sae"
    )
    vec.save(Path(args.steer_work) / "sae_feature.safetensors")
    report["machine"] = machine_info(threads=torch.get_num_threads())
    write_report(REPO / "benchmarks" / "results" / "sentiment_sae.json", report)
    print(json.dumps(report, indent=1))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--data", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--model", default=None, help="smollm2-135m-sentiment folder (default: the zoo's)")
    c.add_argument("--reviews", type=int, default=1600)
    c.add_argument("--tokens", type=int, default=128)
    c.add_argument("--batch-size", type=int, default=16)
    t = sub.add_parser("train")
    t.add_argument("--work", required=True)
    t.add_argument("--feats", required=True)
    t.add_argument("--steer-work", required=True)
    t.add_argument("--latents", type=int, default=8 * 1536)
    t.add_argument("--k", type=int, default=32)
    t.add_argument("--batch-size", type=int, default=4096)
    t.add_argument("--lr", type=float, default=4e-4)
    t.add_argument("--epochs", type=float, default=4.0)
    t.add_argument("--holdout", type=int, default=8192)
    t.add_argument("--max-seconds", type=float, default=1200)
    t.add_argument(
        "--bf16-select", action="store_true", help="choose the top-k latents with a bfloat16 matmul"
    )
    for q in (c, t):
        q.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    {"collect": collect, "train": train}[args.cmd](args)


if __name__ == "__main__":
    main()
