"""MusicVAE measurements (Roberts et al. 2018) on held-out windows: attribute vectors, latent vs data-space
interpolation, and speed (batched vs one-window-at-a-time decoding in the same run).

    python benchmarks/melody.py --model hfmech/melody/weights/musicvae-mel2bar-folk \\
        --windows .cache/melody/windows.npz --out benchmarks/results/melody.json

The held-out windows come from ``python -m hfmech.melody.train data`` (tunes never seen in training). Everything is
decoded greedily (arg-max) so numbers do not depend on a sampling seed; pairs and melodies are drawn with
``--seed``.

1. **Attribute vectors** (paper §5.3, never released): for each of ``--melodies`` held-out windows and each
   attribute, decode ``μ + α·v`` for α in ``linspace(-2, 2, 9)``, measure the attribute of the decoded melody, and
   take Spearman's ρ between α and the attribute; report the median ρ over melodies (and the mean attribute at
   α = −2, 0, 2, the fraction of melodies whose attribute never decreases along α, and the median number of α
   values tied at the melody's minimum — ties at a floor such as "no syncopated onset" cap ρ below 1).
2. **Interpolation** (paper §5.2 / Figure 5): ``--pairs`` held-out pairs, 9 points A → B (7 intermediate). Latent:
   greedy decodes of the slerp path between the two ``μ``. Data space: each step's event taken from B with
   probability α, else from A (seeded). Measured on the 7 intermediates: *plausibility* — the model's own greedy
   reconstruction accuracy of the melody (per step; and the fraction of melodies reconstructed at ≥ 90 %), which
   asks "does this look like what the model learned?"; *smoothness* — mean |Δ note density| between neighbours;
   *monotone* — Spearman ρ between α and the Hamming distance to A (median over pairs).
3. **Speed**: encode and decode (greedy, 32 steps) per window at batch 1 and batch 64, interleaved, same process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, write_report  # noqa: E402


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.all(y == y[0]):
        return 0.0
    return float(spearmanr(x, y).statistic)


@torch.no_grad()
def attribute_table(model, windows: np.ndarray, alphas: np.ndarray) -> dict:
    from hfmech.melody.dataset import ATTRIBUTES, attributes

    mu = model.encode(torch.from_numpy(windows))[0]
    table = {}
    for a, name in enumerate(ATTRIBUTES):
        v = model.attribute_vectors[a].float()
        values = np.zeros((len(windows), len(alphas)))
        for j, alpha in enumerate(alphas):
            dec = model.decode(mu + float(alpha) * v, greedy=True).numpy()
            values[:, j] = attributes(dec)[:, a]
        rhos = np.array([spearman(alphas, values[i]) for i in range(len(windows))])
        table[name] = {
            "median_rho": float(np.median(rhos)),
            "mean_rho": float(rhos.mean()),
            "fraction_rho_ge_0.9": float((rhos >= 0.9).mean()),
            "mean_at_alpha": {f"{al:g}": float(values[:, j].mean()) for j, al in enumerate(alphas)},
            # diagnostics beside ρ: a path that never decreases but sits at the attribute's floor (or ceiling) for
            # several α has tied values, which caps Spearman's ρ below 1 although it moves monotonically
            "fraction_monotone_nondecreasing": float(np.mean(np.all(np.diff(values, axis=1) >= 0, axis=1))),
            "median_alphas_tied_at_minimum": float(
                np.median(np.sum(values == values.min(axis=1, keepdims=True), axis=1))
            ),
            "vector_norm": float(v.norm()),
        }
    return table


@torch.no_grad()
def recon_accuracy(model, classes: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(classes)
    rec = model.decode(model.encode(x)[0], greedy=True)
    return (rec == x).float().mean(1).numpy()


@torch.no_grad()
def interpolation_study(model, windows: np.ndarray, pairs: int, rng: np.random.Generator) -> dict:
    from hfmech.latent import interpolation_path
    from hfmech.melody.dataset import attributes

    alphas = np.linspace(0, 1, 9)
    idx = rng.choice(len(windows), size=(pairs, 2), replace=2 * pairs > len(windows))
    results = {"latent": {"acc": [], "smooth": [], "mono": []}, "data": {"acc": [], "smooth": [], "mono": []}}
    for i, j in idx:
        a, b = windows[i], windows[j]
        za, zb = model.encode(torch.from_numpy(np.stack([a, b])))[0]
        path = interpolation_path(za, zb, len(alphas), method="slerp")
        latent = model.decode(path, greedy=True).numpy()
        data = np.stack([np.where(rng.random(32) < al, b, a) for al in alphas])
        for name, seq in (("latent", latent), ("data", data)):
            inner = seq[1:-1]
            results[name]["acc"].extend(recon_accuracy(model, inner).tolist())
            density = attributes(seq)[:, 0]
            results[name]["smooth"].append(float(np.abs(np.diff(density)).mean()))
            results[name]["mono"].append(spearman(alphas, (seq != a).mean(1)))
    out = {}
    for name, r in results.items():
        acc = np.array(r["acc"])
        out[name] = {
            "plausibility_mean_reconstruction_accuracy": float(acc.mean()),
            "fraction_reconstructed_ge_90pct": float((acc >= 0.9).mean()),
            "smoothness_mean_abs_delta_note_density": float(np.mean(r["smooth"])),
            "monotone_hamming_to_a_median_rho": float(np.median(r["mono"])),
        }
    out["pairs"] = int(pairs)
    out["endpoints_reconstruction_accuracy"] = float(recon_accuracy(model, windows[idx.reshape(-1)]).mean())
    return out


@torch.no_grad()
def interpolation_figure(model, windows: np.ndarray, pair: tuple[int, int], path, seed: int = 0) -> None:
    """Piano rolls of one held-out pair: latent (slerp) path beside the data-space path, 9 rows each."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from hfmech.latent import interpolation_path
    from hfmech.melody.data import classes_to_events, events_to_notes

    rng = np.random.default_rng(seed)
    alphas = np.linspace(0, 1, 9)
    a, b = windows[pair[0]], windows[pair[1]]
    za, zb = model.encode(torch.from_numpy(np.stack([a, b])))[0]
    latent = model.decode(interpolation_path(za, zb, 9, method="slerp"), greedy=True).numpy()
    data = np.stack([np.where(rng.random(32) < al, b, a) for al in alphas])
    fig = Figure(figsize=(10, 9), dpi=100)
    axes = fig.subplots(9, 2, sharex=True)
    pitches = [p for seq in (latent, data) for row in classes_to_events(seq) for p in row[row >= 0]]
    lo, hi = (min(pitches) - 1, max(pitches) + 1) if pitches else (55, 80)
    for col, (title, seq) in enumerate(
        (("latent space (slerp between the two μ)", latent), ("data space", data))
    ):
        for r in range(9):
            ax = axes[r, col]
            for start, end, pitch in events_to_notes(classes_to_events(seq[r])):
                ax.add_patch(Rectangle((start / 16, pitch - 0.4), (end - start) / 16, 0.8, color="#3b6ea8"))
            ax.set_xlim(0, 2)
            ax.set_ylim(lo, hi)
            ax.set_yticks([])
            ax.axvline(1, color="#999", lw=0.5)
            if col == 0:
                ax.set_ylabel(f"α={alphas[r]:.2f}", rotation=0, ha="right", va="center", fontsize=8)
        axes[0, col].set_title(title, fontsize=10)
        axes[-1, col].set_xlabel("bar")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


@torch.no_grad()
def speed(model, windows: np.ndarray, repeats: int) -> dict:
    x64 = torch.from_numpy(windows[:64])
    out = {}
    for batch in (1, 64):
        x = x64[:batch]
        enc, dec = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            mu = model.encode(x)[0]
            enc.append((time.perf_counter() - t) / batch)
            t = time.perf_counter()
            model.decode(mu, greedy=True)
            dec.append((time.perf_counter() - t) / batch)
        out[f"batch_{batch}"] = {
            "encode_ms_per_window": 1000 * float(np.median(enc)),
            "decode_ms_per_window": 1000 * float(np.median(dec)),
        }
    out["decode_speedup_batch64_vs_batch1"] = (
        out["batch_1"]["decode_ms_per_window"] / out["batch_64"]["decode_ms_per_window"]
    )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="hfmech/melody/weights/musicvae-mel2bar-folk")
    ap.add_argument("--windows", default=".cache/melody/windows.npz")
    ap.add_argument("--melodies", type=int, default=100)
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/melody.json")
    ap.add_argument(
        "--figure",
        default=None,
        help="also draw one latent-vs-data interpolation (e.g. docs/figures/melody_interpolation.png)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import hfmech  # noqa: F401  (registers the model type)
    from hfmech.melody.dataset import load_windows
    from hfmech.melody.modeling_music_vae import MusicVAEModel

    model = MusicVAEModel.from_pretrained(args.model, dtype=torch.float32).float().eval()
    _, held, info = load_windows(Path(args.windows))
    rng = np.random.default_rng(args.seed)
    melodies = held[rng.choice(len(held), size=min(args.melodies, len(held)), replace=False)]
    alphas = np.linspace(-2, 2, 9)
    t0 = time.time()
    report = {
        "machine": machine_info(args.threads),
        "model": args.model,
        "heldout_windows": int(len(held)),
        "attribute_vectors": {
            "melodies": int(len(melodies)),
            "alphas": alphas.tolist(),
            **attribute_table(model, melodies, alphas),
        },
        "interpolation": interpolation_study(model, held, args.pairs, rng),
        "speed": speed(model, held, args.repeats),
    }
    report["seconds"] = round(time.time() - t0, 1)
    if args.figure:
        pick = np.random.default_rng(args.seed + 1).choice(len(held), size=2, replace=False)
        interpolation_figure(model, held, (int(pick[0]), int(pick[1])), Path(args.figure), seed=args.seed)
        report["figure"] = args.figure
    write_report(args.out, report)
    print("| attribute | median ρ | ρ ≥ 0.9 | mean at α=−2 | α=0 | α=+2 | never decreasing | α tied at min |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in report["attribute_vectors"].items():
        if isinstance(row, dict) and "median_rho" in row:
            m = row["mean_at_alpha"]
            print(
                f"| {name} | {row['median_rho']:.2f} | {100 * row['fraction_rho_ge_0.9']:.0f} % | "
                f"{m['-2']:.3f} | {m['0']:.3f} | {m['2']:.3f} | "
                f"{100 * row['fraction_monotone_nondecreasing']:.0f} % | {row['median_alphas_tied_at_minimum']:g} |"
            )
    print()
    print("| interpolation | plausibility (recon. acc.) | recon. ≥ 90 % | mean abs Δ density | monotone ρ |")
    print("|---|---|---|---|---|")
    for name in ("latent", "data"):
        r = report["interpolation"][name]
        print(
            f"| {name} | {100 * r['plausibility_mean_reconstruction_accuracy']:.1f} % | "
            f"{100 * r['fraction_reconstructed_ge_90pct']:.0f} % | {r['smoothness_mean_abs_delta_note_density']:.3f} | "
            f"{r['monotone_hamming_to_a_median_rho']:.2f} |"
        )
    print(
        f"\nendpoints reconstruction accuracy {100 * report['interpolation']['endpoints_reconstruction_accuracy']:.1f} %"
    )
    print(report["speed"])
    print(f"{report['seconds']} s; {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
