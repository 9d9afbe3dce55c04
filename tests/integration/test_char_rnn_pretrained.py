"""char-rnn-reddit on the real weights of the PyPI package textgenrnn (installed with --no-deps): the converted model
gives the Keras model's next-character distribution (independent numpy reference, to 1e-5), has learnt Reddit
titles, and samples. Skips when textgenrnn or h5py is not installed."""

from __future__ import annotations

import importlib.util
import random

import numpy as np
import pytest

pytestmark = pytest.mark.integration

if importlib.util.find_spec("textgenrnn") is None or importlib.util.find_spec("h5py") is None:
    pytest.skip("needs textgenrnn (pip install --no-deps textgenrnn) and h5py", allow_module_level=True)

from char_rnn_reference import encode_sequence as keras_encode  # noqa: E402
from char_rnn_reference import keras_predict, read_h5  # noqa: E402

TITLES = [
    "What is the best way to learn a new language as an adult?",
    "My cat refuses to eat anything but the most expensive food",
    "TIL that honey never spoils if it is stored properly",
    "Does anyone else feel tired after a long weekend?",
    "I made a wooden table for my kitchen, what do you think?",
]


@pytest.fixture(scope="module")
def model():
    from hfmech.sentiment.zoo_char_rnn import load_char_rnn

    return load_char_rnn("char-rnn-reddit")


def test_matches_the_keras_model_on_the_real_weights(model):
    import json

    from hfmech.sentiment.zoo_char_rnn import package_files

    weights_path, vocab_path = package_files()
    weights = read_h5(weights_path)
    vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    assert weights["rnn_1/rnn_1/bias:0"].shape == (1024,)  # the shipped file holds CuDNNLSTM weights
    contexts = ["", "What", TITLES[0], TITLES[1][:30], "émoji ☃ and unknown ✓ characters"]
    for text in contexts:
        ref = keras_predict(weights, keras_encode(text, vocab))
        np.testing.assert_allclose(model.next_char_probs(text), ref, rtol=0, atol=1e-5)
    assert model.config.vocab_size == len(vocab) + 1 == 465 and model.config.max_length == 40
    assert model.config.source["package"] == "textgenrnn" and len(model.config.source["sha256"]) == 64


def _bits_per_char(model, text: str) -> float:
    bits = 0.0
    for k in range(len(text)):
        p = model.next_char_probs(text[:k])
        bits -= np.log2(p[model.char_to_index.get(text[k], 0)])
    return bits / len(text)


def test_it_has_learnt_titles(model):
    """Real titles cost ~1.2-2.1 bits a character; the same characters shuffled cost 7.7-10.9 (uniform: 8.86)."""
    rng = random.Random(0)
    for title in TITLES:
        shuffled = list(title)
        rng.shuffle(shuffled)
        assert _bits_per_char(model, title) < 2.5
        assert _bits_per_char(model, "".join(shuffled)) > 6.0


def test_it_samples_titles(model):
    text = model.sample("What is the", length=60, temperature=0.5, seed=0)
    assert text.startswith("What is the") and len(text) > len("What is the")
    assert text == model.sample("What is the", length=60, temperature=0.5, seed=0)
    assert set(text) <= set(model.vocab)
    greedy = model.sample("", length=40, sample=False)
    assert len(greedy) > 10 and greedy == model.sample("", length=40, sample=False)
    # a finished question is where a title ends: the end token <s> is likely there, unlikely mid-sentence
    meta = model.char_to_index["<s>"]
    for title in (TITLES[0], TITLES[3], TITLES[4]):
        assert model.next_char_probs(title)[meta] > 0.5
        assert model.next_char_probs(title[:20])[meta] < 0.05


def test_cli_samples_from_the_zoo_model(capsys):
    from hfmech.cli import main

    assert main(["char-rnn-sample", "--primetext", "TIL", "--length", "80", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TIL")
