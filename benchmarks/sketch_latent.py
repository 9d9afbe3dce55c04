"""Latent-space measurements of a trained sketch-rnn (issue 20 §3): interpolation smoothness vs naive stroke
interpolation, and attribute vectors (Spearman ρ of the decoded attribute over the strength α).

- **Interpolation**: ``--pairs`` random test pairs; ``--steps`` codes on the slerp path between their ``μ``s,
  decoded (temperature 0.1, every step with the same random numbers — the pipeline's
  ``interpolate``; and greedily). A step is *monotone* when the distance to
  the first decode does not fall and the distance to the last does not rise; we report the fraction of monotone
  steps for two distances, and the same for the naive path (absolute points of both drawings resampled to one
  length and linearly interpolated, pen states from the nearer end), which is smooth by construction and so checks
  the distance itself:

  - *stroke space* (the primary measure): the pen's path through each drawing in drawing order (pen-up moves
    included), resampled to 128 points by
    arc length and centred on its bounding box; distance = mean L2 between corresponding points (data units).
    The naive path is monotone under it in 99.4 % of steps.
  - *raster*: L2 between Gaussian-blurred 64-px rasters, each drawing fitted to the box. It saturates once two
    drawings stop overlapping and rescales every drawing, so even the naive path is monotone in only ~75 % of steps
    under it; reported for comparison.

  Plausibility: the model's L_R (eval mode, ``z = μ`` of the drawing itself) of the intermediate
  drawings, beside that of real test drawings — lower means more like the data the model knows.
- **Reconstruction**: the decodes of ``z = μ`` of the first drawing of each pair; top-1 = the fraction whose nearest
  input (same raster distance) among those ``--pairs`` drawings is their own.
- **Attributes**: strokes (pen lifts), aspect (log width/height), ink (pen-down path length). For each, the vector
  is mean ``μ`` of the training drawings in the top quartile minus the bottom quartile (``hfmech.latent``; every
  training drawing by default, ``--train-encode N`` for a random subset); for
  ``--sketches`` test drawings, ``z + α v`` for α ∈ {−2, −1.5, …, 2} is decoded (temperature 0.1, the same random
  numbers for every α — the pipeline's ``attribute``) and Spearman's ρ between α and the decoded attribute is computed; we report the median over drawings and
  the fraction with ρ ≥ 0.9.
- **Analogies** ``a : b :: c : ?`` where ``b`` is a known edit of ``a`` — stretched ×1.6 horizontally, or with an
  underline stroke added — and ``c`` another test drawing: success when the edited attribute (aspect, stroke count)
  of ``decode(z_c + z_b − z_a)`` exceeds that of ``decode(z_c)`` (same seed); ``--pairs`` triples each.

Writes ``latent.json`` (vectors + numbers + a one-line summary) into the weights folder the zoo entry reads, and
prints the JSON. ``--write-examples`` rewrites ``hfmech/sketch/examples.json`` from the test split.

    python benchmarks/sketch_latent.py --weights hfmech/sketch/weights/sketch-rnn-omniglot \\
        --data ../shared/data/strokes/omniglot.stroke3.npz
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from hfmech.hub.files import write_json_atomic
from hfmech.sketch import render
from hfmech.sketch import strokes as S
from hfmech.sketch.modeling_sketch_rnn import SketchRNNModel
from hfmech.sketch.pipeline_sketch_vae import SketchVAEPipeline

ALPHAS = np.linspace(-2, 2, 9)


# ------------------------------------------------------------------------------------------- drawing attributes
def n_strokes(s: np.ndarray) -> float:
    return float(np.asarray(s)[:, 2].sum())


def aspect(s: np.ndarray) -> float:
    xy = np.cumsum(np.asarray(s, dtype=np.float64)[:, :2], axis=0)
    w, h = np.ptp(xy[:, 0]) + 1e-3, np.ptp(xy[:, 1]) + 1e-3
    return float(np.log(w / h))


def ink(s: np.ndarray) -> float:
    s = np.asarray(s, dtype=np.float64)
    prev_up = np.concatenate([[1.0], s[:-1, 2]])
    return float((np.hypot(s[:, 0], s[:, 1]) * (prev_up == 0)).sum())


ATTRIBUTES = {"strokes": n_strokes, "aspect": aspect, "ink": ink}


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ with average ranks for ties; 0 when ``y`` is constant."""

    def ranks(v):
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for val in np.unique(v):
            m = v == val
            r[m] = r[m].mean()
        return r

    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    if ry.std() == 0 or rx.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


# ------------------------------------------------------------------------------------------- interpolation
def blurred(s: np.ndarray) -> np.ndarray:
    from PIL import ImageFilter

    img = render.to_png(s, size=64, margin=4, stroke_width=2).filter(ImageFilter.GaussianBlur(2))
    return 1.0 - np.asarray(img, dtype=np.float32) / 255.0


def naive_path(a: np.ndarray, b: np.ndarray, steps: int) -> list[np.ndarray]:
    """Linear interpolation of absolute points (both resampled by index to one length), pen from the nearer end."""
    n = max(len(a), len(b))

    def resample(s):
        idx = np.round(np.linspace(0, len(s) - 1, n)).astype(int)
        xy = np.cumsum(s[:, :2], axis=0)[idx]
        pen = s[idx, 2].copy()
        pen[np.r_[idx[1:] == idx[:-1], False]] = 0  # a repeated point lifts the pen only once
        return xy, pen

    (xa, pa), (xb, pb) = resample(a), resample(b)
    out = []
    for t in np.linspace(0, 1, steps):
        xy = (1 - t) * xa + t * xb
        pen = pa if t < 0.5 else pb
        s = np.zeros((n, 3), np.float32)
        s[:, :2] = np.diff(np.vstack([[0, 0], xy]), axis=0)
        s[:, 2] = pen
        s[-1, 2] = 1
        out.append(s)
    return out


def sequence_points(s: np.ndarray, n: int = 128) -> np.ndarray:
    """``(n, 2)``: the pen's path through a stroke-3 drawing in drawing order (pen-up moves included), resampled to
    ``n`` points by arc length and centred on its bounding box — a stroke-space representation in which
    corresponding points can be compared."""
    s = np.asarray(s, dtype=np.float64)
    xy = np.vstack([[0.0, 0.0], np.cumsum(s[:, :2], axis=0)])
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    if cum[-1] <= 0:
        return np.zeros((n, 2))
    t = np.linspace(0.0, cum[-1], n)
    pts = np.stack([np.interp(t, cum, xy[:, 0]), np.interp(t, cum, xy[:, 1])], axis=1)
    return pts - (pts.min(0) + pts.max(0)) / 2


def raster_distance(a: np.ndarray, b: np.ndarray) -> float:
    """L2 between two blurred rasters."""
    return float(np.linalg.norm(a - b))


def stroke_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean L2 between corresponding points of two :func:`sequence_points` arrays."""
    return float(np.linalg.norm(a - b, axis=1).mean())


def monotone_fraction(paths: list[list[np.ndarray]], represent=blurred, distance=raster_distance) -> float:
    """Fraction of steps whose distance to the first drawing does not fall and to the last does not rise
    (``represent`` each drawing, then ``distance``; the blurred raster by default)."""
    good = total = 0
    for path in paths:
        r = [represent(s) for s in path]
        da = np.array([distance(x, r[0]) for x in r])
        db = np.array([distance(x, r[-1]) for x in r])
        good += int((np.diff(da) >= 0).sum() + (np.diff(db) <= 0).sum())
        total += 2 * (len(path) - 1)
    return good / total


def monotone_fraction_strokes(paths: list[list[np.ndarray]]) -> float:
    """:func:`monotone_fraction` with the stroke-space distance (the primary measure)."""
    return monotone_fraction(paths, sequence_points, stroke_distance)


@torch.no_grad()
def mean_r_loss(pipe: SketchVAEPipeline, drawings: list[np.ndarray]) -> float:
    """The model's L_R (eval mode, z = μ) of drawings in data units (each normalised as the pipeline does)."""
    model = pipe.model
    prepared = [pipe.prepare(d) for d in drawings if len(d) >= 2]
    total, n = 0.0, 0
    for i in range(0, len(prepared), 100):
        chunk = prepared[i : i + 100]
        x, ln = S.make_batch(chunk, model.config.max_seq_len)
        out = model(torch.from_numpy(x), torch.from_numpy(ln), mask_pen=True, sample_z=False)
        total += float(out.r_loss) * len(chunk)
        n += len(chunk)
    return total / n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default="hfmech/sketch/weights/sketch-rnn-omniglot")
    p.add_argument("--data", default="../shared/data/strokes/omniglot.stroke3.npz")
    p.add_argument("--pairs", type=int, default=50)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--sketches", type=int, default=50)
    p.add_argument(
        "--train-encode",
        type=int,
        default=0,
        help="training drawings encoded for the vectors (0: all of them)",
    )
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write-examples", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    weights = Path(a.weights)
    info = json.loads((weights / "training.json").read_text())
    model = SketchRNNModel.from_pretrained(weights, dtype=torch.float32).eval()
    model.config.sketch_vae = {"temperature": a.temperature, "seed": a.seed, "canvas": info["canvas"]}
    pipe = SketchVAEPipeline(model=model)
    L = model.config.max_seq_len
    rng = np.random.default_rng(a.seed)
    test = S.preprocess(S.load_stroke3_npz(a.data, "test"), L)
    train = S.preprocess(S.load_stroke3_npz(a.data, "train"), L)
    dec = {"temperature": a.temperature, "seed": a.seed}

    if a.write_examples:
        pick = [
            i for i in rng.permutation(len(test)) if 12 <= len(test[i]) <= 40 and test[i][:, 2].sum() >= 2
        ][:6]
        ex = {f"omniglot-test-{i}": test[i].astype(int).tolist() for i in pick}
        Path("hfmech/sketch/examples.json").write_text(json.dumps(ex, separators=(",", ":")))

    # ---- interpolation
    pairs = [tuple(rng.choice(len(test), 2, replace=False)) for _ in range(a.pairs)]
    za = pipe.encode_many([test[i] for i, _ in pairs])
    zb = pipe.encode_many([test[j] for _, j in pairs])
    from hfmech.latent import interpolation_path

    latent_paths = []
    zs = torch.cat([interpolation_path(za[k], zb[k], a.steps) for k in range(a.pairs)])
    decoded = pipe.decode(zs, shared_noise=True, **dec)
    for k in range(a.pairs):
        latent_paths.append([d.strokes for d in decoded[k * a.steps : (k + 1) * a.steps]])
    greedy = pipe.decode(zs, greedy=True)
    greedy_paths = [[d.strokes for d in greedy[k * a.steps : (k + 1) * a.steps]] for k in range(a.pairs)]
    naive = [naive_path(test[i], test[j], a.steps) for i, j in pairs]
    # reconstruction: is each decode of z = μ nearer (blurred-raster L2) to its own input than to the others?
    recon_in = [test[i] for i, _ in pairs]
    recon_out = [d.strokes for d in pipe.decode(za, **dec)]
    rin = [blurred(x) for x in recon_in]
    dist = np.array([[np.linalg.norm(blurred(r) - x) for x in rin] for r in recon_out])
    retrieval = float(np.mean(dist.argmin(1) == np.arange(len(recon_in))))
    print(json.dumps({"reconstruction_top1": retrieval, "chance": 1 / len(recon_in)}), flush=True)
    interp = {
        "pairs": a.pairs,
        "steps": a.steps,
        "monotone_slerp": monotone_fraction_strokes(latent_paths),
        "monotone_slerp_greedy": monotone_fraction_strokes(greedy_paths),
        "monotone_naive": monotone_fraction_strokes(naive),
        "monotone_raster_slerp": monotone_fraction(latent_paths),
        "monotone_raster_slerp_greedy": monotone_fraction(greedy_paths),
        "monotone_raster_naive": monotone_fraction(naive),
        "r_loss_test_drawings": mean_r_loss(pipe, [test[i] for i, _ in pairs]),
        "r_loss_slerp_intermediates": mean_r_loss(pipe, [s for p in latent_paths for s in p[1:-1]]),
        "r_loss_naive_intermediates": mean_r_loss(pipe, [s for p in naive for s in p[1:-1]]),
    }
    print(json.dumps(interp), flush=True)

    # ---- attribute vectors
    n_train = len(train) if a.train_encode <= 0 else min(a.train_encode, len(train))
    idx = rng.choice(len(train), n_train, replace=False)
    tr = [train[i] for i in idx]
    z_train = pipe.encode_many(tr)
    sketches = [test[i] for i in rng.choice(len(test), a.sketches, replace=False)]
    z_test = pipe.encode_many(sketches)
    attrs, vectors = {}, {}
    from hfmech.latent import attribute_vector

    for name, f in ATTRIBUTES.items():
        vals = np.array([f(s) for s in tr])
        lo, hi = np.quantile(vals, [0.25, 0.75])
        high, low = z_train[torch.from_numpy(vals >= hi)], z_train[torch.from_numpy(vals <= lo)]
        if name == "strokes" and lo == hi:
            high, low = z_train[torch.from_numpy(vals > hi)], z_train[torch.from_numpy(vals < lo)]
        v = attribute_vector(high, low)
        zs = torch.stack([z + float(al) * v for z in z_test for al in ALPHAS])
        outs = pipe.decode(zs, shared_noise=True, **dec)
        per = []
        for k in range(a.sketches):
            y = [f(o.strokes) for o in outs[k * len(ALPHAS) : (k + 1) * len(ALPHAS)]]
            per.append(spearman(ALPHAS, np.array(y)))
        attrs[name] = {
            "quartiles": [float(lo), float(hi)],
            "groups": [int(len(high)), int(len(low))],
            "median_rho": float(np.median(per)),
            "frac_rho_ge_0.9": float(np.mean(np.array(per) >= 0.9)),
            "mean_rho": float(np.mean(per)),
        }
        vectors[name] = {"vector": [round(float(x), 6) for x in v], "definition": f.__name__}
        print(name, json.dumps(attrs[name]), flush=True)

    # ---- analogies: a : b :: c : ?, with b a known edit of a; success = the edit's attribute moves the same way on c
    def stretch(d):
        out = np.array(d, dtype=np.float32, copy=True)
        out[:, 0] *= 1.6
        return out

    def underline(d):
        xy = np.cumsum(np.asarray(d, dtype=np.float64)[:, :2], axis=0)
        (x0, _), (x1, y1) = xy.min(0), xy.max(0)
        pad = 0.1 * max(x1 - x0, 1.0)
        end = xy[-1]
        bar = [[x0 - end[0], y1 + pad - end[1], 0.0], [x1 - x0, 0.0, 1.0]]
        return np.vstack([d, np.asarray(bar, np.float32)])

    analogies = {}
    for name, edit, f in (
        ("stretch x1.6 (aspect)", stretch, aspect),
        ("underline (+1 stroke)", underline, n_strokes),
    ):
        triples = [tuple(rng.choice(len(test), 2, replace=False)) for _ in range(a.pairs)]
        za_ = pipe.encode_many([test[i] for i, _ in triples])
        zb_ = pipe.encode_many([edit(test[i]) for i, _ in triples])
        zc_ = pipe.encode_many([test[j] for _, j in triples])
        from hfmech.latent import analogy as latent_analogy

        d = pipe.decode(latent_analogy(za_, zb_, zc_), **dec)
        base = pipe.decode(zc_, **dec)
        wins = [f(x.strokes) > f(y.strokes) for x, y in zip(d, base, strict=True)]
        analogies[name] = {"triples": a.pairs, "success": float(np.mean(wins))}
        print(name, json.dumps(analogies[name]), flush=True)

    summary = (
        f"reconstructions are nearest to their own input among {a.pairs} test drawings for "
        f"{100 * retrieval:.0f} % of them (chance {100 / a.pairs:.0f} %); "
        f"slerp decodes move monotonically between the ends in {100 * interp['monotone_slerp']:.1f} % of steps "
        f"by stroke-space distance ({100 * interp['monotone_slerp_greedy']:.1f} % decoded greedily; naive stroke "
        f"interpolation {100 * interp['monotone_naive']:.1f} %), and their L_R under the model is "
        f"{interp['r_loss_slerp_intermediates']:.3f} vs {interp['r_loss_naive_intermediates']:.3f} for naive "
        f"intermediates ({interp['r_loss_test_drawings']:.3f} for real test drawings; {a.pairs} test pairs, "
        f"{a.steps} steps); attribute vectors, median Spearman rho over alpha in [-2, 2] across {a.sketches} test "
        "drawings: "
        + ", ".join(f"{k} {v['median_rho']:.2f}" for k, v in attrs.items())
        + "; analogies a:b::c:? with b a known edit of a (success = the edited attribute of decode(z_c + z_b - z_a) "
        + "exceeds that of decode(z_c)): "
        + ", ".join(f"{k} {100 * v['success']:.0f} %" for k, v in analogies.items())
        + "."
    )
    result = {
        "interpolation": interp,
        "reconstruction_top1": retrieval,
        "attribute_rho": attrs,
        "analogies": analogies,
        "attributes": vectors,
        "settings": vars(a),
        "seconds": round(time.time() - t0, 1),
        "summary": summary,
    }
    write_json_atomic(weights / "latent.json", result)
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
