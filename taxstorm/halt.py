"""Early verdicts taken while the run goes on: halt conditions and the baseline steady-state check.

Both are pure functions over the records so far; the runner calls them and acts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from taxstorm.loadtests.records import OperationRecord
from taxstorm.scenario import ErrorRateHaltSpec, LatencyHaltSpec, SteadyStateSpec
from taxstorm.timeseries import USER_OPERATION
from taxstorm.windows import percentile


def _recent(records: Iterable[OperationRecord], since_s: float, now_s: float) -> list[OperationRecord]:
    return [r for r in records if r.operation == USER_OPERATION and since_s <= r.start_s < now_s and r.end_s <= now_s]


def halt_reason(
    spec: ErrorRateHaltSpec | LatencyHaltSpec, records: Iterable[OperationRecord], now_s: float
) -> str | None:
    """Why the run must stop now, or None. Looks at operations started and finished in the last ``for_s``
    seconds: ``records`` must hold at least those that ended then (``Recorder.ended_between``)."""
    if now_s < spec.for_s:
        return None
    recent = _recent(records, now_s - spec.for_s, now_s)
    if len(recent) < spec.min_operations:
        return None
    if isinstance(spec, ErrorRateHaltSpec):
        failed = sum(1 for r in recent if r.outcome == "failed")
        rate = failed / len(recent)
        if rate > spec.above:
            return f"error rate {rate:.0%} > {spec.above:.0%} over the last {spec.for_s:g} s ({len(recent)} operations)"
        return None
    observed = percentile(sorted(r.latency_ms for r in recent), spec.percentile)
    if observed > spec.above_ms:
        key = f"p{spec.percentile:g}"
        return (
            f"{key} {observed:.0f} ms > {spec.above_ms:g} ms over the last {spec.for_s:g} s ({len(recent)} operations)"
        )
    return None


@dataclass(frozen=True)
class SteadyStateCheck:
    """What the baseline looked like when the steady state was checked, and what (if anything) was wrong."""

    checked_s: float
    operations: int
    success: float | None
    p95_ms: float | None
    problem: str | None


def check_steady_state(spec: SteadyStateSpec, records: Sequence[OperationRecord], before_s: float) -> SteadyStateCheck:
    """The baseline (operations finished before ``before_s``), judged against ``spec``."""
    baseline = [r for r in records if r.operation == USER_OPERATION and r.end_s < before_s]
    if not baseline:
        problem = None if spec.min_operations == 0 else _too_few(0, spec)
        return SteadyStateCheck(round(before_s, 3), 0, None, None, problem)
    judged = [r for r in baseline if r.outcome in ("issued", "queued", "failed")]
    answered = sum(1 for r in judged if r.outcome != "failed")  # queued is a good answer on an async platform
    success = answered / len(judged) if judged else 1.0
    p95 = percentile(sorted(r.latency_ms for r in baseline), 95)
    problems = []
    if len(baseline) < spec.min_operations:
        problems.append(_too_few(len(baseline), spec))
    else:
        if success < spec.min_success:
            problems.append(f"success {success:.0%} < {spec.min_success:.0%}")
        issued = sum(1 for r in judged if r.outcome == "issued")
        if answered and issued / answered < spec.min_issued:
            problems.append(
                f"issued {issued / answered:.0%} of the orders answered < {spec.min_issued:.0%}: the rest were told "
                "queued while the platform was healthy"
            )
        if p95 > spec.max_p95_ms:
            problems.append(f"p95 {p95:.0f} ms > {spec.max_p95_ms:g} ms")
    problem = "; ".join(problems) or None
    return SteadyStateCheck(round(before_s, 3), len(baseline), round(success, 4), round(p95, 3), problem)


def _too_few(count: int, spec: SteadyStateSpec) -> str:
    return f"{count} operations completed before the first fault (need {spec.min_operations})"


@dataclass(frozen=True)
class Blame:
    """Whose fault an unhealthy baseline is: the client under test's (exit 1) or the environment's (exit 3)."""

    client: bool
    reason: str


SERVER_ERROR_SHARE = 0.1  # above this share of 5xx/429 answers before the first fault, the platform was not healthy


def blame_baseline(
    records: Sequence[OperationRecord],
    before_s: float,
    platform_stats: dict[str, Any] | None,
    probe_ms: float | None,
    max_p95_ms: float,
) -> Blame:
    """Tell a broken client from a sick environment when the steady-state check fails.

    The client is to blame when its answers were defects (exceptions, undefined outcomes, hangs), or when the
    environment was demonstrably healthy: the admin API answered, /health answered through Toxiproxy
    (``probe_ms``, None if it did not) well within the latency limit, and the platform served nearly every
    request without a server error. Otherwise the environment is.
    """
    baseline = [r for r in records if r.operation == USER_OPERATION and r.end_s < before_s]
    defects = [r for r in baseline if r.defect]
    if defects:
        first = defects[0]
        return Blame(True, f"{len(defects)} of {len(baseline)} answers were client defects ({first.defect})")
    if platform_stats is None:
        return Blame(False, "the platform's admin API did not answer")
    if probe_ms is None:
        return Blame(False, "the platform did not answer /health through Toxiproxy")
    if probe_ms * 2 > max_p95_ms:
        return Blame(False, f"the platform answers /health through Toxiproxy in {probe_ms:.1f} ms itself")
    counts = platform_stats.get("requests", [])
    served = sum(int(r["count"]) for r in counts)
    errors = sum(int(r["count"]) for r in counts if int(r["status"]) >= 500 or int(r["status"]) == 429)
    if served and errors / served > SERVER_ERROR_SHARE:
        return Blame(False, f"the platform answered {errors} of {served} requests with a server error or 429")
    return Blame(
        True,
        f"the platform and Toxiproxy were healthy ({served} requests, {errors} server errors, /health in "
        f"{probe_ms:.1f} ms): the client under test failed its users",
    )
