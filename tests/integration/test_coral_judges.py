"""The four Coral MobileNet judges, zoo-built from the real TFLite files in ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CORAL = REPO_ROOT.parent / "shared" / "data" / "models" / "coral-mobilenet"
IMAGES = REPO_ROOT.parent / "shared" / "data" / "images"
MACAW, HOTDOG = 88, 934
DOGS = set(range(151, 269))  # ImageNet-1k dog breeds


@pytest.fixture(scope="module")
def coral_dir() -> Path:
    if not (CORAL / "mobilenet_v2_1.0_224_quant.tflite").is_file() or not (IMAGES / "parrot.jpg").is_file():
        pytest.skip(f"Coral TFLite files / sample images not found under {REPO_ROOT.parent / 'shared'}")
    return CORAL


@pytest.fixture(scope="module")
def judges(coral_dir, tmp_path_factory):
    """Zoo name -> loaded model, built through the zoo from HFMECH_CORAL_DIR into a private cache."""
    import hfmech  # noqa: F401
    from hfmech.vision.zoo_coral import CORAL_MODELS, load_judge

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HFMECH_CORAL_DIR", str(coral_dir))
        mp.setenv("HFMECH_CACHE", str(tmp_path_factory.mktemp("coral-cache")))
        yield {name: load_judge(name) for name in CORAL_MODELS}


def test_zoo_builds_a_hub_ready_repo_with_a_card(judges):
    from hfmech.hub import zoo

    model = judges["coral-mobilenet-v2-100-224"]
    assert model.config.model_type == "hfmech-mobilenet" and model.config.version == 2
    assert model.config.image_size == 224 and model.config.num_labels == 1000
    assert model.config.image_mean == [pytest.approx(128 / 255)] * 3
    folder = Path(model.config.name_or_path)
    card = (folder / "README.md").read_text()
    assert "dequantised" in card and "Apache" in card and "7aad0c74c5e3c06e" in card
    assert zoo.get("coral-mobilenet-v1-025-128").task == "image-classification"


def test_judges_classify_the_sample_photos(judges):
    from hfmech.vision.modeling_mobilenet import classify

    photos = [IMAGES / "parrot.jpg", IMAGES / "hot_dog.jpg", IMAGES / "dog_cat.jpg"]
    label_to_id = None
    for name, model in judges.items():
        label_to_id = {v: k for k, v in model.config.id2label.items()}
        top = classify(model, photos, top_k=5)
        ids = [[label_to_id[label] for label, _ in row] for row in top]
        assert ids[0][0] == MACAW, (name, top[0])
        assert ids[2][0] in DOGS, (name, top[2])
        if name != "coral-mobilenet-v1-025-128":  # the 0.25x / 128 px model reads the hot dog as "corn"
            assert ids[1][0] == HOTDOG, (name, top[1])
    assert top[0][0][1] > 0.9  # V2: macaw with high confidence


@pytest.mark.parametrize("name", ["coral-mobilenet-v1-025-128", "coral-mobilenet-v2-100-224"])
def test_float_model_equals_the_numpy_reference_of_the_tflite_graph(judges, coral_dir, name):
    from hfmech.vision.modeling_mobilenet import normalize, preprocess
    from hfmech.vision.tflite_reader import read_tflite, run_reference
    from hfmech.vision.zoo_coral import CORAL_MODELS

    model = judges[name]
    graph = read_tflite(coral_dir / CORAL_MODELS[name][0])
    x = normalize(model, preprocess([IMAGES / "parrot.jpg", IMAGES / "hot_dog.jpg"], model.config.image_size))
    reference = run_reference(graph, x.permute(0, 2, 3, 1).numpy())
    with torch.no_grad():
        probs = model(pixel_values=x).logits_with_background.double().softmax(-1).numpy()
    np.testing.assert_allclose(probs, reference, atol=1e-4)


def test_top1_agrees_with_uint8_activation_emulation(judges, coral_dir):
    """The dequantised float model vs the same graph with every activation rounded to its uint8 grid."""
    from hfmech.vision.convert_mobilenet import emulate_uint8_activations
    from hfmech.vision.modeling_mobilenet import normalize, preprocess
    from hfmech.vision.tflite_reader import read_tflite
    from hfmech.vision.zoo_coral import CORAL_MODELS

    photos = sorted(p for p in IMAGES.iterdir() if p.suffix in (".jpg", ".png"))
    agree = total = 0
    for name, model in judges.items():
        graph = read_tflite(coral_dir / CORAL_MODELS[name][0])
        pixels = preprocess(photos, model.config.image_size)
        with torch.no_grad():
            plain = model(pixel_values=normalize(model, pixels)).logits.argmax(-1)
            with emulate_uint8_activations(model, graph):
                emulated = model(
                    pixel_values=normalize(model, torch.round(pixels * 255) / 255)
                ).logits.argmax(-1)
        agree += int((plain == emulated).sum())
        total += len(photos)
    assert agree / total >= 0.85, f"top-1 agreement {agree}/{total}"


def test_evaluate_transfer_with_the_default_judges(judges, tmp_path, monkeypatch):
    from hfmech.perception.transfer import evaluate_transfer
    from hfmech.vision.image_io import image_to_tensor, load_image

    monkeypatch.setenv("HFMECH_CORAL_DIR", str(CORAL))
    monkeypatch.setenv(
        "HFMECH_CACHE", str(Path(judges["coral-mobilenet-v2-100-224"].config.name_or_path).parent.parent)
    )
    # whole photos, center-square cropped, as pixels in [0, 1]
    images = []
    for name in ("parrot.jpg", "hot_dog.jpg"):
        im = load_image(IMAGES / name)
        side = min(im.size)
        left, top = (im.width - side) // 2, (im.height - side) // 2
        images.append(image_to_tensor(im.crop((left, top, left + side, top + side)).resize((224, 224))))
    result = evaluate_transfer(torch.cat(images), ["macaw", "hotdog"], None, json_path=tmp_path / "r.json")
    assert result.judges == list(judges)
    assert result.top5[0].all()  # every judge has the macaw in its top 5
    assert result.top5[1, 1:].all()
    assert (tmp_path / "r.json").is_file()
