"""What every hfmech pipeline shares with the others: a model-only ``transformers.Pipeline`` base, and settings
dataclasses whose defaults live in the model's config.

- :class:`ModelOnlyPipeline`: hfmech's models take images, audio, words or bytes directly, so ``pipeline()`` must not
  look for a tokenizer, image processor, feature extractor, processor or video processor on the Hub repo.
- :class:`ConfigSettings`: mixed into each mechanism's settings ``@dataclass`` (``DreamSettings``, ``StyleSettings``,
  ``AudioStyleSettings``, ``PerceptionEngineSettings``). A Hub repo's ``config.json`` stores the defaults under
  ``config_key`` (so the repo fully defines its demo); a call's keyword arguments override them, and every override
  is validated before anything runs.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar

from transformers import Pipeline


class ModelOnlyPipeline(Pipeline):
    """A ``transformers.Pipeline`` whose inputs need no tokenizer or processor (all five loaders switched off)."""

    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_processor = False
    _load_video_processor = False


class ConfigSettings:
    """Mixin for a pipeline's settings dataclass.

    Subclasses set ``config_key`` (the attribute of the model config that holds the stored defaults) and implement
    :meth:`validate` (raising the mechanism's typed ``ValueError``). :meth:`merge_overrides` is the hook for settings
    that need more than "a given value replaces the default" (nested dicts, aliases such as ``"none"``).
    """

    config_key: ClassVar[str]

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
