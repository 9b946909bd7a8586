"""Timing: medians of repeated runs, in seconds and milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(func: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
