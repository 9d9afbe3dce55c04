"""``PerceptionEnsembleModel``: the classifiers a Perception Engine draws for, and those that judge it, in one repo.

White (2018) optimises a drawing against an *ensemble* of ImageNet classifiers and then shows it to classifiers that
were never used in the loop (the *held-out* judges): abstraction that transfers. Here each member is any hfmech image
classifier (a ``PreTrainedModel`` whose config has ``image_size``, ``image_mean``, ``image_std`` and whose forward
returns ``.logits`` over the 1000 ImageNet-1k classes), with a ``role``: ``"training"`` (in the objective) or
``"held_out"`` (only evaluated). Members keep their own sub-configs (``config.members``: the members'
``config.to_dict()``, ``model_type`` included), their weights live under ``members.<i>.`` in one
``model.safetensors``; ``save_pretrained`` / ``from_pretrained`` round-trip the whole ensemble.

``forward(pixel_values (B, 3, H, W) RGB in [0, 1], roles=None) -> log_probs (M, B, 1000)``: every member sees the
image resized (bilinear, antialiased — differentiable) to ``member.config.image_size`` (or ``resolution`` when
given) and normalised with its own mean/std; log-softmax over the 1000 classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForImageClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.utils import ModelOutput

from ..errors import HfmechError
from ..hub import register_model
from ..vision.image_io import normalize_pixels

ROLES = ("training", "held_out")


class EnsembleConfigError(HfmechError, ValueError):
    """An ensemble config whose members, names and roles do not line up."""


class PerceptionEnsembleConfig(PretrainedConfig):
    """Members (sub-config dicts), their names and roles, and the Perception Engine's defaults.

    Args:
        members: list of member configs as dicts (``member_config.to_dict()``, with ``model_type``).
        member_names: a short name per member (shown in scores and charts), e.g. ``"efficientnet-lite0"``.
        roles: ``"training"`` or ``"held_out"`` per member; at least one training member.
        perception_engine: pipeline defaults (steps, learning rate, views, drawing spec…), stored verbatim and read
            by :class:`~hfmech.perception.pipeline_perception_engine.PerceptionEngineSettings`.
    """

    model_type = "hfmech-perception-ensemble"

    members: list[dict] | None = None
    member_names: list[str] | None = None
    roles: list[str] | None = None
    perception_engine: dict | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        members = [m.to_dict() if isinstance(m, PretrainedConfig) else dict(m) for m in (self.members or [])]
        self.members = members
        self.member_names = list(self.member_names or [f"member{i}" for i in range(len(members))])
        self.roles = list(self.roles or ["training"] * len(members))
        self.perception_engine = dict(self.perception_engine or {})
        if not (len(self.members) == len(self.member_names) == len(self.roles)):
            raise EnsembleConfigError(
                f"{len(self.members)} members, {len(self.member_names)} names and {len(self.roles)} roles"
            )
        bad = [r for r in self.roles if r not in ROLES]
        if bad:
            raise EnsembleConfigError(f"roles must be one of {ROLES}, got {bad}")
        if self.members and "training" not in self.roles:
            raise EnsembleConfigError("an ensemble needs at least one training member")
        if len(set(self.member_names)) != len(self.member_names):
            raise EnsembleConfigError(f"member names must be unique, got {self.member_names}")

    def member_config(self, index: int) -> PretrainedConfig:
        values = dict(self.members[index])
        model_type = values.pop("model_type", None)
        if model_type is None:
            raise EnsembleConfigError(f"member {index} has no model_type")
        return AutoConfig.for_model(model_type, **values)

    def indices(self, role: str | None = None) -> list[int]:
        return [i for i, r in enumerate(self.roles) if role is None or r == role]


@dataclass
class PerceptionEnsembleOutput(ModelOutput):
    log_probs: torch.Tensor | None = None  # (M, B, 1000)


class PerceptionEnsembleModel(PreTrainedModel):
    """An ensemble of ImageNet classifiers with roles; see the module docstring."""

    config_class = PerceptionEnsembleConfig
    base_model_prefix = "perception_ensemble"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def __init__(self, config: PerceptionEnsembleConfig, members: list[PreTrainedModel] | None = None):
        super().__init__(config)
        if members is None:
            members = [
                AutoModelForImageClassification.from_config(config.member_config(i))
                for i in range(len(config.members))
            ]
        self.members = nn.ModuleList(members)
        self.post_init()

    @classmethod
    def from_members(
        cls, members: list[PreTrainedModel], names: list[str], roles: list[str], perception_engine=None
    ) -> PerceptionEnsembleModel:
        """Assemble an ensemble from loaded classifiers (weights kept)."""
        config = PerceptionEnsembleConfig(
            members=[m.config for m in members],
            member_names=names,
            roles=roles,
            perception_engine=perception_engine,
        )
        return cls(config, members=list(members)).eval()

    def _init_weights(self, module: nn.Module) -> None:
        """Members initialise themselves (their own ``post_init``); nothing of the ensemble's own to initialise."""

    @property
    def member_names(self) -> list[str]:
        return list(self.config.member_names)

    def forward(
        self,
        pixel_values: torch.Tensor,
        indices: list[int] | None = None,
        resolution: int | None = None,
        members: list[nn.Module] | None = None,
    ) -> PerceptionEnsembleOutput:
        """``pixel_values (B, 3, H, W)`` in [0, 1] → ``log_probs (len(indices), B, 1000)``.

        ``members`` may replace ``self.members`` by functionally identical copies (e.g. BatchNorm-folded, see
        :func:`hfmech.vision.fusion.fold_batchnorm`).
        """
        indices = self.config.indices() if indices is None else list(indices)
        members = self.members if members is None else members
        out = []
        for i in indices:
            out.append(member_log_probs(members[i], self.members[i].config, pixel_values, resolution))
        return PerceptionEnsembleOutput(log_probs=torch.stack(out))


def member_log_probs(
    member: nn.Module, config: PretrainedConfig, pixels: torch.Tensor, resolution: int | None = None
) -> torch.Tensor:
    """One member's ``(B, 1000)`` log-probabilities of RGB ``pixels`` in [0, 1] (resize + normalise + softmax)."""
    size = int(resolution or config.image_size)
    x = normalize_pixels(pixels, config, size).contiguous(memory_format=torch.channels_last)
    logits = member(pixel_values=x).logits.float()
    if logits.shape[-1] != 1000:
        raise EnsembleConfigError(
            f"member {type(member).__name__} returns {logits.shape[-1]} classes, expected 1000"
        )
    return logits.log_softmax(dim=-1)


register_model(PerceptionEnsembleConfig, PerceptionEnsembleModel, auto_classes=(AutoModel,))
