"""What the machine's CPU can do fast, for the mechanisms' ``precision="auto"`` choices, and a scoped torch thread
count for loops of small operations."""

from __future__ import annotations

from contextlib import contextmanager

import torch

__all__ = ["cpu_has_amx_bf16", "torch_threads"]


@contextmanager
def torch_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` (restored after, also on error); ``None`` leaves the setting
    alone. A ``ValueError`` for anything but a positive integer or ``None``.

    Loops of many small tensor operations (word-analogy's pruned search, a character RNN's batch-1 sampling) run
    faster on one thread: with two cores an OpenMP parallel region waits for the second thread, and when another
    process keeps that core busy each small op costs milliseconds (measured on a shared 2-core host under load 12:
    128 ms a char-RNN forward with 2 threads, 6 ms with one).
    """
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"num_threads must be a positive integer or None, got {n!r}")
    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def cpu_has_amx_bf16() -> bool:
    """True when oneDNN can run bfloat16 matrix products on AMX tiles (Intel Sapphire Rapids and later).

    There, a bfloat16 matrix product with float32 accumulation runs several times faster than float32 (measured on
    this project's 2-core Xeon: 1.1 TFLOP/s vs 0.23 TFLOP/s for a (128, 1024) × (1024, 5120) product); without AMX
    bfloat16 is emulated and slower, so ``"auto"`` stays float32.
    """
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(amx is not None and torch.backends.mkldnn.is_available() and amx())
