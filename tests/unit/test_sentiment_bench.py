"""benchmarks/sentiment.py: its baselines compute what the model computes (same final states, same loss), so the
speed ratios compare equal work; and the smallest end-to-end run writes a complete JSON report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sentiment.py"


@pytest.fixture(scope="module")
def bench():
    import sys

    # a benchmark imports its siblings (common.py, baselines/) as a script would: from its own folder
    if str(BENCH.parent) not in sys.path:
        sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("sentiment_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return MLSTMForByteLM(MLSTMConfig(hidden_size=8)).eval()


TEXTS = ["short", "a longer review of a film, with commas", "", "x" * 50, "é😀"]


def test_naive_baselines_give_the_models_features(bench, tiny):
    ours = tiny.featurize(TEXTS, batch_size=2)
    np.testing.assert_allclose(bench.naive_featurize(tiny, TEXTS), ours, atol=2e-6)
    np.testing.assert_allclose(bench.naive_featurize_batched(tiny, TEXTS, 2), ours, atol=2e-6)


def test_naive_loss_is_the_models_loss(bench, tiny):
    x = torch.randint(0, 256, (3, 21))
    with torch.no_grad():
        ours = tiny(x[:, :-1], labels=x[:, 1:]).loss
    with torch.no_grad():
        naive = float(bench.naive_loss(tiny, x))
    assert naive == pytest.approx(float(ours), rel=1e-5)


def test_load_model_by_hidden_size_and_folder(bench, tiny, tmp_path):
    model, name = bench.load_model(hidden_size=12)
    assert model.config.hidden_size == 12 and name == "random H=12"
    tiny.save_pretrained(tmp_path)
    loaded, name = bench.load_model(model=str(tmp_path))
    assert loaded.config.hidden_size == 8 and name == str(tmp_path)


def test_featurize_report_fields(bench, tiny):
    result = bench.bench_featurize(tiny, TEXTS, batch_size=2, repeats=2, batched_baseline=True)
    assert result["repeats"] == 2 and len(result["speedups"]) == 2
    assert result["speedup_min"] <= result["speedup"] <= result["speedup_max"]
    assert result["max_abs_diff"] < 1e-5 and result["naive_batched"]["max_abs_diff"] < 1e-5


def test_main_writes_json(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "QUICK", {**bench.QUICK, "n_texts": 2, "train_batch": 2, "train_seq": 8})
    monkeypatch.setattr(bench, "load_texts", lambda n: TEXTS[:n])
    out = tmp_path / "r.json"
    assert bench.main(["--quick", "--hidden-size", "8", "--long-kb", "0", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["hidden_size"] == 8 and report["model"] == "random H=8"
    assert report["featurize"]["bytes"] > 0 and report["training"]["final_loss_hfmech"] > 0
    assert "long_text" not in report and not list(tmp_path.glob("*.tmp"))
