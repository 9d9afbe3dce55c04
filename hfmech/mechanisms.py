"""The mechanisms of this installation, found from their folders: every ``hfmech/<package>/`` that declares a
``MECHANISM`` (see :class:`hfmech.hub.mechanism.Mechanism`). Adding a mechanism edits nothing here."""

from __future__ import annotations

import importlib
import pkgutil

from .hub.mechanism import Mechanism


def discover() -> tuple[Mechanism, ...]:
    """Import each subpackage of hfmech and collect its ``MECHANISM``, ordered by ``(order, package)``."""
    package = importlib.import_module(__package__)
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        mechanism = getattr(module, "MECHANISM", None)
        if isinstance(mechanism, Mechanism):
            if mechanism.package != info.name:
                raise RuntimeError(f"hfmech/{info.name} declares MECHANISM.package={mechanism.package!r}")
            found.append(mechanism)
    return tuple(sorted(found, key=lambda m: (m.order, m.package)))


MECHANISMS: tuple[Mechanism, ...] = discover()

__all__ = ["MECHANISMS", "discover"]
