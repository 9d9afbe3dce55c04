"""``hfmech sketch-*`` commands, the training recipe (checkpoint, resume, deadline, export) and the Space's handlers,
on tiny random sketch-rnn models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hfmech.cli import main
from hfmech.sketch.modeling_sketch_rnn import SketchRNNConfig, SketchRNNModel


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    cfg = SketchRNNConfig.from_preset(
        "cpu-small", enc_rnn_size=8, dec_rnn_size=16, z_size=4, num_mixture=3, max_seq_len=30
    )
    cfg.scale_factor = 10.0
    cfg.sketch_vae = {"canvas": 100.0}
    out = tmp_path_factory.mktemp("tiny-sketch")
    SketchRNNModel(cfg).save_pretrained(out)
    return out


def _drawing_file(path, offset=0):
    rec = {"word": "x", "drawing": [[[0, 30 + offset, 60], [0, 0, 20]], [[30, 30], [-20, 40 + offset]]]}
    path.write_text(json.dumps(rec) + "\n")
    return path


def test_sketch_sample_writes_svg_png_and_npy(model_dir, tmp_path):
    for suffix in (".svg", ".png", ".npy"):
        out = tmp_path / f"samples{suffix}"
        rc = main(
            ["sketch-sample", "--model", str(model_dir), "-n", "3", "-o", str(out), "--temperature", "0.5"]
        )
        assert rc == 0 and out.is_file() and out.stat().st_size > 0
    svg = (tmp_path / "samples.svg").read_text()
    assert svg.startswith("<svg") and 'stroke-linecap="round"' in svg
    arr = np.load(tmp_path / "samples.npy", allow_pickle=False)
    assert arr.shape[0] == 3 and arr.shape[2] == 3


def test_sketch_interpolate_grid(model_dir, tmp_path):
    a = _drawing_file(tmp_path / "a.ndjson")
    b = _drawing_file(tmp_path / "b.ndjson", offset=25)
    out = tmp_path / "grid.npy"
    assert (
        main(
            ["sketch-interpolate", str(a), str(b), "--model", str(model_dir), "--steps", "4", "-o", str(out)]
        )
        == 0
    )
    assert np.load(out).shape[0] == 4


@pytest.mark.parametrize(
    "argv",
    [
        ["sketch-sample", "-n", "0", "-o", "{tmp}/x.svg"],
        ["sketch-sample", "-n", "2", "-o", "{tmp}/x.gif"],
        ["sketch-sample", "-n", "2", "--temperature", "0", "-o", "{tmp}/x.svg"],
        ["sketch-sample", "-n", "2", "--temperature", "nan", "-o", "{tmp}/x.svg"],
        ["sketch-sample", "-n", "2", "--seed", "-3", "-o", "{tmp}/x.svg"],
        ["sketch-interpolate", "{tmp}/missing.ndjson", "{tmp}/a.ndjson", "-o", "{tmp}/x.svg"],
        ["sketch-interpolate", "{tmp}/a.ndjson", "{tmp}/a.ndjson", "--steps", "0", "-o", "{tmp}/x.svg"],
        ["sketch-interpolate", "{tmp}/bad.ndjson", "{tmp}/a.ndjson", "-o", "{tmp}/x.svg"],
    ],
)
def test_bad_cli_input_is_a_one_line_error(model_dir, tmp_path, capsys, argv):
    _drawing_file(tmp_path / "a.ndjson")
    (tmp_path / "bad.ndjson").write_text('{"word": "cat"}\n')
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--model", str(model_dir)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def _tiny_npz(path, rng):
    def split(n):
        drawings = []
        for _ in range(n):
            k = int(rng.integers(4, 12))
            s = np.zeros((k, 3), np.int16)
            s[:, :2] = rng.integers(-20, 20, size=(k, 2))
            s[-1, 2] = 1
            drawings.append(s)
        offsets = np.concatenate([[0], np.cumsum([len(d) for d in drawings])])
        return np.concatenate(drawings), offsets

    arrays = {}
    for name, n in (("train", 12), ("valid", 4), ("test", 4)):
        arrays[f"{name}_strokes"], arrays[f"{name}_offsets"] = split(n)
    np.savez(path, **arrays)


def test_training_recipe_checkpoints_resumes_and_exports(tmp_path):
    data = tmp_path / "tiny.npz"
    _tiny_npz(data, np.random.default_rng(0))
    run = tmp_path / "run"
    common = [
        "--max-seq-len",
        "16",
        "--batch-size",
        "4",
        "--save-every",
        "2",
        "--eval-every",
        "2",
        "--no-progress",
    ]
    assert (
        main(
            [
                "sketch-train",
                "--data",
                str(data),
                "--out",
                str(run),
                "--steps",
                "2",
                "--threads",
                "1",
                *common,
            ]
        )
        == 0
    )
    state = json.loads((run / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 2 and (run / "checkpoint" / "optimizer.safetensors").is_file()
    first = SketchRNNModel.from_pretrained(run / "checkpoint")
    assert first.config.scale_factor == pytest.approx(
        np.std(np.concatenate([np.load(data)["train_strokes"][:, :2].ravel()]).astype(np.float64)), rel=1e-4
    )
    # resume: the step count continues; a deadline in the past stops after one step
    state["settings"]["steps"] = 4
    (run / "checkpoint" / "trainer_state.json").write_text(json.dumps(state))
    assert main(["sketch-train", "--out", str(run), "--resume", "--deadline", "0", "--no-progress"]) == 0
    assert json.loads((run / "checkpoint" / "trainer_state.json").read_text())["step"] == 3
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 2 and np.isfinite(log[0]["valid_r_loss"])
    dest = tmp_path / "weights"
    assert main(["sketch-train", "export", str(run), str(dest)]) == 0
    info = json.loads((dest / "training.json").read_text())
    assert info["steps"] == 3 and np.isfinite(info["test"]["r_loss"]) and info["canvas"] > 0
    loaded = SketchRNNModel.from_pretrained(dest)
    assert next(loaded.parameters()).dtype == torch.float16


def test_space_handlers_on_a_drawn_stroke(model_dir):
    gr = pytest.importorskip("gradio")
    from hfmech.sketch import space

    drawn = json.dumps([[[10, 60, 120, 160], [20, 25, 80, 90]], [[50, 50], [10, 150]]])
    seen, recon, svg = space.reconstruct(drawn, 0.2, 0, model=str(model_dir))
    assert recon.size == (256, 256) and svg.startswith("<svg")
    assert np.asarray(seen).min() == 0  # the input was drawn
    assert space.variations(drawn, 0.5, 3, model=str(model_dir)).size == (3 * 128, 128)
    with pytest.raises(gr.Error, match="Draw something"):
        space.reconstruct("[]", model=str(model_dir))
    with pytest.raises(gr.Error):
        space.reconstruct(
            json.dumps([[[0, float("nan")], [0, 1]]]).replace("NaN", "1e999"), model=str(model_dir)
        )
    demo = space.build_demo(model=str(model_dir))
    assert isinstance(demo, gr.Blocks)
