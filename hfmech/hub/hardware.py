"""What the machine's CPU can do fast, for the mechanisms' ``precision="auto"`` choices."""

from __future__ import annotations

import torch

__all__ = ["cpu_has_amx_bf16"]


def cpu_has_amx_bf16() -> bool:
    """True when oneDNN can run bfloat16 matrix products on AMX tiles (Intel Sapphire Rapids and later).

    There, a bfloat16 matrix product with float32 accumulation runs several times faster than float32 (measured on
    this project's 2-core Xeon: 1.1 TFLOP/s vs 0.23 TFLOP/s for a (128, 1024) × (1024, 5120) product); without AMX
    bfloat16 is emulated and slower, so ``"auto"`` stays float32.
    """
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(amx is not None and torch.backends.mkldnn.is_available() and amx())
