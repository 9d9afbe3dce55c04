"""hfmech.latent: the interpolation / analogy / attribute-vector algebra shared by words, drawings and melodies."""

import math

import pytest
import torch

from hfmech.errors import HfmechError
from hfmech.latent import LatentError, analogy, attribute_vector, interpolation_path, lerp, slerp


def test_slerp_endpoints_and_constant_angle_steps():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, generator=g), torch.randn(16, generator=g)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-6)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    # unit vectors: every step turns by the same angle and stays on the sphere
    ua, ub = a / a.norm(), b / b.norm()
    path = interpolation_path(ua, ub, 9)
    assert torch.allclose(path.norm(dim=-1), torch.ones(9), atol=1e-5)
    angles = [math.acos(float((path[i] @ path[i + 1]).clamp(-1, 1))) for i in range(8)]
    assert max(angles) - min(angles) < 1e-4
    assert sum(angles) == pytest.approx(math.acos(float(ua @ ub)), abs=1e-4)


def test_slerp_parallel_and_antiparallel_fall_back_to_lerp_not_nan():
    a = torch.tensor([1.0, 2.0, 3.0])
    for b in (2 * a, -a, a.clone()):
        out = slerp(a, b, 0.3)
        assert torch.isfinite(out).all()
        assert torch.allclose(out, lerp(a, b, 0.3), atol=1e-6)


def test_slerp_is_row_wise_on_batches():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    batched = slerp(a, b, 0.25)
    for i in range(4):
        assert torch.allclose(batched[i], slerp(a[i], b[i], 0.25), atol=1e-6)


def test_analogy_and_attribute_vector_known_answers():
    a, b, c = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]), torch.tensor([5.0, 5.0])
    assert torch.equal(analogy(a, b, c), torch.tensor([5.0, 6.0]))
    high = torch.tensor([[2.0, 0.0], [4.0, 2.0]])
    low = torch.tensor([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0]])
    assert torch.equal(attribute_vector(high, low), torch.tensor([3.0, 0.0]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: slerp(torch.zeros(3), torch.zeros(4), 0.5),
        lambda: slerp(torch.tensor([float("nan"), 1.0]), torch.ones(2), 0.5),
        lambda: lerp(torch.ones(2), torch.ones(2), float("inf")),
        lambda: interpolation_path(torch.ones(2), torch.zeros(2), 1),
        lambda: interpolation_path(torch.ones(2), torch.zeros(2), 10**9),
        lambda: interpolation_path(torch.ones(2), torch.zeros(2), 5, method="cubic"),
        lambda: attribute_vector(torch.zeros(0, 3), torch.zeros(2, 3)),
        lambda: analogy(torch.ones(2), torch.ones(3), torch.ones(2)),
    ],
)
def test_bad_input_is_a_typed_error(call):
    with pytest.raises(LatentError) as info:
        call()
    assert isinstance(info.value, HfmechError)
