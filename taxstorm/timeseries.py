"""Per-second series of a run, and time-to-recover computed on it.

Operations are bucketed by the second they *started* in: an operation started at ``t`` tells what a user
met at ``t``. Backlog and platform-request samples come from the runner's sampler.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from taxstorm.loadtests.records import Operation, OperationRecord
from taxstorm.windows import percentile

USER_OPERATION: Operation = "issue"  # the operation a user waits on: what latency, error-rate and TTR look at


@dataclass(frozen=True, slots=True)
class Second:
    """One second of the run: what users met in it, and the samples taken in it."""

    t: int
    operations: int
    issued: int
    queued: int
    rejected: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    backlog: int | None = None

    @property
    def success_rate(self) -> float | None:
        """Issued ÷ (issued + queued + failed); rejected orders are the user's business error. None when idle."""
        judged = self.issued + self.queued + self.failed
        return self.issued / judged if judged else None


def per_second(
    records: Iterable[OperationRecord], end_s: float, backlog: Sequence[tuple[float, int]] = ()
) -> list[Second]:
    """The series from second 0 to ``end_s``; ``backlog`` samples are (time, backlog) pairs, last one wins.

    ``records`` come in the order they started (``Recorder.stream_by_start``): each second is summed up as
    soon as the next one begins, so only one second's operations are held at a time."""
    length = max(1, math.ceil(end_s))
    backlog_at: dict[int, int] = {}
    for t, value in backlog:
        backlog_at[min(length - 1, max(0, int(t)))] = value
    series: list[Second] = []
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    last_start = -math.inf
    for record in records:
        if record.operation != USER_OPERATION:
            continue
        if record.start_s < last_start:
            raise ValueError(f"per_second needs records in start order: {record.start_s} came after {last_start}")
        last_start = record.start_s
        index = min(length - 1, max(0, int(record.start_s)))
        while len(series) < index:
            series.append(_second(len(series), latencies, outcomes, backlog_at))
            latencies, outcomes = [], {}
        latencies.append(record.latency_ms)
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    while len(series) < length:
        series.append(_second(len(series), latencies, outcomes, backlog_at))
        latencies, outcomes = [], {}
    return series


def _second(t: int, latencies: list[float], counts: dict[str, int], backlog_at: dict[int, int]) -> Second:
    values = sorted(latencies)
    return Second(
        t=t,
        operations=len(values),
        issued=counts.get("issued", 0),
        queued=counts.get("queued", 0),
        rejected=counts.get("rejected", 0),
        failed=counts.get("failed", 0),
        p50_ms=round(percentile(values, 50), 3),
        p95_ms=round(percentile(values, 95), 3),
        p99_ms=round(percentile(values, 99), 3),
        backlog=backlog_at.get(t),
    )


@dataclass(frozen=True)
class RecoveryCriteria:
    """When a second counts as recovered: success rate and p95 back near baseline."""

    min_success: float = 0.99
    latency_factor: float = 2.0  # p95 ≤ factor × baseline p95 …
    latency_slack_ms: float = 50.0  # … or baseline p95 + slack, whichever is larger (tiny baselines are noisy)
    hold_s: int = 3  # consecutive healthy seconds that make a recovery

    def healthy(self, second: Second, baseline_p95_ms: float) -> bool:
        success = second.success_rate
        if success is None:
            return False
        limit = max(self.latency_factor * baseline_p95_ms, baseline_p95_ms + self.latency_slack_ms)
        return success >= self.min_success and second.p95_ms <= limit


def time_to_recover(
    series: Sequence[Second],
    reverted_s: float,
    baseline_p95_ms: float,
    criteria: RecoveryCriteria,
    until_s: float | None = None,
) -> float | None:
    """Seconds from the revert to the start of the first run of ``hold_s`` healthy seconds (idle seconds are
    skipped, not counted), looking only at the seconds before ``until_s`` (the next fault: what users meet then
    is that fault's, not a recovery from this one); None when none came in time."""
    first = max(0, int(reverted_s))
    last = len(series) if until_s is None else max(first, int(until_s))
    streak_start: int | None = None
    streak = 0
    for second in series[first:last]:
        if second.operations == 0:
            continue
        if criteria.healthy(second, baseline_p95_ms):
            if streak == 0:
                streak_start = second.t
            streak += 1
            if streak >= criteria.hold_s:
                assert streak_start is not None
                return round(max(0.0, streak_start - reverted_s), 3)
        else:
            streak = 0
    return None


def write_series_csv(path: Path, series: Sequence[Second]) -> None:
    """The per-second series as CSV, one row per second (empty backlog cell: not sampled that second)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["t_s", "operations", "issued", "queued", "rejected", "failed", "p50_ms", "p95_ms", "p99_ms", "backlog"]
        )
        for s in series:
            backlog = "" if s.backlog is None else s.backlog
            row = [s.t, s.operations, s.issued, s.queued, s.rejected, s.failed, s.p50_ms, s.p95_ms, s.p99_ms, backlog]
            writer.writerow(row)


def value_at(samples: Sequence[tuple[float, int]], t: float) -> int | None:
    """The last sample taken at or before ``t`` (samples sorted by time)."""
    times = [s[0] for s in samples]
    index = bisect.bisect_right(times, t)
    return samples[index - 1][1] if index else None
