"""Word vectors, analogy arithmetic, files, evaluator and the word-analogy pipeline on tiny hand-made vectors."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi
from transformers import AutoModel, pipeline

import hfmech
from hfmech.analogy import io
from hfmech.analogy.evaluate import evaluate_analogies, evaluate_similarity, read_analogy_questions, spearman
from hfmech.analogy.modeling_word_vectors import (
    AnalogyQueryError,
    OutOfVocabularyError,
    VocabularyFileError,
    WordVectorsConfig,
    WordVectorsModel,
    read_vocab,
)
from hfmech.analogy.pipeline_word_analogy import WordAnalogyPipeline, parse_query
from hfmech.analogy.pruned import pruned_search_3cosadd
from hfmech.analogy.search import COSMUL_EPSILON, blocked_topk, exhaustive_search
from hfmech.errors import USER_ERRORS

# --------------------------------------------------------------------------------------------------------------------
# fixtures: vectors where the answers are known by construction
# --------------------------------------------------------------------------------------------------------------------

# All unit length: king - man + woman == queen exactly (cosine 1).
#   man = (0.8, 0.6, 0), woman = (0.8, -0.6, 0), king = (0, 0.6, 0.8), queen = (0, -0.6, 0.8)
ROYAL = {
    "the": (0.0, 0.0, -1.0),
    "man": (0.8, 0.6, 0.0),
    "woman": (0.8, -0.6, 0.0),
    "king": (0.0, 0.6, 0.8),
    "apple": (-1.0, 0.0, 0.0),
    "queen": (0.0, -0.6, 0.8),
    "prince": (0.0, 0.8, 0.6),
    "t-shirt": (0.6, 0.0, 0.8),
    "café": (0.0, 1.0, 0.0),
}


def royal_model(**config) -> WordVectorsModel:
    words = list(ROYAL)
    return WordVectorsModel.from_arrays(
        words, list(range(len(words), 0, -1)), np.array(list(ROYAL.values())), **config
    )


def random_model(n=400, d=8, seed=0, **config) -> WordVectorsModel:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n)]
    return WordVectorsModel.from_arrays(words, None, rng.standard_normal((n, d)).astype(np.float32), **config)


def numpy_scores(vectors: np.ndarray, a: int, b: int, c: int, method: str, restrict: int) -> np.ndarray:
    """The three methods written out directly in float64 (inputs masked)."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    u = unit[:restrict]
    ua, ub, uc = unit[a], unit[b], unit[c]
    if method == "3cosadd":
        q = ub - ua + uc
        s = u @ q / np.linalg.norm(q)
    elif method == "3cosmul":

        def f(v):
            return (1 + u @ v) / 2

        s = f(ub) * f(uc) / (f(ua) + COSMUL_EPSILON)
    else:
        o = (ub - ua) / np.linalg.norm(ub - ua)
        diff = u - uc
        s = diff @ o / np.maximum(np.linalg.norm(diff, axis=1), 1e-6)
    for x in (a, b, c):
        if x < restrict:
            s[x] = -np.inf
    return s


# --------------------------------------------------------------------------------------------------------------------
# model API
# --------------------------------------------------------------------------------------------------------------------


def test_king_minus_man_plus_woman_is_queen_exactly():
    model = royal_model()
    (word, score), *_ = model.analogy("man", "king", "woman", topn=3)
    assert word == "queen" and score == pytest.approx(1.0, abs=1e-6)
    assert model.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    for method in ("3cosmul", "pairdirection"):
        assert model.analogy("man", "king", "woman", method=method)[0][0] == "queen"
    # input words are never answers, even when they score highest
    answers = [w for w, _ in model.analogy("man", "king", "woman", topn=20)]
    assert not {"man", "king", "woman"} & set(answers) and len(answers) == len(ROYAL) - 3


def test_keyed_vectors_api():
    model = royal_model()
    assert (
        len(model) == len(ROYAL)
        and "king" in model
        and "KING" in model
        and "kings" not in model
        and 3 not in model
    )
    assert model.index("queen") == 5 and model.index_to_key[5] == "queen" and model.key_to_index["queen"] == 5
    np.testing.assert_array_equal(model["king"], np.array(ROYAL["king"], dtype=np.float32))
    assert model[["king", "queen"]].shape == (2, 3)
    assert model.get_vector("king", norm=True) == pytest.approx(np.array(ROYAL["king"]), abs=1e-6)
    assert model.similarity("king", "queen") == pytest.approx(0.0 * 0 + 0.6 * -0.6 + 0.8 * 0.8, abs=1e-6)
    assert model.counts.tolist() == list(range(len(ROYAL), 0, -1))
    assert model.vectors.shape == (len(ROYAL), 3) and not model.vectors.flags.writeable
    assert model.vectors.dtype == np.float32 and model.embeddings.weight.dtype == torch.float32
    out = model(input_ids=torch.tensor([[3, 5]]))
    assert out.last_hidden_state.shape == (1, 2, 3)


def test_unit_vectors_are_cached_and_recomputed_after_a_weight_change():
    model = royal_model()
    first = model.unit_vectors()
    assert model.unit_vectors() is first
    with torch.no_grad():
        model.embeddings.weight[model.index("apple")] = torch.tensor([0.0, -0.6, 0.8])
    second = model.unit_vectors()
    assert second is not first and torch.allclose(second[model.index("apple")], second[model.index("queen")])


def test_from_arrays_sorts_by_count_and_validates():
    model = WordVectorsModel.from_arrays(["b", "a", "c"], [1, 5, 3], np.eye(3))
    assert model.index_to_key == ["a", "c", "b"] and model.counts.tolist() == [5, 3, 1]
    np.testing.assert_array_equal(model["a"], [0, 1, 0])
    kept = WordVectorsModel.from_arrays(["b", "a"], [1, 5], np.eye(2), sort_by_count=False)
    assert kept.index_to_key == ["b", "a"]
    with pytest.raises(ValueError, match="NaN"):
        WordVectorsModel.from_arrays(["a", "b"], None, np.array([[1.0, 0.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shape|must be"):
        WordVectorsModel.from_arrays(["a"], None, np.eye(2))
    with pytest.raises(VocabularyFileError, match="duplicate"):
        WordVectorsModel.from_arrays(["a", "a"], None, np.eye(2))
    with pytest.raises(VocabularyFileError, match="tab or newline"):
        WordVectorsModel.from_arrays(["a\tb", "c"], None, np.eye(2))
    assert (
        WordVectorsModel.from_arrays(["x"], None, torch.ones(1, 4, dtype=torch.float16)).vectors.dtype
        == np.float32
    )


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul", "pairdirection"])
def test_methods_match_a_direct_numpy_computation(method):
    model = random_model(n=300, d=6, seed=1)
    vectors = model.vectors.astype(np.float64)
    rng = np.random.default_rng(2)
    a, b, c = rng.choice(300, size=(3, 40))
    for restrict in (300, 120):
        result = model.analogy_batch(
            a, b, c, method=method, topn=5, restrict_vocab=restrict, strategy="exhaustive"
        )
        for i in range(40):
            if len({a[i], b[i], c[i]}) < 3:
                continue
            expected = numpy_scores(vectors, a[i], b[i], c[i], method, restrict)
            top = np.argsort(-expected, kind="stable")[:5]
            assert result.indices[i].tolist() == top.tolist()
            np.testing.assert_allclose(result.scores[i].numpy(), expected[top], rtol=1e-5, atol=1e-6)
            assert (result.indices[i] < restrict).all()


def test_most_similar_3cosmul_with_several_words_matches_its_formula():
    model = random_model(n=200, d=5, seed=3)
    unit = model.vectors / np.linalg.norm(model.vectors, axis=1, keepdims=True)
    pos, neg = ["w3", "w10", "w7"], ["w1", "w2"]

    def f(word):
        return (1 + unit @ unit[model.index(word)]) / 2

    expected = f(pos[0]) * f(pos[1]) * f(pos[2]) / (f(neg[0]) * f(neg[1]) + COSMUL_EPSILON)
    expected[[model.index(w) for w in pos + neg]] = -np.inf
    got = model.most_similar(positive=pos, negative=neg, topn=4, method="3cosmul")
    assert [w for w, _ in got] == [model.index_to_key[i] for i in np.argsort(-expected)[:4]]
    assert [s for _, s in got] == pytest.approx(np.sort(expected)[::-1][:4].tolist(), rel=1e-5)


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul", "pairdirection"])
def test_restrict_vocab_is_respected_by_every_method(method):
    # queen is the last (rarest) word: with restrict_vocab excluding it, it can never be the answer
    words = ["man", "woman", "king", "apple", "prince", "queen"]
    model = WordVectorsModel.from_arrays(words, None, np.array([ROYAL[w] for w in words]))
    assert model.analogy("man", "king", "woman", method=method)[0][0] == "queen"
    assert (
        model.analogy("man", "king", "woman", method=method, restrict_vocab=100)[0][0] == "queen"
    )  # clamped
    for restrict in (5, 4):
        answers = model.analogy("man", "king", "woman", method=method, topn=5, restrict_vocab=restrict)
        assert answers and all(model.index(w) < restrict for w, _ in answers)
        assert "queen" not in [w for w, _ in answers]
    batch = model.analogy_batch([0], [2], [1], method=method, topn=3, restrict_vocab=5, gold=[5])
    assert (batch.indices[0][batch.indices[0] >= 0] < 5).all() and batch.gold_rank.tolist() == [0]


def test_gold_ranks_and_max_rank():
    model = random_model(n=200, d=6, seed=4)
    rng = np.random.default_rng(5)
    a, b, c, d = rng.choice(200, size=(4, 60))
    full = model.analogy_batch(a, b, c, topn=1, gold=d)
    scores = [
        numpy_scores(model.vectors.astype(np.float64), a[i], b[i], c[i], "3cosadd", 200) for i in range(60)
    ]
    for i in range(60):
        if d[i] in (a[i], b[i], c[i]):
            assert full.gold_rank[i] == 0
        else:
            assert full.gold_rank[i] == 1 + int((scores[i] > scores[i][d[i]]).sum())
    capped = model.analogy_batch(a, b, c, topn=1, gold=d, max_rank=10)
    expected = torch.where(full.gold_rank <= 10, full.gold_rank, torch.zeros_like(full.gold_rank))
    assert torch.equal(capped.gold_rank, expected)


def test_blocked_topk_is_topk():
    torch.manual_seed(0)
    for m, k in ((5000, 1), (5000, 7), (100_001, 10), (300, 3)):
        x = torch.randn(6, m)
        values, idx = blocked_topk(x, k, block=32)
        expected_values, expected_idx = x.topk(k, dim=1)
        assert torch.equal(values, expected_values) and torch.equal(idx, expected_idx)


def test_pruned_search_equals_exhaustive():
    rng = np.random.default_rng(6)
    n = 12_000
    model = WordVectorsModel.from_arrays(
        [f"w{i}" for i in range(n)], None, rng.standard_normal((n, 10)).astype(np.float32)
    )
    # benchmark-like questions: 30 example pairs x 30 third words
    pairs = rng.choice(n, size=(30, 2), replace=False)
    thirds = rng.choice(n, size=30, replace=False)
    a = np.repeat(pairs[:, 0], 30)
    b = np.repeat(pairs[:, 1], 30)
    c = np.tile(thirds, 30)
    gold = rng.choice(n, size=a.size)
    for restrict in (n, 9000):
        pruned = pruned_search_3cosadd(model, a, b, c, topn=5, restrict=restrict, gold=gold, max_rank=10)
        exhaustive = exhaustive_search(
            model.unit_vectors(), a, b, c, topn=5, restrict=restrict, gold=gold, max_rank=10
        )
        assert pruned.info["strategy"] == "pruned" and pruned.info["scored_fraction"] < 1
        assert torch.equal(pruned.indices, exhaustive.indices)
        torch.testing.assert_close(pruned.scores, exhaustive.scores, rtol=0, atol=1e-6)
        assert torch.equal(pruned.gold_rank, exhaustive.gold_rank)
    # the model routes to it on request
    routed = model.analogy_batch(a, b, c, topn=5, strategy="pruned")
    assert torch.equal(routed.indices, exhaustive_search(model.unit_vectors(), a, b, c, topn=5).indices)
    with pytest.raises(AnalogyQueryError, match="3cosadd only"):
        model.analogy_batch(a, b, c, method="3cosmul", strategy="pruned")


def test_bad_settings_raise_typed_errors():
    model = royal_model()
    for kwargs, match in (
        ({"restrict_vocab": 0}, "restrict_vocab"),
        ({"restrict_vocab": -3}, "restrict_vocab"),
        ({"restrict_vocab": "30000"}, "restrict_vocab"),
        ({"topn": 0}, "topn"),
        ({"method": "cosine"}, "unknown analogy method"),
    ):
        with pytest.raises(AnalogyQueryError, match=match):
            model.analogy("man", "king", "woman", **kwargs)
    with pytest.raises(AnalogyQueryError, match="a != b"):
        model.analogy("king", "king", "woman", method="pairdirection")
    with pytest.raises(AnalogyQueryError, match="pairdirection needs an analogy"):
        model.most_similar(["king"], method="pairdirection")
    with pytest.raises(AnalogyQueryError, match="cancel"):
        model.most_similar(["king"], ["king"])
    with pytest.raises(ValueError, match="analogy"):
        WordVectorsConfig(analogy={"method": "nope"})


def test_out_of_vocabulary_errors_name_every_word_with_suggestions():
    model = royal_model()
    with pytest.raises(OutOfVocabularyError) as info:
        model.analogy("man", "kign", "wman")
    err = info.value
    assert err.words == ["kign", "wman"] and isinstance(err, KeyError) and isinstance(err, ValueError)
    assert err.suggestions["kign"][0] == "king" and err.suggestions["wman"][0] == "woman"
    assert "'kign' (did you mean: king" in str(err) and "2 words are not in the vocabulary" in str(err)
    with pytest.raises(KeyError):
        model["zebra"]
    assert model.suggest("zzzzzz") == []


def test_lookup_normalises_case_for_lowercase_vocabularies_and_unicode_to_nfc():
    cased = royal_model()
    lower = royal_model(lowercase=True)
    assert "King" in lower and lower.index("KING") == lower.index("king")
    assert cased.index("King") == cased.index("king")  # cased vocabulary: as written, then lower-cased
    both = WordVectorsModel.from_arrays(["US", "us"], None, np.eye(2))
    assert both.index("US") == 0 and both.index("us") == 1 and both.index("Us") == 1
    decomposed = unicodedata.normalize("NFD", "café")
    assert decomposed != "café" and cased.index(decomposed) == cased.index("café")


# --------------------------------------------------------------------------------------------------------------------
# persistence: vocab.txt, save/load, Hub
# --------------------------------------------------------------------------------------------------------------------


def test_save_and_load_round_trip_with_vocab_txt(tmp_path):
    words = ["the", "ünïcode", "日本", "line\u2028sep", "x\x85y", "a b"]
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((len(words), 4)).astype(np.float32)
    model = WordVectorsModel.from_arrays(
        words, [60, 50, 40, 30, 20, 10], vectors, source="test", lowercase=False
    )
    model.save_pretrained(tmp_path / "m")
    text = (tmp_path / "m" / "vocab.txt").read_bytes().decode("utf-8")
    assert text.split("\n")[:2] == ["the\t60", "ünïcode\t50"] and text.endswith("\n")
    assert read_vocab(tmp_path / "m" / "vocab.txt")[0] == words
    loaded = AutoModel.from_pretrained(tmp_path / "m")
    assert isinstance(loaded, WordVectorsModel) and loaded.index_to_key == words
    assert loaded.counts.tolist() == [60, 50, 40, 30, 20, 10] and loaded.config.source == "test"
    np.testing.assert_array_equal(loaded.vectors, vectors)
    # no counts: "word" lines only
    bare = WordVectorsModel.from_arrays(words, None, vectors)
    bare.save_pretrained(tmp_path / "bare")
    assert "\t" not in (tmp_path / "bare" / "vocab.txt").read_text(encoding="utf-8")
    assert WordVectorsModel.from_pretrained(tmp_path / "bare").counts is None


def test_float16_on_disk_float32_in_memory(tmp_path):
    model = random_model(n=50, d=4)
    model.save_pretrained(tmp_path / "half", dtype=torch.float16)
    model.save_pretrained(tmp_path / "full")
    half = (tmp_path / "half" / "model.safetensors").stat().st_size
    assert half < (tmp_path / "full" / "model.safetensors").stat().st_size
    loaded = WordVectorsModel.from_pretrained(tmp_path / "half")
    assert loaded.embeddings.weight.dtype == torch.float32
    np.testing.assert_array_equal(loaded.vectors, model.vectors.astype(np.float16).astype(np.float32))


def test_corrupt_vocab_files(tmp_path):
    model = random_model(n=3, d=2)
    model.save_pretrained(tmp_path / "m")
    vocab = tmp_path / "m" / "vocab.txt"
    for content, match in (
        (b"w0\nw1\n", "rows"),
        (b"w0\nw0\nw2\n", "duplicate"),
        (b"w0\t1\nw1\nw2\t3\n", "line 2"),
        (b"w0\t1\nw1\tx\nw2\t3\n", "not an integer"),
        (b"w0\n\xff\xfe\nw2\n", "UTF-8"),
    ):
        vocab.write_bytes(content)
        with pytest.raises(VocabularyFileError, match=match):
            WordVectorsModel.from_pretrained(tmp_path / "m")
    vocab.unlink()
    with pytest.raises(OSError):
        WordVectorsModel.from_pretrained(tmp_path / "m")


def test_hub_round_trip_model_and_pipeline(local_hub, tmp_path):
    model = royal_model(lowercase=True, analogy={"restrict_vocab": 1000, "topn": 3})
    folder = tmp_path / "royal"
    model.save_pretrained(folder)
    api = HfApi(token="hf_test")
    api.create_repo("org/royal-vectors", exist_ok=True)
    api.upload_folder(repo_id="org/royal-vectors", folder_path=folder)
    loaded = AutoModel.from_pretrained("org/royal-vectors")
    assert isinstance(loaded, WordVectorsModel) and loaded.index_to_key == list(ROYAL)
    np.testing.assert_array_equal(loaded.vectors, model.vectors)
    pipe = pipeline("word-analogy", model="org/royal-vectors")
    answers = pipe("Man:King::Woman:?")
    assert (
        answers[0]["word"] == "queen"
        and len(answers) == 3
        and answers.settings["restrict_vocab"] == len(ROYAL)
    )


# --------------------------------------------------------------------------------------------------------------------
# word2vec / GloVe files
# --------------------------------------------------------------------------------------------------------------------

UNICODE_WORDS = ["the", "café", "naïve", "日本", "e\u0301", "x"]


def unicode_model() -> WordVectorsModel:
    rng = np.random.default_rng(8)
    vectors = rng.standard_normal((len(UNICODE_WORDS), 5)).astype(np.float32)
    vectors[0, 0] = np.float32(1e-30)  # values that need all 9 significant digits
    vectors[1, 1] = np.nextafter(np.float32(1), np.float32(2))
    return WordVectorsModel.from_arrays(UNICODE_WORDS, None, vectors)


@pytest.mark.parametrize(
    "save, load",
    [
        (lambda m, p: io.save_word2vec(m, p, binary=True), lambda p: io.load_word2vec(p)),
        (lambda m, p: io.save_word2vec(m, p, binary=False), lambda p: io.load_word2vec(p)),
        (lambda m, p: io.save_word2vec(m, p, binary=True), lambda p: io.load_word2vec(p, binary=True)),
        (io.save_glove_text, io.load_glove_text),
    ],
    ids=["w2v-bin", "w2v-text", "w2v-bin-explicit", "glove"],
)
def test_vector_files_round_trip_exactly(tmp_path, save, load):
    model = unicode_model()
    path = tmp_path / "vectors"
    save(model, path)
    loaded = load(path)
    assert loaded.index_to_key == UNICODE_WORDS
    assert np.array_equal(loaded.vectors.view(np.uint32), model.vectors.view(np.uint32))  # bit-exact


def test_word2vec_binary_layout_and_limit(tmp_path):
    model = unicode_model()
    path = io.save_word2vec(model, tmp_path / "v.bin")
    data = path.read_bytes()
    assert data.startswith(b"6 5\nthe ") and data[8 : 8 + 20] == model.vectors[0].astype("<f4").tobytes()
    assert data[28:29] == b"\n"  # word2vec.c writes a newline after each vector
    # readers must also accept files without those newlines (other writers omit them)
    stripped = b"6 5\n" + b"".join(
        w.encode() + b" " + v.astype("<f4").tobytes() for w, v in zip(UNICODE_WORDS, model.vectors)
    )
    (tmp_path / "nonl.bin").write_bytes(stripped)
    assert io.load_word2vec(tmp_path / "nonl.bin", binary=True).index_to_key == UNICODE_WORDS
    assert io.load_word2vec(path, limit=2).index_to_key == UNICODE_WORDS[:2]


def test_gensim_conversion_round_trip():
    pytest.importorskip("gensim")
    model = royal_model()
    kv = io.to_gensim(model)
    assert list(kv.index_to_key) == list(ROYAL) and np.array_equal(kv.vectors, model.vectors)
    back = io.from_gensim(kv)
    assert back.index_to_key == list(ROYAL) and back.counts.tolist() == model.counts.tolist()
    assert kv.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_corrupt_vector_files_raise_vector_file_error_with_the_line(tmp_path):
    vec = np.ones(3, dtype="<f4").tobytes()
    cases = [
        ("header.txt", b"three 3\na 1 2 3\n", io.load_word2vec, 1, "header"),
        ("noheader.txt", b"", io.load_word2vec, 1, "header"),
        ("trunc.bin", b"2 3\na " + vec + b"\nb " + vec[:5], io.load_word2vec, 2, "truncated"),
        (
            "trunc2.bin",
            b"3 3\na " + vec + b"\nb " + vec,
            lambda p: io.load_word2vec(p, binary=True),
            3,
            "truncated",
        ),
        ("dims.txt", b"2 3\na 1 2 3\nb 1 2\n", io.load_word2vec, 3, "expected 3 values"),
        ("nan.txt", b"2 3\na 1 2 3\nb 1 nan 2\n", io.load_word2vec, 3, "NaN"),
        ("word.txt", b"2 3\na 1 2 3\nb 1 two 3\n", io.load_word2vec, 3, "not all numbers"),
        ("utf8.txt", b"2 3\na 1 2 3\n\xff\xfe 1 2 3\n", io.load_word2vec, 3, "UTF-8"),
        (
            "utf8.bin",
            b"2 3\na " + vec + b"\n\xff\xfe " + vec,
            lambda p: io.load_word2vec(p, binary=True),
            2,
            "UTF-8",
        ),
        ("dup.txt", b"2 3\na 1 2 3\na 4 5 6\n", io.load_word2vec, 3, "duplicate"),
        ("more.txt", b"1 3\na 1 2 3\nb 4 5 6\n", io.load_word2vec, 3, "more entries"),
        ("fewer.txt", b"3 3\na 1 2 3\nb 4 5 6\n", io.load_word2vec, 4, "truncated"),
        ("glove_dims.txt", b"a 1 2 3\nb 1 2\n", io.load_glove_text, 2, "expected 3 values"),
        ("glove_header.txt", b"2 3\na 1 2 3\n", io.load_glove_text, 1, "word2vec header"),
        ("glove_empty.txt", b"\n\n", io.load_glove_text, 1, "empty"),
    ]
    for name, data, loader, line, match in cases:
        with pytest.raises(io.VectorFileError, match=match) as info:
            loader(_write(tmp_path / name, data))
        assert info.value.line == line, name
        assert str(tmp_path / name) in str(info.value)
    with pytest.raises(io.VectorFileError, match="cannot be written"):
        io.save_glove_text(WordVectorsModel.from_arrays(["a b"], None, np.ones((1, 2))), tmp_path / "x.txt")


# --------------------------------------------------------------------------------------------------------------------
# pipeline
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def royal_pipe():
    return WordAnalogyPipeline(model=royal_model(lowercase=True))


def test_pipeline_factory_and_task_registration():
    assert hfmech.TASKS["word-analogy"] is WordAnalogyPipeline
    pipe = pipeline("word-analogy", model=royal_model())
    assert isinstance(pipe, WordAnalogyPipeline)
    assert pipe("man:king::woman:?")[0]["word"] == "queen"


@pytest.mark.parametrize(
    "query",
    [
        "man:king::woman:?",
        " man : king :: woman : ? ",
        "man:king::woman:",
        "king - man + woman",
        "king-man+woman",
        "-man + king + woman",
        "king − man + woman",
        {"positive": ["king", "woman"], "negative": ["man"]},
        {"positive": ["king", "woman"], "negative": "man"},
    ],
)
def test_pipeline_query_forms(royal_pipe, query):
    answers = royal_pipe(query, topn=3)
    assert answers[0] == {"word": "queen", "score": pytest.approx(1.0, abs=1e-6), "rank": 1}
    assert [a["rank"] for a in answers] == [1, 2, 3]
    assert sorted(answers.query["positive"]) == ["king", "woman"] and answers.query["negative"] == ["man"]
    assert answers.query["expression"] == "king - man + woman"


def test_pipeline_keeps_hyphenated_words_that_exist(royal_pipe):
    assert parse_query("t-shirt + king", royal_pipe.model)["positive"] == ["t-shirt", "king"]
    assert parse_query("king-man+woman", royal_pipe.model)["negative"] == ["man"]
    assert royal_pipe("t-shirt - man + woman", topn=1).query["positive"] == ["t-shirt", "woman"]


def test_pipeline_settings_and_batch(royal_pipe):
    answers = royal_pipe(
        ["man:king::woman:?", "king - man + woman"], method="3cosmul", topn=2, restrict_vocab=10**9
    )
    assert [a[0]["word"] for a in answers] == ["queen", "queen"]
    assert answers[0].settings == {"method": "3cosmul", "topn": 2, "restrict_vocab": len(ROYAL)}
    default = royal_pipe("man:king::woman:?")
    assert default.settings == {"method": "3cosadd", "topn": 10, "restrict_vocab": len(ROYAL)}
    assert len(default) == len(ROYAL) - 3  # topn larger than the candidates: all of them
    unrestricted = royal_pipe("man:king::woman:?", restrict_vocab=None)
    assert unrestricted.settings["restrict_vocab"] == len(ROYAL)


def test_pipeline_repeated_words_mixed_case_and_unicode(royal_pipe):
    # repeated words count twice; the input words are excluded
    repeated = royal_pipe("king - king + queen", topn=2)
    assert {a["word"] for a in repeated}.isdisjoint({"king", "queen"})
    twice = royal_pipe({"positive": ["woman", "woman", "king"], "negative": ["man"]}, topn=1)
    assert twice.query["positive"] == ["woman", "woman", "king"]
    assert royal_pipe("MAN:King::wOmAn:?")[0]["word"] == "queen"
    nfd = unicodedata.normalize("NFD", "Café")
    assert royal_pipe(f"{nfd} + king", topn=1).query["positive"] == ["café", "king"]


@pytest.mark.parametrize(
    "query, error, match",
    [
        ("", AnalogyQueryError, "empty query"),
        ("   ", AnalogyQueryError, "empty query"),
        ("man:king::", AnalogyQueryError, "expected 'a:b::c:\\?'"),
        ("man:king:woman:?", AnalogyQueryError, "malformed analogy"),
        ("king +", AnalogyQueryError, "ends with an operator"),
        ("king + - man", AnalogyQueryError, "two operators"),
        ("king man", AnalogyQueryError, "missing '\\+' or '-'"),
        ("- king", AnalogyQueryError, "no positive word"),
        ({"positive": []}, AnalogyQueryError, "at least one positive"),
        ({"positive": ["king"], "other": 1}, AnalogyQueryError, "unknown keys"),
        ({"positive": [3]}, AnalogyQueryError, "must be strings"),
        (42, AnalogyQueryError, "unsupported query type"),
        ("king - king", AnalogyQueryError, "cancel"),
        ("kign - man + woman", OutOfVocabularyError, "did you mean: king"),
        ("man:king::wman:?", OutOfVocabularyError, "woman"),
    ],
)
def test_pipeline_bad_inputs(royal_pipe, query, error, match):
    with pytest.raises(error, match=match):
        royal_pipe(query)
    assert issubclass(error, USER_ERRORS)


def test_pipeline_bad_settings(royal_pipe):
    with pytest.raises(AnalogyQueryError, match="restrict_vocab"):
        royal_pipe("man:king::woman:?", restrict_vocab=0)
    with pytest.raises(AnalogyQueryError, match="topn"):
        royal_pipe("man:king::woman:?", topn=-1)
    with pytest.raises(AnalogyQueryError, match="unknown argument"):
        royal_pipe("man:king::woman:?", top_k=3)
    with pytest.raises(AnalogyQueryError, match="a != b"):
        royal_pipe("king:king::woman:?", method="pairdirection")
    with pytest.raises(TypeError, match="WordVectorsModel"):
        WordAnalogyPipeline(model=torch.nn.Linear(2, 2))


def test_explain_figure(royal_pipe):
    from matplotlib.figure import Figure

    answers = royal_pipe("man:king::woman:?", explain=True, topn=3)
    assert isinstance(answers.figure, Figure)
    ax = answers.figure.axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert {"man", "king", "woman", "queen"} <= labels and ax.get_title() == "man : king :: woman : queen"
    assert royal_pipe("man:king::woman:?").figure is None
    assert isinstance(royal_pipe("king + woman", explain=True).figure, Figure)


# --------------------------------------------------------------------------------------------------------------------
# evaluator
# --------------------------------------------------------------------------------------------------------------------


def _google_file(tmp_path: Path) -> Path:
    text = (
        ": royal-family\n"
        "man king woman queen\n"
        "Man King Woman Queen\n"
        "woman queen man prince\n"
        "man king woman unicorn\n"
        "not a question\n"
        ": more\n"
        "king queen man woman\n"
    )
    return _write(tmp_path / "questions.txt", text.encode())


def test_evaluate_analogies_on_a_tiny_google_file(tmp_path):
    model = royal_model()
    result = evaluate_analogies(model, _google_file(tmp_path), restrict_vocab=None)
    royal, more = result.sections
    assert (royal.name, royal.correct, royal.seen, royal.total) == ("royal-family", 2, 3, 4)
    assert (more.seen, more.total) == (1, 1) and result.skipped_lines == 1
    assert result.total == 5 and result.seen == 4 and result.coverage == pytest.approx(0.8)
    assert result.semantic_accuracy == pytest.approx(result.accuracy)  # both sections are within the first 5
    assert result.ranks[0] == 1 and result.topn_accuracy()[0] == pytest.approx(result.accuracy)
    data = result.to_dict(per_question=True)
    assert data["questions"][0] == {
        "section": "royal-family",
        "words": ["man", "king", "woman", "queen"],
        "prediction": "queen",
        "rank": 1,
        "correct": True,
    }
    assert '"questions_seen_total": "4 / 5"' in result.to_json()
    assert "Questions seen / total: 4 5   80.00 %" in result.summary()
    # a restriction that drops "queen" (row 5) makes its questions unseen
    restricted = evaluate_analogies(model, tmp_path / "questions.txt", restrict_vocab=5)
    assert (restricted.seen, restricted.total) == (0, 5)


def test_conventions_differ_only_on_case_variants(tmp_path):
    # "Queen" is more frequent than "queen": both conventions map the question word "queen" to the first spelling
    words = ["man", "woman", "king", "Queen", "queen", "prince"]
    vecs = np.array(
        [ROYAL["man"], ROYAL["woman"], ROYAL["king"], ROYAL["queen"], (0.0, -0.59, 0.8), ROYAL["prince"]]
    )
    model = WordVectorsModel.from_arrays(words, None, vecs)
    path = _write(tmp_path / "q.txt", b": s\nman king woman queen\nman king Queen prince\n")
    w2v = evaluate_analogies(model, path, restrict_vocab=None, convention="word2vec")
    gensim = evaluate_analogies(model, path, restrict_vocab=None, convention="gensim")
    # question 2: king - man + Queen is nearest to "queen" (row 4), a case variant of the input "Queen":
    # word2vec.c answers it (wrong), gensim skips spellings of the inputs and answers "prince" (right)
    assert w2v.predictions == ["Queen", "queen"] and gensim.predictions == ["Queen", "prince"]
    assert w2v.sections[0].correct == 1 and gensim.sections[0].correct == 2
    exact = evaluate_analogies(model, path, restrict_vocab=None, case_insensitive=False)
    assert exact.predictions[0] == "Queen" and exact.sections[0].correct == 0


def test_gensim_convention_matches_gensim_on_a_cased_vocabulary(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(9)
    base = [f"w{i}" for i in range(60)]
    words = base + [w.upper() for w in base[::3]] + [w.capitalize() for w in base[2::6]]
    vectors = rng.standard_normal((len(words), 6)).astype(np.float32)
    model = WordVectorsModel.from_arrays(words, None, vectors)
    lines = [": first"] + [" ".join(rng.choice(base, 4, replace=False)) for _ in range(60)]
    lines += [": second"] + [" ".join(rng.choice(words, 4, replace=False)) for _ in range(60)]
    path = _write(tmp_path / "q.txt", "\n".join(lines).encode())
    kv = gensim_models.KeyedVectors(6)
    kv.add_vectors(words, vectors)
    for restrict in (len(words), 50):
        _, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict, case_insensitive=True)
        ours = evaluate_analogies(model, path, restrict_vocab=restrict, convention="gensim")
        expected = [(len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections[:-1]]
        assert [(s.correct, s.seen) for s in ours.sections] == expected


def test_msr_and_bats_formats(tmp_path):
    model = royal_model()
    msr = _write(
        tmp_path / "msr.csv",
        b",type,word1,word2,word3,target\n0,G,man,king,woman,queen\n1,G,woman,queen,man,king\n2,H,man,woman,zebra,x\n",
    )
    result = evaluate_analogies(model, msr, restrict_vocab=None)
    assert result.dataset == "msr" and [s.name for s in result.sections] == ["G", "H"]
    assert (result.correct, result.seen, result.total) == (2, 2, 3) and result.syntactic_accuracy == 1.0
    bats = tmp_path / "BATS"
    (bats / "3_Encyclopedic_semantics").mkdir(parents=True)
    (bats / "1_Inflectional_morphology").mkdir(parents=True)
    _write(
        bats / "3_Encyclopedic_semantics" / "E10 [male - female].txt",
        b"man\tunicorn/woman\r\nking\tqueen/queenie\n",
    )
    _write(bats / "1_Inflectional_morphology" / "I01 [x].txt", b"man\tzzz\nking\tqueen\n")
    qset = read_analogy_questions(bats)
    assert qset.dataset == "bats" and len(qset.questions) == 4
    result = evaluate_analogies(model, bats, restrict_vocab=None)
    inflection, gender = result.sections
    assert not inflection.semantic and gender.semantic
    # gender: man:woman::king:? (gold queen/queenie) and king:queen::man:? (gold unicorn/woman)
    assert (gender.correct, gender.seen, gender.total) == (2, 2, 2)
    assert result.question_words[0][1] == "woman"  # the first in-vocabulary answer is the example
    # inflection: man has no in-vocabulary answer, so only king:queen::man:? is unseen too
    assert (inflection.seen, inflection.total) == (0, 2)


def test_spearman_with_ties_and_similarity_files(tmp_path):
    x = [1, 2, 2, 3, 5, 5, 5, 8]
    y = [2, 1, 4, 3, 7, 7, 6, 9]
    scipy_stats = pytest.importorskip("scipy.stats")
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)
    model = royal_model()
    path = _write(
        tmp_path / "sim.csv",
        b",word1,word2,similarity\n0,king,queen,8\n1,man,woman,7\n2,apple,king,1\n3,zebra,king,2\n",
    )
    result = evaluate_similarity(model, path)
    assert (result.pairs_found, result.pairs_total, result.oov_words) == (3, 4, ["zebra"])
    men = _write(
        tmp_path / "men.csv",
        b",word1,word2,similarity\n0,king-n,queen-n,8\n1,man-n,woman-n,7\n2,apple-n,king-n,1\n",
    )
    assert evaluate_similarity(model, men).pairs_found == 3
    tsv = _write(tmp_path / "ws.tsv", b"# comment\nking\tqueen\t8\nman\twoman\t7\napple\tking\t1\n")
    assert evaluate_similarity(model, tsv).spearman == pytest.approx(result.spearman)


def test_evaluator_errors(tmp_path):
    model = royal_model()
    with pytest.raises(FileNotFoundError):
        evaluate_analogies(model, tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="before the first"):
        evaluate_analogies(model, _write(tmp_path / "nosection.txt", b"man king woman queen\n"))
    with pytest.raises(AnalogyQueryError, match="convention"):
        evaluate_analogies(model, _google_file(tmp_path), convention="c")
    assert math.isclose(evaluate_analogies(model, _google_file(tmp_path), max_rank=None).ranks[0], 1)
