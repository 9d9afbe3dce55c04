"""evaluate_transfer (held-out judge matrices) and targeted PGD, on tiny classifiers with known answers."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from hfmech.perception.transfer import (
    MeanLogProbEnsemble,
    TransferInputError,
    classifier_logits,
    evaluate_transfer,
    pgd_attack,
    resolve_classes,
)

NUM_CLASSES = 1000


class TableJudge(nn.Module):
    """Image ``i`` is a constant grey of value ``i / 10``; the judge looks it up in a fixed ``(N, C)`` logit table."""

    def __init__(self, table: torch.Tensor, image_size: int = 8):
        super().__init__()
        self.table = table
        self.config = SimpleNamespace(
            image_size=image_size, image_mean=[0.0] * 3, image_std=[1.0] * 3, id2label={}
        )
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, pixel_values):
        index = (pixel_values.mean(dim=(1, 2, 3)) * 10).round().long()
        return SimpleNamespace(logits=self.table[index] + 0 * self.dummy)


class TinyConvClassifier(nn.Module):
    """A random conv net with the classifier interface (``config.image_size/mean/std``, ``.logits``)."""

    def __init__(self, seed: int, image_size: int = 16, num_classes: int = NUM_CLASSES):
        super().__init__()
        torch.manual_seed(seed)
        self.config = SimpleNamespace(image_size=image_size, image_mean=[0.5] * 3, image_std=[0.25] * 3)
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, num_classes)

    def forward(self, pixel_values):
        h = torch.relu(self.conv(pixel_values))
        h = nn.functional.adaptive_avg_pool2d(h, 4).flatten(1)
        return SimpleNamespace(logits=self.fc(h))


def _grey_images(n: int, size: int = 12) -> torch.Tensor:
    return torch.stack([torch.full((3, size, size), i / 10) for i in range(n)])


def test_matrix_matches_a_hand_computation(tmp_path):
    # 3 images (targets 7, 8, 9) x 2 judges. Hand-made logits put the target at known ranks.
    a = torch.zeros(3, NUM_CLASSES)
    a[0, 7] = 5.0  # image 0: judge A ranks the target first
    a[1, :6] = (
        torch.arange(6, 0, -1).float() + 10
    )  # image 1: six classes above target 8 -> rank 6 (not top-5)
    a[1, 8] = 9.5
    a[2, :4] = 20.0  # image 2: four classes above target 9 -> rank 4 (top-5, not top-1)
    a[2, 9] = 19.0
    b = torch.zeros(3, NUM_CLASSES)
    b[0, 3] = 2.0  # image 0: one class above -> rank 1
    b[0, 7] = 1.0
    b[1, 8] = 3.0  # image 1: top-1
    b[2, 9] = -1.0  # image 2: the other 999 classes (logit 0) are above -> rank 999
    judges = {"A": TableJudge(a), "B": TableJudge(b)}
    res = evaluate_transfer(
        _grey_images(3), [7, 8, 9], judges, json_path=tmp_path / "t.json", figure_path=tmp_path / "t.png"
    )
    np.testing.assert_array_equal(res.rank, [[0, 1], [6, 0], [4, 999]])
    np.testing.assert_array_equal(res.top1, [[True, False], [False, True], [False, False]])
    np.testing.assert_array_equal(res.top5, [[True, True], [False, True], [True, False]])
    assert res.top5_rate == pytest.approx(4 / 6) and res.top1_rate == pytest.approx(2 / 6)
    expected_p = a[0].softmax(-1)[7].item()
    assert res.target_prob[0, 0] == pytest.approx(expected_p, rel=1e-6)
    assert res.per_judge()["B"]["top5"] == pytest.approx(2 / 3)
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["rank"] == res.rank.tolist() and saved["judges"] == ["A", "B"]
    assert saved["top5_rate"] == pytest.approx(4 / 6)
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_random_classifiers_agree_with_sorting(tmp_path):
    judges = [TinyConvClassifier(1), TinyConvClassifier(2, image_size=20)]
    images = torch.rand(4, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    targets = [5, 17, 300, 999]
    res = evaluate_transfer(images, targets, judges, top_k=3)
    for j, judge in enumerate(judges):
        with torch.no_grad():
            logits = classifier_logits(judge, images)
        order = logits.argsort(-1, descending=True)
        for i, t in enumerate(targets):
            position = int((order[i] == t).nonzero())
            assert res.rank[i, j] == position
            assert res.top5[i, j] == (position < 3) and res.top1[i, j] == (position == 0)


def test_classifier_sees_its_own_resolution_and_normalisation():
    seen = {}

    class Probe(TinyConvClassifier):
        def forward(self, pixel_values):
            seen["shape"], seen["mean"] = tuple(pixel_values.shape), float(pixel_values.mean())
            return super().forward(pixel_values)

    probe = Probe(0, image_size=20)
    classifier_logits(probe, torch.full((1, 3, 33, 33), 0.75))
    assert seen["shape"] == (1, 3, 20, 20) and seen["mean"] == pytest.approx((0.75 - 0.5) / 0.25)


def test_class_names_resolve_and_bad_input_is_typed():
    assert resolve_classes(["macaw", "hot dog", "Hotdog", 3], 4) == [88, 934, 934, 3]
    with pytest.raises(TransferInputError, match="unknown ImageNet class"):
        resolve_classes(["no such thing"], 1)
    with pytest.raises(TransferInputError, match="one per image"):
        resolve_classes([1, 2], 3)
    with pytest.raises(TransferInputError, match=r"\[0, 1\]"):
        evaluate_transfer(torch.full((1, 3, 8, 8), 2.0), [1], [TinyConvClassifier(0)])
    with pytest.raises(TransferInputError, match=r"\(B, 3, H, W\)"):
        evaluate_transfer(torch.rand(1, 4, 8, 8), [1], [TinyConvClassifier(0)])


def test_ensemble_is_the_mean_of_member_log_probs():
    members = [TinyConvClassifier(1), TinyConvClassifier(2, image_size=12)]
    ensemble = MeanLogProbEnsemble(members)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        expected = (
            classifier_logits(members[0], x).log_softmax(-1)
            + classifier_logits(members[1], x).log_softmax(-1)
        ) / 2
        torch.testing.assert_close(ensemble(x), expected)


@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_stays_in_the_ball_and_raises_the_target_probability(random_start):
    model = TinyConvClassifier(3)
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    original = images.clone()
    targets = [10, 500, 900]
    eps = 4 / 255
    adv = pgd_attack(
        model,
        images,
        targets,
        epsilon=eps,
        step_size=1 / 255,
        steps=10,
        random_start=random_start,
        generator=torch.Generator().manual_seed(0),
    )
    torch.testing.assert_close(images, original, rtol=0, atol=0)  # input untouched
    assert (adv - images).abs().max() <= eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    with torch.no_grad():
        before = classifier_logits(model, images).log_softmax(-1)[range(3), targets]
        after = classifier_logits(model, adv).log_softmax(-1)[range(3), targets]
    assert (after > before + 0.05).all(), (before, after)


def test_pgd_on_an_ensemble_and_degenerate_settings():
    ensemble = MeanLogProbEnsemble({"a": TinyConvClassifier(1), "b": TinyConvClassifier(2, image_size=12)})
    images = torch.rand(2, 3, 16, 16)
    adv = pgd_attack(ensemble, images, [1, 2], steps=5)
    with torch.no_grad():
        assert (ensemble(adv)[range(2), [1, 2]] > ensemble(images)[range(2), [1, 2]]).all()
    torch.testing.assert_close(pgd_attack(ensemble, images, [1, 2], steps=0), images)
    assert torch.equal(pgd_attack(ensemble, images, [1, 2], epsilon=0.0, steps=3), images)
    with pytest.raises(TransferInputError, match="epsilon"):
        pgd_attack(ensemble, images, [1, 2], epsilon=4)
    with pytest.raises(TransferInputError, match="steps"):
        pgd_attack(ensemble, images, [1, 2], steps=-1)


@pytest.mark.parametrize("training", [["efficientnet-lite9"], [], ["lite0"]])
def test_build_ensemble_rejects_unknown_training_members(training):
    from hfmech.perception.zoo_ensemble import build_ensemble

    with pytest.raises(ValueError, match="training members"):
        build_ensemble(judges=False, training=training)
