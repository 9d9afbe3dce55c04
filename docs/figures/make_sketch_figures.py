"""Figures of docs/sketch.md, made with the shipped sketch-rnn-omniglot model (temperature 0.1, seed 0 unless noted):

- ``sketch_reconstructions.svg``: 8 Omniglot test characters (top) and their reconstructions (bottom);
- ``sketch_interpolation.svg``: slerp between two test characters, 8 steps;
- ``sketch_samples.svg``: 16 samples from the prior at temperature 0.4;
- ``sketch_analogy.svg``: two rows of a, b (= a stretched ×1.6 horizontally), c, decode(z_c), decode(z_c + z_b − z_a).

    python docs/figures/make_sketch_figures.py --data ../shared/data/strokes/omniglot.stroke3.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from transformers import pipeline

import hfmech
from hfmech.hub.files import write_text_atomic
from hfmech.sketch import render
from hfmech.sketch import strokes as S

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="../shared/data/strokes/omniglot.stroke3.npz")
    a = p.parse_args()
    pipe = pipeline("sketch-vae", model=hfmech.zoo.build("sketch-rnn-omniglot"))
    test = S.preprocess(S.load_stroke3_npz(a.data, "test"), pipe.model.config.max_seq_len)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(test), 8, replace=False)
    recon = [pipe(test[i]).strokes for i in pick]
    write_text_atomic(HERE / "sketch_reconstructions.svg", render.grid_svg([[test[i] for i in pick], recon]))
    path = pipe.interpolate(test[pick[0]], test[pick[1]], steps=8)
    write_text_atomic(HERE / "sketch_interpolation.svg", render.grid_svg([[o.strokes for o in path]]))
    # analogy a : b :: c : ? with b = a stretched x1.6 horizontally (benchmarks/sketch_latent.py measures it)
    rows = []
    for i, j in ((pick[2], pick[3]), (pick[4], pick[5])):
        a_, c_ = test[i], test[j]
        b_ = a_ * np.array([1.6, 1.0, 1.0], np.float32)
        rows.append([a_, b_, c_, pipe(c_).strokes, pipe.analogy(a_, b_, c_).strokes])
    write_text_atomic(HERE / "sketch_analogy.svg", render.grid_svg(rows))
    samples = pipe.sample(16, temperature=0.4)
    rows = [[o.strokes for o in samples[:8]], [o.strokes for o in samples[8:]]]
    write_text_atomic(HERE / "sketch_samples.svg", render.grid_svg(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
