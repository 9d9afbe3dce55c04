"""The melody recipe's ``fit``: through ``accelerate.Accelerator`` and the plain loop, checkpoints in the shared
``hfmech.hub.checkpoints`` layout, resume (model and Adam state), the older single-file layout, and ``export``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from hfmech.melody import train as T
from hfmech.melody.data import WINDOW_STEPS
from hfmech.melody.modeling_music_vae import MusicVAEConfig, MusicVAEModel


@pytest.fixture(autouse=True)
def _fresh_accelerator_state():
    """``accelerate`` keeps one process-wide state (mixed precision included): start and leave each test clean."""

    def reset():
        try:
            from accelerate.state import AcceleratorState
        except ImportError:
            return
        AcceleratorState._reset_state(reset_partial_state=True)

    reset()
    yield
    reset()


def _windows(path, n_train=64, n_held=16, seed=0):
    """Melody-like class windows: a note (class 2 + pitch − 21) every 2 or 4 steps, holds (class 0) between."""
    rng = np.random.default_rng(seed)

    def one():
        w = np.zeros(WINDOW_STEPS, dtype=np.int8)
        step = int(rng.integers(0, 4))  # some windows start off the beat, so every attribute varies
        while step < WINDOW_STEPS:
            w[step] = 2 + int(rng.integers(60, 80)) - 21
            step += int(rng.choice([2, 4]))
        return w

    train = np.stack([one() for _ in range(n_train)])
    held = np.stack([one() for _ in range(n_held)])
    np.savez_compressed(path, train=train, heldout=held)
    path.with_suffix(".json").write_text(json.dumps({"train_windows": n_train, "heldout_windows": n_held}))
    return path


def _fit(tmp_path, steps, *extra):
    windows = tmp_path / "windows.npz"
    if not windows.exists():
        _windows(windows)
    argv = ["fit", "--windows", str(windows), "--run", str(tmp_path / "run"), "--preset", "cat-mel_2bar_tiny"]
    argv += [
        "--max-steps",
        str(steps),
        "--log-every",
        "2",
        "--eval-every",
        "1",
        "--eval-windows",
        "4",
        *extra,
    ]
    assert T.main(argv) == 0
    return json.loads((tmp_path / "run" / "checkpoint" / "trainer_state.json").read_text())


def _adam_steps(run):
    tensors = load_file(str(run / "checkpoint" / "optimizer.safetensors"))
    return {float(v[0]) for k, v in tensors.items() if k.endswith(".step")}


def test_fit_through_accelerate_checkpoints_and_resumes(tmp_path, capsys):
    pytest.importorskip("accelerate")
    state = _fit(tmp_path, 4)
    run = tmp_path / "run"
    files = sorted(p.name for p in (run / "checkpoint").iterdir())
    assert files == ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"]
    assert state["step"] == 4 and state["accelerate"] is True and state["stop_reason"] == "max_steps"
    assert _adam_steps(run) == {4.0}
    assert [r["step"] for r in state["log"]] == [2, 4]
    assert "heldout_tf_accuracy" in state["log"][-1]
    before = MusicVAEModel.from_pretrained(run / "checkpoint").state_dict()

    state = _fit(tmp_path, 8)
    assert "resumed at step 4" in capsys.readouterr().out
    assert state["step"] == 8 and [r["step"] for r in state["log"]] == [2, 4, 6, 8]
    assert _adam_steps(run) == {8.0}  # Adam's step count carried over: a fresh optimizer would say 4
    after = MusicVAEModel.from_pretrained(run / "checkpoint").state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert not (run / "checkpoint.tmp").exists() and not (run / "checkpoint.old").exists()


def test_fit_plain_loop_without_accelerate(tmp_path):
    state = _fit(tmp_path, 2, "--no-accelerate")
    assert state["step"] == 2 and state["accelerate"] is False
    with pytest.raises(SystemExit, match="needs accelerate"):
        _fit(tmp_path, 4, "--no-accelerate", "--mixed-precision", "bf16")


def test_fit_bf16_mixed_precision_on_cpu(tmp_path):
    pytest.importorskip("accelerate")
    state = _fit(tmp_path, 2, "--mixed-precision", "bf16", "--cpu")
    assert state["step"] == 2 and state["mixed_precision"] == "bf16"
    model = MusicVAEModel.from_pretrained(tmp_path / "run" / "checkpoint")
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_resume_reads_the_older_single_file_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    model = MusicVAEModel(MusicVAEConfig.from_preset("cat-mel_2bar_tiny"))
    opt = torch.optim.Adam(model.parameters())
    model(torch.zeros(2, WINDOW_STEPS, dtype=torch.long)).loss.backward()
    opt.step()
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    for name, p in model.named_parameters():
        st = opt.state[p]
        tensors[f"adam.exp_avg.{name}"] = st["exp_avg"]
        tensors[f"adam.exp_avg_sq.{name}"] = st["exp_avg_sq"]
        tensors[f"adam.step.{name}"] = torch.tensor([3.0])
    save_file(tensors, str(run / "checkpoint.safetensors"))
    (run / "state.json").write_text(
        json.dumps({"step": 3, "seconds": 1.0, "log": [], "preset": "cat-mel_2bar_tiny"})
    )
    loaded, state = T.load_checkpoint(run)
    assert state["step"] == 3
    assert torch.equal(loaded.mu.weight, model.mu.weight)
    state = _fit(tmp_path, 5, "--no-accelerate")
    assert "resumed at step 3" in capsys.readouterr().out
    assert state["step"] == 5 and _adam_steps(run) == {5.0}


def test_export_from_the_checkpoint_folder(tmp_path):
    _fit(tmp_path, 2, "--no-accelerate")
    out = tmp_path / "export"
    argv = [
        "export",
        "--run",
        str(tmp_path / "run"),
        "--windows",
        str(tmp_path / "windows.npz"),
        "--out",
        str(out),
    ]
    assert T.main([*argv, "--corpus", str(tmp_path / "no-corpus")]) == 0
    training = json.loads((out / "training.json").read_text())
    assert training["steps"] == 2 and training["heldout"]["windows"] == 16
    model = MusicVAEModel.from_pretrained(out)
    assert model.dtype == torch.float16
    assert torch.count_nonzero(model.attribute_vectors.float().abs().sum(1)) == len(
        model.config.attribute_names
    )
