"""What every benchmark shares: the machine it ran on (one set of key names), timing (wall + CPU, interleaved A/B
with min and median), peak RSS (``VmHWM``, in this process or a fresh child) and the JSON report, written atomically.

Benchmarks are not tests: each measures hfmech and a baseline in the same run and reports ratios.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
BASELINES = REPO / "benchmarks" / "baselines"


def cpu_pressure() -> str | None:
    """Linux PSI line for CPU ("some avg10=... avg60=..."): how often runnable tasks waited (shared machines)."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None


def machine_info(threads: int | None = None) -> dict:
    """The machine and software a number was measured on; the same keys in every benchmark's JSON."""
    import torch

    try:
        import psutil

        total_ram = psutil.virtual_memory().total
    except ImportError:  # pragma: no cover
        total_ram = None
    try:
        from importlib.metadata import version

        hfmech_version = version("hfmech")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        hfmech_version = None
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_version": torch.__version__,
        "torch_threads": threads if threads is not None else torch.get_num_threads(),
        "total_ram_bytes": total_ram,
        "hfmech_version": hfmech_version,
        "load_average": os.getloadavg(),
        "cpu_pressure": cpu_pressure(),
    }


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float, float]:
    """``(result, wall seconds, CPU seconds of this process)`` of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def interleaved(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Time each candidate ``repeats`` times, alternating the order every round (A B, B A, …) so that a machine
    slowing down or speeding up during the run affects both alike. Returns ``{name: {"seconds", "min", "median"}}``."""
    names = list(candidates)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            _, wall, _ = timed(candidates[name])
            seconds[name].append(wall)
    return {
        name: {"seconds": s, "min": min(s), "median": statistics.median(s)}
        for name, s in seconds.items()
        if s
    }


def ratio(baseline: dict, ours: dict, key: str = "median") -> float:
    """``baseline[key] / ours[key]``: how many times faster hfmech is (> 1) on the same run."""
    return baseline[key] / ours[key]


def peak_rss_bytes() -> int:
    """Peak RSS of this process: ``VmHWM`` on Linux, else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def _child(target, args, queue) -> None:
    try:
        result = target(*args)
        queue.put(("ok", result, peak_rss_bytes()))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        queue.put(("error", f"{type(e).__name__}: {e}", peak_rss_bytes()))


def in_child(target: Callable, *args, timeout: float | None = None) -> dict:
    """Run ``target(*args)`` in a fresh (spawned) process; returns ``{"result", "peak_rss_bytes"}`` or raises.

    ``target`` must be importable (a module-level function); its peak RSS is its own, not the parent's.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    try:
        status, result, peak = queue.get(timeout=timeout)
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    if status != "ok":
        raise RuntimeError(f"child failed: {result}")
    return {"result": result, "peak_rss_bytes": peak}


def write_report(path: str | os.PathLike, report: dict) -> Path:
    """Write the JSON report atomically (creating its folder) and return its path."""
    from hfmech.hub.files import write_json_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, report)
    return path
