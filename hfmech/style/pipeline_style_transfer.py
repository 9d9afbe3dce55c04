"""``StyleTransferPipeline`` — task ``"style-transfer"``: Gatys et al.'s neural style transfer on any hfmech backbone.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016. An image ``x`` is
optimised, starting from the content photo (or noise, or the style image), to minimise

    α · L_content(x) + β · Σ_l w_l · L_style,l(x) + γ · TV(x)

where the content loss compares features at ``relu4_2`` with the content photo's and the style loss compares the Gram
matrices at ``relu1_1 … relu5_1`` with the style image's (formulas and normalisation in
:mod:`hfmech.style.losses`). What users of jcjohnson/neural-style and neural-style-pt expect is here too:

- **Several styles** with blend weights (``style=[a, b], style_weights=[0.7, 0.3]``): the Gram targets are blended.
- **style_scale**: each style image is resized so its longer side is ``style_scale`` × the content's longer side
  (aspect ratio kept: Gram matrices average over positions, so styles of any shape work); its shorter side is kept
  at least ``MIN_SIDE`` px (upscaling a very thin style, a documented fallback).
- **keep_colors**: ``"luminance"`` (luminance-only transfer) or ``"histogram"`` (style colours matched to the
  content's), Gatys et al. 2016b — :mod:`hfmech.style.color`.
- **Coarse-to-fine**: ``scales`` (a list of longer-side sizes, or ``"auto"``: halve ``size`` while the half is at
  least ``AUTO_MIN_SIDE``; an explicit list replaces ``size``, its largest entry is the output) — each scale
  starts from the previous result, upsampled.
- **Optimisers**: L-BFGS (default; ``steps`` function evaluations per scale — one integer, or a list with one count
  per scale — no early stopping, as neural-style; ``line_search="strong_wolfe"`` optional, the random multi-scale
  config's default) or Adam (``steps`` updates, pixels clamped to ``[0, 1]`` after each). Every evaluation scores the
  image clamped to ``[0, 1]``, the image that is returned, so the loss optimised is the loss of the output (pixels
  pushed out of range get no gradient; through the pyramid's coarser levels they can still come back).
  ``lbfgs_history`` correction pairs are kept (default 100, as neural-style; fewer save memory at large sizes,
  docs/style.md, "Speed").
- **init**: ``content`` | ``noise`` (uniform, seeded) | ``style`` (the first style, resized).
- **pyramid_levels** (default 3; 0 = plain pixels): L-BFGS optimises a Laplacian-pyramid parametrisation of the image
  (same loss, same output space; a low-frequency preconditioner, :meth:`StyleTransferPipeline.compose_pyramid`).

Efficiency (measured in docs/style.md, "Speed"): the content features and the (blended) style Grams are computed
once per scale, in float32; every evaluation runs the backbone only up to the deepest layer needed (``relu5_1``, not
``pool5``; :class:`~hfmech.vision.FeatureExtractor`) in channels-last memory, and each style layer's Gram loss is one
fused op whose backward is a single matmul (:func:`~hfmech.style.losses.gram_style_loss`). ``precision="auto"``
(default) runs those evaluations in bfloat16 on CPUs with AMX tiles (oneDNN's bfloat16 convolutions; VGG backbones
only), float32 elsewhere; the Gram products are bfloat16 matmuls accumulated in float32, the losses are float32, and
the reported final losses are recomputed in float32. ``precision="float32"`` forces float32 throughout.

Defaults (layers, weights, steps, size) come from ``model.config.style_transfer`` merged over :class:`StyleSettings`,
so a Hub repo defines its demo; any call argument overrides.

Example::

    import hfmech
    from transformers import pipeline
    stylize = pipeline("style-transfer", model=hfmech.zoo.build("vgg16-hed-trunk"))
    out = stylize("tubingen.jpg", style="starry_night.jpg", size=384, seed=0)
    out["image"].save("tubingen_starry.jpg")
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from ..errors import HfmechError, NonFiniteError, check_seed
from ..hub.hardware import cpu_has_amx_bf16
from ..hub.pipelines import (
    ConfigSettings,
    ModelOnlyPipeline,
    PipelineOutput,
    check_callback,
    deprecated_callback,
)
from ..vision.features import FeatureExtractor, UnknownLayerError, available_layers
from ..vision.image_io import (
    DEFAULT_MAX_PIXELS,
    image_to_tensor,
    load_image,
    tensor_to_image,
)
from . import color
from .losses import (
    GATYS_STYLE_DEFAULTS,
    blended_grams,
    content_loss,
    gram_matrix,
    gram_style_loss,
    total_variation,
)

MIN_SIDE = 32
AUTO_MIN_SIDE = 192
MAX_SIDE = 4096
#: Bounds (docs/limits.md): evaluations per scale, number of scales, pixels of each input image, style images.
MAX_STEPS = 5000
MAX_SCALES = 16
MAX_PIXELS = DEFAULT_MAX_PIXELS
MAX_STYLES = 16
#: Longest/shortest side of a content or style image. Gram matrices make thin styles work, and a thin image is lifted
#: to a ``MIN_SIDE`` short side: at 64:1 that is at most 32 x 2048 px; a 1 x 10,000 image (32 x 320,000 px) is refused.
MAX_ASPECT = 64.0
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise", "style")
KEEP_COLORS = ("luminance", "histogram")
PRECISIONS = ("auto", "float32", "bfloat16")
#: L-BFGS correction pairs kept (neural-style's ``-lbfgs_num_correction``; neural-style, torch.optim.LBFGS and Gatys'
#: PyTorch reference code keep 100, scipy's L-BFGS-B 10). Fewer pairs make each step's two-loop recursion cheaper
#: (at 256 px, 100 pairs are ~420 MB of memory traffic, computed) but need more evaluations; end to end on 2 cores, 30 pairs
#: reached the benchmark's loss later than 100 (41.8 vs 37.8 s) and 50 about as fast (docs/style.md, "Speed"). Fewer
#: pairs also bound the optimiser's memory at large sizes: 2 × pairs × parameters × 4 bytes.
LBFGS_HISTORY = 100
PYRAMID_DECAY = 0.5  # weight 2^-k of pyramid level k (weights 1 were slower: docs/style.md)


class StyleParameterError(HfmechError, ValueError):
    """A style-transfer setting is out of range or of the wrong type."""


class StyleWeightsError(StyleParameterError):
    """``style_weights`` does not match the list of style images (count, sign or sum)."""


@dataclass
class StyleSettings(ConfigSettings):
    """All knobs of a transfer; defaults give a good 256–512 px result on a 2-core CPU in L-BFGS."""

    content_layers: list[str] | None = None
    style_layers: list[str] | None = None
    style_layer_weights: list[float] | None = None
    content_weight: float = 1.0
    style_weight: float = 20.0
    tv_weight: float = 1.0
    steps: int = 100
    optimizer: str = "lbfgs"
    line_search: str | None = None
    lbfgs_history: int = LBFGS_HISTORY
    learning_rate: float | None = None
    init: str = "content"
    size: int = 384
    scales: list[int] | str | None = "auto"
    style_scale: float = 1.0
    keep_colors: str | None = None
    precision: str = "auto"
    pyramid_levels: int = 3
    max_pixels: int = DEFAULT_MAX_PIXELS

    config_key = "style_transfer"

    def merge_overrides(self, values: dict, overrides: dict) -> dict:
        values = super().merge_overrides(values, overrides)
        # aliases the CLI and the Space pass
        if values.get("keep_colors") in (True, "true", "True"):
            values["keep_colors"] = "luminance"
        if values.get("keep_colors") in (False, "none", "", "false"):
            values["keep_colors"] = None
        if values.get("line_search") == "none":
            values["line_search"] = None
        return values

    def validate(self) -> None:
        def check(ok: bool, message: str):
            if not ok:
                raise StyleParameterError(message)

        def number(value) -> bool:
            return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

        for name in ("content_weight", "style_weight", "tv_weight"):
            value = getattr(self, name)
            check(number(value) and value >= 0, f"{name} must be a finite number >= 0, got {value!r}")
        check(self.content_weight + self.style_weight > 0, "content_weight and style_weight cannot both be 0")

        def count(value) -> bool:
            return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_STEPS

        check(
            count(self.steps)
            or (
                isinstance(self.steps, list | tuple)
                and 0 < len(self.steps) <= MAX_SCALES
                and all(map(count, self.steps))
            ),
            f"steps must be an integer in 0..{MAX_STEPS} (or a list of them, one per scale), got {self.steps!r}",
        )
        check(
            self.optimizer in OPTIMIZERS,
            f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}",
        )
        check(
            self.learning_rate is None or (number(self.learning_rate) and self.learning_rate > 0),
            f"learning_rate must be > 0, got {self.learning_rate!r}",
        )
        check(
            self.line_search in (None, "strong_wolfe"),
            f"line_search must be None or 'strong_wolfe', got {self.line_search!r}",
        )
        check(
            isinstance(self.lbfgs_history, int)
            and not isinstance(self.lbfgs_history, bool)
            and 1 <= self.lbfgs_history <= 1000,
            f"lbfgs_history must be an integer in 1..1000, got {self.lbfgs_history!r}",
        )
        check(self.init in INITS, f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        check(
            isinstance(self.pyramid_levels, int)
            and not isinstance(self.pyramid_levels, bool)
            and 0 <= self.pyramid_levels <= 6,
            f"pyramid_levels must be an integer in 0..6, got {self.pyramid_levels!r}",
        )
        check(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}",
        )
        check(
            isinstance(self.size, int)
            and not isinstance(self.size, bool)
            and MIN_SIDE <= self.size <= MAX_SIDE,
            f"size (the output's longer side) must be an integer in {MIN_SIDE}..{MAX_SIDE}, got {self.size!r}",
        )
        check(
            number(self.style_scale) and 0.05 <= self.style_scale <= 8,
            f"style_scale must be in [0.05, 8], got {self.style_scale!r}",
        )
        check(
            self.keep_colors is None or self.keep_colors in KEEP_COLORS,
            f"keep_colors must be None, 'luminance' or 'histogram', got {self.keep_colors!r}",
        )
        check(
            isinstance(self.max_pixels, int)
            and not isinstance(self.max_pixels, bool)
            and 64 * 64 <= self.max_pixels <= MAX_PIXELS,
            f"max_pixels must be an integer in 4096..{MAX_PIXELS}, got {self.max_pixels!r}",
        )
        if self.scales not in (None, "auto"):
            ok = isinstance(self.scales, list | tuple) and 0 < len(self.scales) <= MAX_SCALES
            ok = ok and all(
                isinstance(s, int) and not isinstance(s, bool) and MIN_SIDE <= s <= MAX_SIDE
                for s in self.scales
            )
            check(
                ok,
                f"scales must be 'auto' or a list of at most {MAX_SCALES} sizes in {MIN_SIDE}..{MAX_SIDE}, "
                f"got {self.scales!r}",
            )
        if isinstance(self.steps, list | tuple):
            n_scales = len(self.scale_sizes())
            check(
                len(self.steps) == n_scales,
                f"steps lists {len(self.steps)} counts but there are {n_scales} scales {self.scale_sizes()}: "
                "give one count per scale, or one integer",
            )
        for name in ("content_layers", "style_layers"):
            value = getattr(self, name)
            check(
                value is None
                or (isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value)),
                f"{name} must be a non-empty list of layer names, got {value!r}",
            )
        if self.style_layer_weights is not None:
            check(
                isinstance(self.style_layer_weights, list | tuple)
                and all(number(w) and w >= 0 for w in self.style_layer_weights),
                f"style_layer_weights must be numbers >= 0, got {self.style_layer_weights!r}",
            )

    def steps_per_scale(self, n_scales: int) -> list[int]:
        """Evaluations at each of ``n_scales`` scales, coarse to fine: ``steps`` at every scale, or the list (one
        entry per scale)."""
        if isinstance(self.steps, int):
            return [self.steps] * n_scales
        return [int(n) for n in self.steps]  # validate() checked the length

    def scale_sizes(self) -> list[int]:
        """The longer side at each scale, coarse to fine; the last is ``size``."""
        if self.scales in (None, "auto"):
            sizes = [self.size]
            while sizes[0] // 2 >= AUTO_MIN_SIDE:
                sizes.insert(0, sizes[0] // 2)
            return sizes
        return sorted(int(side) for side in self.scales)


def resize_long_side(image: Image.Image, long_side: int, min_short_side: int = MIN_SIDE) -> Image.Image:
    """Lanczos resize (up or down) so the longer side is ``long_side``; the shorter side is at least
    ``min_short_side`` (a very elongated image is then scaled up further)."""
    w, h = image.size
    scale = long_side / max(w, h)
    if min(w, h) * scale < min_short_side:
        scale = min_short_side / min(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


class _Interrupted(Exception):
    """Raised inside an L-BFGS closure to end the optimisation when ``callback_on_step_end`` asks to stop."""


@dataclass
class StyleTransferOutput(PipelineOutput):
    """What a transfer returns (also readable as a dict: ``out["image"]``).

    Args:
        image: the result (PIL, ``size`` on its longer side, the content's aspect ratio).
        loss_history: the weighted total loss at every function evaluation (all scales, in order), in the working
            precision (bfloat16 evaluations under ``precision="auto"`` on AMX CPUs).
        content_loss / style_loss / tv_loss: the final unweighted terms (relative errors), in float32.
        style_loss_per_layer: the final per-layer style losses.
        scales: the sizes used, coarse to fine.
        step_times: seconds since the start at each evaluation (for benchmarks).
        interrupted: ``True`` when ``callback_on_step_end`` stopped the run early.
    """

    image: Any = None
    loss_history: list | None = None
    content_loss: float | None = None
    style_loss: float | None = None
    tv_loss: float | None = None
    style_loss_per_layer: dict | None = None
    scales: list | None = None
    step_times: list | None = None
    interrupted: bool | None = None


class StyleTransferPipeline(ModelOnlyPipeline):
    """Gatys-style transfer over any hfmech backbone (VGG, random networks) or feature model.

    Call ``pipe(content, style=IMAGE_OR_LIST, style_weights=None, **settings)``; returns a
    :class:`StyleTransferOutput`. ``callback_on_step_end(pipeline, step, total, state)`` is called after every
    evaluation with ``state = {"pixels": (1, 3, H, W) evaluated image (detached, in [0, 1]; copy it to keep it),
    "loss": float, "scale": the current longer side}`` — benchmarks rescore those in float32.
    ``callback_on_evaluation(index, pixels, loss)`` is its deprecated predecessor (still called, with a warning).
    """

    settings_class = StyleSettings

    def __init__(self, *args, **kwargs):
        self._extractors: dict[tuple[tuple[str, ...], torch.dtype], FeatureExtractor] = {}
        self._cast_backbones: dict[torch.dtype, torch.nn.Module] = {}
        super().__init__(*args, **kwargs)
        self.model.eval()

    # transformers runs _forward under no_grad; the optimisation needs gradients w.r.t. the image
    def get_inference_context(self):
        return torch.enable_grad

    def _sanitize_parameters(
        self,
        style=None,
        style_weights=None,
        seed=None,
        progress=None,
        callback_on_step_end=None,
        callback_on_evaluation=None,
        **settings,
    ):
        """Every other keyword is a :class:`StyleSettings` field (``tv_weight=``, ``steps=``, …)."""
        # resolved and validated once per call, before any image is decoded; every stage gets the same object
        settings = self.call_settings(settings)
        seed = check_seed(seed)
        preprocess = {"style": style, "style_weights": style_weights, "max_pixels": settings.max_pixels}
        deprecated_callback(
            callback_on_evaluation, "callback_on_evaluation", "(index, pixels, loss)", StyleParameterError
        )
        forward = {
            "settings": settings,
            "seed": seed,
            "progress": progress,
            "callback_on_step_end": check_callback(callback_on_step_end),
            "callback_on_evaluation": callback_on_evaluation,
        }
        return preprocess, forward, {}

    # ------------------------------------------------------------------------------------------------------------
    def preprocess(self, content, style=None, style_weights=None, max_pixels=None):
        limit = max_pixels or self.settings.max_pixels
        if style is None:
            raise StyleParameterError(
                "style transfer needs at least one style image: pass style=IMAGE or a list"
            )
        styles = list(style) if isinstance(style, list | tuple) else [style]
        if not styles:
            raise StyleParameterError("style is an empty list: pass at least one style image")
        if len(styles) > MAX_STYLES:
            raise StyleParameterError(f"{len(styles)} style images; at most {MAX_STYLES} are accepted")
        blend = self.blend_weights(styles, style_weights)
        return {
            "content": load_image(content, max_pixels=limit, max_aspect=MAX_ASPECT),
            "styles": [load_image(s, max_pixels=limit, max_aspect=MAX_ASPECT) for s in styles],
            "blend": blend,
        }

    @staticmethod
    def blend_weights(styles: list, style_weights) -> list[float]:
        """Validate ``style_weights`` against the styles; default equal weights. Returned unnormalised."""
        if style_weights is None:
            return [1.0] * len(styles)
        weights = list(style_weights) if isinstance(style_weights, list | tuple) else [style_weights]
        if len(weights) != len(styles):
            raise StyleWeightsError(
                f"{len(styles)} style image(s) but {len(weights)} style weight(s): give one weight per style"
            )
        ok = all(
            isinstance(w, int | float) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
            for w in weights
        )
        if not ok or sum(weights) <= 0:
            raise StyleWeightsError(
                f"style weights must be numbers >= 0 with a positive sum, got {weights!r}"
            )
        return [float(w) for w in weights]

    def _forward(
        self,
        model_inputs,
        settings,
        seed=None,
        progress=None,
        callback_on_step_end=None,
        callback_on_evaluation=None,
    ):
        s = settings
        self.interrupt = False
        content_layers, style_layers, layer_weights = self.resolve_layers(s)
        layers = [*content_layers, *style_layers]
        extractor = self.feature_extractor_for(layers)  # float32: targets and the reported losses
        working = self.feature_extractor_for(layers, self.working_dtype(s.precision))  # every evaluation
        generator = torch.Generator().manual_seed(
            int(seed) if seed is not None else int(torch.seed() % 2**63)
        )
        content_pil, style_pils, blend = (
            model_inputs["content"],
            model_inputs["styles"],
            model_inputs["blend"],
        )

        sizes = s.scale_sizes()
        steps = s.steps_per_scale(len(sizes))
        history, times, img = [], [], None
        start = time.perf_counter()
        total = sum(steps)
        bar = tqdm(total=total, desc="style transfer", disable=progress is False)
        interrupted = False
        for side, n_steps in zip(sizes, steps):

            def on_evaluation(pixels, loss, side=side) -> bool:
                if callback_on_evaluation is not None:
                    callback_on_evaluation(len(history) - 1, pixels, loss)
                state = {"pixels": pixels, "loss": loss, "scale": side}
                return self.step_end(callback_on_step_end, len(history), total, state)

            content = image_to_tensor(resize_long_side(content_pil, side)).to(self.device)
            styles = [
                image_to_tensor(resize_long_side(p, max(MIN_SIDE, round(s.style_scale * side)))).to(
                    self.device
                )
                for p in style_pils
            ]
            if s.keep_colors == "histogram":
                styles = [color.match_color_histogram(t, content) for t in styles]
            elif s.keep_colors == "luminance":
                content_lum = color.luminance(content)
                styles = [color.gray3(color.match_luminance(color.luminance(t), content_lum)) for t in styles]
                content = color.gray3(content_lum)

            # targets: once per scale
            with torch.no_grad():
                content_targets = {
                    k: v.detach() for k, v in extractor(content).items() if k in content_layers
                }
                grams = []
                for t in styles:
                    feats = extractor(t)
                    grams.append({name: gram_matrix(feats[name]).detach() for name in style_layers})
                style_targets = blended_grams(grams, blend)

            img = self.initial_image(s.init, content, styles[0], img, generator)
            objective = self._objective(working, content_targets, style_targets, layer_weights, s)
            img, interrupted = self._optimise(
                img, objective, s, n_steps, history, times, start, bar, on_evaluation
            )
            if interrupted:
                break
        bar.close()

        with torch.no_grad():  # the final terms in float32, whatever the working precision
            _, parts = self._objective(extractor, content_targets, style_targets, layer_weights, s)(img)
        out = img.detach().clamp(0.0, 1.0)
        if s.keep_colors == "luminance":
            full_content = image_to_tensor(resize_long_side(content_pil, sizes[-1])).to(out.device)
            out = color.combine_luminance_chroma(color.luminance(out), full_content)
        return {
            "image": out.cpu(),
            "loss_history": history,
            "step_times": times,
            "content_loss": parts["content"],
            "style_loss": parts["style"],
            "tv_loss": parts["tv"],
            "style_loss_per_layer": parts["style_per_layer"],
            "scales": sizes,
            "interrupted": interrupted,
        }

    def postprocess(self, model_outputs) -> StyleTransferOutput:
        return StyleTransferOutput(**{**model_outputs, "image": tensor_to_image(model_outputs["image"])})

    # building blocks ------------------------------------------------------------------------------------------------
    def _objective(self, extractor, content_targets, style_targets, layer_weights, s: StyleSettings):
        """``pixels -> (weighted total loss, {term: float})`` for the current scale's targets."""

        def objective(pixels):
            feats = extractor(pixels)
            c = sum(content_loss(feats[k].float(), t) for k, t in content_targets.items()) / max(
                1, len(content_targets)
            )
            per_layer = {k: gram_style_loss(feats[k], t) for k, t in style_targets.items()}
            st = sum(layer_weights[k] * v for k, v in per_layer.items())
            tv = total_variation(pixels)
            total = s.content_weight * c + s.style_weight * st + s.tv_weight * tv
            parts = {
                "content": float(c.detach()),
                "style": float(st.detach()),
                "tv": float(tv.detach()),
                "style_per_layer": {k: float(v.detach()) for k, v in per_layer.items()},
            }
            return total, parts

        return objective

    @staticmethod
    def pyramid_parameters(img: torch.Tensor, levels: int) -> list[torch.Tensor]:
        """``[img (1, 3, H, W), zeros (1, 3, H/2, W/2), …, zeros (1, 3, H/2^levels, W/2^levels)]``, all leaves."""
        h, w = img.shape[-2:]
        coarse = [img.new_zeros(1, 3, max(1, h >> k), max(1, w >> k)) for k in range(1, levels + 1)]
        return [t.requires_grad_(True) for t in (img, *coarse)]

    @staticmethod
    def compose_pyramid(params: list[torch.Tensor]) -> torch.Tensor:
        """``x = z_0 + ½ up(z_1 + ½ up(z_2 + …))`` (bilinear ``up`` to the next finer level's size): the image a
        Laplacian pyramid encodes, level k weighted 2^-k, reconstructed coarse to fine as in Burt & Adelson (1983)
        and Mordvintsev's ``lap_merge``. Only one upsampling runs at full resolution (upsampling every level
        straight to full size cost three: docs/style.md, "Speed")."""
        x = params[-1]
        for level in reversed(params[:-1]):
            up = F.interpolate(x, size=level.shape[-2:], mode="bilinear", align_corners=False)
            x = torch.add(level, up, alpha=PYRAMID_DECAY)
        return x

    @classmethod
    def pixels(cls, params: list[torch.Tensor]) -> torch.Tensor:
        """The image the parameters stand for, ``clamp(compose_pyramid(params), 0, 1)`` ``(1, 3, H, W)``: what every
        evaluation scores and what the pipeline returns. Unclamped, L-BFGS wins its last ~1 % of loss with
        out-of-range pixels that the output's clamp then discards (measured: docs/style.md, "Speed"); clamped,
        such pixels get no gradient, and can still come back through the pyramid's coarser levels."""
        return cls.compose_pyramid(params).clamp(0.0, 1.0)

    def _optimise(
        self, img, objective, s: StyleSettings, steps, history, times, start, bar, on_evaluation=None
    ):
        """``steps`` evaluations from ``img``; returns ``(image, interrupted)``. ``on_evaluation(pixels, loss)``
        returning ``True`` ends the optimisation after that evaluation."""
        img = img.detach().clone()
        if steps == 0:
            return img, False
        # L-BFGS works on a Laplacian pyramid of the image (pyramid_levels coarser levels, zero at the start, so the
        # first evaluation is the initial image): the gradient of a level-k pixel sums the full-resolution gradient
        # over its 4^k footprint, a preconditioner that moves low frequencies faster (Olah, Mordvintsev & Schubert,
        # "Feature Visualization", Distill 2017, on parametrisations; Mordvintsev's Laplacian-pyramid gradient
        # normalisation in the DeepDream notebooks). Measured: the float32 loss plain L-BFGS has after 30
        # evaluations at 256 px is reached 3-5 evaluations earlier (docs/style.md). The loss is unchanged.
        levels = s.pyramid_levels if s.optimizer == "lbfgs" else 0
        params = self.pyramid_parameters(img, levels)

        def evaluate():
            pixels = self.pixels(params)  # the clamped image, the one returned
            loss, _ = objective(pixels)
            value = float(loss.detach())
            if not math.isfinite(value):
                bar.close()
                raise NonFiniteError(
                    f"style transfer: the loss became {value} at evaluation {len(history) + 1} (scale "
                    f"{pixels.shape[-1]}x{pixels.shape[-2]} px); stopped"
                )
            loss.backward()
            history.append(value)
            times.append(time.perf_counter() - start)
            bar.update(1)
            if on_evaluation is not None and on_evaluation(pixels.detach(), history[-1]):
                raise _Interrupted
            return loss

        interrupted = False

        if s.optimizer == "lbfgs":
            # neural-style: no early stopping (tolerances -1), `steps` evaluations, no line search by
            # default (fewer evaluations to a given loss on VGG); "strong_wolfe" for the random multi-scale net,
            # where L-BFGS without it diverged from noise
            opt = torch.optim.LBFGS(
                params,
                lr=s.learning_rate or 1.0,
                max_iter=steps,
                max_eval=steps,
                tolerance_grad=-1,
                tolerance_change=-1,
                history_size=s.lbfgs_history,
                line_search_fn=s.line_search,
            )

            def closure():
                opt.zero_grad()
                return evaluate()

            try:
                opt.step(closure)
            except _Interrupted:
                interrupted = True
        else:
            img = params[0]
            opt = torch.optim.Adam([img], lr=s.learning_rate or 0.02)
            for _ in range(steps):
                opt.zero_grad()
                try:
                    evaluate()
                except _Interrupted:
                    interrupted = True
                    break
                opt.step()
                with torch.no_grad():
                    img.clamp_(0.0, 1.0)
        with torch.no_grad():
            return self.pixels(params), interrupted

    @staticmethod
    def initial_image(init, content, style, previous, generator):
        """The previous scale's result upsampled; else the content, uniform noise, or the style resized."""
        size = content.shape[-2:]
        if previous is not None:
            return F.interpolate(previous, size=size, mode="bilinear", align_corners=False).clamp(0, 1)
        if init == "content":
            return content.clone()
        if init == "noise":
            return torch.rand(content.shape, generator=generator).to(content)
        return F.interpolate(style, size=size, mode="bilinear", align_corners=False)

    def resolve_layers(self, s: StyleSettings) -> tuple[list[str], list[str], dict[str, float]]:
        names = available_layers(self.model)
        if s.content_layers is None and s.style_layers is None and self._has_gatys_layers(names):
            s = s.updated(**GATYS_STYLE_DEFAULTS)  # a VGG trunk whose config names no layers: Gatys et al.'s
        content_layers = list(s.content_layers or [self._default_layer(names)])
        style_layers = list(s.style_layers or content_layers)
        for layer in [*content_layers, *style_layers]:
            if layer not in names:
                raise UnknownLayerError(f"unknown layer {layer!r}; valid layers: {', '.join(names)}")
        weights = s.style_layer_weights
        if weights is None or len(weights) != len(style_layers):
            if weights is not None and s.style_layers is not None:
                raise StyleParameterError(
                    f"{len(style_layers)} style layers but {len(weights)} style_layer_weights"
                )
            weights = [1.0 / len(style_layers)] * len(style_layers)
        return content_layers, style_layers, dict(zip(style_layers, (float(w) for w in weights)))

    @staticmethod
    def _has_gatys_layers(names) -> bool:
        wanted = [*GATYS_STYLE_DEFAULTS["content_layers"], *GATYS_STYLE_DEFAULTS["style_layers"]]
        return all(layer in names for layer in wanted)

    @staticmethod
    def _default_layer(names) -> str:
        relus = [n for n in names if n.startswith("relu")]
        return (relus or list(names))[len(relus or names) // 2]

    def working_dtype(self, precision: str) -> torch.dtype:
        """The dtype every evaluation runs the backbone in: ``precision``, or for ``"auto"`` bfloat16 on a CPU with
        AMX tiles (oneDNN's bfloat16 convolutions) and a VGG backbone, float32 otherwise (what was measured:
        docs/style.md). Targets and the reported final losses are always float32."""
        if precision == "float32":
            return torch.float32
        if precision == "bfloat16":
            return torch.bfloat16
        vgg = getattr(getattr(self.model, "config", None), "model_type", None) == "hfmech-vgg"
        if self.device.type == "cpu" and vgg and cpu_has_amx_bf16():
            return torch.bfloat16
        return torch.float32

    def feature_extractor_for(self, layers, dtype: torch.dtype = torch.float32) -> FeatureExtractor:
        """A channels-last extractor stopping at the deepest of ``layers``; for ``dtype`` other than float32 it
        wraps a copy of the backbone cast to ``dtype`` (one copy per dtype, shared by every layer set)."""
        key = (tuple(dict.fromkeys(layers)), dtype)
        if key not in self._extractors:
            if dtype != torch.float32 and dtype not in self._cast_backbones:
                self._cast_backbones[dtype] = copy.deepcopy(self.model).to(dtype)
            model = self.model if dtype == torch.float32 else self._cast_backbones[dtype]
            self._extractors[key] = FeatureExtractor(model, key[0], channels_last=True).to(self.device, dtype)
        return self._extractors[key]
