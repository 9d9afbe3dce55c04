"""The ``mlstm-imdb`` zoo entry: shipped fp16 weights + unit.json → a Hub-ready folder whose config defines the demo."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import hfmech
from hfmech.hub import zoo
from hfmech.sentiment import MLSTMConfig, MLSTMForByteLM
from hfmech.sentiment.zoo_mlstm import WEIGHTS_DIR, load_shipped_model


def test_unit_json_is_applied(tmp_path):
    torch.manual_seed(0)
    MLSTMForByteLM(MLSTMConfig(hidden_size=8)).to(torch.float16).save_pretrained(tmp_path)
    (tmp_path / "unit.json").write_text(
        json.dumps(
            {"sentiment_unit": 5, "polarity": -1, "threshold": 0.25, "state": "c", "clamp_scale_p99": 1.2345}
        )
    )
    model, info = load_shipped_model(tmp_path)
    assert model.dtype == torch.float32 and info["sentiment_unit"] == 5
    cfg = model.config
    assert (cfg.sentiment_unit, cfg.polarity, cfg.threshold, cfg.clamp_value) == (5, -1, 0.25, 1.234)


def test_missing_weights_is_a_zoo_error(tmp_path):
    with pytest.raises(zoo.ZooError, match="no trained weights"):
        load_shipped_model(tmp_path)


@pytest.mark.skipif(
    not (WEIGHTS_DIR / "config.json").is_file(), reason="mlstm-imdb weights are not in the package"
)
def test_zoo_build_and_pipeline():
    from transformers import pipeline

    assert "mlstm-imdb" in zoo.names() and hfmech.TASKS["sentiment-neuron"]
    folder = zoo.build("mlstm-imdb", force=True)  # the shipped weights may have changed since the last build
    readme = (folder / "README.md").read_text()
    assert "{{" not in readme and "Held-out bits per byte" in readme
    shipped = MLSTMForByteLM.from_pretrained(WEIGHTS_DIR, dtype=torch.float32)
    built = MLSTMForByteLM.from_pretrained(folder)
    assert built.dtype == torch.float32
    np.testing.assert_array_equal(built.featurize(["same weights"]), shipped.featurize(["same weights"]))
    if built.config.sentiment_unit is not None:
        out = pipeline("sentiment-neuron", model=str(folder))("A wonderful film.")
        assert out["unit"] == built.config.sentiment_unit
