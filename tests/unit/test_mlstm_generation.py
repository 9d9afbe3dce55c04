"""Clamped generation: the clamp really holds at every step, seeding, and bad clamp specifications."""

from __future__ import annotations

import math

import pytest
import torch

from hfmech.sentiment.generation import ClampError, generate
from hfmech.sentiment.modeling_mlstm import MLSTMConfig, MLSTMForByteLM, UnknownUnitError

H = 16


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(1)
    return MLSTMForByteLM(MLSTMConfig(hidden_size=H)).eval()


@pytest.mark.parametrize("clamp_on", ["c", "h", "both"])
def test_clamp_holds_at_every_step(tiny, clamp_on):
    clamp = {3: 0.75, 11: -1.5}
    text, trace = generate(
        tiny, "The movie", max_bytes=25, clamp=clamp, clamp_on=clamp_on, seed=0, return_trace=True
    )
    assert (
        len(trace) == len("\n The movie") - 1 + 25
    )  # every prompt step (but the last byte) and every sample
    for c, h in trace:
        for unit, value in clamp.items():
            if clamp_on in ("c", "both"):
                assert c[unit].item() == pytest.approx(value, abs=0)
            if clamp_on in ("h", "both"):
                assert h[unit].item() == pytest.approx(value, abs=0)
        if clamp_on == "c":  # h is computed from the clamped c: |h| <= tanh(|value|)
            for unit, value in clamp.items():
                assert abs(h[unit].item()) <= math.tanh(abs(value)) + 1e-6


def test_clamp_changes_the_text_and_free_sampling_does_not_hold_the_unit(tiny):
    free, trace = generate(tiny, "The movie", max_bytes=40, seed=0, return_trace=True)
    assert len({round(c[3].item(), 6) for c, _ in trace}) > 5  # unclamped, the unit moves
    clamped = generate(tiny, "The movie", max_bytes=40, clamp={3: 5.0}, seed=0)
    assert clamped != free


def test_seed_reproducible_and_greedy(tiny):
    a = generate(tiny, "Great", max_bytes=30, seed=7)
    assert a == generate(tiny, "Great", max_bytes=30, seed=7)
    assert a != generate(tiny, "Great", max_bytes=30, seed=8)
    g1 = generate(tiny, "Great", max_bytes=30, temperature=0, seed=None)
    assert g1 == generate(tiny, "Great", max_bytes=30, temperature=0, seed=123)
    assert isinstance(generate(tiny, "", max_bytes=5), str)


@pytest.mark.parametrize("clamp", [{3: "high"}, {3: float("nan")}, {3: None}, {3: [1.0]}, [1.0], "1.0"])
def test_clamp_values_that_are_not_numbers(tiny, clamp):
    with pytest.raises(ClampError):
        generate(tiny, "x", max_bytes=3, clamp=clamp)


@pytest.mark.parametrize("clamp", [{H: 1.0}, {-1: 1.0}, {"3": 1.0}])
def test_clamp_unknown_units(tiny, clamp):
    with pytest.raises(UnknownUnitError):
        generate(tiny, "x", max_bytes=3, clamp=clamp)


@pytest.mark.parametrize(
    "kwargs", [{"temperature": -1}, {"temperature": "hot"}, {"max_bytes": -5}, {"clamp_on": "x"}]
)
def test_bad_sampling_settings(tiny, kwargs):
    with pytest.raises(ClampError):
        generate(tiny, "x", **{"max_bytes": 3, **kwargs})
