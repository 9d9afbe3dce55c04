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


__all__ = [
    "MAX_SEED",
    "USER_ERRORS",
    "HfmechError",
    "HubError",
    "ModelLoadError",
    "OutputPathError",
    "SeedError",
    "check_seed",
]
