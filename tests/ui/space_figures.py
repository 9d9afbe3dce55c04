"""Draw the "How it works" figure of every mechanism's Space: ``hfmech/<mechanism>/figure.png`` (``make
space-figures``).

Each figure is a block diagram of the mechanism as hfmech implements it: what is optimised or encoded (blue), the
frozen network (grey), the objective or the latent arithmetic (orange), the result (green), and the loop that updates
the inputs (the arrow underneath). Drawn with matplotlib at 900 × 250 px; each PNG stays well under 150 KB. The Space
shows it with :func:`hfmech.ui.how_it_works`.

    python tests/ui/space_figures.py [--only dream ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLOURS = {
    "input": "#dbeafe",  # what is optimised / the data
    "net": "#e5e7eb",  # frozen network
    "objective": "#fed7aa",  # objective / arithmetic
    "output": "#dcfce7",  # result
}
EDGES = {"input": "#2563eb", "net": "#4b5563", "objective": "#ea580c", "output": "#16a34a"}

#: mechanism folder -> (boxes [(text, kind)], loop (from box, to box, label) or None, caption)
FIGURES: dict[str, tuple[list[tuple[str, str]], tuple[int, int, str] | None, str]] = {
    "dream": (
        [
            ("photo\n(pixels, one octave)", "input"),
            ("EfficientNet-Lite0\n(frozen, up to\nthe chosen layer)", "net"),
            ("objective\nmean(activation²)\nof that layer", "objective"),
            ("dream\n(octaves: small →\nfull size)", "output"),
        ],
        (2, 0, "gradient ascent on the pixels (jitter, normalised step), steps × octaves"),
        "DeepDream — Mordvintsev, Olah & Tyka 2015",
    ),
    "style": (
        [
            ("image\n(starts as the photo)", "input"),
            ("VGG16 trunk\n(frozen)", "net"),
            ("content: features\nstyle: Gram matrices\nvs photo & painting", "objective"),
            ("stylised image\n(coarse → fine)", "output"),
        ],
        (2, 0, "L-BFGS on the pixels minimises content + style loss"),
        "Neural style transfer — Gatys, Ecker & Bethge 2016",
    ),
    "style/audio": (  # the style Space's audio tab: hfmech/style/figure_audio.png
        [
            ("spectrogram\n(starts as faint\nnoise)", "input"),
            ("one 1-D convolution,\nrandom filters\n(untrained)", "net"),
            ("content: activations\nstyle: Gram matrix\nvs content & style", "objective"),
            ("sound\n(Griffin-Lim from\nthe magnitudes)", "output"),
        ],
        (2, 0, "L-BFGS on the spectrogram minimises content + style loss"),
        "Audio style transfer — Ulyanov & Lebedev 2016",
    ),
    "perception": (
        [
            ("strokes & inks\n(parameters)", "input"),
            ("differentiable\nrasteriser +\nrandom views", "net"),
            ("training classifiers\nEfficientNet-Lite0/2\nlog p(class)", "objective"),
            ("drawing, judged by\nheld-out Coral\nMobileNets", "output"),
        ],
        (2, 0, "Adam on strokes and inks until every training member gives p ≥ 0.95"),
        "Perception Engines — Tom White 2018",
    ),
    "sentiment": (
        [
            ("review\n(text)", "input"),
            ("language model\n(frozen)", "net"),
            ("one hidden unit:\nits value reads\nthe sentiment", "objective"),
            ("label + heat map;\nclamped unit →\nsteered text", "output"),
        ],
        (2, 1, "generation: the unit is held at ± clamp at every step"),
        "The sentiment neuron — Radford, Jozefowicz & Sutskever 2017",
    ),
    "analogy": (
        [
            ("words\na : b :: c : ?", "input"),
            ("embedding table\n(GloVe 6B, 50-d)", "net"),
            ("vector arithmetic\nb − a + c\n(3CosAdd / 3CosMul)", "objective"),
            ("nearest words\n(cosine), query\nwords excluded", "output"),
        ],
        None,
        "Word analogies — Mikolov, Yih & Zweig 2013; Levy & Goldberg 2014",
    ),
    "sketch": (
        [
            ("pen strokes\n(Δx, Δy, pen)", "input"),
            ("encoder\nbidirectional LSTM", "net"),
            ("latent z (64-d)\nslerp · z ± α·v", "objective"),
            ("decoder LSTM +\nmixture of Gaussians\n(temperature)\n→ new drawing", "output"),
        ],
        None,
        "sketch-rnn — Ha & Eck 2017",
    ),
    "melody": (
        [
            ("2-bar melody\n(32 sixteenths)", "input"),
            ("encoder\nbidirectional LSTM", "net"),
            ("latent z\nslerp A → B\nz + α·attribute", "objective"),
            ("decoder LSTM\n→ melody, MIDI,\naudio", "output"),
        ],
        None,
        "MusicVAE — Roberts, Engel, Raffel, Hawthorne & Eck 2018",
    ),
}


def draw(package: str, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from hfmech.hub.files import atomic_path

    boxes, loop, caption = FIGURES[package]
    fig = plt.figure(figsize=(9, 2.5), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 9)
    ax.set_ylim(0, 2.5)
    ax.axis("off")
    n = len(boxes)
    width, gap, height, y = 1.75, 0.5, 1.05, 1.05
    left = (9 - (n * width + (n - 1) * gap)) / 2
    centres = []
    for i, (text, kind) in enumerate(boxes):
        x = left + i * (width + gap)
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                width,
                height,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=COLOURS[kind],
                edgecolor=EDGES[kind],
                linewidth=1.5,
            )
        )
        ax.text(x + width / 2, y + height / 2, text, ha="center", va="center", fontsize=9.5)
        centres.append(x + width / 2)
        if i:
            ax.add_patch(
                FancyArrowPatch(
                    (x - gap + 0.04, y + height / 2),
                    (x - 0.04, y + height / 2),
                    arrowstyle="-|>",
                    mutation_scale=14,
                    color="#374151",
                    linewidth=1.4,
                )
            )
    if loop is not None:
        src, dst, label = loop
        ax.add_patch(
            FancyArrowPatch(
                (centres[src], y - 0.02),
                (centres[dst], y - 0.02),
                connectionstyle="arc3,rad=-0.3" if src > dst else "arc3,rad=0.3",
                arrowstyle="-|>",
                mutation_scale=14,
                color=EDGES["objective"],
                linewidth=1.6,
            )
        )
        ax.text(
            (centres[src] + centres[dst]) / 2,
            0.1,
            label,
            ha="center",
            va="center",
            fontsize=9,
            color="#9a3412",
        )
    ax.text(4.5, 2.32, caption, ha="center", va="center", fontsize=10.5, weight="bold", color="#111827")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100, facecolor="white")
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(FIGURES))
    args = parser.parse_args(argv)
    for package in args.only or sorted(FIGURES):
        folder, _, variant = package.partition("/")
        name = f"figure_{variant}.png" if variant else "figure.png"
        path = draw(package, REPO_ROOT / "hfmech" / folder / name)
        print(f"{path.relative_to(REPO_ROOT)}: {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
