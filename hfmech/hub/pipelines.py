"""What every hfmech pipeline shares with the others: a model-only ``transformers.Pipeline`` base, and settings
dataclasses whose defaults live in the model's config.

- :class:`ModelOnlyPipeline`: hfmech's models take images, audio, words or bytes directly, so ``pipeline()`` must not
  look for a tokenizer, image processor, feature extractor, processor or video processor on the Hub repo.
- :class:`ConfigSettings`: mixed into each mechanism's settings ``@dataclass`` (``DreamSettings``, ``StyleSettings``,
  ``AudioStyleSettings``, ``PerceptionEngineSettings``). A Hub repo's ``config.json`` stores the defaults under
  ``config_key`` (so the repo fully defines its demo); a call's keyword arguments override them, and every override
  is validated before anything runs. The dataclass is the one place a setting is spelled: a pipeline names it in
  ``settings_class`` and :meth:`ModelOnlyPipeline.call_settings` routes every call keyword that is a field (or one of
  the class's ``call_aliases``) into one validated settings object; the CLI's flags come from the same fields
  (:func:`hfmech.hub.cli.add_settings_arguments`). A new setting is one dataclass field.
- :class:`PipelineOutput`: the base of each pipeline's typed output (a transformers ``ModelOutput``: attributes
  *and* ``out["image"]``, fields left ``None`` are not keys). The same names mean the same things everywhere:

  ============================  ==================================================================================
  ``image`` / ``audio`` / ``text``  the result (PIL image; float32 waveform with ``sampling_rate``; a string)
  ``loss_history``              the loss at every evaluation of a minimisation (style, audio style)
  ``objective_history``         the objective at every step of a maximisation (DeepDream, Perception Engines)
  ``seconds``                   wall time of the call's optimisation
  ``interrupted``               ``True`` when a ``callback_on_step_end`` set ``pipeline.interrupt``
  ============================  ==================================================================================

- ``callback_on_step_end(pipeline, step, total, state)``: the one progress hook of every optimisation pipeline
  (diffusers' name and its way of stopping): called after each step with the step number (from 1), the planned total
  and a dict of that pipeline's live values (``"pixels"`` ``(1, 3, H, W)`` in ``[0, 1]``, ``"loss"`` or
  ``"objective"``, …). Setting ``pipeline.interrupt = True`` inside it ends the run after that step; the result so
  far is returned with ``interrupted=True``. :func:`check_callback` validates it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any, ClassVar

from transformers import Pipeline
from transformers.utils import ModelOutput

from ..errors import HfmechError

#: ``callback_on_step_end(pipeline, step, total, state) -> None``.
StepCallback = Callable[[Pipeline, int, int, dict], Any]


class PipelineArgumentError(HfmechError, TypeError):
    """A pipeline argument of the wrong kind (e.g. a callback that is not callable)."""


def check_callback(callback, name: str = "callback_on_step_end"):
    """``None`` or a callable, else :class:`PipelineArgumentError`."""
    if callback is not None and not callable(callback):
        raise PipelineArgumentError(
            f"{name} must be callable(pipeline, step, total, state), got {callback!r}"
        )
    return callback


def deprecated_callback(callback, name: str, signature: str, error: type[Exception] = PipelineArgumentError):
    """Validate a pipeline's old per-step callback argument ``name`` (called as ``signature``) and warn that
    ``callback_on_step_end`` replaces it; returns it unchanged (``None`` passes silently)."""
    if callback is None:
        return None
    if not callable(callback):
        raise error(f"{name} must be callable{signature}")
    warnings.warn(
        f"{name} is deprecated; use callback_on_step_end(pipeline, step, total, state)",
        FutureWarning,
        stacklevel=4,
    )
    return callback


class PipelineOutput(ModelOutput):
    """Base of every hfmech pipeline output: a ``ModelOutput`` (dataclass fields, dict access).

    ``renamed_keys`` maps an old key to its new name: ``out[old]`` still works and warns (``FutureWarning``).
    """

    renamed_keys: ClassVar[dict[str, str]] = {}

    def __getitem__(self, key):
        if isinstance(key, str) and key in self.renamed_keys:
            new = self.renamed_keys[key]
            warnings.warn(f"output key {key!r} is deprecated; use {new!r}", FutureWarning, stacklevel=2)
            key = new
        return super().__getitem__(key)


class ModelOnlyPipeline(Pipeline):
    """A ``transformers.Pipeline`` whose inputs need no tokenizer or processor (all five loaders switched off).

    Optimisation pipelines use :meth:`step_end` to report each step to ``callback_on_step_end`` and to learn whether
    the callback asked them to stop (``self.interrupt``).
    """

    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_processor = False
    _load_video_processor = False

    #: set by a ``callback_on_step_end`` to end the current run after this step (diffusers' ``_interrupt``)
    interrupt: bool = False

    #: the pipeline's settings dataclass (a :class:`ConfigSettings`), or ``None`` for pipelines without one
    settings_class: ClassVar[type[ConfigSettings] | None] = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.settings_class is not None:
            # Pipeline.__init__ has routed its own keyword arguments through _sanitize_parameters: settings given to
            # pipeline(task, model=..., steps=5) become this pipeline's settings, the base of every later call
            self.settings = self._forward_params.get("settings") or self.settings_class.from_config(
                self.model.config
            )

    def call_settings(self, overrides: dict[str, Any]) -> ConfigSettings:
        """The settings of one call: the pipeline's settings with ``overrides`` (every keyword of the call that is
        not one of the pipeline's own arguments) applied, validated once (the settings class's typed error).

        A keyword that names neither a field nor an alias of ``settings_class`` is a
        :class:`PipelineArgumentError` listing the settings this pipeline knows."""
        names = self.settings_class.call_names()
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise PipelineArgumentError(
                f"{type(self).__name__} got unknown argument(s) {', '.join(unknown)}; "
                f"its settings are: {', '.join(sorted(names))}"
            )
        # Pipeline.__init__ calls _sanitize_parameters before our __init__ has set self.settings
        base = getattr(self, "settings", None) or self.settings_class.from_config(self.model.config)
        return base.updated(**overrides)

    def step_end(self, callback, step: int, total: int, state: dict) -> bool:
        """Call ``callback(self, step, total, state)`` (if any); ``True`` when the run should stop now."""
        if callback is None:
            return False
        callback(self, step, total, state)
        return bool(self.interrupt)


class ConfigSettings:
    """Mixin for a pipeline's settings dataclass.

    Subclasses set ``config_key`` (the attribute of the model config that holds the stored defaults) and implement
    :meth:`validate` (raising the mechanism's typed ``ValueError``). :meth:`merge_overrides` is the hook for settings
    that need more than "a given value replaces the default" (nested dicts, aliases such as ``"none"``).
    """

    config_key: ClassVar[str]
    #: call keywords that are not fields, with their types (shorthands that :meth:`merge_overrides` maps onto
    #: fields, e.g. Perception Engines' ``strokes`` → ``drawing["num_strokes"]``); the CLI makes flags of them too
    call_aliases: ClassVar[dict[str, type]] = {}
    #: fields that only the model's config sets (a call cannot override them)
    stored_only: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def call_names(cls) -> tuple[str, ...]:
        """Every keyword a call may give: the fields (less ``stored_only``) and the ``call_aliases``."""
        return tuple(f.name for f in fields(cls) if f.name not in cls.stored_only) + tuple(cls.call_aliases)

    @classmethod
    def from_config(cls, config):
        """The settings stored in ``config.<config_key>``; keys this version does not know are ignored."""
        stored = dict(getattr(config, cls.config_key, None) or {})
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known})

    def updated(self, **overrides):
        """A validated copy with ``overrides`` applied (``None`` means "keep the default")."""
        values = self.merge_overrides(asdict(self), dict(overrides))
        settings = type(self)(**values)
        settings.validate()
        return settings

    def merge_overrides(self, values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        values.update({k: v for k, v in overrides.items() if v is not None})
        return values

    def validate(self) -> None:
        raise NotImplementedError
