"""The ``sentiment-neuron`` pipeline (through transformers' factory and a saved folder), its CLI and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import pipeline

import hfmech
from hfmech import cli
from hfmech.sentiment import (
    ClampError,
    MLSTMConfig,
    MLSTMForByteLM,
    SentimentConfigError,
    SentimentInputError,
    SentimentNeuronPipeline,
    UnknownUnitError,
    char_values,
    preprocess,
)
from hfmech.sentiment.pipeline_sentiment_neuron import UNIT_ACCURACY_FLOOR, format_reading, neuron_spec

H = 12
UNIT = 5


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    torch.manual_seed(2)
    model = MLSTMForByteLM(
        MLSTMConfig(
            hidden_size=H,
            sentiment_unit=UNIT,
            polarity=-1,
            threshold=0.05,
            sentiment_neuron={"unit_accuracy": 0.75, "measured_on": "a test set"},
        )
    )
    path = tmp_path_factory.mktemp("mlstm")
    model.to(torch.float16).save_pretrained(path)  # the shipped weights are fp16
    return path


@pytest.fixture(scope="module")
def pipe(folder):
    return pipeline("sentiment-neuron", model=str(folder))


def test_factory_builds_our_pipeline_in_float32(pipe):
    assert isinstance(pipe, SentimentNeuronPipeline) and "sentiment-neuron" in hfmech.TASKS
    assert pipe.model.dtype == torch.float32


def test_output_matches_the_model(pipe):
    text = "Loved it &amp; the cast — très bien 👍"
    out = pipe(text)
    assert out["unit"] == UNIT and out["state"] == "c" and out["text"] == "Loved it & the cast — très bien 👍"
    final = pipe.model.featurize([text])[0, UNIT]
    assert out["value"] == pytest.approx(float(final), abs=1e-6)
    margin = -1 * (out["value"] - 0.05)
    assert out["label"] == ("POSITIVE" if margin > 0 else "NEGATIVE")
    assert 0.5 <= out["score"] <= 1.0
    assert out["score"] == pytest.approx(1 / (1 + np.exp(-abs(margin))), abs=1e-6)
    assert len(out["trace"]) == len(out["text"])
    per_byte = pipe.model.trace(text, unit=UNIT)
    # the value after each character's last byte, e.g. the 4-byte emoji is the last character
    assert out["trace"][-1] == pytest.approx(float(per_byte[-2]), abs=1e-6)
    assert out["trace"] == pytest.approx(char_values(out["text"], per_byte), abs=1e-7)
    assert out["calibrated"] is True and out["unit_accuracy"] == 0.75 and out["measured_on"] == "a test set"


def _saved(tmp_path, **neuron):
    torch.manual_seed(0)
    cfg = MLSTMConfig(hidden_size=8, sentiment_unit=3, threshold=0.0, **neuron)
    MLSTMForByteLM(cfg).save_pretrained(tmp_path)
    return pipeline("sentiment-neuron", model=str(tmp_path))


@pytest.mark.parametrize(
    "neuron, why",
    [
        ({"sentiment_neuron": {"unit_accuracy": 0.519, "measured_on": "IMDB test, 1,000 reviews"}}, "51.9 %"),
        ({"sentiment_neuron": {"unit_accuracy": 0.599, "measured_on": "x"}}, "59.9 %"),
        ({}, "never measured"),
        ({"sentiment_neuron": {"measured_on": "x"}}, "never measured"),
    ],
)
def test_uncalibrated_unit_gives_no_label(tmp_path, neuron, why):
    p = _saved(tmp_path, **neuron)
    out = p("A truly wonderful film.")
    assert out["label"] is None and out["score"] is None and out["calibrated"] is False
    assert out["message"].startswith("UNCALIBRATED") and why in out["message"]
    # the reading itself is still there, exactly the model's value
    assert out["value"] == pytest.approx(
        float(p.model.featurize(["A truly wonderful film."])[0, 3]), abs=1e-6
    )
    text = format_reading(out)
    assert text.startswith("UNCALIBRATED") and "POSITIVE" not in text and "NEGATIVE" not in text


def test_floor_is_inclusive_and_percent_accepted(tmp_path):
    p = _saved(tmp_path, sentiment_neuron={"unit_accuracy": 100 * UNIT_ACCURACY_FLOOR, "measured_on": "x"})
    assert neuron_spec(p.model).unit_accuracy == pytest.approx(UNIT_ACCURACY_FLOOR)
    out = p("fine")
    assert out["label"] in ("POSITIVE", "NEGATIVE") and out["calibrated"] is True
    assert format_reading(out).startswith(out["label"])


def test_another_unit_is_never_labelled(pipe):
    out = pipe("good film", unit=2)
    assert out["unit"] == 2 and out["label"] is None and "not the model's measured" in out["message"]
    assert pipe("good film", state="h")["label"] is None  # the unit was measured on c


@pytest.mark.parametrize("bad", [{"unit_accuracy": "high"}, {"unit_accuracy": 1.7e9}, ["not", "a dict"]])
def test_bad_accuracy_config(tmp_path, bad):
    with pytest.raises(SentimentConfigError):
        _saved(tmp_path, sentiment_neuron=bad)


def test_char_values_alignment():
    values = np.arange(len(preprocess("aé😀")), dtype=np.float32)  # bytes: \n, ' ', a, é(2), 😀(4), ' '
    assert char_values("aé😀", values) == [2.0, 4.0, 8.0]


def test_batch_and_unit_override(pipe):
    outs = pipe(["good film", "bad film"], unit=2, return_trace=False)
    assert [o["unit"] for o in outs] == [2, 2] and "trace" not in outs[0]


@pytest.mark.parametrize("bad", ["", "   \n\t  ", b"\xc3\x28 invalid", 17])
def test_bad_text(pipe, bad):
    with pytest.raises(SentimentInputError):
        pipe(bad)


@pytest.mark.parametrize("unit", [H, -3, 1.5, "x"])
def test_unknown_unit(pipe, unit):
    with pytest.raises(UnknownUnitError):
        pipe("fine", unit=unit)


def test_control_characters_and_scripts(pipe):
    for text in ["tab\there\x00\x1b[31m red", "Отличный фильм", "素晴らしい映画", "فيلم رائع"]:
        out = pipe(text)
        assert np.isfinite(out["value"]) and len(out["trace"]) == len(out["text"])


def test_long_review_is_a_clear_limit_or_truncated(pipe, monkeypatch):
    from hfmech.errors import LimitError
    from hfmech.sentiment import pipeline_sentiment_neuron as psn

    with pytest.raises(psn.TextTooLongError, match="at most 100,000") as err:
        pipe("é" * 500_000)  # 1 MB: refused before any byte is read
    assert isinstance(err.value, LimitError)
    monkeypatch.setattr(psn, "MLSTM_MAX_READ_BYTES", 2_000)  # the truncation itself, on a short text
    out = pipe("a" * 1_997 + "éé", truncate=True, return_trace=False)
    assert out["truncated"] is True and out["text"].endswith("aé")  # cut on a character boundary
    assert len(out["text"].encode()) == 1_999
    assert out["value"] == pytest.approx(float(pipe.model.featurize([out["text"]])[0, UNIT]), abs=1e-5)
    assert pipe("fine film")["truncated"] is False


def test_model_without_unit(tmp_path):
    MLSTMForByteLM(MLSTMConfig(hidden_size=8)).save_pretrained(tmp_path)
    p = pipeline("sentiment-neuron", model=str(tmp_path))  # constructing works; reading needs a unit
    with pytest.raises(SentimentConfigError):
        p("text")
    assert p("text", unit=1)["unit"] == 1


def test_generate_clamps_the_configured_unit_with_polarity(pipe):
    out = pipe.generate("The movie", clamp=1.5, max_bytes=20, seed=3)
    assert out["clamp"] == {UNIT: -1.5} and out["clamp_on"] == "c"  # polarity -1: "positive" is a low value
    assert isinstance(out["text"], str)
    assert out == pipe.generate("The movie", clamp=1.5, max_bytes=20, seed=3)
    raw = pipe.generate("The movie", clamp={1: 0.5, 2: "-0.5"}, max_bytes=5)
    assert raw["clamp"] == {1: 0.5, 2: -0.5}
    for bad in ("very", float("inf"), [1.0]):
        with pytest.raises(ClampError):
            pipe.generate("x", clamp=bad, max_bytes=3)


def test_cli(folder, capsys):
    assert cli.main(["sentiment", "A fine film.", "--model", str(folder), "--trace"]) == 0
    out = capsys.readouterr().out
    assert f"unit {UNIT} (c)" in out and "'A'" in out
    assert (
        cli.main(
            [
                "sentiment-generate",
                "The movie",
                "--model",
                str(folder),
                "--clamp",
                "-1.0",
                "--max-bytes",
                "10",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("The movie")
    assert (
        cli.main(
            [
                "sentiment-generate",
                "x",
                "--model",
                str(folder),
                "--clamp",
                "3=0.5",
                "--clamp",
                "4=1",
                "--max-bytes",
                "4",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert cli.main(["sentiment-generate", "x", "--model", str(folder), "--clamp", "loud"]) == 2
    assert "must be a number" in capsys.readouterr().err
    assert cli.main(["sentiment-generate", "x", "--model", str(folder), "--clamp", f"{H}=1"]) == 2
    assert cli.main(["sentiment", "   ", "--model", str(folder)]) == 2
    assert "empty" in capsys.readouterr().err


def test_cli_train_runs_the_recipe(tmp_path):
    import pandas as pd

    texts = ["A great film, loved it. " * 4, "Awful, boring and long. " * 4] * 20
    pd.DataFrame({"text": texts}).to_parquet(tmp_path / "reviews.parquet")
    out = tmp_path / "run"
    args = [
        "sentiment-train",
        "--out",
        str(out),
        "--data-files",
        str(tmp_path / "reviews.parquet"),
        "--hidden-size",
        "16",
        "--batch-size",
        "4",
        "--seq-len",
        "16",
        "--planned-mb",
        "0.002",
        "--heldout-fraction",
        "0.1",
        "--eval-every-min",
        "0",
        "--threads",
        "1",
    ]
    assert cli.main(args) == 0
    loaded = MLSTMForByteLM.from_pretrained(out / "final")
    assert loaded.config.training["steps"] == 31 and loaded.config.training["heldout_bits_per_byte"] < 8.0
