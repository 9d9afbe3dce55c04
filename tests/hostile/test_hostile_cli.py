"""Hostile command lines: ``hfmech.cli.main([...])`` returns 2 and prints exactly one ``error:`` line (no traceback,
no progress bar before it) for tampered model folders, corrupt inputs, absurd sizes and bad seeds — or answers."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import soundfile as sf
from conftest import AUDIO_SR, read_safetensors, tensor_names, write_safetensors
from PIL import Image

from hfmech import cli

ST = "model.safetensors"


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_error_line(rc, err, *words) -> str:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, err
    assert lines[-1] == errors[0], f"noise after the error line: {err!r}"
    assert "%|" not in err, f"a progress bar before the error line: {err!r}"
    for word in words:
        assert word.lower() in errors[0].lower(), errors[0]
    return errors[0]


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "in.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def wavs(tmp_path):
    t = np.arange(AUDIO_SR // 2) / AUDIO_SR
    content, style = tmp_path / "content.wav", tmp_path / "style.wav"
    sf.write(content, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), AUDIO_SR, subtype="FLOAT")
    sf.write(style, (0.5 * np.sin(2 * np.pi * 880 * t)).astype(np.float32), AUDIO_SR, subtype="FLOAT")
    return content, style


# ------------------------------------------------------------------------------------------ tampered models


def _rename(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    header[name + "_renamed"] = header.pop(name)
    write_safetensors(folder / ST, header, data)
    return [ST, name + "_renamed"]


def _retype(folder):
    header, data = read_safetensors(folder / ST)
    name = tensor_names(header)[0]
    header[name]["dtype"] = {"F32": "I32", "F16": "I16", "F64": "I64", "I64": "F64"}[header[name]["dtype"]]
    write_safetensors(folder / ST, header, data)
    return [ST, name]


def _truncate(folder):
    raw = (folder / ST).read_bytes()
    (folder / ST).write_bytes(raw[:-5])
    return [ST, "truncated"]


def _huge_header(folder):
    raw = (folder / ST).read_bytes()
    (folder / ST).write_bytes(struct.pack("<Q", 2**60) + raw[8:])
    return [ST, "header length"]


def _text(folder):
    (folder / ST).write_text("not weights at all\n")
    return [ST, "not a safetensors file"]


def _pickle_only(folder):
    (folder / ST).unlink()
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    return ["pytorch_model.bin"]


def _absurd_config(folder):
    config = json.loads((folder / "config.json").read_text())
    key = {
        "hfmech-efficientnet-lite": "head_channels",
        "hfmech-vgg": "num_channels",
        "hfmech-random-audio-conv": "n_filters",
        "hfmech-word-vectors": "vocab_size",
        "hfmech-perception-ensemble": "members",
    }[config["model_type"]]
    config[key] = [{"model_type": "hfmech-efficientnet-lite"}] * 99 if key == "members" else 10**9
    (folder / "config.json").write_text(json.dumps(config))
    return ["config.json", key]


TAMPERS = [_rename, _retype, _truncate, _huge_header, _text, _pickle_only, _absurd_config]


def _command(task, folder, png, wavs, out_dir):
    content, style = wavs
    return {
        "deep-dream": [
            "dream",
            png,
            "-o",
            out_dir / "o.png",
            "--model",
            folder,
            "--steps",
            1,
            "--octaves",
            1,
        ],
        "style-transfer": ["style", png, png, "-o", out_dir / "o.png", "--model", folder, "--size", 32],
        "audio-style-transfer": ["style-audio", content, style, "-o", out_dir / "o.wav", "--model", folder],
        "word-analogy": ["analogy", "man:king::woman:?", "--model", folder],
        "perception-engine": ["perceive", "goldfish", "-o", out_dir / "o.png", "--model", folder],
    }[task]


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize(
    "task", ["deep-dream", "style-transfer", "audio-style-transfer", "word-analogy", "perception-engine"]
)
def test_cli_tampered_model(task, tamper, model_copy, png, wavs, tmp_path, capsys):
    folder = model_copy(task)
    words = tamper(folder)
    rc, out, err = run(capsys, *_command(task, folder, png, wavs, tmp_path))
    line = assert_one_error_line(rc, err, *words)
    assert str(folder) in line
    assert not list(tmp_path.glob("o.*")), "an output was written"


# ----------------------------------------------------------------------------------- inputs and parameters


def test_cli_dream_thin_image(saved_models, tmp_path, capsys):
    thin = tmp_path / "thin.png"
    Image.new("RGB", (10_000, 1)).save(thin)
    rc, _, err = run(capsys, "dream", thin, "-o", tmp_path / "o.png", "--model", saved_models["deep-dream"])
    assert_one_error_line(rc, err, "thin.png", "aspect ratio")


def test_cli_dream_truncated_image(saved_models, png, tmp_path, capsys):
    cut = tmp_path / "cut.png"
    cut.write_bytes(png.read_bytes()[:50])
    rc, _, err = run(capsys, "dream", cut, "-o", tmp_path / "o.png", "--model", saved_models["deep-dream"])
    assert_one_error_line(rc, err, "cut.png")


@pytest.mark.parametrize(
    "extra, word",
    [(["--seed", 2**70], "seed"), (["--steps", 10**9], "steps"), (["--max-pixels", 10**13], "max_pixels")],
)
def test_cli_dream_absurd_options(saved_models, png, tmp_path, capsys, extra, word):
    rc, _, err = run(
        capsys, "dream", png, "-o", tmp_path / "o.png", "--model", saved_models["deep-dream"], *extra
    )
    assert_one_error_line(rc, err, word)


@pytest.mark.parametrize(
    "extra, word", [(["--steps", 10**9], "steps"), (["--size", 10**6], "size"), (["--seed", 2**64], "seed")]
)
def test_cli_visualize_absurd_options(saved_models, tmp_path, capsys, extra, word):
    rc, _, err = run(
        capsys, "visualize", "-o", tmp_path / "o.png", "--model", saved_models["deep-dream"], *extra
    )
    assert_one_error_line(rc, err, word)


def test_cli_style_thin_style_image(saved_models, png, tmp_path, capsys):
    thin = tmp_path / "thin.png"
    Image.new("RGB", (1, 10_000)).save(thin)
    rc, _, err = run(
        capsys, "style", png, thin, "-o", tmp_path / "o.png", "--model", saved_models["style-transfer"]
    )
    assert_one_error_line(rc, err, "thin.png", "aspect ratio")


def test_cli_style_bad_seed(saved_models, png, tmp_path, capsys):
    rc, _, err = run(
        capsys,
        "style",
        png,
        png,
        "-o",
        tmp_path / "o.png",
        "--model",
        saved_models["style-transfer"],
        "--seed",
        -3,
    )
    assert_one_error_line(rc, err, "seed")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_cli_style_audio_non_finite_file(saved_models, wavs, tmp_path, capsys, bad):
    content, style = wavs
    samples, _ = sf.read(content, dtype="float32")
    samples[100] = bad
    sf.write(content, samples, AUDIO_SR, subtype="FLOAT")
    model = saved_models["audio-style-transfer"]
    rc, _, err = run(capsys, "style-audio", content, style, "-o", tmp_path / "o.wav", "--model", model)
    assert_one_error_line(rc, err, "content.wav", "NaN or infinite")
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize(
    "extra, word",
    [(["--seed", 2**70], "seed"), (["--n-filters", 10**9], "n_filters"), (["--steps", 10**9], "steps")],
)
def test_cli_style_audio_absurd_options(saved_models, wavs, tmp_path, capsys, extra, word):
    content, style = wavs
    model = saved_models["audio-style-transfer"]
    rc, _, err = run(
        capsys, "style-audio", content, style, "-o", tmp_path / "o.wav", "--model", model, *extra
    )
    assert_one_error_line(rc, err, word)


def test_cli_analogy_huge_topn_answers(saved_models, capsys):
    rc, out, err = run(
        capsys, "analogy", "man:king::woman:?", "--model", saved_models["word-analogy"], "--topn", 10**12
    )
    assert rc == 0, err
    assert "Traceback" not in err and out.strip()


@pytest.mark.parametrize(
    "extra, word", [(["--topn", 0], "topn"), (["--restrict-vocab", -4], "restrict_vocab")]
)
def test_cli_analogy_bad_counts(saved_models, capsys, extra, word):
    rc, _, err = run(capsys, "analogy", "man:king::woman:?", "--model", saved_models["word-analogy"], *extra)
    assert_one_error_line(rc, err, word)


@pytest.mark.parametrize(
    "extra, word", [(["--seed", 2**70], "seed"), (["--steps", 10**9], "steps"), (["--size", 10**6], "size")]
)
def test_cli_perceive_absurd_options(saved_models, tmp_path, capsys, extra, word):
    model = saved_models["perception-engine"]
    rc, _, err = run(capsys, "perceive", "goldfish", "-o", tmp_path / "o.png", "--model", model, *extra)
    assert_one_error_line(rc, err, word)
