"""The ground floor of hfmech's errors: every error that means "the user's input, file or setting is wrong".

This module imports nothing from hfmech (so every layer — ``hub``, ``vision``, each mechanism — can build on it).
Each typed error hfmech raises derives from :class:`HfmechError` *and* keeps its conventional Python base
(``ValueError`` for bad values, ``OSError`` for files and the network, ``KeyError`` for unknown names), so::

    except hfmech.errors.HfmechError    # every user error, typed, with a message meant for a person
    except ValueError                   # still catches the bad-value ones, as before

The CLI and the Spaces show :data:`USER_ERRORS` as one-line messages (no traceback).
"""

from __future__ import annotations


class HfmechError(Exception):
    """Base of every user-facing error hfmech raises: the message names the problem (and the file, where one is)."""


class OutputPathError(HfmechError, ValueError):
    """An output path that cannot be written: unknown suffix, missing or read-only directory, a directory."""


class ModelLoadError(HfmechError, OSError):
    """A model (a zoo name, local folder or Hub id) could not be loaded."""


class WeightsError(ModelLoadError):
    """A weights file that does not match its model: corrupt header, offsets past the end, a missing, unexpected,
    renamed or re-typed tensor, a pickle where safetensors are required. The message names the file and the tensor."""


class ModelConfigError(ModelLoadError):
    """A model's ``config.json`` that cannot be read, or asks for sizes beyond hfmech's limits (checked before any
    allocation; see docs/limits.md)."""


class LimitError(HfmechError, ValueError):
    """A size, count or step number beyond a stated bound (docs/limits.md), refused before the work starts."""


class NonFiniteError(HfmechError, ValueError):
    """NaN or infinity in an input, a parameter, or inside an optimisation (the message names the step)."""


class HubError(HfmechError, OSError):
    """A Hub request was refused (not logged in, no write access to the repo, invalid repo id)."""


class SeedError(HfmechError, ValueError):
    """A seed that is not an integer in ``0 .. 2**63 - 1``."""


#: What the CLI and Spaces show as a message instead of a traceback. ``FileNotFoundError`` covers a missing input
#: path that reached ``open()`` before a typed check could name it.
USER_ERRORS: tuple[type[BaseException], ...] = (HfmechError, FileNotFoundError)

MAX_SEED = 2**63 - 1


def check_seed(seed, *, name: str = "seed") -> int | None:
    """``None`` or an int in ``0 .. 2**63 - 1`` (what ``torch.Generator.manual_seed`` accepts), else :class:`SeedError`.

    Strings of digits are accepted (they come from forms and command lines); bools, floats and other types are not.
    """
    if seed is None:
        return None
    if isinstance(seed, str):
        text = seed.strip()
        if not text.isdigit():
            raise SeedError(f"{name} must be a whole number in 0..{MAX_SEED}, got {seed!r}")
        seed = int(text)
    if isinstance(seed, bool) or not isinstance(seed, int):
        try:
            import numpy as np

            if isinstance(seed, np.integer):
                seed = int(seed)
        except ImportError:  # pragma: no cover
            pass
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SeedError(f"{name} must be a whole number in 0..{MAX_SEED}, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise SeedError(f"{name} must be in 0..{MAX_SEED}, got {seed}")
    return seed


def check_int(value, name: str, low: int, high: int, *, error: type[Exception] = LimitError) -> int:
    """``value`` as an int in ``low .. high`` (bools, floats with a fraction and non-numbers refused), else ``error``.

    The message states the bound, so a refusal says what would be accepted.
    """
    if isinstance(value, bool):
        raise error(f"{name} must be a whole number in {low}..{high}, got {value!r}")
    try:
        import numpy as np

        if isinstance(value, np.integer):
            value = int(value)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise error(f"{name} must be a whole number in {low}..{high}, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise error(f"{name} must be in {low}..{high}, got {value}")
    return value


def check_finite_number(value, name: str, *, error: type[Exception] = NonFiniteError) -> float:
    """``value`` as a finite float (NaN, infinity, bools and non-numbers refused), else ``error``."""
    if isinstance(value, bool):
        raise error(f"{name} must be a finite number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise error(f"{name} must be a finite number, got {type(value).__name__} {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise error(f"{name} must be a finite number, got {value!r}")
    return number


__all__ = [
    "MAX_SEED",
    "USER_ERRORS",
    "HfmechError",
    "HubError",
    "LimitError",
    "ModelConfigError",
    "ModelLoadError",
    "NonFiniteError",
    "OutputPathError",
    "SeedError",
    "WeightsError",
    "check_finite_number",
    "check_int",
    "check_seed",
]
