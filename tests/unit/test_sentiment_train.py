"""The mLSTM training recipe's data loading and step planning (hfmech.sentiment.train), and the probe's parallel fits."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hfmech.sentiment.modeling_mlstm import MLSTMForByteLM
from hfmech.sentiment.probe import train_with_reg_cv
from hfmech.sentiment.train import TrainSettings, load_texts, train

TEXTS = ["A great film, loved it. " * 4, "Awful, boring and long. " * 4, "   "] * 20


@pytest.fixture
def parquet(tmp_path):
    import pandas as pd

    path = tmp_path / "reviews.parquet"
    pd.DataFrame({"text": TEXTS, "label": [1, 0, 0] * 20}).to_parquet(path)
    return path


def _settings(tmp_path, parquet, **kw) -> TrainSettings:
    base = dict(
        out=str(tmp_path / "run"),
        data_files=[str(parquet)],
        hidden_size=16,
        batch_size=4,
        seq_len=16,
        heldout_fraction=0.1,
        eval_every_min=100.0,
        threads=1,
    )
    base.update(kw)
    return TrainSettings(**base)


def test_parquet_without_datasets_reads_the_same_rows(tmp_path, parquet, monkeypatch):
    s = _settings(tmp_path, parquet)
    with_datasets = load_texts(s)
    monkeypatch.setitem(
        sys.modules, "datasets", None
    )  # import datasets -> ImportError, as on a bare GPU image
    assert load_texts(s) == with_datasets == [t for t in TEXTS if t.strip()]
    with pytest.raises(ValueError, match="column 'body'"):
        load_texts(_settings(tmp_path, parquet, column="body"))


def test_refuses_test_files(tmp_path, parquet):
    test_file = parquet.with_name("test.parquet")
    test_file.write_bytes(parquet.read_bytes())
    with pytest.raises(ValueError, match="test"):
        load_texts(_settings(tmp_path, test_file))


def test_several_passes_wrap_around_and_lower_the_loss(tmp_path, parquet):
    # 40 reviews * ~100 bytes = ~3.6 kB of training text: 0.02 MB is several passes over it.
    final = train(_settings(tmp_path, parquet, planned_mb=0.02), log=lambda *_: None)
    record = MLSTMForByteLM.from_pretrained(final).config.training
    assert record["passes_over_data"] > 2
    assert record["steps"] == record["planned_steps"] and not record["stopped_early"]
    assert record["heldout_bits_per_byte"] < 6.0  # uniform over bytes is 8 bits; repeated text is learnt fast


def test_plan_by_time_needs_a_deadline_and_meets_it(tmp_path, parquet):
    with pytest.raises(ValueError, match="deadline"):
        train(_settings(tmp_path, parquet, planned_mb=0), log=lambda *_: None)
    lines = []
    final = train(_settings(tmp_path, parquet, planned_mb=0, deadline_min=0.05), log=lines.append)
    record = MLSTMForByteLM.from_pretrained(final).config.training
    assert any("planned" in line and "before the deadline" in line for line in lines)
    assert 20 < record["planned_steps"] < 10**9 and record["steps"] <= record["planned_steps"]


def test_probe_parallel_fits_equal_serial():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20))
    y = (X[:, 3] - 0.5 * X[:, 7] + 0.3 * rng.standard_normal(300) > 0).astype(int)
    serial = train_with_reg_cv(X[:200], y[:200], X[200:250], y[200:250], X[250:], y[250:], n_jobs=1)
    parallel = train_with_reg_cv(X[:200], y[:200], X[200:250], y[200:250], X[250:], y[250:], n_jobs=2)
    assert serial.C == parallel.C and serial.dev_scores == parallel.dev_scores
    np.testing.assert_array_equal(serial.coef, parallel.coef)
    assert int(np.argmax(np.abs(serial.coef))) == 3
