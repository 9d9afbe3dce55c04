"""The drawing system: what the artist may draw (strokes, blobs, a palette of inks) and how its parameters are bounded.

Tom White, "Perception Engines" (2018): the *drawing system* is the artist's discipline. A fixed number of marks —
line segments / polylines with round caps (``strokes``) and filled closed smooth shapes (``blobs``) — in a hard
palette of a few printable inks on a paper background. Everything the optimiser touches is an *unconstrained* raw
tensor; :meth:`DrawingSpec.constrain` maps raw tensors to geometry inside the discipline:

- positions: ``sigmoid`` → normalised canvas coordinates in ``[0, 1]`` (``x`` right, ``y`` down), so the same
  parameters render at any size (resolution independence);
- stroke widths: ``min_width + (max_width - min_width) · sigmoid(raw)``, a fraction of the canvas's shorter side;
- blobs: a radial Fourier curve ``r(θ) = r₀ (1 + Σ_k a_k cos kθ + b_k sin kθ)`` around a centre, with
  ``r₀ ∈ [min_radius, max_radius]`` (sigmoid) and ``|a_k|, |b_k| ≤ 0.7 / (2F)`` (tanh) so that ``r(θ) > 0.3 r₀``:
  always a closed, star-shaped, smooth outline;
- inks: logits over the palette; the colour is the palette entry of the arg-max with a straight-through gradient
  (forward: exactly a palette colour; backward: the gradient of the softmax mixture), so every render uses exactly
  the palette's colours, never free RGB.

Shapes (``B`` drawings in a batch, ``N`` strokes of ``K`` points, ``M`` blobs of ``F`` harmonics, ``P`` inks):
raw ``stroke_points (B, N, K, 2)``, ``stroke_width (B, N)``, ``stroke_ink (B, N, P)``, ``blob_center (B, M, 2)``,
``blob_radius (B, M)``, ``blob_shape (B, M, F, 2)``, ``blob_ink (B, M, P)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..errors import HfmechError

#: Printable inks on paper (hex sRGB): the first ``n`` are used when a palette size is asked for.
DEFAULT_INKS: tuple[str, ...] = (
    "#1b1b1b",  # carbon black
    "#c8102e",  # pigment red
    "#1f4e9c",  # ultramarine-ish blue
    "#f2b705",  # cadmium-ish yellow
    "#2e7d32",  # green
    "#7a4a24",  # burnt umber
    "#e07a1f",  # orange
    "#7b3f9e",  # violet
    "#8a8f98",  # grey
    "#f7f4ec",  # white (on paper)
)
DEFAULT_BACKGROUND = "#f5f0e1"  # paper
# all ten inks: on the 20-class transfer study they raised the held-out top-5 rate from 26 % (first 6) to 44 %
# (docs/perception-transfer.md)
DEFAULT_PALETTE_SIZE = 10

MAX_STROKES = 256
MAX_BLOBS = 64
MAX_POINTS = 16
MAX_HARMONICS = 8
MAX_INKS = 64

#: Families of starting drawings (:meth:`DrawingSpec.initial_raw`).
LAYOUTS = ("scatter", "radial", "mixed")

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


class DrawingParameterError(HfmechError, ValueError):
    """A drawing-system parameter (counts, widths, palette, colours) is invalid or out of range."""


def parse_color(value) -> tuple[float, float, float]:
    """``"#rrggbb"``, ``"#rgb"`` or an RGB triple (0–255 ints or 0–1 floats) → floats in ``[0, 1]``."""
    if isinstance(value, str):
        m = _HEX.match(value.strip())
        if not m:
            raise DrawingParameterError(f"invalid colour {value!r}: use '#rrggbb' or '#rgb' hex")
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return tuple(int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    if isinstance(value, list | tuple) and len(value) == 3 and all(isinstance(v, int | float) for v in value):
        if all(isinstance(v, int) for v in value) and any(v > 1 for v in value):
            if not all(0 <= v <= 255 for v in value):
                raise DrawingParameterError(f"invalid colour {value!r}: integer channels must be in 0..255")
            return tuple(v / 255.0 for v in value)
        if not all(0.0 <= float(v) <= 1.0 for v in value):
            raise DrawingParameterError(f"invalid colour {value!r}: float channels must be in [0, 1]")
        return tuple(float(v) for v in value)
    raise DrawingParameterError(f"invalid colour {value!r}: use '#rrggbb' hex or an (r, g, b) triple")


def to_hex(rgb) -> str:
    return "#" + "".join(f"{round(float(c) * 255):02x}" for c in rgb)


def default_palette(n: int = DEFAULT_PALETTE_SIZE) -> list[str]:
    """The first ``n`` of :data:`DEFAULT_INKS`."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(DEFAULT_INKS):
        raise DrawingParameterError(f"palette size must be in 1..{len(DEFAULT_INKS)}, got {n!r}")
    return list(DEFAULT_INKS[:n])


@dataclass
class DrawingSpec:
    """The artist's discipline (all lengths are fractions of the canvas's shorter side)."""

    num_strokes: int = 20
    num_blobs: int = 0
    points_per_stroke: int = 2
    blob_harmonics: int = 3
    min_width: float = 0.01
    max_width: float = 0.06
    min_radius: float = 0.04
    max_radius: float = 0.25
    palette: list[str] = field(default_factory=default_palette)
    background: str = DEFAULT_BACKGROUND

    def __post_init__(self):
        self.validate()

    @classmethod
    def from_dict(cls, values: dict | None) -> DrawingSpec:
        values = dict(values or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise DrawingParameterError(f"unknown drawing parameters: {', '.join(sorted(unknown))}")
        return cls(**values)

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        def count(name, value, lo, hi):
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise DrawingParameterError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")

        count("num_strokes", self.num_strokes, 0, MAX_STROKES)
        count("num_blobs", self.num_blobs, 0, MAX_BLOBS)
        count("points_per_stroke", self.points_per_stroke, 2, MAX_POINTS)
        count("blob_harmonics", self.blob_harmonics, 1, MAX_HARMONICS)
        if self.num_strokes + self.num_blobs == 0:
            raise DrawingParameterError("a drawing needs at least one stroke or blob")
        for lo, hi, what in (
            (self.min_width, self.max_width, "width"),
            (self.min_radius, self.max_radius, "radius"),
        ):
            if not (isinstance(lo, int | float) and isinstance(hi, int | float) and 0 < lo <= hi <= 1):
                raise DrawingParameterError(
                    f"{what} range must satisfy 0 < min <= max <= 1, got ({lo!r}, {hi!r})"
                )
        if isinstance(self.palette, str) or not isinstance(self.palette, list | tuple):
            raise DrawingParameterError(f"palette must be a list of colours, got {self.palette!r}")
        if len(self.palette) == 0:
            raise DrawingParameterError("the palette is empty: give at least one ink colour")
        if len(self.palette) > MAX_INKS:
            raise DrawingParameterError(f"at most {MAX_INKS} inks, got {len(self.palette)}")
        self.palette = [to_hex(parse_color(c)) for c in self.palette]
        self.background = to_hex(parse_color(self.background))

    def palette_tensor(self) -> torch.Tensor:
        """``(P, 3)`` ink colours in ``[0, 1]``."""
        return torch.tensor([parse_color(c) for c in self.palette], dtype=torch.float32)

    def background_tensor(self) -> torch.Tensor:
        return torch.tensor(parse_color(self.background), dtype=torch.float32)

    @property
    def coefficient_bound(self) -> float:
        return 0.7 / (2 * self.blob_harmonics)

    # raw ↔ geometry ---------------------------------------------------------------------------------------------
    def raw_shapes(self) -> dict[str, tuple[int, ...]]:
        n, m, p = self.num_strokes, self.num_blobs, len(self.palette)
        return {
            "stroke_points": (n, self.points_per_stroke, 2),
            "stroke_width": (n,),
            "stroke_ink": (n, p),
            "blob_center": (m, 2),
            "blob_radius": (m,),
            "blob_shape": (m, self.blob_harmonics, 2),
            "blob_ink": (m, p),
        }

    def random_raw(self, generator: torch.Generator | None = None, batch: int = 1) -> dict[str, torch.Tensor]:
        """Raw parameters of ``batch`` random drawings: strokes of moderate length anywhere, mid widths, random inks."""

        def randn(*shape):
            return torch.randn(batch, *shape, generator=generator)

        shapes = self.raw_shapes()
        n, k = self.num_strokes, self.points_per_stroke
        start = randn(n, 1, 2) * 1.2
        # successive points stay near the previous one (lengths ~0.1–0.3 of the side at init)
        steps = randn(n, k - 1, 2) * 0.9
        points = torch.cat([start, start + steps.cumsum(dim=2)], dim=2)
        return {
            "stroke_points": points,
            "stroke_width": randn(*shapes["stroke_width"]) * 0.5,
            "stroke_ink": randn(*shapes["stroke_ink"]) * 0.5,
            "blob_center": randn(*shapes["blob_center"]) * 1.2,
            "blob_radius": randn(*shapes["blob_radius"]) * 0.5 - 0.5,
            "blob_shape": randn(*shapes["blob_shape"]) * 0.5,
            "blob_ink": randn(*shapes["blob_ink"]) * 0.5,
        }

    def radial_raw(
        self, generator: torch.Generator | None = None, batch: int = 1, jitter: float = 0.1
    ) -> dict[str, torch.Tensor]:
        """Raw parameters of ``batch`` random *radial* drawings: a ring of strokes around a random centre and spokes
        from it, in one ink.

        Per drawing: radius ``r ~ U[0.2, 0.4]`` of the side, centre ``c ~ U[r + 0.05, 0.95 − r]²`` (the ring inside
        the canvas); ``R = round(u · N)`` strokes, ``u ~ U[0.5, 0.75]``, are the consecutive arcs of the circle (each
        stroke's ``K`` points on its arc, the ring starting at a random angle), the other ``N − R`` are spokes from
        ``0.1 r`` to ``r`` at evenly spaced angles; all in one random ink of the palette (logit +1, the others −1).
        Widths and blobs are random as in :meth:`random_raw`; positions get a small ``jitter`` (logit units).

        Why: scatter drawings (:meth:`random_raw`) practically never contain a closed curve, and many objects —
        fans, wheels, dials, lenses, umbrellas — are built on one. Over 32 random drawings the least convinced of
        Lite0/Lite2 gives the electric fan mean log p −9.2 for scatter starts and −6.8 for radial ones (chance
        −6.9), and Adam from a radial start reaches the class where every scatter start stalled near p = 0.07
        (docs/perception.md). Radial drawings are one more family of starting candidates: the pipeline scores
        every candidate on the target and keeps the best, so a class that needs a ring starts with one.
        """
        raw = self.random_raw(generator, batch)
        n, k = self.num_strokes, self.points_per_stroke
        if n == 0:
            return raw

        def uniform(lo, hi, *shape):
            return lo + (hi - lo) * torch.rand(batch, *shape, generator=generator)

        radius = uniform(0.2, 0.4)  # (B,)
        centre = 0.5 + (0.45 - radius)[:, None] * uniform(-1.0, 1.0, 2)  # (B, 2): the ring inside the canvas
        ring = (uniform(0.5, 0.75) * n).round().long().clamp(1, n)  # (B,)
        spokes = n - ring
        phase = uniform(0.0, 2 * math.pi)
        index = torch.arange(n)
        t = torch.linspace(0, 1, k)  # position along a stroke
        # ring strokes: arc j covers angles [2πj/R, 2π(j+1)/R) from the phase
        ring_angle = phase[:, None, None] + 2 * math.pi * (index[None, :, None] + t[None, None, :]) / ring[
            :, None, None
        ].to(torch.float32)  # (B, N, K)
        ring_xy = centre[:, None, None, :] + radius[:, None, None, None] * torch.stack(
            [ring_angle.cos(), ring_angle.sin()], dim=-1
        )
        # spokes: from 0.1 r to r at evenly spaced angles
        spoke_number = (index[None, :] - ring[:, None]).to(torch.float32)  # (B, N)
        spoke_angle = phase[:, None] + 0.5 + 2 * math.pi * spoke_number / spokes.clamp(min=1)[:, None]
        along = (0.1 + 0.9 * t)[None, None, :, None] * radius[:, None, None, None]
        spoke_xy = (
            centre[:, None, None, :]
            + along * torch.stack([spoke_angle.cos(), spoke_angle.sin()], -1)[:, :, None, :]
        )
        on_ring = (index[None, :] < ring[:, None])[..., None, None]  # (B, N, 1, 1)
        xy = torch.where(on_ring, ring_xy, spoke_xy).clamp(0.02, 0.98)
        raw["stroke_points"] = torch.logit(xy) + jitter * torch.randn(xy.shape, generator=generator)
        # the ring and its spokes share one ink (a random one per drawing): one object, one colour
        p = len(self.palette)
        ink = torch.randint(p, (batch,), generator=generator)
        one = torch.nn.functional.one_hot(ink, p).to(raw["stroke_ink"].dtype)
        raw["stroke_ink"] = (2.0 * one - 1.0)[:, None, :].expand(batch, n, p).clone()
        return raw

    def initial_raw(
        self, generator: torch.Generator | None = None, batch: int = 1, layout: str = "mixed"
    ) -> dict[str, torch.Tensor]:
        """Starting candidates: ``layout`` is ``"scatter"`` (:meth:`random_raw`), ``"radial"`` (:meth:`radial_raw`)
        or ``"mixed"`` (the first half scatter, the rest radial; one scatter drawing when ``batch`` is 1)."""
        if layout not in LAYOUTS:
            raise DrawingParameterError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        if layout == "scatter":
            return self.random_raw(generator, batch)
        if layout == "radial":
            return self.radial_raw(generator, batch)
        scatter = self.random_raw(generator, (batch + 1) // 2)
        if batch == 1:
            return scatter
        radial = self.radial_raw(generator, batch // 2)
        return {k: torch.cat([scatter[k], radial[k]]) for k in scatter}

    def constrain(self, raw: dict[str, torch.Tensor], hard_inks: bool = True) -> Geometry:
        """Map raw tensors (leading batch dimension ``B``) to bounded geometry and exact palette colours."""
        palette = self.palette_tensor().to(raw["stroke_width"].device)
        side = self.max_width - self.min_width
        return Geometry(
            stroke_points=torch.sigmoid(raw["stroke_points"]),
            stroke_widths=self.min_width + side * torch.sigmoid(raw["stroke_width"]),
            stroke_colors=select_inks(raw["stroke_ink"], palette, hard=hard_inks),
            stroke_inks=raw["stroke_ink"].argmax(-1)
            if self.num_strokes
            else raw["stroke_ink"].new_zeros(raw["stroke_ink"].shape[:-1], dtype=torch.long),
            blob_centers=torch.sigmoid(raw["blob_center"]),
            blob_radii=self.min_radius
            + (self.max_radius - self.min_radius) * torch.sigmoid(raw["blob_radius"]),
            blob_coefficients=self.coefficient_bound * torch.tanh(raw["blob_shape"]),
            blob_colors=select_inks(raw["blob_ink"], palette, hard=hard_inks),
            blob_inks=raw["blob_ink"].argmax(-1)
            if self.num_blobs
            else raw["blob_ink"].new_zeros(raw["blob_ink"].shape[:-1], dtype=torch.long),
            background=self.background_tensor().to(palette.device),
            stroke_ink_onehot=_onehot_st(raw["stroke_ink"]),
            blob_ink_onehot=_onehot_st(raw["blob_ink"]),
        )

    # flat vectors (black-box optimisers) ------------------------------------------------------------------------
    def num_parameters(self) -> int:
        return sum(math.prod(s) for s in self.raw_shapes().values())

    def flatten(self, raw: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B, D)`` from raw tensors (order of :meth:`raw_shapes`)."""
        batch = raw["stroke_width"].shape[0]
        return torch.cat([raw[k].reshape(batch, -1) for k in self.raw_shapes()], dim=1)

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        if flat.dim() == 1:
            flat = flat.unsqueeze(0)
        out, offset = {}, 0
        for name, shape in self.raw_shapes().items():
            size = math.prod(shape)
            out[name] = flat[:, offset : offset + size].reshape(flat.shape[0], *shape)
            offset += size
        if offset != flat.shape[1]:
            raise DrawingParameterError(f"expected {offset} parameters, got {flat.shape[1]}")
        return out


def _onehot_st(logits: torch.Tensor) -> torch.Tensor:
    """Straight-through one-hot of the arg-max over the last axis (forward exact one-hot, backward softmax's)."""
    soft = logits.softmax(-1)
    hard = torch.zeros_like(soft).scatter_(-1, soft.argmax(-1, keepdim=True), 1.0)
    return hard + (soft - soft.detach())  # parenthesised: exactly hard in the forward pass


def select_inks(logits: torch.Tensor, palette: torch.Tensor, hard: bool = True) -> torch.Tensor:
    """``(…, P)`` ink logits, ``(P, 3)`` palette → ``(…, 3)`` colours.

    ``hard=True``: straight-through — the forward value is exactly ``palette[argmax]`` (bit for bit), the gradient
    that of the softmax mixture ``softmax(logits) @ palette``. ``hard=False``: the soft mixture itself.
    """
    if logits.shape[-1] == 0:
        return logits.new_zeros(*logits.shape[:-1], 3)
    if not hard:
        return logits.softmax(-1) @ palette
    weights = _onehot_st(logits)
    exact = palette[logits.argmax(-1)]
    # forward: the exact palette row; backward: d(weights @ palette)
    mixture = weights @ palette
    return exact + (mixture - mixture.detach())  # (m - m) is exactly 0: bit-exact palette rows


@dataclass
class Geometry:
    """Bounded, batched geometry in normalised canvas coordinates (see the module docstring for shapes)."""

    stroke_points: torch.Tensor  # (B, N, K, 2) in [0, 1]
    stroke_widths: torch.Tensor  # (B, N) fraction of the shorter side
    stroke_colors: torch.Tensor  # (B, N, 3) exact palette colours
    stroke_inks: torch.Tensor  # (B, N) long, palette indices
    blob_centers: torch.Tensor  # (B, M, 2)
    blob_radii: torch.Tensor  # (B, M)
    blob_coefficients: torch.Tensor  # (B, M, F, 2): (a_k, b_k)
    blob_colors: torch.Tensor  # (B, M, 3)
    blob_inks: torch.Tensor  # (B, M) long
    background: torch.Tensor  # (3,)
    stroke_ink_onehot: torch.Tensor | None = None  # (B, N, P) straight-through one-hot
    blob_ink_onehot: torch.Tensor | None = None  # (B, M, P)

    @property
    def batch_size(self) -> int:
        return self.stroke_widths.shape[0]

    def index(self, i: int) -> Geometry:
        """Drawing ``i`` of the batch, keeping a batch dimension of 1."""
        values = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            values[name] = v if (v is None or name == "background") else v[i : i + 1]
        return Geometry(**values)

    def shifted_by_ink(self, offsets: torch.Tensor) -> Geometry:
        """Ink misalignment: ``offsets (B, P, 2)`` (normalised units) moves every mark by its ink's offset, as when
        each ink is printed in its own, slightly misregistered, pass."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.stroke_ink_onehot is not None and self.stroke_points.shape[1]:
            shift = self.stroke_ink_onehot @ offsets  # (B, N, 2)
            values["stroke_points"] = self.stroke_points + shift[:, :, None, :]
        if self.blob_ink_onehot is not None and self.blob_centers.shape[1]:
            values["blob_centers"] = self.blob_centers + self.blob_ink_onehot @ offsets
        return Geometry(**values)

    def to_dict(self) -> dict:
        """The first drawing as plain Python values (JSON-ready): what the pipeline returns as ``"drawing"``."""
        g = self.index(0)
        g = Geometry(**{k: (v.detach() if torch.is_tensor(v) else v) for k, v in vars(g).items()})
        strokes = [
            {
                "points": [[float(x), float(y)] for x, y in g.stroke_points[0, i].tolist()],
                "width": float(g.stroke_widths[0, i]),
                "ink": int(g.stroke_inks[0, i]),
                "color": to_hex(g.stroke_colors[0, i].tolist()),
            }
            for i in range(g.stroke_points.shape[1])
        ]
        blobs = [
            {
                "center": [float(v) for v in g.blob_centers[0, i].tolist()],
                "radius": float(g.blob_radii[0, i]),
                "coefficients": [[float(a), float(b)] for a, b in g.blob_coefficients[0, i].tolist()],
                "ink": int(g.blob_inks[0, i]),
                "color": to_hex(g.blob_colors[0, i].tolist()),
            }
            for i in range(g.blob_centers.shape[1])
        ]
        return {"background": to_hex(g.background.tolist()), "strokes": strokes, "blobs": blobs}


class Drawing(nn.Module):
    """A drawing's raw parameters as ``nn.Parameter`` s (batch of ``batch`` drawings), and its spec."""

    def __init__(self, spec: DrawingSpec, generator: torch.Generator | None = None, batch: int = 1):
        super().__init__()
        self.spec = spec
        self.raw = nn.ParameterDict(
            {k: nn.Parameter(v) for k, v in spec.random_raw(generator, batch).items()}
        )

    def raw_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.raw.items())

    def geometry(self, hard_inks: bool = True) -> Geometry:
        return self.spec.constrain(self.raw_tensors(), hard_inks=hard_inks)

    @torch.no_grad()
    def load_flat(self, flat: torch.Tensor) -> None:
        for name, value in self.spec.unflatten(flat).items():
            self.raw[name].copy_(value)

    def flat(self) -> torch.Tensor:
        return self.spec.flatten({k: v.detach() for k, v in self.raw.items()})
