"""Make the DeepDream figures in docs/figures/ (run from the repo root: ``python docs/figures/make_deepdream_figures.py``).

* ``deepdream_layers.jpg`` — sky1024px.jpg dreamed at the shallow, middle and deep presets of EfficientNet-Lite0
  (the paper's point: shallow layers sharpen strokes and textures, deep layers read in object parts), with the
  classifier's top-1 reading of each image.
* ``deepdream_guided.jpg`` — the same sky guided by flowers.jpg (google/deepdream's guided dreaming).
* ``feature_visualization.jpg`` — activation maximisation from noise: four stage6 channels rendered as one batch,
  and the "macaw" logit (Olah et al. 2017 parameterisation and transforms).

Needs ../shared/data/images (sky1024px.jpg, flowers.jpg) and the zoo model (built from the pip wheel).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from transformers import pipeline

import hfmech
from hfmech.dream import objectives
from hfmech.vision.image_io import load_image, resize_max_side, save_image_atomic
from hfmech.vision.modeling_efficientnet_lite import classify

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT.parent / "shared" / "data" / "images"
OUT = ROOT / "docs" / "figures"


def labelled_row(images: list[Image.Image], captions: list[str], height: int = 288) -> Image.Image:
    tiles = [im.resize((round(im.width * height / im.height), height), Image.LANCZOS) for im in images]
    band = 22
    canvas = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), height + band), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for tile, caption in zip(tiles, captions):
        canvas.paste(tile, (x, band))
        draw.text((x + 4, 4), caption, fill="black")
        x += tile.width + 4
    return canvas


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="longer side of the dreamed sky")
    parser.add_argument("--vis-steps", type=int, default=192)
    args = parser.parse_args(argv)
    if not IMAGES.is_dir():
        print(f"{IMAGES} not found: these figures need ../shared/data/images", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    dream = pipeline("deep-dream", model=hfmech.zoo.build("efficientnet-lite0-imagenet"))
    sky = resize_max_side(load_image(IMAGES / "sky1024px.jpg"), args.size)

    def top1(image) -> str:
        label, prob = classify(dream.model, image, top_k=1)[0][0]
        return f"{label.split(',')[0]} {prob:.0%}"

    images, captions = [sky], [f"input | reads as: {top1(sky)}"]
    for preset in ("shallow", "middle", "deep"):
        out = dream(sky, layer=preset, seed=0, progress=False)
        layer = dream.resolve_layer(preset)
        images.append(out["image"])
        captions.append(f"{preset} ({layer}) | reads as: {top1(out['image'])}")
    grid_top = labelled_row(images[:2], captions[:2])
    grid_bottom = labelled_row(images[2:], captions[2:])
    grid = Image.new(
        "RGB", (max(grid_top.width, grid_bottom.width), grid_top.height + grid_bottom.height), "white"
    )
    grid.paste(grid_top, (0, 0))
    grid.paste(grid_bottom, (0, grid_top.height))
    save_image_atomic(grid, OUT / "deepdream_layers.jpg", quality=90)

    flowers = load_image(IMAGES / "flowers.jpg")
    guided = dream(sky, guide=flowers, layer="middle", seed=0, progress=False)["image"]
    save_image_atomic(
        labelled_row([sky, flowers, guided], ["input", "guide", "guided dream (stage4)"]),
        OUT / "deepdream_guided.jpg",
        quality=90,
    )

    channels = [3, 17, 60, 101]
    batch = dream.visualize(
        objectives.channels("stage6", channels),
        batch=4,
        size=160,
        steps=args.vis_steps,
        seed=0,
        progress=False,
    )
    macaw = dream.model.config.label2id["macaw"]
    logit = dream.visualize(
        objectives.class_logit(macaw), size=160, steps=args.vis_steps, seed=0, progress=False
    )
    save_image_atomic(
        labelled_row(
            [*batch["images"], logit["images"][0]],
            [f"stage6:{c}" for c in channels] + [f"logit 'macaw' | reads as: {top1(logit['images'][0])}"],
            height=160,
        ),
        OUT / "feature_visualization.jpg",
        quality=90,
    )
    print(f"wrote figures to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
