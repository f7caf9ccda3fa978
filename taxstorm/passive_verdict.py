"""The verdict of a passive run (the load came from a system of the user's own, not from Locust): the scenario's
gates judged on what the platform saw, and the ones that need the users' side named as not judged.

The platform's counters are sampled once a second (``Sampler.platform_answers``: issue-family submissions by HTTP
status, cumulative). From them come a per-second series and per-window figures shaped as a Locust run's are, so
the reports and the time-to-recover measure stay the same: a second's "operations" are the submissions the platform
answered in it, "issued" the accepted ones (2xx), "rejected" the refused orders (4xx but 429: the order's own
fault, as a user's rejected order) and "failed" the rest (429 and 5xx: the platform could not take it then).
Latency is not known on this side (0 in the series): it never decides a recovery here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.gates import (
    AmplificationGateSpec,
    GateResult,
    GateSpec,
    IntegrityGateSpec,
    RecoveryTimeGateSpec,
    not_judged,
    recoveries,
    recovery_end,
)
from taxstorm.platform_side import PlatformSideVerdict
from taxstorm.timeseries import RecoveryCriteria, Second, time_to_recover
from taxstorm.windows import Window, WindowStats, select

AnswerSamples = Sequence[tuple[float, dict[int, int]]]  # (run second, cumulative submissions by HTTP status)

UNSEEN = {  # what each gate needs that the platform cannot see, said in the report instead of a verdict
    "latency": "how long users waited is measured in the client; the platform sees only its own answers",
    "graceful": "what users were answered, and how fast, is known only to the client",
    "time_to_invoice": "when a user got the invoice number is known only to the client",
    "error_rate": "what users were told is unknown: a refusal the client queued offline is no error for its user",
    "contract": "the client's answers to its users are not observed",
    "drain": "the client's offline backlog is not visible: an order it never sent leaves no trace on the platform",
}
NOT_JUDGED_PASSIVE = (
    "lost orders: an order the system dropped never reaches the platform",
    *(f"{gate}: {why}" for gate, why in UNSEEN.items()),
)


def answer_kind(status: int) -> str:
    """A submission's answer as a user's outcome: issued (2xx), rejected (the order's fault: 4xx but 429) or
    failed (429 and 5xx: the platform could not take it then)."""
    if 200 <= status < 300:
        return "issued"
    if 400 <= status < 500 and status != 429:
        return "rejected"
    return "failed"


def _at(samples: AnswerSamples, t: float) -> dict[int, int]:
    """The cumulative counts of the last sample taken at or before ``t`` (none yet: nothing)."""
    index = bisect.bisect_right([s[0] for s in samples], t)
    return samples[index - 1][1] if index else {}


def _between(before: dict[int, int], after: dict[int, int]) -> Counter[str]:
    """Answers by kind that came between two cumulative samples."""
    kinds: Counter[str] = Counter()
    for status, count in after.items():
        grown = count - before.get(status, 0)
        if grown > 0:
            kinds[answer_kind(status)] += grown
    return kinds


def platform_series(samples: AnswerSamples, end_s: float) -> list[Second]:
    """Per second: the submissions the platform answered, by kind; each sample's increase counts in the second
    the sample was taken in (at most a second late: a recovery is never seen early)."""
    length = max(1, int(end_s) + 1)
    per: list[Counter[str]] = [Counter() for _ in range(length)]
    previous: dict[int, int] = {}
    for t, counts in samples:
        per[min(length - 1, max(0, int(t)))] += _between(previous, counts)
        previous = counts
    return [
        Second(t, sum(c.values()), c["issued"], 0, c["rejected"], c["failed"], 0.0, 0.0, 0.0) for t, c in enumerate(per)
    ]


def platform_windows(windows: Sequence[Window], samples: AnswerSamples) -> list[WindowStats]:
    """Each window's submissions by kind, from the counters at its edges."""
    stats = []
    for window in windows:
        kinds = _between(_at(samples, window.start_s), _at(samples, window.end_s))
        outcomes = {kind: kinds[kind] for kind in ("issued", "rejected", "failed")}
        stats.append(WindowStats(window, sum(kinds.values()), outcomes))
    return stats


@dataclass(frozen=True)
class PlatformView:
    """Everything a passive run is judged on: the platform-side windows and series, the faults, the ledger."""

    windows: Sequence[WindowStats]
    series: Sequence[Second]
    faults: Sequence[FaultEvent]
    ledger: PlatformSideVerdict


def passive_gates(specs: Sequence[GateSpec], view: PlatformView) -> list[GateResult]:
    """Every gate of ``specs``: judged on the platform's side where it can be, else named as not judged."""
    results: list[GateResult] = []
    for spec in specs:
        if isinstance(spec, IntegrityGateSpec):
            found = [_integrity(view.ledger)]
        elif isinstance(spec, AmplificationGateSpec):
            found = _amplification(spec, view)
        elif isinstance(spec, RecoveryTimeGateSpec):
            found = _recovery(spec, view)
        else:
            window = str(getattr(spec, "window", "all"))
            found = [not_judged(spec.type, window, None, f"a passive run cannot: {UNSEEN[spec.type]}")]
        results.extend(replace(result, kind=spec.type) for result in found)
    return results


def _integrity(ledger: PlatformSideVerdict) -> GateResult:
    name = "integrity (duplicates by business key)"
    duplicated = ledger.duplicated_orders
    if duplicated:
        shown = ", ".join(f"{ref} ×{count}" for ref, count in list(duplicated.items())[:3])
        message = f"{len(duplicated)} orders with more than one live invoice ({shown})"
    else:
        message = f"no order has two live invoices ({ledger.invoices} invoices for {ledger.orders} orders); lost "
        message += "orders are not judged: a dropped order never reaches the platform"
    return GateResult(name, "all", not duplicated, float(len(duplicated)), 0.0, message)


def _amplification(spec: AmplificationGateSpec, view: PlatformView) -> list[GateResult]:
    """``all``: submissions per invoice in the ledger. Any other window: its submissions against what the
    baseline's rate would have sent in it (the users' operations stand in as the baseline's submissions: a healthy
    platform answers each once), so a client that retries harder under a fault shows as a ratio above 1."""
    name = f"amplification <= {spec.max_ratio:g}x (platform side)"
    if spec.count == "requests":
        name += " [look-ups not counted]"
    if spec.window == "all":
        per = view.ledger.submissions_per_invoice
        if per is None:
            return [_empty(name, "all", spec.max_ratio, "no invoice was issued", spec.allow_empty)]
        message = f"{view.ledger.submissions} submissions for {view.ledger.invoices} invoices ({per:.2f}x)"
        return [GateResult(name, "all", per <= spec.max_ratio, per, spec.max_ratio, message)]
    baseline = select(view.windows, "baseline")
    if not baseline or not baseline[0].operations:
        return [_empty(name, spec.window, spec.max_ratio, "no submission in the baseline", spec.allow_empty)]
    base = baseline[0]
    rate = base.operations / max(1e-9, base.window.end_s - base.window.start_s)
    results = []
    for stats in select(view.windows, spec.window) or []:
        span = stats.window.end_s - stats.window.start_s
        expected = rate * span
        if expected <= 0:
            results.append(_empty(name, stats.window.name, spec.max_ratio, "an empty window", spec.allow_empty))
            continue
        ratio = round(stats.operations / expected, 3)
        message = f"{stats.operations} submissions in {span:.1f} s against {rate:.2f}/s in the baseline ({ratio:.2f}x)"
        results.append(GateResult(name, stats.window.name, ratio <= spec.max_ratio, ratio, spec.max_ratio, message))
    return results or [_empty(name, spec.window, spec.max_ratio, f"window {spec.window!r} never happened", False)]


def _recovery(spec: RecoveryTimeGateSpec, view: PlatformView) -> list[GateResult]:
    """From each revert to the first ``hold_s`` seconds in which the platform accepted ≥ ``min_success`` of the
    system's submissions (seconds it sent nothing are skipped): the system's own retry and backoff included."""
    name = f"recovery_time <= {spec.within_s:g} s (platform side)"
    criteria = RecoveryCriteria(spec.min_success, hold_s=spec.hold_s)
    results = []
    for fault in recoveries(name, spec, view.faults):
        if isinstance(fault, GateResult):
            results.append(fault)
            continue
        window = f"recovery:{fault.label}"
        assert fault.reverted_s is not None
        until_s, what = recovery_end(view.faults, fault)
        ttr = time_to_recover(view.series, fault.reverted_s, 0.0, criteria, until_s)
        if ttr is None:
            message = f"the platform did not accept {spec.min_success:.0%} of the system's submissions for "
            message += f"{spec.hold_s} s before {what}"
            results.append(GateResult(name, window, False, None, spec.within_s, message))
        else:
            message = f"the system's submissions were accepted again {ttr:.1f} s after the revert"
            results.append(GateResult(name, window, ttr <= spec.within_s, ttr, spec.within_s, message))
    return results


def platform_recovery_times(view: PlatformView) -> dict[str, float | None]:
    """Time-to-recover of every fault reverted on schedule, platform side, with the default criteria."""
    criteria = RecoveryCriteria()
    return {
        f.label: time_to_recover(view.series, f.reverted_s, 0.0, criteria, recovery_end(view.faults, f)[0])
        for f in view.faults
        if f.reverted_s is not None and not f.lasted_to_end
    }


def _empty(name: str, window: str, threshold: float, why: str, allow_empty: bool) -> GateResult:
    if allow_empty:
        return not_judged(name, window, threshold, f"{why} (the scenario allows an empty window)")
    return GateResult(name, window, False, None, threshold, f"no data: {why}")
