"""Nearest-rank percentiles of a stream in bounded memory, never reported below the true value.

Values go into logarithmic buckets 0.1 % wide; each bucket keeps its count and its largest value, and a
percentile is the largest value of the bucket holding the nearest-rank sample. So a reported percentile is
the exact one, or at most 0.1 % above it (exact whenever the bucket holds one distinct value): a latency
gate can fail a hair early, never pass late. Memory grows with the spread of the values (about 2,300
buckets per decade at most), not with their number.
"""

from __future__ import annotations

import math

RELATIVE_WIDTH = 0.001
_LOG_GAMMA = math.log1p(RELATIVE_WIDTH)
_SMALLEST = 1e-9  # values at or below this (zero, and negative ones) share one bucket


class Digest:
    """Count, mean, max and nearest-rank percentiles of the values added, in bounded memory."""

    __slots__ = ("_buckets", "count", "max", "total")

    def __init__(self) -> None:
        self._buckets: dict[int, list[float]] = {}  # bucket -> [count, largest value]
        self.count = 0
        self.total = 0.0
        self.max = -math.inf

    def add(self, value: float) -> None:
        key = math.ceil(math.log(value) / _LOG_GAMMA) if value > _SMALLEST else -(2**62)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [1, value]
        else:
            bucket[0] += 1
            if value > bucket[1]:
                bucket[1] = value
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value

    def percentiles(self, wanted: list[float]) -> dict[float, float]:
        """Each of ``wanted`` (0-100) by nearest rank; 0 for every one when nothing was added."""
        if not self.count:
            return {pct: 0.0 for pct in wanted}
        ranks = sorted((min(self.count, max(1, math.ceil(pct / 100.0 * self.count))), pct) for pct in wanted)
        found: dict[float, float] = {}
        seen, next_rank = 0, 0
        for key in sorted(self._buckets):
            count, largest = self._buckets[key]
            seen += int(count)
            while next_rank < len(ranks) and ranks[next_rank][0] <= seen:
                found[ranks[next_rank][1]] = largest
                next_rank += 1
            if next_rank == len(ranks):
                break
        return found

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0
