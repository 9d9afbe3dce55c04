"""Bad input to image style transfer (pipeline and ``hfmech style``): typed errors, never a deep traceback."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import hfmech  # noqa: F401
from hfmech.cli import main
from hfmech.errors import USER_ERRORS
from hfmech.style import StyleParameterError, StyleTransferPipeline, StyleWeightsError
from hfmech.style.zoo_random import random_vgg_config
from hfmech.vision.features import UnknownLayerError
from hfmech.vision.image_io import ImageDecodeError, ImageNotFoundError
from hfmech.vision.modeling_vgg import random_vgg

FAST = {"size": 48, "steps": 2, "seed": 0, "progress": False}


@pytest.fixture(scope="module")
def pipe():
    return StyleTransferPipeline(
        model=random_vgg(random_vgg_config(seed=0, block_channels=[4, 8, 8, 16, 16]))
    )


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-vgg")
    model = random_vgg(random_vgg_config(seed=0, block_channels=[4, 8, 8, 16, 16]))
    model.config.style_transfer = {**model.config.style_transfer, "steps": 2, "size": 48}
    model.save_pretrained(folder)
    return folder


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    content = tmp_path / "content.png"
    style = tmp_path / "style.jpg"
    Image.fromarray(rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)).save(content)
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(style)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(content.read_bytes()[:60])
    return content, style, corrupt


def test_missing_and_corrupt_images(pipe, images, tmp_path):
    content, style, corrupt = images
    with pytest.raises(ImageNotFoundError):
        pipe(str(content), style=str(tmp_path / "nope.jpg"), **FAST)
    with pytest.raises(ImageDecodeError):
        pipe(str(content), style=str(corrupt), **FAST)
    with pytest.raises(ImageDecodeError):
        pipe(str(corrupt), style=str(style), **FAST)
    with pytest.raises(ImageDecodeError):
        pipe(str(content), style=str(tmp_path), **FAST)  # a directory


def test_inputs_not_modified(pipe, images):
    content, style, _ = images
    before = content.read_bytes(), style.read_bytes()
    image = Image.open(content).convert("RGB")
    copy = image.copy()
    pipe(image, style=str(style), **FAST)
    assert (content.read_bytes(), style.read_bytes()) == before
    assert np.array_equal(np.asarray(image), np.asarray(copy))


def test_no_style_and_mismatched_weights(pipe, images):
    content, style, _ = images
    with pytest.raises(StyleParameterError, match="at least one style"):
        pipe(str(content), **FAST)
    with pytest.raises(StyleParameterError):
        pipe(str(content), style=[], **FAST)
    with pytest.raises(StyleWeightsError, match="2 style image"):
        pipe(str(content), style=[str(style), str(style)], style_weights=[1.0], **FAST)
    with pytest.raises(StyleWeightsError):
        pipe(str(content), style=[str(style)], style_weights=[-1.0], **FAST)
    with pytest.raises(StyleWeightsError):
        pipe(str(content), style=[str(style), str(style)], style_weights=[0, 0], **FAST)
    assert issubclass(StyleWeightsError, USER_ERRORS)


@pytest.mark.parametrize(
    "bad",
    [
        {"size": 8},
        {"size": 100000},
        {"size": 64.5},
        {"steps": -1},
        {"steps": 2.5},
        {"steps": []},
        {"steps": [2, 2]},  # two counts for one scale
        {"steps": [2, -1], "scales": [32, 48]},
        {"content_weight": -1},
        {"style_weight": float("nan")},
        {"tv_weight": float("inf")},
        {"content_weight": 0, "style_weight": 0},
        {"optimizer": "sgd"},
        {"init": "zeros"},
        {"style_scale": 0},
        {"keep_colors": "sepia"},
        {"scales": [8, 64]},
        {"scales": "fine"},
        {"learning_rate": 0},
        {"precision": "float16"},
        {"pyramid_levels": 9},
        {"lbfgs_history": 0},
        {"lbfgs_history": 2.5},
    ],
)
def test_bad_settings_are_typed_errors(pipe, images, bad):
    content, style, _ = images
    with pytest.raises(StyleParameterError):
        pipe(str(content), style=str(style), **{**FAST, **bad})


def test_unknown_layer(pipe, images):
    content, style, _ = images
    with pytest.raises(UnknownLayerError, match="relu1_1"):
        pipe(str(content), style=str(style), content_layers=["relu9_9"], **FAST)
    with pytest.raises(StyleParameterError):
        pipe(str(content), style=str(style), style_layers=["relu1_1"], style_layer_weights=[0.5, 0.5], **FAST)


def test_cli_style_end_to_end(tiny_folder, images, tmp_path, capsys):
    content, style, _ = images
    out = tmp_path / "out.png"
    code = main(
        [
            "style",
            str(content),
            str(style),
            str(style),
            "-o",
            str(out),
            "--backbone",
            str(tiny_folder),
            "--weights",
            "0.3",
            "0.7",
            "--steps",
            "3",
            "--size",
            "48",
            "--seed",
            "0",
            "--keep-colors",
        ]
    )
    assert code == 0 and out.is_file()
    assert Image.open(out).size == (48, 36)
    assert "loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flag, value, setting, steps",
    [
        # plain pixels instead of the default 3-level pyramid
        ("--pyramid-levels", 0, "pyramid_levels", 4),
        # one pair kept changes the steps after the second (default: 100 pairs)
        ("--lbfgs-history", 1, "lbfgs_history", 8),
    ],
)
def test_cli_optimiser_settings_reach_the_pipeline(
    tiny_folder, images, tmp_path, flag, value, setting, steps
):
    from hfmech.hub import load_pipeline

    content, style, _ = images
    out = tmp_path / "cli.png"
    args = ["style", str(content), str(style), "-o", str(out), "--backbone", str(tiny_folder)]
    args += ["--steps", str(steps), "--size", "48", "--seed", "0", "--precision", "float32", flag, str(value)]
    assert main(args) == 0
    cli = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
    pipe = load_pipeline("style-transfer", str(tiny_folder))
    common = dict(style=str(style), steps=steps, size=48, seed=0, progress=False, precision="float32")
    same = np.asarray(pipe(str(content), **{setting: value}, **common)["image"], dtype=np.int16)
    default = np.asarray(pipe(str(content), **common)["image"], dtype=np.int16)
    assert np.abs(cli - same).max() == 0  # the same transfer as the pipeline with that setting
    assert np.abs(cli - default).max() > 0  # and not the default one


def test_cli_style_steps_per_scale(tiny_folder, images, tmp_path):
    content, style, _ = images
    out = tmp_path / "two.png"
    args = ["style", str(content), str(style), "-o", str(out), "--backbone", str(tiny_folder), "--seed", "0"]
    assert main([*args, "--scales", "32", "48", "--steps", "3", "1"]) == 0
    assert Image.open(out).size == (48, 36)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--pyramid-levels", "9"], "pyramid_levels"),
        (["--lbfgs-history", "0"], "lbfgs_history"),
        (["--weights", "1"], "style weight"),
        (["--size", "0"], "size"),
        (["--steps", "-3"], "steps"),
        (["--steps", "4", "2", "--scales", "48"], "one count per scale"),
        (["--style-weight", "-1"], "style_weight"),
    ],
)
def test_cli_user_errors(tiny_folder, images, tmp_path, capsys, extra, message):
    content, style, _ = images
    code = main(
        [
            "style",
            str(content),
            str(style),
            str(style),
            "-o",
            str(tmp_path / "o.png"),
            "--backbone",
            str(tiny_folder),
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and message in err and "Traceback" not in err
    assert not (tmp_path / "o.png").exists()


def test_cli_bad_output_and_missing_input(tiny_folder, images, tmp_path, capsys):
    content, style, _ = images
    assert (
        main(
            ["style", str(content), str(style), "-o", str(tmp_path / "o.xyz"), "--backbone", str(tiny_folder)]
        )
        == 2
    )
    assert (
        main(
            [
                "style",
                str(tmp_path / "none.png"),
                str(style),
                "-o",
                str(tmp_path / "o.png"),
                "--backbone",
                str(tiny_folder),
            ]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err
