"""hfmech.analogy.train: word2vec.c's pieces checked against direct formulas, and training on tiny corpora."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hfmech.analogy import train as w2v
from hfmech.analogy.train import (
    Corpus,
    Word2VecConfig,
    Word2VecTrainer,
    build_vocab,
    contexts,
    keep_probabilities,
    learning_rate,
    load_corpus,
    tokenize,
    unigram_table,
)


def make_corpus(sentences: list[list[str]], min_count: int = 1, max_vocab: int | None = None) -> Corpus:
    lookup: dict[str, int] = {}
    ids, starts = [], [0]
    for s in sentences:
        ids.extend(lookup.setdefault(t, len(lookup)) for t in s)
        starts.append(len(ids))
    words, counts, old_to_new = build_vocab(list(lookup), np.asarray(ids, np.int32), min_count, max_vocab)
    mapped = old_to_new[np.asarray(ids, np.int64)]
    keep = mapped >= 0
    before = np.concatenate([[0], np.cumsum(keep)])
    return Corpus(
        words, counts, mapped[keep].astype(np.int32), before[np.asarray(starts)], raw_tokens=len(ids)
    )


def random_corpus(n_sent=200, length=30, vocab=40, seed=0) -> Corpus:
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, vocab + 1)
    p /= p.sum()
    return make_corpus([[f"w{i}" for i in rng.choice(vocab, length, p=p)] for _ in range(n_sent)])


def test_tokenize_imdb_markup():
    assert tokenize("I didn't like it.<br /><br />The END, 10/10!") == [
        "i",
        "didn't",
        "like",
        "it",
        "the",
        "end",
        "10",
        "10",
    ]
    assert tokenize("'quoted' words_with_underscore") == ["quoted", "words", "with", "underscore"]


def test_keep_probability_is_word2vec_formula():
    counts = np.array([100000, 5000, 300, 20, 5])
    s = 1e-3
    total = counts.sum()
    direct = [min((np.sqrt(c / (s * total)) + 1) * (s * total) / c, 1.0) for c in counts]
    np.testing.assert_allclose(keep_probabilities(counts, s), direct, rtol=1e-12)
    assert keep_probabilities(counts, 0).tolist() == [1.0] * 5


def test_unigram_table_matches_power_075():
    counts = np.array([1000, 400, 90, 10, 1])
    table = unigram_table(counts, table_size=1_000_000)
    freq = np.bincount(table, minlength=counts.size) / table.size
    p = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(freq, p, atol=2e-6)


def test_learning_rate_linear_to_floor(monkeypatch):
    assert learning_rate(0.05, 0, 1000) == pytest.approx(0.05)
    assert learning_rate(0.05, 500, 1000) == pytest.approx(0.05 * (1 - 500 / 1001))
    assert learning_rate(0.05, 10**6, 10**6) == pytest.approx(0.05 * 1e-4)
    # the trainer: one call per batch, linear in the words done, ending at the floor
    seen = []

    def spy(alpha, done, total, min_ratio=1e-4):
        seen.append((done, total, learning_rate(alpha, done, total, min_ratio)))
        return seen[-1][2]

    monkeypatch.setattr(w2v, "learning_rate", spy)
    corpus = random_corpus()
    Word2VecTrainer(corpus, Word2VecConfig(size=8, epochs=3, batch_size=64, sample=0, threads=1)).train(
        log=None
    )
    done = np.array([d for d, _, _ in seen])
    lr = np.array([a for _, _, a in seen])
    total = seen[0][1]
    assert total == 3 * corpus.train_words
    assert np.all(np.diff(done) > 0)
    np.testing.assert_allclose(lr, np.maximum(0.05 * (1 - done / (total + 1)), 0.05e-4))
    assert lr[0] == pytest.approx(0.05) and lr[-1] < 0.05 * 64 / corpus.train_words * 2


def test_dynamic_window_distribution():
    W, n = 5, 20000
    win = torch.arange(n * (2 * W + 1)).view(n, 2 * W + 1) % 97
    swin = torch.zeros_like(win)  # one long sentence: only the window shrink limits the context
    absoff = torch.cat([torch.arange(W, 0, -1), torch.arange(1, W + 1)])
    center, ctx, valid = contexts(win, swin, absoff, pad=-1, gen=torch.Generator().manual_seed(0))
    sizes = valid.sum(1).numpy()
    # b ~ U{0..W-1}: the context is W-b words either side, so 2, 4, ..., 2W words, each with probability 1/W
    hist = np.bincount(sizes, minlength=2 * W + 1)[2::2] / n
    np.testing.assert_allclose(hist, np.full(W, 1 / W), atol=0.015)
    assert set(np.unique(sizes)) <= {2, 4, 6, 8, 10}
    assert torch.equal(center, win[:, W])
    assert bool((ctx[~valid] == -1).all())
    # symmetric: the valid slots are always a contiguous band around the center
    assert bool((valid[:, W - 1] | ~valid.any(1)).all()) and bool(
        (valid[:, :W].sum(1) == valid[:, W:].sum(1)).all()
    )
    # sentence boundaries cut the window
    swin2 = swin.clone()
    swin2[:, : W - 1] = 1
    _, _, valid2 = contexts(win, swin2, absoff, pad=-1, gen=torch.Generator().manual_seed(0))
    assert not bool(valid2[:, : W - 1].any())


def test_min_count_and_max_vocab():
    ids = np.array([0] * 9 + [1] * 5 + [2] * 4 + [3] * 7 + [4] * 5, dtype=np.int32)
    words, counts, old_to_new = build_vocab(list("abcde"), ids, min_count=5)
    assert words == ["a", "d", "b", "e"] and counts.tolist() == [9, 7, 5, 5]
    assert old_to_new[2] == -1
    words, counts, _ = build_vocab(list("abcde"), ids, min_count=1, max_vocab=2)
    assert words == ["a", "d"]


def test_objective_falls_and_deterministic_under_seed():
    corpus = random_corpus()
    cfg = dict(size=16, epochs=4, batch_size=64, sample=0, threads=1, seed=3)
    a = Word2VecTrainer(corpus, Word2VecConfig(**cfg))
    hist = a.train(log=None)
    assert hist[-1]["objective"] < hist[0]["objective"] - 0.05
    b = Word2VecTrainer(corpus, Word2VecConfig(**cfg))
    b.train(log=None)
    assert torch.equal(a.vectors, b.vectors)
    c = Word2VecTrainer(corpus, Word2VecConfig(**{**cfg, "seed": 4}))
    c.train(log=None)
    assert not torch.equal(a.vectors, c.vectors)


def test_skipgram_objective_falls():
    corpus = random_corpus()
    t = Word2VecTrainer(corpus, Word2VecConfig(model="skipgram", size=16, epochs=3, batch_size=32, threads=1))
    hist = t.train(log=None)
    assert t.config.alpha == 0.025
    assert hist[-1]["objective"] < hist[0]["objective"]


def planted_corpus(n_pairs=8, n_sent=3000, seed=0):
    """Countries and their capitals: each pair shares topic words; countries co-occur with 'country' words,
    capitals with 'city' words, so capital_i - country_i + country_j ~ capital_j."""
    rng = np.random.default_rng(seed)
    kind_words = {"country": ["nation", "border", "president"], "capital": ["city", "mayor", "downtown"]}
    sentences = []
    for _ in range(n_sent):
        i = int(rng.integers(n_pairs))
        kind = "country" if rng.random() < 0.5 else "capital"
        sent = [
            f"{kind}{i}",
            f"topic{i}{rng.integers(3)}",
            f"topic{i}{rng.integers(3)}",
            *rng.choice(kind_words[kind], 2).tolist(),
        ]
        rng.shuffle(sent)
        sentences.append(sent)
    return make_corpus(sentences)


def test_planted_analogies_are_recovered():
    corpus = planted_corpus()
    t = Word2VecTrainer(
        corpus, Word2VecConfig(size=24, window=4, epochs=8, batch_size=64, sample=0, threads=1, negative=5)
    )
    t.train(log=None)
    vec = torch.nn.functional.normalize(t.vectors, dim=1)
    idx = {w: i for i, w in enumerate(corpus.words)}
    right = total = 0
    for i in range(8):
        for j in range(8):
            if i == j:
                continue
            a, b, c, d = idx[f"country{i}"], idx[f"capital{i}"], idx[f"country{j}"], idx[f"capital{j}"]
            scores = vec @ (vec[b] - vec[a] + vec[c])
            scores[[a, b, c]] = -float("inf")
            right += int(scores.argmax()) == d
            total += 1
    assert right / total >= 0.9, right / total


def test_streams_parquet_through_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    texts = ["The cat sat.<br />The dog ran!", "", "the cat and the dog", "a cat"]
    path = tmp_path / "tiny.parquet"
    datasets.Dataset.from_dict({"body": texts, "id": list(range(4))}).to_parquet(str(path))
    corpus = load_corpus([str(path)], text_column="body", min_count=2, cache_dir=tmp_path / "cache")
    assert corpus.words == ["the", "cat", "dog"] and corpus.counts.tolist() == [4, 3, 2]
    assert corpus.sentences() == [["the", "cat", "the", "dog"], ["the", "cat", "the", "dog"], ["cat"]]
    assert corpus.raw_tokens == 13
    again = load_corpus([str(path)], text_column="body", min_count=2, cache_dir=tmp_path / "cache")
    assert np.array_equal(again.ids, corpus.ids)
    assert any((tmp_path / "cache").glob("*.npz"))
    cut = load_corpus(
        [str(path)], text_column="body", min_count=2, cache_dir=tmp_path / "cache", max_sentence_length=3
    )
    assert [len(s) for s in cut.sentences()] == [3, 1, 3, 1, 1]


def test_checkpoint_resume(tmp_path):
    corpus = random_corpus()
    cfg = dict(size=8, epochs=2, batch_size=32, threads=1, seed=5)
    full = Word2VecTrainer(corpus, Word2VecConfig(**cfg))
    full.train(log=None)
    first = Word2VecTrainer(corpus, Word2VecConfig(**{**cfg, "epochs": 2}))
    first.train_epoch(log=None)
    first.save_checkpoint(tmp_path)
    resumed = Word2VecTrainer(corpus, Word2VecConfig(**cfg))
    assert resumed.load_checkpoint(tmp_path) and resumed.epochs_done == 1
    resumed.train(log=None)
    assert torch.equal(resumed.vectors, full.vectors)


def test_zoo_cbow_imdb_builds_from_shipped_files(tmp_path, monkeypatch):
    from hfmech.analogy import zoo_cbow
    from hfmech.hub import zoo

    if not (zoo_cbow.WEIGHTS_DIR / "vectors.safetensors").is_file():
        pytest.skip("cbow-imdb weights not in this checkout")
    monkeypatch.setenv("HFMECH_CACHE", str(tmp_path))
    words, counts, vectors, info = zoo_cbow.load_cbow_imdb_arrays()
    assert vectors.shape == (len(words), info["settings"]["size"]) and (np.diff(counts) <= 0).all()
    folder = zoo.build("cbow-imdb", force=True)
    assert {"config.json", "model.safetensors", "vocab.txt", "README.md"} <= {
        p.name for p in folder.iterdir()
    }
    from hfmech.analogy import WordVectorsModel

    model = WordVectorsModel.from_pretrained(str(folder))
    assert len(model) == len(words)
    assert "{{" not in (folder / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------- numba backend: word2vec.c's inner loop
def _reference_epoch(trainer: Word2VecTrainer, epoch: int = 0):
    """word2vec.c's TrainModelThread (negative sampling, one thread) written out in float64 numpy, on the trainer's
    own epoch stream; returns the expected ``(syn0, syn1neg)`` after the epoch."""
    from hfmech.analogy._w2v_kernels import lcg_next

    e = np.exp((np.arange(1001) / 1000 * 2 - 1) * 6.0)
    sigmoid = e / (e + 1)

    cfg = trainer.config
    syn0 = trainer.syn0.double().numpy().copy()
    syn1 = trainer.syn1neg.double().numpy().copy()
    table = trainer.table.numpy()
    tokens, sent, pos = (x.numpy() if torch.is_tensor(x) else x for x in trainer._epoch_stream(epoch))
    W, k, B = cfg.window, cfg.negative, cfg.batch_size
    total = cfg.epochs * trainer.corpus.train_words
    rng = (cfg.seed * 1_000_003 + epoch) * 64
    alpha = cfg.alpha

    def output_layer(h, word):
        nonlocal rng
        err = np.zeros_like(h)
        for d in range(k + 1):
            if d == 0:
                target, label = word, 1.0
            else:
                rng = lcg_next(rng)
                target, label = int(table[(rng >> 16) % table.size]), 0.0
                if target == word:
                    continue
            f = h @ syn1[target]
            # word2vec.c's expTable: 1000 entries over [-6, 6]
            sig = 1.0 if f > 6 else 0.0 if f < -6 else sigmoid[int((f + 6) * (1000 / 6 / 2))]
            g = (label - sig) * alpha
            err += g * syn1[target]
            syn1[target] += g * h
        return err

    for p in range(pos.size):
        if p % B == 0:
            alpha = max(
                cfg.alpha * (1 - (epoch * trainer.corpus.train_words + pos[p]) / (total + 1)),
                cfg.alpha * 1e-4,
            )
        j = p + W
        rng = lcg_next(rng)
        b = (rng >> 16) % W
        ctx = [c for c in range(j - (W - b), j + (W - b) + 1) if c != j and sent[c] == sent[j]]
        if cfg.model == "cbow":
            if not ctx:
                continue
            h = syn0[tokens[ctx]].mean(0)
            err = output_layer(h, tokens[j])
            for c in ctx:
                syn0[tokens[c]] += err
        else:
            for c in ctx:
                syn0[tokens[c]] += output_layer(syn0[tokens[c]].copy(), tokens[j])
    return syn0, syn1


@pytest.mark.parametrize("model", ["cbow", "skipgram"])
def test_numba_kernel_is_word2vec_c(model):
    pytest.importorskip("numba")
    corpus = random_corpus(n_sent=30, length=20, vocab=25, seed=1)
    cfg = Word2VecConfig(
        model=model,
        size=8,
        window=3,
        epochs=2,
        batch_size=16,
        threads=1,
        seed=2,
        backend="numba",
        sample=1e-2,
        table_size=100_000,
    )
    trainer = Word2VecTrainer(corpus, cfg)
    assert trainer.backend == "numba"
    syn0, syn1 = _reference_epoch(trainer)
    assert trainer._epoch_stream(0)[2].size < corpus.train_words  # subsampling removed some words
    trainer.train_epoch(log=None)
    np.testing.assert_allclose(trainer.syn0.numpy(), syn0, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(trainer.syn1neg.numpy(), syn1, rtol=1e-4, atol=1e-6)
    assert np.abs(syn1).max() > 1e-3  # something was learned


def test_numba_and_torch_backends_learn_the_same_analogies():
    pytest.importorskip("numba")
    corpus = planted_corpus(n_sent=1500)
    cfg = dict(size=24, window=4, epochs=8, batch_size=64, sample=0, threads=1, negative=5)
    objectives = {}
    for backend in ("numba", "torch"):
        t = Word2VecTrainer(corpus, Word2VecConfig(**cfg, backend=backend))
        assert t.backend == backend
        objectives[backend] = [h["objective"] for h in t.train(log=None)]
    # same objective (the same loss, per center word) on the same schedule: close curves, both falling
    for backend, obj in objectives.items():
        assert obj[-1] < obj[0] - 0.1, (backend, obj)
    np.testing.assert_allclose(objectives["numba"][-1], objectives["torch"][-1], rtol=0.1)


def test_backend_validation():
    with pytest.raises(ValueError, match="backend"):
        Word2VecConfig(backend="cuda")


def test_export_vectors_round_trip_leaves_no_temporaries(tmp_path):
    from safetensors.torch import load_file

    from hfmech.analogy.train import export_vectors

    words, counts = ["the", "cat", "dog"], np.array([9, 4, 2])
    vectors = torch.randn(3, 5)
    info = export_vectors(words, counts, vectors, tmp_path / "out", top=2, extra={"seed": 1})
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["training.json", "vectors.safetensors", "vocab.txt"]
    assert torch.equal(load_file(str(out / "vectors.safetensors"))["vectors"], vectors[:2].half())
    assert (out / "vocab.txt").read_text(encoding="utf-8") == "the\t9\ncat\t4\n"
    assert (
        json.loads((out / "training.json").read_text())
        == info
        == {"vocab_size": 2, "dtype": "float16", "seed": 1}
    )
