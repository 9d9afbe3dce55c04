"""Held-out judges: does an image optimised against one set of classifiers read as its target to other classifiers?

Tom White, "Perception Engines" (2018) and "Shared Visual Abstractions" (arXiv:1912.04217, 2019): drawings optimised
against a *training* ensemble of ImageNet classifiers are also recognised by *held-out* classifiers never used in the
optimisation. The contrast is the classic adversarial example: a small targeted perturbation of a photo made on the
same ensemble (projected gradient descent, Madry et al., "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018, arXiv:1706.06083; targeted iterative form of Kurakin et al., "Adversarial examples in the
physical world", 2017) fools the ensemble but transfers poorly to other networks.

- :func:`evaluate_transfer` — the (image/class x judge) matrices of top-1 / top-5 hits, target probability and
  rank; JSON and a heatmap figure.
- :class:`MeanLogProbEnsemble` — ``mean_m log softmax(f_m(x))`` of several classifiers, each seeing the image at its
  own resolution and normalisation (the ensemble objective used by the attack when no other is given).
- :func:`pgd_attack` — targeted L-infinity PGD in pixel space ``[0, 1]``.

A *classifier* here is any module with ``config.image_size``, ``config.image_mean``, ``config.image_std`` (for RGB
pixels in ``[0, 1]``) whose ``forward(pixel_values)`` returns an output with ``.logits (B, 1000)`` over ImageNet-1k
(hfmech's EfficientNet-Lite and Coral MobileNet models, or a transformers image classifier with those config fields).
Images are always ``(B, 3, H, W)`` float in ``[0, 1]``; each classifier gets them resized (bilinear, antialiased) to
its ``image_size`` — no crop, a drawing's whole canvas is the picture.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import HfmechError
from ..hub.files import atomic_path, write_json_atomic
from ..vision.image_io import normalize_pixels

#: The default held-out judges: Google Coral's quantised MobileNets, dequantised (``hfmech.vision.zoo_coral``).
DEFAULT_JUDGES: tuple[str, ...] = (
    "coral-mobilenet-v1-025-128",
    "coral-mobilenet-v1-050-160",
    "coral-mobilenet-v1-075-192",
    "coral-mobilenet-v2-100-224",
)


class TransferInputError(HfmechError, ValueError):
    """Bad arguments to the transfer evaluation or the attack (shapes, classes, epsilon, judges)."""


# --------------------------------------------------------------------------------------------------------------------
# Classifiers on pixels in [0, 1]
# --------------------------------------------------------------------------------------------------------------------


def classifier_logits(model: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` pixels in ``[0, 1]`` -> ``(B, C)`` logits: resize to ``config.image_size``, normalise, forward.

    Differentiable (bilinear resize with antialiasing), so it serves both judging and attacking.
    """
    size = getattr(model.config, "image_size", None)
    return model(pixel_values=normalize_pixels(pixels, model.config, size)).logits


class MeanLogProbEnsemble(nn.Module):
    """Ensemble of classifiers as one: ``forward(pixels) = mean_m log_softmax(classifier_logits(model_m, pixels))``.

    ``(B, 3, H, W)`` in ``[0, 1]`` -> ``(B, C)`` log-probabilities (an average of log-probabilities, i.e. the
    log of a normalised geometric mean up to a constant) — the training objective of White's perception engines.
    """

    def __init__(self, models: Sequence[nn.Module] | Mapping[str, nn.Module]):
        super().__init__()
        items = dict(models) if isinstance(models, Mapping) else {f"m{i}": m for i, m in enumerate(models)}
        if not items:
            raise TransferInputError("an ensemble needs at least one classifier")
        self.names = list(items)
        self.members = nn.ModuleList(items.values())

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.stack([classifier_logits(m, pixels).log_softmax(-1) for m in self.members]).mean(0)


def _ensemble_log_probs(classifier, pixels: torch.Tensor) -> torch.Tensor:
    if isinstance(classifier, MeanLogProbEnsemble) or not hasattr(classifier, "config"):
        return classifier(pixels).log_softmax(-1)  # idempotent on log-probabilities
    return classifier_logits(classifier, pixels).log_softmax(-1)


# --------------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------------


def _as_pixels(images) -> torch.Tensor:
    """A ``(B, 3, H, W)`` tensor in ``[0, 1]``, or a list of ``(3, H, W)``/``(1, 3, H, W)`` tensors, PIL images or
    paths (resized to the first one's size) -> ``(B, 3, H, W)`` float32."""
    from hfmech.vision.image_io import image_to_tensor, load_image

    if isinstance(images, torch.Tensor):
        batch = images if images.dim() == 4 else images.unsqueeze(0)
    else:
        if isinstance(images, str | os.PathLike) or not isinstance(images, Sequence) or len(images) == 0:
            raise TransferInputError("images must be a (B, 3, H, W) tensor or a non-empty list of images")
        tensors = []
        for item in images:
            t = item if isinstance(item, torch.Tensor) else image_to_tensor(load_image(item))
            t = t if t.dim() == 4 else t.unsqueeze(0)
            if tensors and t.shape[-2:] != tensors[0].shape[-2:]:
                t = F.interpolate(t.float(), size=tensors[0].shape[-2:], mode="bilinear", antialias=True)
            tensors.append(t)
        batch = torch.cat(tensors)
    if batch.dim() != 4 or batch.shape[1] != 3:
        raise TransferInputError(f"images must be (B, 3, H, W), got {tuple(batch.shape)}")
    batch = batch.detach().float()
    if not torch.isfinite(batch).all() or batch.min() < -1e-4 or batch.max() > 1 + 1e-4:
        raise TransferInputError("image pixels must be finite and in [0, 1]")
    return batch.clamp(0, 1)


def resolve_classes(target_classes, num_images: int, id2label: Mapping[int, str] | None = None) -> list[int]:
    """ImageNet indices or names -> indices. A name matches a label exactly or any of its comma-separated lemmas
    (case-insensitive): ``"macaw"``, ``"hotdog"``, ``"hot dog"`` all work."""
    from hfmech.vision.labels import imagenet_id2label

    id2label = id2label or imagenet_id2label()
    if isinstance(target_classes, int | str):
        target_classes = [target_classes]
    classes = list(target_classes)
    if len(classes) != num_images:
        raise TransferInputError(f"{len(classes)} target classes for {num_images} images; give one per image")
    lookup: dict[str, int] = {}
    for index, label in id2label.items():
        lookup.setdefault(label.lower(), int(index))
        for lemma in label.split(","):
            lookup.setdefault(lemma.strip().lower(), int(index))
    out = []
    for c in classes:
        if isinstance(c, int | np.integer) and not isinstance(c, bool):
            if not 0 <= int(c) < len(id2label):
                raise TransferInputError(f"class index {c} out of range 0..{len(id2label) - 1}")
            out.append(int(c))
        elif isinstance(c, str) and c.strip().lower() in lookup:
            out.append(lookup[c.strip().lower()])
        else:
            raise TransferInputError(f"unknown ImageNet class {c!r}")
    return out


def load_judges(judges=None) -> dict[str, nn.Module]:
    """``None`` -> the Coral four (:data:`DEFAULT_JUDGES`, built by the zoo); a list/dict of zoo names, folders, Hub
    ids or loaded classifiers -> ``{name: model}`` in eval mode."""
    from transformers import AutoModelForImageClassification

    from hfmech.hub import zoo

    judges = DEFAULT_JUDGES if judges is None else judges
    items = judges.items() if isinstance(judges, Mapping) else [(None, j) for j in judges]
    out: dict[str, nn.Module] = {}
    for name, judge in items:
        if isinstance(judge, str | os.PathLike):
            label = name or os.fspath(judge)
            judge = AutoModelForImageClassification.from_pretrained(zoo.resolve(judge))
        else:
            label = name or getattr(getattr(judge, "config", None), "name_or_path", "") or f"judge{len(out)}"
        if not hasattr(judge, "config") or not hasattr(judge.config, "image_size"):
            raise TransferInputError(f"judge {label!r} has no config.image_size / image_mean / image_std")
        out[str(label)] = judge.eval()
    if not out:
        raise TransferInputError("no judges given")
    return out


# --------------------------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class TransferResult:
    """Matrices indexed ``[image i, judge j]``: the judge's view of image ``i``'s target class ``classes[i]``."""

    classes: list[int]
    class_names: list[str]
    judges: list[str]
    top1: np.ndarray  # (N, J) bool: target is the judge's arg-max
    top5: np.ndarray  # (N, J) bool: target among the judge's top_k (k = 5 by default)
    target_prob: np.ndarray  # (N, J) float: softmax probability of the target
    rank: np.ndarray  # (N, J) int: number of classes scored strictly above the target (0 = top-1)
    top_k: int = 5
    meta: dict = field(default_factory=dict)

    @property
    def top1_rate(self) -> float:
        """Fraction of (image, judge) pairs with the target at top-1."""
        return float(self.top1.mean())

    @property
    def top5_rate(self) -> float:
        """Fraction of (image, judge) pairs with the target in the judge's top-k."""
        return float(self.top5.mean())

    def per_judge(self) -> dict[str, dict[str, float]]:
        return {
            j: {
                "top1": float(self.top1[:, k].mean()),
                "top5": float(self.top5[:, k].mean()),
                "mean_target_prob": float(self.target_prob[:, k].mean()),
            }
            for k, j in enumerate(self.judges)
        }

    def to_dict(self) -> dict:
        return {
            "classes": self.classes,
            "class_names": self.class_names,
            "judges": self.judges,
            "top_k": self.top_k,
            "top1_rate": self.top1_rate,
            "top5_rate": self.top5_rate,
            "per_judge": self.per_judge(),
            "top1": self.top1.astype(int).tolist(),
            "top5": self.top5.astype(int).tolist(),
            "target_prob": np.round(self.target_prob, 6).tolist(),
            "rank": self.rank.tolist(),
            "meta": self.meta,
        }

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_dict` atomically (temp file + ``os.replace``)."""
        return write_json_atomic(path, self.to_dict())

    def plot(self, path: str | os.PathLike | None = None, title: str | None = None, ax=None):
        """Heatmap: colour = target probability, text = target rank + 1 (bold when within top-k). Returns the figure."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        n, j = self.target_prob.shape
        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(1.6 + 1.1 * j, 0.8 + 0.28 * n))
        else:
            fig = ax.figure
        im = ax.imshow(self.target_prob, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for r in range(n):
            for c in range(j):
                hit = self.top5[r, c]
                ax.text(
                    c,
                    r,
                    str(int(self.rank[r, c]) + 1) if self.rank[r, c] < 99 else "99+",
                    ha="center",
                    va="center",
                    fontsize=7,
                    fontweight="bold" if hit else "normal",
                    color="black" if self.target_prob[r, c] > 0.6 else "white",
                )
        ax.set_xticks(
            range(j),
            [s.replace("coral-mobilenet-", "") for s in self.judges],
            rotation=30,
            ha="right",
            fontsize=7,
        )
        ax.set_yticks(range(n), [s.split(",")[0] for s in self.class_names], fontsize=7)
        ax.set_title(title or f"target in top-{self.top_k}: {self.top5_rate:.0%} of pairs", fontsize=8)
        if own:
            fig.colorbar(im, ax=ax, label="p(target)", fraction=0.05)
            fig.tight_layout()
            if path is not None:
                _save_figure(fig, path)
        return fig


def _save_figure(fig, path: str | os.PathLike, **kwargs) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **{"dpi": 110, **kwargs})
    return path


@torch.no_grad()
def evaluate_transfer(
    images,
    target_classes,
    judges=None,
    *,
    top_k: int = 5,
    json_path: str | os.PathLike | None = None,
    figure_path: str | os.PathLike | None = None,
    title: str | None = None,
) -> TransferResult:
    """Judge every image by every classifier: is image ``i``'s target among the judge's top-1 / top-k?

    Args:
        images: ``(N, 3, H, W)`` pixels in ``[0, 1]``, or a list of tensors / PIL images / paths.
        target_classes: ``N`` ImageNet-1k indices or class names (one per image).
        judges: classifiers (see the module docstring) as a list or ``{name: model}``, zoo names, folders or Hub ids;
            ``None`` = the four Coral MobileNets (:data:`DEFAULT_JUDGES`).
        top_k: the "top-5" criterion's k.
        json_path, figure_path: where to write :meth:`TransferResult.to_dict` and the heatmap (optional).

    Returns a :class:`TransferResult` with ``(N, J)`` matrices ``top1``, ``top5``, ``target_prob``, ``rank``.
    """
    pixels = _as_pixels(images)
    if not isinstance(top_k, int) or top_k < 1:
        raise TransferInputError(f"top_k must be a positive int, got {top_k!r}")
    models = load_judges(judges)
    first = next(iter(models.values()))
    id2label = {int(k): v for k, v in (getattr(first.config, "id2label", None) or {}).items()}
    if len(id2label) < 2:
        id2label = None
    classes = resolve_classes(target_classes, pixels.shape[0], id2label)
    names = [(id2label or {}).get(c) or _imagenet_name(c) for c in classes]
    n, j = pixels.shape[0], len(models)
    top1 = np.zeros((n, j), bool)
    top5 = np.zeros((n, j), bool)
    prob = np.zeros((n, j), np.float64)
    rank = np.zeros((n, j), np.int64)
    target = torch.tensor(classes)
    for k, model in enumerate(models.values()):
        param = next(model.parameters(), None)
        x = pixels.to(param.device, param.dtype) if param is not None else pixels
        logits = classifier_logits(model, x).float().cpu()
        if logits.shape[-1] <= max(classes):
            raise TransferInputError(
                f"judge {list(models)[k]!r} has {logits.shape[-1]} classes; targets need more"
            )
        t_logit = logits.gather(1, target[:, None])
        r = (logits > t_logit).sum(1)
        rank[:, k] = r.numpy()
        top1[:, k] = (r == 0).numpy()
        top5[:, k] = (r < top_k).numpy()
        prob[:, k] = logits.softmax(-1).gather(1, target[:, None]).squeeze(1).double().numpy()
    result = TransferResult(classes, names, list(models), top1, top5, prob, rank, top_k=top_k)
    if json_path is not None:
        result.save_json(json_path)
    if figure_path is not None:
        import matplotlib.pyplot as plt

        plt.close(result.plot(figure_path, title=title))
    return result


def _imagenet_name(index: int) -> str:
    from hfmech.vision.labels import imagenet_labels

    labels = imagenet_labels()
    return labels[index] if 0 <= index < len(labels) else f"LABEL_{index}"


# --------------------------------------------------------------------------------------------------------------------
# Targeted PGD (the adversarial-example contrast)
# --------------------------------------------------------------------------------------------------------------------


def pgd_attack(
    classifier,
    images: torch.Tensor,
    target_classes,
    *,
    epsilon: float = 4 / 255,
    step_size: float = 1 / 255,
    steps: int = 20,
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Targeted L-infinity projected gradient descent (Madry et al. 2018; Kurakin et al. 2017), pixels in ``[0, 1]``.

    ``x_{t+1} = clip_[0,1]( clip_{x0 ± eps}( x_t - step_size * sign(grad_x CE(f(x_t), target)) ) )``, where
    ``f`` is ``classifier``: a :class:`MeanLogProbEnsemble`, a single classifier (see the module docstring) or any
    callable ``pixels -> (B, C)`` logits / log-probabilities. ``random_start`` starts from ``x0 + U(-eps, eps)``.

    Args:
        images: ``(B, 3, H, W)`` in ``[0, 1]`` (not modified).
        target_classes: ``B`` class indices or names.
    Returns the adversarial images ``(B, 3, H, W)``, detached, with ``|x_adv - x0|_inf <= epsilon``.
    """
    x0 = _as_pixels(images)
    if not (isinstance(epsilon, int | float) and 0 <= epsilon <= 1):
        raise TransferInputError(f"epsilon must be in [0, 1] (pixel units), got {epsilon!r}")
    if not (isinstance(step_size, int | float) and step_size > 0):
        raise TransferInputError(f"step_size must be positive, got {step_size!r}")
    if not isinstance(steps, int) or steps < 0:
        raise TransferInputError(f"steps must be a non-negative int, got {steps!r}")
    target = torch.tensor(resolve_classes(target_classes, x0.shape[0]))
    modules = [classifier] if isinstance(classifier, nn.Module) else []
    was_training = [m.training for m in modules]
    for m in modules:
        m.eval()
    x = x0.clone()
    if random_start and epsilon > 0:
        noise = torch.rand(x0.shape, generator=generator) * 2 - 1
        x = (x0 + epsilon * noise).clamp(0, 1)
    try:
        for _ in range(steps):
            x.requires_grad_(True)
            with torch.enable_grad():
                loss = F.nll_loss(_ensemble_log_probs(classifier, x), target.to(x.device))
                (grad,) = torch.autograd.grad(loss, x)
            with torch.no_grad():
                x = x - step_size * grad.sign()
                x = torch.max(torch.min(x, x0 + epsilon), x0 - epsilon).clamp(0, 1)
    finally:
        for m, flag in zip(modules, was_training):
            m.train(flag)
    return x.detach()
