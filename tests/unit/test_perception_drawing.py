"""Drawing system, rasteriser, SVG export, transforms, objectives and optimisers of the Perception Engine."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hfmech.errors import USER_ERRORS
from hfmech.perception import (
    Drawing,
    DrawingParameterError,
    DrawingSpec,
    ObjectiveError,
    OptimizerError,
    RobustnessTransforms,
    TransformParameterError,
    UnknownClassError,
    ensemble_objective,
    optimize_adam,
    optimize_es,
    render,
    resolve_class,
    reward,
    to_svg,
)
from hfmech.perception.drawing import DEFAULT_INKS, parse_color, select_inks, to_hex
from hfmech.perception.optimizers import centered_ranks
from hfmech.perception.render import render_naive, stroke_coverage


def _drawing(seed=0, **kw) -> Drawing:
    spec = DrawingSpec(**{"num_strokes": 8, "num_blobs": 3, "points_per_stroke": 3, **kw})
    return Drawing(spec, torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------------ rasteriser


def test_render_matches_naive_python_loop():
    g = _drawing().geometry()
    fast = render(g, 20, 28)[0].permute(1, 2, 0).detach().numpy()
    slow = np.asarray(render_naive(g, 20, 28))
    assert fast.shape == slow.shape == (20, 28, 3)
    np.testing.assert_allclose(fast, slow, atol=1e-4)


def test_render_is_differentiable_in_every_parameter():
    d = _drawing()
    render(d.geometry(), 48).mean().backward()
    for name, p in d.raw.items():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_renders_identical_under_seed_and_differ_across_seeds():
    a = render(_drawing(seed=3).geometry(), 64)
    b = render(_drawing(seed=3).geometry(), 64)
    c = render(_drawing(seed=4).geometry(), 64)
    assert torch.equal(a, b)
    assert (a - c).abs().mean() > 0.01


def test_resolution_independence():
    """The same parameters at 64 px and at 256 px (box-downsampled by 4) give the same picture."""
    g = _drawing().geometry()
    small = render(g, 64)
    large = F.avg_pool2d(render(g, 256), 4)
    assert (small - large).abs().mean() < 0.01
    assert (small - large).abs().amax() < 0.35  # only anti-aliased edge pixels differ visibly


def test_round_cap_stroke_coverage_known_answer():
    """A horizontal stroke from (0.25, 0.5) to (0.75, 0.5), width 0.25 on 64 px: radius 8 px, round caps."""
    points = torch.tensor([[[[0.25, 0.5], [0.75, 0.5]]]])
    alpha = stroke_coverage(points, torch.tensor([[0.25]]), 64, 64, hard=True)[0, 0]
    assert (
        alpha[32, 32] == 1 and alpha[32, 10] == 1 and alpha[32, 53] == 1
    )  # on the segment and inside the caps
    assert alpha[32, 7] == 0 and alpha[32, 57] == 0  # beyond the caps
    assert alpha[25, 32] == 1 and alpha[23, 32] == 0  # |dy| = 6.5 px inside, 8.5 px outside
    # area of a stadium: 2r·L + πr² = 16·32 + π·64 ≈ 713 px
    assert abs(float(alpha.sum()) - (16 * 32 + np.pi * 64)) < 25


def test_palette_constraint_holds_exactly():
    palette = ["#102030", "#a0b0c0", "#ff0000"]
    d = _drawing(palette=palette, background="#ffffff")
    g = d.geometry()
    allowed = {tuple(round(c * 255) for c in parse_color(p)) for p in [*palette, "#ffffff"]}
    for colors in (g.stroke_colors, g.blob_colors):
        for rgb in colors.reshape(-1, 3).tolist():
            assert tuple(round(c * 255) for c in rgb) in allowed
    image = render(g, 64, hard=True)[0].detach().permute(1, 2, 0).reshape(-1, 3)
    used = {tuple(round(float(v) * 255) for v in px) for px in image}
    assert used <= allowed
    # the colours are the palette rows bit for bit, and the gradient still reaches the ink logits
    pal = DrawingSpec(palette=palette).palette_tensor()
    logits = torch.randn(5, 3, requires_grad=True)
    chosen = select_inks(logits, pal)
    assert torch.equal(chosen.detach(), pal[logits.argmax(-1)])
    chosen.sum().backward()
    assert logits.grad.abs().sum() > 0


def test_geometry_stays_inside_the_discipline():
    spec = DrawingSpec(num_strokes=30, num_blobs=5, min_width=0.02, max_width=0.05)
    raw = {
        k: v * 50 for k, v in spec.random_raw(torch.Generator().manual_seed(0)).items()
    }  # extreme raw values
    g = spec.constrain(raw)
    assert g.stroke_points.min() >= 0 and g.stroke_points.max() <= 1
    assert g.stroke_widths.min() >= 0.02 and g.stroke_widths.max() <= 0.05
    assert g.blob_radii.min() >= spec.min_radius and g.blob_radii.max() <= spec.max_radius
    assert g.blob_coefficients.abs().sum(dim=(2, 3)).max() <= 0.7 + 1e-6  # r(θ) > 0.3 r0: a closed outline


def test_flatten_round_trip():
    spec = DrawingSpec(num_strokes=4, num_blobs=2)
    raw = spec.random_raw(torch.Generator().manual_seed(1), batch=3)
    flat = spec.flatten(raw)
    assert flat.shape == (3, spec.num_parameters())
    back = spec.unflatten(flat)
    assert all(torch.equal(back[k], raw[k]) for k in raw)


def test_radial_layout_is_a_ring_and_spokes_in_one_ink():
    """``radial_raw`` (no jitter): the first R strokes are consecutive arcs of one circle — every point at one
    distance from a centre, each arc starting where the previous one ended, together closing the circle — and the
    other N − R are spokes from 0.1 r to r along rays from that centre; every stroke in one ink."""
    spec = DrawingSpec(num_strokes=12, points_per_stroke=3)
    g = spec.constrain(spec.radial_raw(torch.Generator().manual_seed(5), batch=4, jitter=0.0))
    pts = g.stroke_points.double()  # (4, 12, 3, 2)
    for b in range(4):
        assert len(set(g.stroke_inks[b].tolist())) == 1
        # spokes: the middle point halfway between the ends (straight, evenly spaced); arcs bend
        bend = (pts[b, :, 1] - (pts[b, :, 0] + pts[b, :, 2]) / 2).norm(dim=-1)
        ring = int((bend > 1e-4).sum())
        assert 6 <= ring <= 9 and bool((bend[ring:] < 1e-4).all()), bend
        # the spokes' rays meet in one point: the centre (least squares), at distance r from every ring point
        s0, s1 = pts[b, ring:, 0], pts[b, ring:, 2]
        normal = torch.stack([-(s1 - s0)[:, 1], (s1 - s0)[:, 0]], -1)
        centre = torch.linalg.lstsq(normal, (normal * s0).sum(-1, keepdim=True)).solution[:, 0]
        radius = (pts[b, :ring] - centre).norm(dim=-1)
        r = float(radius.mean())
        assert 0.2 <= r <= 0.4 and float((radius - r).abs().max()) < 1e-4
        assert float((pts[b, 1:ring, 0] - pts[b, : ring - 1, -1]).norm(dim=-1).max()) < 1e-5
        assert float((pts[b, 0, 0] - pts[b, ring - 1, -1]).norm()) < 1e-5  # closed
        assert torch.allclose(
            (s0 - centre).norm(dim=-1), torch.full((12 - ring,), 0.1 * r, dtype=torch.float64), atol=1e-4
        )
        assert torch.allclose(
            (s1 - centre).norm(dim=-1), torch.full((12 - ring,), r, dtype=torch.float64), atol=1e-4
        )


def test_initial_layouts():
    spec = DrawingSpec(num_strokes=6)
    g = torch.Generator
    mixed = spec.initial_raw(g().manual_seed(0), batch=5, layout="mixed")
    assert mixed["stroke_points"].shape == (5, 6, 2, 2)
    # mixed = 3 scatter drawings then 2 radial ones, each drawn from the same stream in that order
    gen = g().manual_seed(0)
    scatter, radial = spec.random_raw(gen, 3), spec.radial_raw(gen, 2)
    assert all(torch.equal(mixed[k], torch.cat([scatter[k], radial[k]])) for k in mixed)
    one = spec.initial_raw(g().manual_seed(0), batch=1, layout="mixed")
    assert torch.equal(one["stroke_points"], spec.random_raw(g().manual_seed(0), 1)["stroke_points"])
    with pytest.raises(DrawingParameterError, match="layout"):
        spec.initial_raw(layout="grid")


# ------------------------------------------------------------------------------------------------ SVG


def test_svg_geometry_and_colours_equal_the_parameters():
    d = _drawing(seed=2, palette=["#000000", "#c8102e"], background="#f5f0e1")
    g = d.geometry()
    params = g.to_dict()
    root = ET.fromstring(to_svg(g, 200))
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("viewBox") == "0 0 200 200"
    assert root.find(f"{ns}rect").get("fill") == "#f5f0e1"
    polylines = root.findall(f"{ns}polyline")
    paths = root.findall(f"{ns}path")
    assert len(polylines) == len(params["strokes"]) == 8 and len(paths) == len(params["blobs"]) == 3
    for line, stroke in zip(polylines, params["strokes"]):
        pts = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
        np.testing.assert_allclose(np.array(pts) / 200, np.array(stroke["points"]), atol=1e-4)
        assert float(line.get("stroke-width")) == pytest.approx(stroke["width"] * 200, abs=1e-3)
        assert line.get("stroke") == stroke["color"] and line.get("stroke-linecap") == "round"
        assert stroke["color"] in ("#000000", "#c8102e")
    for path, blob in zip(paths, params["blobs"]):
        coords = [float(v) for v in path.get("d").replace("M", "").replace("L", "").replace("Z", "").split()]
        xy = np.array(coords).reshape(-1, 2) / 200
        cx, cy = blob["center"]
        # the first outline point is at θ = 0: centre + r(0)·(1, 0), r(0) = r0 (1 + Σ a_k)
        r0 = blob["radius"] * (1 + sum(a for a, _ in blob["coefficients"]))
        np.testing.assert_allclose(xy[0], [cx + r0, cy], atol=1e-4)
        assert path.get("fill") == blob["color"]
    # the rendered pixel at a stroke's midpoint is that stroke's ink (the last stroke is on top)
    last = params["strokes"][-1]
    mid = np.mean(last["points"][:2], axis=0)
    pixel = render(g, 200, hard=True)[0, :, int(mid[1] * 200), int(mid[0] * 200)]
    assert to_hex(pixel.tolist()) == last["color"]


# ------------------------------------------------------------------------------------------------ transforms


def test_transforms_batched_and_identity_when_off():
    image = render(_drawing().geometry(), 48)
    views = RobustnessTransforms().views(image, 5, torch.Generator().manual_seed(0))
    assert views.shape == (5, 3, 48, 48) and views.min() >= 0 and views.max() <= 1
    assert (views[0] - views[1]).abs().mean() > 1e-3  # each view is a different random transform
    same = RobustnessTransforms.none().views(image, 2, torch.Generator().manual_seed(0))
    assert torch.allclose(same, image.expand(2, -1, -1, -1), atol=1e-5)


def test_shared_views_are_the_same_transforms_for_every_image():
    """``apply(images (B, …), sample(n))``: drawing b's views are rows b·n … b·n+n−1, and every drawing gets the same n
    transforms (common random numbers for ES) — each block equals ``views`` of that image alone."""
    t = RobustnessTransforms()
    images = torch.cat([render(_drawing(seed).geometry(), 40) for seed in range(3)])
    sample = t.sample(4, torch.Generator().manual_seed(5))
    batched = t.apply(images, sample)
    assert batched.shape == (12, 3, 40, 40)
    for b in range(3):
        alone = t.views(images[b : b + 1], 4, torch.Generator().manual_seed(5))
        assert torch.allclose(batched[4 * b : 4 * b + 4], alone, atol=1e-6)
    assert (batched[0] - batched[1]).abs().mean() > 1e-3
    with pytest.raises(TransformParameterError):
        t.views(images, 2)


def test_ink_misalignment_moves_each_ink_together():
    d = _drawing(num_blobs=0, palette=["#000000", "#ff0000"])
    g = d.geometry()
    offsets = torch.tensor([[[0.1, 0.0], [0.0, -0.2]]])
    moved = g.shifted_by_ink(offsets)
    shift = moved.stroke_points - g.stroke_points
    for i, ink in enumerate(g.stroke_inks[0].tolist()):
        assert torch.allclose(shift[0, i], offsets[0, ink].expand_as(shift[0, i]), atol=1e-6)


# ------------------------------------------------------------------------------------------------ objective / ES


def test_objectives_known_values():
    lp = torch.log(torch.tensor([[[0.5, 0.5]], [[0.25, 0.75]]]))  # (M=2, T=1, C=2)
    assert ensemble_objective(lp, 0).item() == pytest.approx((np.log(0.5) + np.log(0.25)) / 2)
    assert ensemble_objective(lp, 0, "product").item() == pytest.approx(np.log(0.125))
    assert reward(lp, 1).item() == pytest.approx(0.375)
    with pytest.raises(ObjectiveError):
        ensemble_objective(lp, 0, "sum")


def test_centered_ranks():
    r = centered_ranks(torch.tensor([10.0, -3.0, 7.0]))
    assert r.tolist() == [0.5, -0.5, 0.0]


def test_es_improves_reward_on_a_toy_objective():
    """Black box: reward exp(-|θ - target|²) of a 10-d vector; antithetic ES with centred ranks climbs it."""
    target = torch.linspace(-1, 1, 10)

    def fitness(candidates, _):
        return torch.exp(-((candidates - target) ** 2).sum(dim=1) / 10)

    result = optimize_es(
        torch.zeros(10),
        fitness,
        iterations=150,
        population=20,
        sigma=0.1,
        alpha=0.05,
        stop_reward=0.99,
        patience=150,
        generator=torch.Generator().manual_seed(0),
    )
    first, last = result.history[0]["reward"], result.history[-1]["reward"]
    assert last > first + 0.2
    assert result.renders == result.steps * 21
    with pytest.raises(OptimizerError):
        optimize_es(torch.zeros(3), fitness, 1, population=3)


def test_adam_lr_scale_sets_each_coordinate_step():
    """Adam's first step is ``lr`` per coordinate (bias-corrected m/√v = sign of the gradient); with ``lr_scale`` it
    is ``lr · lr_scale`` — the slower ink logits of the pipeline."""

    def evaluate(params, _):
        return {"objective": -((params - 5.0) ** 2).sum()}

    result = optimize_adam(torch.zeros(3), evaluate, 1, 0.1, lr_scale=torch.tensor([1.0, 0.2, 0.01]))
    assert torch.allclose(result.flat, torch.tensor([0.1, 0.02, 0.001]), rtol=1e-4)
    plain = optimize_adam(torch.zeros(3), evaluate, 1, 0.1)
    assert torch.allclose(plain.flat, torch.full((3,), 0.1), rtol=1e-4)
    with pytest.raises(OptimizerError):
        optimize_adam(torch.zeros(3), evaluate, 1, 0.1, lr_scale=torch.tensor([1.0, 0.0, 1.0]))


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_strokes": -1},
        {"num_strokes": 10_000},
        {"num_strokes": 0, "num_blobs": 0},
        {"num_blobs": 1.5},
        {"points_per_stroke": 1},
        {"palette": []},
        {"palette": "#000000"},
        {"palette": ["#12345g"]},
        {"palette": [(300, 0, 0)]},
        {"background": "paper"},
        {"min_width": 0.2, "max_width": 0.1},
    ],
)
def test_bad_drawing_parameters_raise_typed_errors(kwargs):
    with pytest.raises(DrawingParameterError) as info:
        DrawingSpec(**kwargs)
    assert isinstance(info.value, USER_ERRORS)


def test_bad_transform_parameters():
    with pytest.raises(TransformParameterError):
        RobustnessTransforms(rotation=90)
    with pytest.raises(TransformParameterError):
        RobustnessTransforms.from_dict({"swirl": 1})


def test_colours_and_default_inks():
    assert parse_color("#fff") == (1.0, 1.0, 1.0)
    assert parse_color((255, 0, 0)) == (1.0, 0.0, 0.0)
    assert parse_color((0.5, 0.5, 0.5)) == (0.5, 0.5, 0.5)
    assert all(to_hex(parse_color(c)) == c for c in DEFAULT_INKS)


def test_class_names_resolve_with_suggestions():
    assert resolve_class("electric fan") == (545, "electric fan, blower")
    assert resolve_class("Blower")[0] == 545
    assert resolve_class(4)[1].startswith("hammerhead")
    assert resolve_class("4")[0] == 4
    with pytest.raises(UnknownClassError, match="electric fan"):
        resolve_class("elektric fan")
    with pytest.raises(UnknownClassError, match="electric fan"):
        resolve_class("fan")
    for bad in (1000, -1, "", True, None, 3.5):
        with pytest.raises(UnknownClassError):
            resolve_class(bad)
