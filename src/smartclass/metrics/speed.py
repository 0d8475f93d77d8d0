"""Honest timing: warm-up, many runs, the median, threads and device recorded, GPU synchronised."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch


@dataclass
class Timing:
    """Result of :func:`measure`; ``fps = items_per_call / median_s``."""

    median_s: float
    mean_s: float
    min_s: float
    max_s: float
    runs: int
    warmup: int
    items_per_call: int
    fps: float
    threads: int
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sync(device: str | torch.device | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    fn: Callable[[], Any],
    *,
    runs: int = 20,
    warmup: int = 3,
    items_per_call: int = 1,
    device: str | torch.device | None = "cpu",
    min_time_s: float = 0.0,
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then at least ``runs`` timed calls (more until
    ``min_time_s`` has passed). Each call is bracketed by a device synchronisation on CUDA, so the
    figure covers the work and not just its launch. Returns per-call statistics and items/s."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        _sync(device)
        times: list[float] = []
        start_all = time.perf_counter()
        while len(times) < runs or (time.perf_counter() - start_all) < min_time_s:
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return Timing(
        median_s=med,
        mean_s=statistics.fmean(times),
        min_s=min(times),
        max_s=max(times),
        runs=len(times),
        warmup=warmup,
        items_per_call=items_per_call,
        fps=items_per_call / med if med > 0 else float("inf"),
        threads=torch.get_num_threads(),
        device=str(device),
    )
