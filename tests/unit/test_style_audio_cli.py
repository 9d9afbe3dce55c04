"""``hfmech style-audio`` in-process, on a tiny random-conv repo passed as ``--model <folder>``.

User errors exit 2 with one ``error:`` line, never create the output and never modify the inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from hfmech.cli import main
from hfmech.style import demo_sounds
from hfmech.style.audio import save_audio_atomic
from hfmech.style.modeling_random_audio_conv import build_random_audio_conv

SR = 8000
TINY = dict(sampling_rate=SR, n_fft=256, hop_length=64, n_filters=64, kernel_width=11, seed=0)
FAST = ["--steps", "3", "--griffin-lim-iters", "10", "--seed", "0"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("style-audio-cli")
    build_random_audio_conv(folder / "model", **TINY)
    return {
        "model": str(folder / "model"),
        "content": save_audio_atomic(demo_sounds.melody(2.0, sr=SR), SR, folder / "content.wav"),
        "style": save_audio_atomic(demo_sounds.drums(2.0, sr=44100), 44100, folder / "style.flac"),
        "silent": save_audio_atomic(np.zeros(SR, np.float32), SR, folder / "silent.wav"),
    }


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_style_audio_writes_the_output(capsys, files, tmp_path, suffix):
    before = files["content"].read_bytes()
    out = tmp_path / f"out{suffix}"
    code, stdout, _ = run(
        capsys, "style-audio", files["content"], files["style"], "-o", out, "--model", files["model"], *FAST
    )
    assert code == 0
    assert "style loss" in stdout and str(out) in stdout
    audio, sr = sf.read(out, dtype="float32")
    assert sr == SR and abs(len(audio) / sr - 2.0) < 0.05
    assert files["content"].read_bytes() == before


def test_seconds_truncates_the_inputs(capsys, files, tmp_path):
    out = tmp_path / "short.flac"
    code, _, _ = run(
        capsys, "style-audio", files["content"], files["style"], "-o", out, "--model", files["model"],
        "--seconds", "1", *FAST,
    )  # fmt: skip
    assert code == 0 and sf.info(out).frames == SR


@pytest.mark.parametrize(
    "which, extra, message",
    [
        ("missing", [], "no such audio file"),
        ("silent", [], "is silent"),
        ("content", ["--steps", "-3"], "steps must be"),
        ("content", ["--n-filters", "0"], "n_filters must be"),
    ],
)
def test_user_errors_exit_2(capsys, files, tmp_path, which, extra, message):
    content = tmp_path / "missing.wav" if which == "missing" else files[which]
    out = tmp_path / "out.wav"
    code, _, err = run(
        capsys, "style-audio", content, files["style"], "-o", out, "--model", files["model"], *FAST, *extra
    )
    assert code == 2
    assert err.count("error:") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_bad_output_paths_exit_2_before_any_work(capsys, files, tmp_path):
    (tmp_path / "folder.wav").mkdir()
    for out, message in [
        (tmp_path / "out.txt", "unknown audio suffix"),
        (tmp_path / "no-such-dir" / "out.wav", "does not exist"),
        (tmp_path / "folder.wav", "is a directory"),
    ]:
        code, _, err = run(
            capsys, "style-audio", files["content"], files["style"], "-o", out, "--model", files["model"]
        )
        assert code == 2 and message in err, (out, err)
