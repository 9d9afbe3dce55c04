"""``hfmech melody-sample / melody-interpolate / melody-attribute / melody-train`` on a tiny random model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hfmech.cli import main
from hfmech.melody.data import NO_EVENT
from hfmech.melody.modeling_music_vae import MusicVAEConfig, MusicVAEModel

mido = pytest.importorskip("mido")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    torch.manual_seed(0)
    model = MusicVAEModel(MusicVAEConfig(enc_rnn_size=[16], dec_rnn_size=[16, 16], z_size=8))
    with torch.no_grad():
        model.attribute_vectors.normal_()
    folder = tmp_path_factory.mktemp("tiny-music-vae")
    model.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tune(tmp_path_factory) -> str:
    from hfmech.melody.io import write_midi

    events = np.full(64, NO_EVENT)
    events[::4] = [60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 60]
    return str(write_midi(tmp_path_factory.mktemp("tunes") / "tune.mid", events))


def test_sample_writes_midi_and_wav(tiny, tmp_path, capsys):
    out, wav = tmp_path / "s.mid", tmp_path / "s.wav"
    assert (
        main(["melody-sample", "--model", tiny, "-n", "3", "-o", str(out), "--wav", str(wav), "--seed", "1"])
        == 0
    )
    assert out.is_file() and wav.read_bytes()[:4] == b"RIFF"
    again = tmp_path / "t.mid"
    assert main(["melody-sample", "--model", tiny, "-n", "3", "-o", str(again), "--seed", "1"]) == 0
    assert out.read_bytes() == again.read_bytes()  # same seed, same melodies
    other = tmp_path / "u.mid"
    assert (
        main(
            [
                "melody-sample",
                "--model",
                tiny,
                "-n",
                "3",
                "-o",
                str(other),
                "--seed",
                "2",
                "--temperature",
                "3",
            ]
        )
        == 0
    )
    assert other.read_bytes() != out.read_bytes()


def test_interpolate_and_attribute(tiny, tune, tmp_path):
    assert (
        main(
            ["melody-interpolate", tune, tune, "--model", tiny, "--steps", "4", "-o", str(tmp_path / "i.mid")]
        )
        == 0
    )
    assert (tmp_path / "i.mid").is_file()
    args = ["melody-attribute", tune, "--model", tiny, "--attribute", "c_diatonic", "--strength", "1.5"]
    assert main([*args, "-o", str(tmp_path / "a.mid")]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["melody-sample", "-o", "{tmp}/x.txt"], "-o MIDI"),
        (["melody-sample", "-o", "{tmp}/missing/x.mid"], "x.mid"),
        (["melody-sample", "-n", "0", "-o", "{tmp}/x.mid"], "n must be"),
        (["melody-sample", "--temperature", "0", "-o", "{tmp}/x.mid"], "temperature"),
        (["melody-interpolate", "{tmp}/nope.mid", "{tune}", "-o", "{tmp}/x.mid"], "no such melody file"),
        (["melody-interpolate", "{bad}", "{tune}", "-o", "{tmp}/x.mid"], "not a Standard MIDI File"),
    ],
)
def test_user_errors_are_one_line_messages(tiny, tune, tmp_path, capsys, argv, message):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    argv = [a.format(tmp=tmp_path, tune=tune, bad=bad) for a in argv]
    assert main([*argv, "--model", tiny]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err


def test_train_recipe_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["melody-train", "--help"])
    assert info.value.code == 0
    assert "fit" in capsys.readouterr().out
