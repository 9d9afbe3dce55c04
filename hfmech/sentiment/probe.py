"""The linear probe and unit discovery of the sentiment-neuron paper.

Radford, Jozefowicz & Sutskever (2017), "Learning to Generate Reviews and Discovering Sentiment" (arXiv:1704.01444),
§3: features are the final cell state of the byte mLSTM after reading a text; an **L1-regularised logistic
regression** is fitted on them, its strength chosen on a dev split; the L1 penalty drives almost all weights to zero
and the largest one sits on a single "sentiment unit". This module is a faithful port of ``train_with_reg_cv`` from
openai/generating-reviews-discovering-sentiment (utils.py): for ``C`` in ``2**arange(-8, 1)`` fit
``LogisticRegression(C=C, penalty="l1")`` on train, score on dev, refit with the best ``C``, report test accuracy
and the number of non-zero weights.

It is model-agnostic: features are any ``np.ndarray (N, H)`` (mLSTM states, transformer MLP activations, ...).

* :func:`train_with_reg_cv` — the probe (all units).
* :func:`find_unit` / :func:`single_unit_accuracy` — the unit with the largest ``|coef|``, its polarity (the sign of
  its weight: +1 means "larger value = positive"), and its accuracy alone with a threshold fitted on train.
* :func:`data_efficiency_curve` — test accuracy vs number of labelled training examples (paper Fig. 2), several seeds.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import HfmechError

C_GRID = tuple(float(c) for c in 2.0 ** np.arange(-8, 1))
"""The OpenAI code's regularisation grid ``2**arange(-8, 1)`` = 1/256 … 1."""


class ProbeInputError(HfmechError, ValueError):
    """Features/labels that a probe cannot be fitted on (shape mismatch, one class only, NaN, too few examples)."""


def _check(X, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ProbeInputError(f"{what}: features must be 2-D (N, H), got shape {X.shape}")
    if y.ndim != 1 or len(y) != len(X):
        raise ProbeInputError(f"{what}: {len(X)} feature rows but labels of shape {y.shape}")
    if len(X) == 0:
        raise ProbeInputError(f"{what}: no examples")
    if not np.isfinite(X).all():
        raise ProbeInputError(f"{what}: features contain NaN or inf")
    return X, y.astype(np.int64)


def _two_classes(y: np.ndarray, what: str) -> None:
    if len(np.unique(y)) != 2:
        raise ProbeInputError(f"{what}: binary labels needed (two classes), got {np.unique(y).tolist()}")


@dataclass
class ProbeResult:
    """A fitted L1 probe. ``coef`` (H,), accuracies in [0, 1]."""

    C: float
    dev_accuracy: float
    test_accuracy: float | None
    train_accuracy: float
    n_nonzero: int
    coef: np.ndarray = field(repr=False)
    intercept: float = 0.0
    dev_scores: dict = field(default_factory=dict, repr=False)
    model: object = field(default=None, repr=False)

    def predict(self, X) -> np.ndarray:
        return self.model.predict(np.asarray(X, dtype=np.float64))

    def top_units(self, k: int = 10) -> list[tuple[int, float]]:
        order = np.argsort(-np.abs(self.coef))[:k]
        return [(int(i), float(self.coef[i])) for i in order]

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("coef", "model", "dev_scores")}
        d["dev_scores"] = {f"{c:g}": s for c, s in self.dev_scores.items()}
        d["top_units"] = self.top_units(5)
        return d


def _logreg(C: float, penalty: str, seed: int):
    from sklearn.linear_model import LogisticRegression

    # liblinear is the solver of sklearn's default at the time of the OpenAI code and supports L1 directly.
    if penalty == "l1":
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", random_state=seed, max_iter=1000)
    return LogisticRegression(C=C, l1_ratio=0.0, solver="liblinear", random_state=seed, max_iter=1000)


def _fit(C: float, penalty: str, seed: int, X, y):
    model = _logreg(C, penalty, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning / FutureWarning about penalty names
        model.fit(X, y)
    return model


def train_with_reg_cv(
    trX,
    trY,
    vaX,
    vaY,
    teX=None,
    teY=None,
    penalty: str = "l1",
    C: tuple[float, ...] = C_GRID,
    seed: int = 42,
    n_jobs: int | None = None,
) -> ProbeResult:
    """The OpenAI probe: choose ``C`` on dev (``vaX``, ``vaY``), refit on train, score test.

    Shapes: ``trX (N_tr, H)``, ``trY (N_tr,)`` ints in {0, 1}, and likewise for dev/test.
    The fits of the ``C`` grid are independent and run through joblib: ``n_jobs`` processes, or (``None``) what an
    enclosing ``joblib.parallel_config(n_jobs=…)`` says (default 1). Results do not depend on ``n_jobs``.
    """
    trX, trY = _check(trX, trY, "train")
    vaX, vaY = _check(vaX, vaY, "dev")
    _two_classes(trY, "train")
    if vaX.shape[1] != trX.shape[1]:
        raise ProbeInputError(f"dev features have {vaX.shape[1]} units, train {trX.shape[1]}")
    if penalty not in ("l1", "l2"):
        raise ProbeInputError(f"penalty must be 'l1' or 'l2', got {penalty!r}")
    from joblib import Parallel, delayed

    fits = Parallel(n_jobs=n_jobs)(delayed(_fit)(c, penalty, seed + i, trX, trY) for i, c in enumerate(C))
    scores = {float(c): float((model.predict(vaX) == vaY).mean()) for c, model in zip(C, fits)}
    best = max(
        scores, key=lambda c: (scores[c], -c)
    )  # ties: the stronger regularisation (smaller C), sparser
    model = _fit(best, penalty, seed + len(C), trX, trY)
    test_acc = None
    if teX is not None:
        teX, teY = _check(teX, teY, "test")
        test_acc = float((model.predict(teX) == teY).mean())
    coef = model.coef_.ravel().astype(np.float64)
    return ProbeResult(
        C=best,
        dev_accuracy=scores[best],
        test_accuracy=test_acc,
        train_accuracy=float((model.predict(trX) == trY).mean()),
        n_nonzero=int(np.sum(coef != 0)),
        coef=coef,
        intercept=float(model.intercept_.ravel()[0]),
        dev_scores=scores,
        model=model,
    )


# ------------------------------------------------------------------------------------------ unit discovery


@dataclass
class UnitResult:
    """One unit used alone as a classifier: predict positive when ``polarity * value > polarity * threshold``."""

    unit: int
    polarity: int
    threshold: float
    train_accuracy: float
    test_accuracy: float | None = None
    weight: float | None = None

    def predict(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        return (self.polarity * (v - self.threshold) > 0).astype(np.int64)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_threshold(values, labels, polarity: int = 0) -> tuple[float, int, float]:
    """Best decision threshold on one feature: ``(threshold, polarity, train accuracy)``, exact over all cuts.

    ``polarity`` +1: positive when ``value > threshold``; -1: when ``value < threshold``; 0: try both.
    The threshold is the midpoint between the two sorted values around the best cut.
    """
    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    if v.ndim != 1 or len(v) != len(y) or len(v) == 0:
        raise ProbeInputError(
            f"fit_threshold: values {v.shape} and labels {y.shape} must be 1-D of equal length"
        )
    order = np.argsort(v, kind="stable")
    vs, ys = v[order], y[order]
    n, n_pos = len(y), int(y.sum())
    # cut k: items [0, k) predicted below the threshold, [k, n) above (k = 0..n)
    pos_below = np.concatenate([[0], np.cumsum(ys)])
    k = np.arange(n + 1)
    acc_up = ((k - pos_below) + (n_pos - pos_below)) / n  # above -> positive
    acc_down = (pos_below + (n - k) - (n_pos - pos_below)) / n  # above -> negative
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = vs[1:] > vs[:-1]  # only cut between distinct values
    candidates = []
    if polarity in (0, 1):
        candidates.append((np.where(valid, acc_up, -1.0), 1))
    if polarity in (0, -1):
        candidates.append((np.where(valid, acc_down, -1.0), -1))
    acc, pol = max(((a, p) for a, p in candidates), key=lambda ap: ap[0].max())
    best = int(np.argmax(acc))
    if best == 0:
        thr = vs[0] - 1.0
    elif best == n:
        thr = vs[-1] + 1.0
    else:
        thr = 0.5 * (vs[best - 1] + vs[best])
    return float(thr), int(pol), float(acc[best])


def find_unit(probe: ProbeResult) -> tuple[int, int]:
    """``(unit, polarity)`` — the unit with the largest ``|coef|`` and the sign of its weight."""
    unit = int(np.argmax(np.abs(probe.coef)))
    if probe.coef[unit] == 0:
        raise ProbeInputError(
            "the probe has no non-zero weight (regularisation too strong): no unit to report"
        )
    return unit, int(np.sign(probe.coef[unit]))


def single_unit_accuracy(trX, trY, teX, teY, unit: int, polarity: int = 0) -> UnitResult:
    """Accuracy of ``unit`` alone: threshold (and polarity if 0) fitted on train, applied to test."""
    trX, trY = _check(trX, trY, "train")
    teX, teY = _check(teX, teY, "test")
    if not 0 <= unit < trX.shape[1]:
        raise ProbeInputError(f"unit {unit} out of range for {trX.shape[1]} features")
    thr, pol, train_acc = fit_threshold(trX[:, unit], trY, polarity)
    result = UnitResult(unit=int(unit), polarity=pol, threshold=thr, train_accuracy=train_acc)
    result.test_accuracy = float((result.predict(teX[:, unit]) == teY).mean())
    return result


def discover_unit(trX, trY, vaX, vaY, teX, teY, **probe_kwargs) -> tuple[ProbeResult, UnitResult]:
    """Fit the L1 probe, take its largest-weight unit, and measure that unit alone (polarity from the weight).

    Fallback (documented, reported in ``UnitResult.weight`` being from a different fit): when the dev-chosen ``C``
    zeroes every weight (features carry no usable signal), the unit is taken from the least regularised fit
    (largest ``C`` of the grid) instead of failing.
    """
    probe = train_with_reg_cv(trX, trY, vaX, vaY, teX, teY, **probe_kwargs)
    source = probe
    if probe.n_nonzero == 0:
        grid = probe_kwargs.get("C", C_GRID)
        kwargs = {k: v for k, v in probe_kwargs.items() if k != "C"}
        source = train_with_reg_cv(trX, trY, trX, trY, C=(max(grid),), **kwargs)
    unit, polarity = find_unit(source)
    single = single_unit_accuracy(trX, trY, teX, teY, unit, polarity)
    single.weight = float(source.coef[unit])
    return probe, single


# -------------------------------------------------------------------------------------- data efficiency

DEFAULT_SIZES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


def _sample_with_both_classes(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    for _ in range(100):
        idx = rng.choice(len(y), size=n, replace=False)
        if len(np.unique(y[idx])) == 2:
            return idx
    raise ProbeInputError(f"cannot draw {n} examples containing both classes")


def data_efficiency_curve(
    trX,
    trY,
    vaX,
    vaY,
    teX,
    teY,
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    seeds: tuple[int, ...] = (0, 1, 2),
    unit: int | None = None,
    C: tuple[float, ...] = C_GRID,
) -> list[dict]:
    """Test accuracy vs number of labelled training examples (paper Fig. 2).

    For each ``n`` in ``sizes`` (values ≥ the train size collapse to one "full" point) and each seed, a random
    subset of ``n`` training examples (both classes present) trains the L1 probe (``C`` chosen on the full dev set,
    as the paper's protocol keeps dev fixed). With ``unit`` given, the single unit's threshold is also fitted on the
    same subset. Returns one dict per size: ``n``, ``accuracy_mean``/``std``/``all`` (and ``unit_accuracy_*``).
    """
    trX, trY = _check(trX, trY, "train")
    vaX, vaY = _check(vaX, vaY, "dev")
    teX, teY = _check(teX, teY, "test")
    full = len(trY)
    points = sorted({min(int(n), full) for n in sizes if n >= 2} | {full})
    curve = []
    for n in points:
        seeds_n = seeds if n < full else seeds[:1]
        accs, unit_accs = [], []
        for seed in seeds_n:
            rng = np.random.default_rng(seed)
            idx = np.arange(full) if n == full else _sample_with_both_classes(trY, n, rng)
            probe = train_with_reg_cv(trX[idx], trY[idx], vaX, vaY, teX, teY, C=C, seed=seed)
            accs.append(probe.test_accuracy)
            if unit is not None:
                unit_accs.append(single_unit_accuracy(trX[idx], trY[idx], teX, teY, unit).test_accuracy)
        point = {
            "n": int(n),
            "seeds": len(seeds_n),
            "accuracy_mean": float(np.mean(accs)),
            "accuracy_std": float(np.std(accs)),
            "accuracy_all": [float(a) for a in accs],
        }
        if unit is not None:
            point.update(
                unit_accuracy_mean=float(np.mean(unit_accs)),
                unit_accuracy_std=float(np.std(unit_accs)),
                unit_accuracy_all=[float(a) for a in unit_accs],
            )
        curve.append(point)
    return curve


def cross_validated_probe(
    X, y, folds: list[np.ndarray], dev_fraction: float = 0.1, unit: int | None = None, seed: int = 0, **kw
) -> dict:
    """SentEval-style k-fold CV of the probe on one feature matrix: for each fold as test, C chosen on a
    ``dev_fraction`` hold-out of the other folds. Returns mean/std test accuracy, mean non-zeros, and (with ``unit``)
    the single unit's mean accuracy with threshold fitted on the training folds."""
    from .datasets import stratified_sample

    X, y = _check(X, y, "data")
    accs, nnz, unit_accs, units = [], [], [], []
    for k, test_idx in enumerate(folds):
        rest = np.setdiff1d(np.arange(len(y)), test_idx)
        dev_local = stratified_sample(y[rest], max(2, int(round(dev_fraction * len(rest)))), seed + k)
        dev_idx = rest[dev_local]
        tr_idx = np.setdiff1d(rest, dev_idx)
        probe = train_with_reg_cv(
            X[tr_idx], y[tr_idx], X[dev_idx], y[dev_idx], X[test_idx], y[test_idx], **kw
        )
        accs.append(probe.test_accuracy)
        nnz.append(probe.n_nonzero)
        units.append(int(np.argmax(np.abs(probe.coef))))
        if unit is not None:
            unit_accs.append(
                single_unit_accuracy(X[tr_idx], y[tr_idx], X[test_idx], y[test_idx], unit).test_accuracy
            )
    out = {
        "folds": len(folds),
        "accuracy_mean": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "n_nonzero_mean": float(np.mean(nnz)),
        "top_unit_per_fold": units,
    }
    if unit is not None:
        out["unit"] = int(unit)
        out["unit_accuracy_mean"] = float(np.mean(unit_accs))
        out["unit_accuracy_std"] = float(np.std(unit_accs))
    return out
