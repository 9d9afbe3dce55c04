"""The char-RNN (textgenrnn's character LSTM): converter vs an independent numpy Keras reference, sampling, features.

The weights file is random but written with h5py in exactly textgenrnn's layout (Keras 2.1.5 ``save_weights``:
``layer_names``, per-layer ``weight_names``, CuDNN-style 8U biases, the shipped shapes). The reference
(tests/char_rnn_reference.py) applies Keras' own CuDNN→LSTM weight transform, so the converter's direct reading of
the cuDNN blocks is checked against what Keras computes, to 1e-5 on the next-character distribution.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from char_rnn_reference import keras_predict, read_h5, reference_probs

pytest.importorskip("h5py")
import h5py  # noqa: E402

from hfmech.errors import HfmechError, SeedError  # noqa: E402
from hfmech.sentiment.convert_textgenrnn import TextgenrnnWeightsError, convert_textgenrnn  # noqa: E402
from hfmech.sentiment.modeling_char_rnn import (  # noqa: E402
    MAX_SAMPLE_LENGTH,
    CharRNNConfig,
    CharRNNError,
    CharRNNForCausalLM,
)

V, E, U = 465, 100, 128  # textgenrnn's shipped sizes


def _chars(n: int) -> list[str]:
    """``n`` distinct single characters (ASCII first, then accented and CJK), like textgenrnn's vocabulary."""
    pool = (
        [chr(c) for c in range(32, 127)]
        + [chr(c) for c in range(0xC0, 0x250)]
        + [chr(c) for c in range(0x4E00, 0x4F00)]
    )
    return pool[:n]


def write_textgenrnn_files(folder, *, seed=0, cudnn=True, scale=0.3):
    """textgenrnn_weights.hdf5 + textgenrnn_vocab.json with the package's names and shapes, random values."""
    rng = np.random.default_rng(seed)
    chars = ["<s>", *_chars(V - 2)]
    order = rng.permutation(len(chars))
    vocab = {chars[j]: int(i) + 1 for i, j in enumerate(order)}  # indices 1..V-1, shuffled like the real file
    (folder / "textgenrnn_vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    n_bias = 8 * U if cudnn else 4 * U
    arrays = {
        "embedding": {"embeddings:0": rng.normal(0, 1.0, (V, E))},
        "rnn_1": {
            "kernel:0": rng.normal(0, scale, (E, 4 * U)),
            "recurrent_kernel:0": rng.normal(0, scale, (U, 4 * U)),
            "bias:0": rng.normal(0, 0.5, n_bias),
        },
        "rnn_2": {
            "kernel:0": rng.normal(0, scale, (U, 4 * U)),
            "recurrent_kernel:0": rng.normal(0, scale, (U, 4 * U)),
            "bias:0": rng.normal(0, 0.5, n_bias),
        },
        "attention": {"attention_W:0": rng.normal(0, 0.3, (E + 2 * U, 1))},
        "output": {"kernel:0": rng.normal(0, 0.3, (E + 2 * U, V)), "bias:0": rng.normal(0, 1.0, V)},
    }
    path = folder / "textgenrnn_weights.hdf5"
    with h5py.File(path, "w") as f:
        layers = ["input", "embedding", "rnn_1", "rnn_2", "rnn_concat", "attention", "output"]
        f.attrs["layer_names"] = np.array([n.encode() for n in layers])
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.1.5"
        for name in layers:
            g = f.create_group(name)
            weights = arrays.get(name, {})
            g.attrs["weight_names"] = np.array([f"{name}/{w}".encode() for w in weights])
            for w, value in weights.items():
                g.create_dataset(f"{name}/{w}", data=value.astype(np.float32))
    return path, folder / "textgenrnn_vocab.json"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_textgenrnn_files(tmp_path_factory.mktemp("textgenrnn"))


@pytest.fixture(scope="module")
def model(files):
    return convert_textgenrnn(*files)


CONTEXTS = [
    "",
    "What is",
    "a title that is longer than the forty-character window of the model",  # truncated to the last 40
    "unknown → characters ☃ map to the placeholder 0",
    "<s>",  # the meta token's characters, read one by one as textgenrnn does
]


@pytest.mark.parametrize("text", CONTEXTS)
def test_next_character_distribution_matches_the_keras_model(files, model, text):
    ref = reference_probs(*files, text)
    assert abs(ref.sum() - 1) < 1e-12 and ref.max() < 0.999  # a real distribution, not a one-hot
    np.testing.assert_allclose(model.next_char_probs(text), ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(model.double().next_char_probs(text), ref, rtol=0, atol=1e-10)
    model.float()


def test_plain_keras_lstm_layout_matches_too(tmp_path):
    """A file written by Keras' LSTM (bias 4U: a model trained with textgenrnn on CPU) converts as x · kernel."""
    files = write_textgenrnn_files(tmp_path, seed=3, cudnn=False)
    model = convert_textgenrnn(*files)
    for text in CONTEXTS[:3]:
        np.testing.assert_allclose(model.next_char_probs(text), reference_probs(*files, text), atol=1e-5)


def test_the_cudnn_transform_matters(files, model):
    """Reading the CuDNN kernels as Keras' (in, 4U) layout would give another model: the test can fail."""
    w = read_h5(files[0])
    ids = np.zeros(40, dtype=np.int64)
    ids[-8:] = [model.encode("What is")[i] for i in range(8)]
    naive = dict(w)
    for k in (1, 2):
        b = w[f"rnn_{k}/rnn_{k}/bias:0"]
        naive[f"rnn_{k}/rnn_{k}/bias:0"] = b[: 4 * U] + b[4 * U :]  # plain LSTM layout: no kernel transform
    ref = keras_predict(w, ids)
    assert np.abs(keras_predict(naive, ids) - ref).max() > 1e-3
    np.testing.assert_allclose(model.next_char_probs("What is"), ref, atol=1e-5)


def test_forward_shapes_and_window(model):
    ids = model.window(model.encode("x" * 100))
    assert ids.shape == (1, 40) and int(ids[0, 0]) == model.char_to_index["x"]
    short = model.window(model.encode("ab"))
    assert short[0, :37].tolist() == [0] * 37  # left padding with the placeholder
    assert short[0, 37:].tolist() == [model.char_to_index[c] for c in ("<s>", "a", "b")]
    out = model(torch.cat([ids, short]))
    assert (
        out.logits.shape == (2, V) and out.attention.shape == (2, 40) and out.pooled.shape == (2, E + 2 * U)
    )
    assert torch.allclose(out.attention.sum(1), torch.ones(2), atol=1e-6)
    assert len(out.states) == 2 and out.states[1][1].shape == (2, U)
    labels = torch.tensor([3, 4])
    assert model(ids.repeat(2, 1), labels=labels).loss.ndim == 0


def test_save_and_load_round_trip(tmp_path, model):
    model.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))
    assert (
        config["model_type"] == "hfmech-char-rnn" and config["vocab"][0] == "" and len(config["vocab"]) == V
    )
    from transformers import AutoModel

    loaded = AutoModel.from_pretrained(tmp_path / "m")
    assert isinstance(loaded, CharRNNForCausalLM)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    np.testing.assert_allclose(loaded.next_char_probs("What is"), model.next_char_probs("What is"), atol=1e-6)


# --------------------------------------------------------------------------------------------------- sampling
def test_sampling_is_seeded_and_argmax_is_greedy(model):
    a = model.sample("What", length=30, temperature=1.0, seed=7, stop_at_end=False)
    assert a == model.sample("What", length=30, temperature=1.0, seed=7, stop_at_end=False)
    assert a.startswith("What") and len(a) == 4 + 30
    others = {model.sample("What", length=30, temperature=1.0, seed=s, stop_at_end=False) for s in range(5)}
    assert len(others) > 1
    greedy = model.sample("What", length=12, sample=False, stop_at_end=False)
    text = "What"
    for _ in range(12):  # argmax of next_char_probs, step by step
        p = model.next_char_probs(text)
        p[0] = -1
        index = int(np.argmax(p))
        text += "\n" if model.vocab[index] == "<s>" else model.vocab[index]
    assert greedy == text
    cold = model.sample("What", length=12, temperature=1e-3, seed=1, stop_at_end=False)
    assert cold == greedy  # a temperature near 0 is the argmax


def test_meta_token_ends_a_title_and_the_placeholder_is_never_emitted(files):
    model = convert_textgenrnn(*files)
    meta = model.char_to_index["<s>"]
    with torch.no_grad():
        model.output.bias.zero_()
        model.output.bias[0] = 50.0  # the placeholder is by far the most likely …
        model.output.bias[meta] = 40.0  # … then the meta token
    assert model.sample("Hi", length=20, sample=False) == "Hi"  # the runner-up <s> ends the title
    assert model.sample("Hi", length=3, sample=False, stop_at_end=False) == "Hi\n\n\n"
    for seed in range(3):
        assert model.sample("Hi", length=5, temperature=1.0, seed=seed, stop_at_end=False) == "Hi\n\n\n\n\n"


@pytest.mark.parametrize("temperature", [0, -1.0, math.nan, math.inf, 1e9, "1", True, None])
def test_bad_temperatures_are_typed_errors(model, temperature):
    with pytest.raises(CharRNNError, match="temperature"):
        model.sample("a", length=3, temperature=temperature)


@pytest.mark.parametrize("length", [0, -5, MAX_SAMPLE_LENGTH + 1, 2.5, True, "10"])
def test_bad_lengths_are_typed_errors(model, length):
    with pytest.raises(CharRNNError, match="length"):
        model.sample("a", length=length)


@pytest.mark.parametrize(
    "primetext, words",
    [(b"bytes", "string"), (None, "string"), ("\ud800", "surrogate"), ("x" * 100_001, "100,000")],
)
def test_bad_primetext_is_a_typed_error(model, primetext, words):
    with pytest.raises(CharRNNError, match=words):
        model.sample(primetext, length=2)


def test_sampling_threads_are_restored(model):
    before = torch.get_num_threads()
    a = model.sample("a", length=5, seed=0, num_threads=1)
    assert torch.get_num_threads() == before
    assert a[:3] == model.sample("a", length=2, seed=0, num_threads=None)
    with pytest.raises(CharRNNError, match="num_threads"):
        model.sample("a", length=2, num_threads=0)
    with pytest.raises(CharRNNError, match="num_threads"):
        model.next_char_probs("a", num_threads=True)


def test_bad_seed_and_sample_flag(model):
    with pytest.raises(SeedError):
        model.sample("a", length=2, seed=-1)
    with pytest.raises(CharRNNError, match="sample"):
        model.sample("a", length=2, sample="yes")
    with pytest.raises(CharRNNError, match="input_ids"):
        model(torch.tensor([[V]]))
    with pytest.raises(CharRNNError, match="input_ids"):
        model(torch.zeros(1, 3))


def test_all_errors_are_hfmech_errors():
    assert issubclass(CharRNNError, HfmechError) and issubclass(TextgenrnnWeightsError, HfmechError)


# --------------------------------------------------------------------------------------------------- features
@pytest.fixture
def one_thread():
    from hfmech.sentiment.modeling_char_rnn import torch_threads

    with torch_threads(1):
        yield


def test_featurize_full_read_equals_stepwise_lstm(model, one_thread):
    texts = ["good", "a much longer sentence than the others, well past forty characters in all", "", "é ☃"]
    feats = model.featurize(texts, read="full", batch_size=3)
    assert set(feats) == {"c1", "h1", "c2", "h2"} and feats["c2"].shape == (4, U)
    for i, text in enumerate(texts):
        ids = torch.tensor([model.encode(text)])
        with torch.no_grad():
            x = model.embedding(ids)
            h1, (_, c1) = model.rnns[0](x)
            _, (h2, c2) = model.rnns[1](h1)
        np.testing.assert_allclose(feats["c1"][i], c1[0, 0].numpy(), atol=1e-5)
        np.testing.assert_allclose(feats["h2"][i], h2[0, 0].numpy(), atol=1e-5)
        np.testing.assert_allclose(feats["c2"][i], c2[0, 0].numpy(), atol=1e-5)
    window = model.featurize(texts, read="window")
    assert window["pooled"].shape == (4, E + 2 * U)
    for i, text in enumerate(texts):  # the window read is the model's own input: padding included
        with torch.no_grad():
            out = model(model.window(model.encode(text)))
        np.testing.assert_allclose(window["c2"][i], out.states[1][1][0].numpy(), atol=1e-5)
        np.testing.assert_allclose(window["pooled"][i], out.pooled[0].numpy(), atol=1e-5)
    # the 37 padding positions before "good" are read (no mask), so even a short text's window state differs
    assert not np.allclose(window["c1"][0], feats["c1"][0], atol=1e-3)


def test_featurize_refuses_bad_input(model):
    with pytest.raises(CharRNNError, match="read"):
        model.featurize(["a"], read="both")
    with pytest.raises(CharRNNError, match="list"):
        model.featurize("a single string")
    with pytest.raises(CharRNNError, match=r"texts\[1\]"):
        model.featurize(["a", 3])


# --------------------------------------------------------------------------------------------------- converter
def test_converter_refuses_other_files(tmp_path, files):
    weights, vocab = files
    (tmp_path / "not.h5").write_bytes(b"not hdf5")
    with pytest.raises(TextgenrnnWeightsError, match="HDF5"):
        convert_textgenrnn(tmp_path / "not.h5", vocab)
    with pytest.raises(TextgenrnnWeightsError, match="no such file"):
        convert_textgenrnn(tmp_path / "missing.hdf5", vocab)
    small = json.loads(vocab.read_text(encoding="utf-8"))
    small.pop(next(k for k in small if k != "<s>" and small[k] == len(small)))  # indices stay 1..V-2
    (tmp_path / "small.json").write_text(json.dumps(small), encoding="utf-8")
    with pytest.raises(TextgenrnnWeightsError, match="embedding"):
        convert_textgenrnn(weights, tmp_path / "small.json")
    gap = dict(small, extra=len(small) + 5)
    (tmp_path / "gap.json").write_text(json.dumps(gap), encoding="utf-8")
    with pytest.raises(TextgenrnnWeightsError, match="indices"):
        convert_textgenrnn(weights, tmp_path / "gap.json")
    (tmp_path / "bi.json").write_text(json.dumps({"rnn_bidirectional": True}), encoding="utf-8")
    with pytest.raises(TextgenrnnWeightsError, match="bidirectional"):
        convert_textgenrnn(weights, vocab, tmp_path / "bi.json")
    (tmp_path / "three.json").write_text(json.dumps({"rnn_layers": 3}), encoding="utf-8")
    with pytest.raises(TextgenrnnWeightsError, match="rnn_3"):
        convert_textgenrnn(weights, vocab, tmp_path / "three.json")


def test_converter_names_a_reshaped_tensor(tmp_path):
    weights, vocab = write_textgenrnn_files(tmp_path, seed=1)
    with h5py.File(weights, "a") as f:
        del f["rnn_2/rnn_2/recurrent_kernel:0"]
        f.create_dataset("rnn_2/rnn_2/recurrent_kernel:0", data=np.zeros((U, 3 * U), np.float32))
    with pytest.raises(TextgenrnnWeightsError, match="rnn_2"):
        convert_textgenrnn(weights, vocab)


def test_config_validation():
    with pytest.raises(ValueError, match="vocab"):
        CharRNNConfig(vocab=["", "a"], vocab_size=3)
    with pytest.raises(ValueError, match="meta_token"):
        CharRNNConfig(vocab=["", "a", "b"], vocab_size=3)
    with pytest.raises(ValueError, match="rnn_size"):
        CharRNNConfig(rnn_size=0)


# --------------------------------------------------------------------------------------------------- CLI
def test_cli_samples_from_a_folder(tmp_path, model, capsys):
    from hfmech.cli import main

    model.save_pretrained(tmp_path / "m")
    args = ["char-rnn-sample", str(tmp_path / "m"), "--primetext", "What", "--length", "25", "--seed", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and first.startswith("What")
    assert main(["char-rnn-sample", str(tmp_path / "m"), "--argmax", "--length", "5"]) == 0
    assert main(["char-rnn-sample", str(tmp_path / "m"), "--temperature", "0"]) == 2
    assert "temperature" in capsys.readouterr().err
    assert main(["char-rnn-sample", str(tmp_path / "m"), "--length", "0"]) == 2
    assert main(["char-rnn-sample", str(tmp_path / "nowhere")]) == 2


# --------------------------------------------------------------------------------------------------- zoo
def test_zoo_entry_builds_a_verified_folder_with_its_card(tmp_path, monkeypatch, files):
    """The builder on files in the package's layout (random values): config with the discovery, card rendered."""
    import importlib.metadata

    from hfmech.hub import zoo
    from hfmech.hub.weights import verify_folder
    from hfmech.sentiment import zoo_char_rnn

    monkeypatch.setenv(
        "HFMECH_CACHE", str(tmp_path / "cache")
    )  # never the shared cache: these weights are random
    monkeypatch.setattr(zoo_char_rnn, "package_files", lambda: files)
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.0.0")
    folder = zoo.build("char-rnn-reddit", force=True)
    assert zoo_char_rnn._source_fingerprint() != json.dumps(
        {"discovery": zoo_char_rnn.SENTIMENT_DISCOVERY, "files": "textgenrnn not installed"}, sort_keys=True
    )
    verify_folder(folder)
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "{{" not in card and "license: mit" in card and "unit 27" in card
    model = zoo_char_rnn.load_char_rnn(folder)
    assert (
        model.config.sentiment_neuron["unit"] == 27 and model.config.sentiment_neuron["unit_accuracy"] < 0.6
    )
    assert model.config.source["licence"] == "MIT" and len(model.config.source["sha256"]) == 64
    np.testing.assert_allclose(model.next_char_probs("What"), reference_probs(*files, "What"), atol=1e-5)


def test_zoo_entry_without_the_package_is_a_zoo_error(monkeypatch):
    import importlib.util

    from hfmech.hub import zoo
    from hfmech.sentiment import zoo_char_rnn

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "textgenrnn" else real(name, *a)
    )
    with pytest.raises(zoo.ZooError, match="pip install --no-deps textgenrnn"):
        zoo_char_rnn.package_files()


def test_loader_refuses_other_models_and_missing_folders(tmp_path):
    from hfmech.errors import ModelLoadError
    from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM
    from hfmech.sentiment.zoo_char_rnn import load_char_rnn

    MLSTMForByteLM(MLSTMConfig(hidden_size=8)).save_pretrained(tmp_path / "mlstm")
    with pytest.raises(ModelLoadError, match="hfmech-char-rnn"):
        load_char_rnn(tmp_path / "mlstm")
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_char_rnn(tmp_path / "nowhere")


def test_a_model_without_vocabulary_refuses_text_and_unknown_characters_are_read_as_padding(model):
    bare = CharRNNForCausalLM(CharRNNConfig(vocab_size=10, dim_embeddings=4, rnn_size=3, max_length=5))
    with pytest.raises(CharRNNError, match="vocabulary"):
        bare.sample("a", length=2)
    with pytest.raises(CharRNNError, match="vocabulary"):
        bare.next_char_probs("a")
    assert model.encode("☃✓", meta=False) == [0, 0]  # textgenrnn's vocab.get(ch, 0)
    np.testing.assert_array_equal(model.next_char_probs("☃"), model.next_char_probs("✓"))
    assert model.sample("☃☃☃", length=3, seed=0).startswith("☃☃☃")
