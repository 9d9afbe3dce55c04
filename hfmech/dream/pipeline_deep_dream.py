"""``DeepDreamPipeline`` — task ``"deep-dream"``: transformative perception by gradient ascent on the input.

Mordvintsev, Olah & Tyka (2015), "Inceptionism: Going Deeper into Neural Networks", and the google/deepdream
notebook this file follows step for step:

1. **Octaves.** The input is shrunk ``octaves - 1`` times by ``octave_scale`` (1.4). Dreaming starts on the smallest
   image; after each octave the *detail* it added (``dreamed - base``) is upscaled and added to the next larger base,
   so structures grown at coarse scale are refined at fine scale.
2. **Ascent step** (``make_step``): roll the image by a random jitter (±32 px), forward to the objective's layer only
   (the feature extractor stops there), back-propagate, normalise the gradient (``mean-abs`` as the original,
   ``std``, or the TF notebook's ``laplacian`` pyramid normalisation), take a step of ``step_size``, unroll, clip
   to the valid pixel range.
3. **Objectives**: ``½·mean(a²)`` of a layer by default; or any :mod:`hfmech.dream.objectives` expression;
   or guided by a second image (each position follows its best-matching guide feature).

Large images are processed in tiles with random offsets (``tile_size``), so memory is bounded by the tile;
``tile_size=0`` turns tiling off (the whole image in one pass).
Pixels live in ``[0, 1]``; ``step_size`` is in those units (the original's 1.5 on a 0–255 scale is ``1.5/255``).
Defaults come from ``model.config.deep_dream`` so a Hub repo fully defines its dream; any call argument overrides.

Example::

    import hfmech
    from transformers import pipeline
    dream = pipeline("deep-dream", model=hfmech.zoo.build("efficientnet-lite0-imagenet"))
    out = dream("sky1024px.jpg", layer="deep", seed=0)
    out["image"].save("dream.jpg")

The same object renders feature visualisations from noise: ``dream.visualize(objectives.channel("stage6", 7))``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from ..errors import HfmechError, NonFiniteError, check_seed
from ..hub.pipelines import ConfigSettings, ModelOnlyPipeline, PipelineOutput, check_callback
from ..vision.features import FeatureExtractor, UnknownLayerError, available_layers
from ..vision.fusion import fold_batchnorm
from ..vision.image_io import (
    DEFAULT_MAX_PIXELS,
    MAX_ASPECT_RATIO,
    image_to_tensor,
    load_image,
    tensor_to_image,
)
from . import objectives as obj
from . import visualize as vis
from .gradients import GRADIENT_NORMALISATIONS, normalise_gradient, objective_gradient, tiles

#: Step sizes (pixels in [0, 1]) per gradient normalisation: the Caffe notebook's 1.5/255 for mean-abs, the TF
#: notebook's 1.0/255 for the unit-RMS normalisations.
DEFAULT_STEP_SIZE = {"mean-abs": 1.5 / 255, "std": 1.0 / 255, "laplacian": 1.0 / 255}
MIN_OCTAVE_SIDE = 16
#: Bounds of a dream (docs/limits.md): ascent steps per octave, octaves, pixels processed (input and guide).
MAX_STEPS = 1000
MAX_OCTAVES = 12
MAX_PIXELS = DEFAULT_MAX_PIXELS


class DreamParameterError(HfmechError, ValueError):
    """A DeepDream parameter is out of range or of the wrong type."""


@dataclass
class DreamSettings(ConfigSettings):
    """All knobs of a dream; defaults are google/deepdream's ``deepdream()`` signature."""

    layer: str | None = None
    presets: dict | None = None
    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 10
    step_size: float | None = None
    jitter: int = 32
    grad_norm: str = "mean-abs"
    clip: bool = True
    tile_size: int | None = 512
    guide_size: int = 512
    max_pixels: int = DEFAULT_MAX_PIXELS

    config_key = "deep_dream"
    stored_only = ("presets",)  # the layer presets' names come with the model

    def validate(self) -> None:
        def check(ok: bool, message: str):
            if not ok:
                raise DreamParameterError(message)

        check(
            isinstance(self.octaves, int)
            and not isinstance(self.octaves, bool)
            and 1 <= self.octaves <= MAX_OCTAVES,
            f"octaves must be in 1..{MAX_OCTAVES}, got {self.octaves!r}",
        )
        check(
            isinstance(self.octave_scale, int | float)
            and not isinstance(self.octave_scale, bool)
            and 1.0 < self.octave_scale <= 4.0,
            f"octave_scale must be in (1, 4], got {self.octave_scale!r}",
        )
        check(
            isinstance(self.steps, int) and not isinstance(self.steps, bool) and 0 <= self.steps <= MAX_STEPS,
            f"steps must be in 0..{MAX_STEPS}, got {self.steps!r}",
        )
        check(
            self.step_size is None
            or (
                isinstance(self.step_size, int | float)
                and not isinstance(self.step_size, bool)
                and 0 < self.step_size <= 1
            ),
            f"step_size must be in (0, 1] (pixels in [0, 1]), got {self.step_size!r}",
        )
        check(
            isinstance(self.jitter, int) and 0 <= self.jitter <= 256,
            f"jitter must be in 0..256, got {self.jitter!r}",
        )
        check(
            self.grad_norm in GRADIENT_NORMALISATIONS,
            f"grad_norm must be one of {', '.join(GRADIENT_NORMALISATIONS)}, got {self.grad_norm!r}",
        )
        check(
            self.tile_size is None
            or (isinstance(self.tile_size, int) and (self.tile_size == 0 or 32 <= self.tile_size <= 4096)),
            f"tile_size must be 0 (no tiling) or in 32..4096, got {self.tile_size!r}",
        )
        check(
            isinstance(self.max_pixels, int) and 64 * 64 <= self.max_pixels <= MAX_PIXELS,
            f"max_pixels must be an integer in 4096..{MAX_PIXELS}, got {self.max_pixels!r}",
        )
        check(
            isinstance(self.guide_size, int) and 16 <= self.guide_size <= 4096,
            "guide_size must be in 16..4096",
        )


@dataclass
class DeepDreamOutput(PipelineOutput):
    """What a dream returns (also readable as a dict: ``out["image"]``).

    Args:
        image: the dream (PIL, the input's size).
        objective: the objective's description, e.g. ``"L2(stage5)"``.
        objective_start / objective_end: the objective on the input and on the output (no jitter, same size).
        objective_history: the objective at every ascent step (all octaves, in order).
        frames: the image after each octave (PIL, growing sizes), when ``return_frames=True``.
        interrupted: ``True`` when ``callback_on_step_end`` stopped the dream early.
    """

    image: Any = None
    objective: str | None = None
    objective_start: float | None = None
    objective_end: float | None = None
    objective_history: list | None = None
    frames: list | None = None
    interrupted: bool | None = None


class DeepDreamPipeline(ModelOnlyPipeline):
    """DeepDream and activation maximisation over any hfmech backbone or transformers image classifier.

    Call with an image (path, URL, PIL image, numpy array); returns a :class:`DeepDreamOutput`.
    ``callback_on_step_end(pipeline, step, total, state)`` is called after every ascent step with
    ``state = {"pixels": (1, 3, h, w) in [0, 1] at the octave's size, "objective": float, "octave": int}``.
    """

    settings_class = DreamSettings

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model.eval()
        self._extractors: dict[tuple[str, ...], FeatureExtractor] = {}
        self._inference_model = None

    # transformers' Pipeline runs _forward under no_grad; dreaming needs gradients w.r.t. the input.
    def get_inference_context(self):
        return torch.enable_grad

    def _sanitize_parameters(
        self,
        objective=None,
        guide=None,
        guide_layer=None,
        seed=None,
        return_frames=None,
        progress=None,
        callback_on_step_end=None,
        **settings,
    ):
        """Every other keyword is a :class:`DreamSettings` field (``steps=``, ``octaves=``, …)."""
        seed = check_seed(seed)
        # resolved and validated once per call, before the image is decoded; every stage gets the same object
        settings = self.call_settings(settings)
        preprocess = {"max_pixels": settings.max_pixels}
        forward = {
            "settings": settings,
            "objective": objective,
            "guide": guide,
            "guide_layer": guide_layer,
            "seed": seed,
            "progress": progress,
            "callback_on_step_end": check_callback(callback_on_step_end),
        }
        postprocess = {"return_frames": bool(return_frames)} if return_frames is not None else {}
        return preprocess, forward, postprocess

    # ------------------------------------------------------------------------------------------------------------
    def preprocess(self, image, max_pixels: int | None = None):
        image = load_image(
            image,
            max_pixels=self.settings.max_pixels if max_pixels is None else max_pixels,
            max_aspect=MAX_ASPECT_RATIO,
        )
        return {"pixels": image_to_tensor(image)}

    def _forward(
        self,
        model_inputs,
        settings,
        objective=None,
        guide=None,
        guide_layer=None,
        seed=None,
        progress=None,
        callback_on_step_end=None,
    ):
        s = settings
        self.interrupt = False
        generator = torch.Generator().manual_seed(
            int(seed) if seed is not None else int(torch.seed() % 2**63)
        )
        objective = self.make_objective(objective, s.layer, guide, guide_layer, s)
        score = self._scorer(objective)
        tile = (s.tile_size or None) if objective.spatially_additive else None
        if not objective.spatially_additive and s.tile_size:
            h, w = model_inputs["pixels"].shape[-2:]
            if max(h, w) > s.tile_size:
                warnings.warn(
                    f"{objective} is not spatially additive: computing it on the whole image, untiled",
                    stacklevel=2,
                )

        base = model_inputs["pixels"].to(self.device)
        octave_bases = [base]
        for _ in range(s.octaves - 1):
            prev = octave_bases[-1]
            size = (round(prev.shape[-2] / s.octave_scale), round(prev.shape[-1] / s.octave_scale))
            if min(size) < MIN_OCTAVE_SIDE:
                raise DreamParameterError(
                    f"image of {base.shape[-1]}×{base.shape[-2]} px is too small for {s.octaves} octaves at scale "
                    f"{s.octave_scale} (an octave would be {size[1]}×{size[0]} px, minimum {MIN_OCTAVE_SIDE}); "
                    "use fewer octaves or a larger image"
                )
            octave_bases.append(F.interpolate(prev, size=size, mode="bilinear", align_corners=False))

        step_size = s.step_size or DEFAULT_STEP_SIZE[s.grad_norm]
        history, frames = [], []
        detail = torch.zeros_like(octave_bases[-1])
        total = s.octaves * s.steps
        bar = tqdm(total=total, desc="deep dream", disable=progress is False)
        interrupted = False
        for octave, octave_base in enumerate(reversed(octave_bases), start=1):
            if detail.shape[-2:] != octave_base.shape[-2:]:
                detail = F.interpolate(
                    detail, size=octave_base.shape[-2:], mode="bilinear", align_corners=False
                )
            img = octave_base + detail
            for step in range(1, s.steps + 1):
                img, value = self._ascent_step(img, score, step_size, s, tile, generator)
                if not math.isfinite(value):
                    bar.close()
                    raise NonFiniteError(
                        f"deep dream: the objective became {value} at octave {octave}, step {step} (the model "
                        "produced NaN/inf activations); the dream was stopped"
                    )
                history.append(value)
                bar.update(1)
                state = {"pixels": img, "objective": value, "octave": octave}
                if self.step_end(callback_on_step_end, len(history), total, state):
                    interrupted = True
                    break
            detail = img - octave_base
            frames.append(img.detach().cpu())
            if interrupted:
                break
        bar.close()
        if img.shape[-2:] != base.shape[-2:]:  # stopped in a smaller octave: its detail, on the full image
            detail = F.interpolate(detail, size=base.shape[-2:], mode="bilinear", align_corners=False)
            img = (base + detail).clamp(0.0, 1.0) if s.clip else base + detail
        with torch.no_grad():
            start = self._evaluate(score, base, tile)
            end = self._evaluate(score, img, tile)
        return {
            "image": img.detach().cpu(),
            "frames": frames,
            "objective_history": history,
            "objective_start": start,
            "objective_end": end,
            "objective": str(objective.description),
            "interrupted": interrupted,
        }

    def postprocess(self, model_outputs, return_frames: bool = False) -> DeepDreamOutput:
        return DeepDreamOutput(
            image=tensor_to_image(model_outputs["image"]),
            objective=model_outputs["objective"],
            objective_start=model_outputs["objective_start"],
            objective_end=model_outputs["objective_end"],
            objective_history=model_outputs["objective_history"],
            frames=[tensor_to_image(f) for f in model_outputs["frames"]] if return_frames else None,
            interrupted=model_outputs["interrupted"],
        )

    # building blocks ------------------------------------------------------------------------------------------------
    def _ascent_step(self, img, score, step_size, s: DreamSettings, tile, generator):
        """google/deepdream ``make_step``: jitter, gradient, normalised step, unjitter, clip."""
        if s.jitter > 0:
            oy, ox = (int(v) for v in torch.randint(-s.jitter, s.jitter + 1, (2,), generator=generator))
        else:
            oy = ox = 0
        shifted = torch.roll(img, shifts=(oy, ox), dims=(2, 3))
        grad, value = objective_gradient(score, shifted, tile_size=tile, generator=generator)
        shifted = shifted + step_size * normalise_gradient(grad, s.grad_norm)
        img = torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3))
        if s.clip:
            img = img.clamp(0.0, 1.0)
        return img.detach(), value

    def _evaluate(self, score, pixels, tile) -> float:
        if tile is None or max(pixels.shape[-2:]) <= tile:
            return float(score(pixels).sum())
        values = [float(score(pixels[:, :, ys, xs]).sum()) for ys, xs in tiles(*pixels.shape[-2:], tile)]
        return sum(values) / len(values)

    def _scorer(self, objective: obj.Objective):
        extractor = self.feature_extractor_for(objective.layers)
        return lambda pixels: objective(extractor(pixels))

    def feature_extractor_for(self, layers) -> FeatureExtractor:
        """A feature extractor for ``layers`` on an inference copy of the model: BatchNorm folded into the
        convolutions and channels-last memory (:mod:`hfmech.vision.fusion`) — same function, faster steps."""
        key = tuple(layers)
        if key not in self._extractors:
            if self._inference_model is None:
                self._inference_model = fold_batchnorm(self.model)
            self._extractors[key] = FeatureExtractor(
                self._inference_model, key, image_processor=self.image_processor, channels_last=True
            ).to(self.device)
        return self._extractors[key]

    def resolve_layer(self, layer: str | None) -> str:
        """A layer name, or a preset of the model's config (``"shallow"``, ``"deep"``); default: the config's."""
        presets = self.settings.presets or {}
        layer = layer or self.settings.layer or self._default_layer()
        resolved = presets.get(layer, layer)
        names = available_layers(self.model)
        if resolved not in names and resolved not in dict(self.model.named_modules()):
            valid = ", ".join([*presets, *names])
            raise UnknownLayerError(f"unknown layer {layer!r}; valid layers: {valid}")
        return resolved

    def _default_layer(self) -> str:
        names = [n for n in available_layers(self.model) if n != "logits"]
        if not names:
            raise DreamParameterError("this model lists no feature layers: pass layer= (a module path)")
        return names[len(names) // 2]

    def make_objective(self, objective=None, layer=None, guide=None, guide_layer=None, settings=None):
        """The objective to maximise: explicit, guided (``guide`` image at ``guide_layer``), or L2 of ``layer``."""
        if objective is not None:
            if not isinstance(objective, obj.Objective):
                raise DreamParameterError(
                    f"objective must be an hfmech.dream.objectives.Objective, got {objective!r}"
                )
            if guide is not None:
                raise DreamParameterError("pass either objective= or guide=, not both")
            return objective
        name = self.resolve_layer(guide_layer or layer)
        if guide is None:
            return obj.layer(name)
        settings = settings or self.settings
        guide_image = load_image(guide, max_pixels=settings.guide_size**2, max_aspect=MAX_ASPECT_RATIO)
        guide_pixels = image_to_tensor(guide_image).to(self.device)
        with torch.no_grad():
            features = self.feature_extractor_for((name,))(guide_pixels)[name]
        return obj.guide(name, features)

    # feature visualisation ------------------------------------------------------------------------------------------
    def visualize(
        self,
        objective: obj.Objective | str | None = None,
        *,
        size: int = 224,
        batch: int = 1,
        steps: int = 256,
        learning_rate: float = 0.05,
        parameterization: str = "fft",
        transforms=None,
        seed: int | None = None,
        progress: bool = True,
    ) -> dict:
        """Activation maximisation from noise (Olah et al. 2017): returns ``{"images": [PIL], "objective_history"}``.

        ``objective`` may be an Objective or a layer name / preset (L2 of that layer).
        """
        seed = check_seed(seed)
        vis.check_render_arguments(
            size=size,
            batch=batch,
            steps=steps,
            learning_rate=learning_rate,
            parameterization=parameterization,
        )
        if objective is None or isinstance(objective, str):
            objective = obj.layer(self.resolve_layer(objective))
        generator = torch.Generator().manual_seed(
            int(seed) if seed is not None else int(torch.seed() % 2**63)
        )
        with torch.enable_grad():
            result = vis.render(
                self.feature_extractor_for(objective.layers),
                objective,
                size=size,
                batch=batch,
                steps=steps,
                learning_rate=learning_rate,
                parameterization=parameterization,
                transforms=transforms,
                generator=generator,
                progress=progress,
            )
        return {
            "images": [tensor_to_image(im) for im in result.images],
            "objective_history": result.objective_history,
        }


def as_image(output) -> Image.Image:
    """The dreamed image from a pipeline output (a dict, or a list with one dict)."""
    if isinstance(output, list):
        output = output[0]
    return output["image"]
