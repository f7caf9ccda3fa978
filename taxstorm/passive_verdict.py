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
import itertools
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
    judge_recoveries,
    not_judged,
    recovery_end,
)
from taxstorm.platform_side import PlatformSideVerdict
from taxstorm.timeseries import RecoveryCriteria, Second, value_at
from taxstorm.windows import Window, WindowStats, build_windows, select

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
    """Everything a passive run is judged on: the platform's counters sampled over the run (submissions by status,
    look-ups; both carried across platform restarts), the windows and series made of them, the faults, the ledger
    (its ``submissions`` and ``lookups``: the whole run's, restarts included)."""

    answers: AnswerSamples
    lookups: Sequence[tuple[float, int]]
    faults: Sequence[FaultEvent]
    ledger: PlatformSideVerdict
    windows: Sequence[WindowStats]
    series: Sequence[Second]
    end_s: float  # the run's end (the series' last second)


def platform_view(
    answers: AnswerSamples,
    lookups: Sequence[tuple[float, int]],
    faults: Sequence[FaultEvent],
    ledger: PlatformSideVerdict,
    load_end_s: float,
    end_s: float,
) -> PlatformView:
    """The view of a run whose load ended at ``load_end_s`` and whose sampling ended at ``end_s``."""
    windows = platform_windows(build_windows(faults, load_end_s), answers)
    return PlatformView(answers, lookups, faults, ledger, windows, platform_series(answers, end_s), end_s)


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


def _counted(spec: AmplificationGateSpec, view: PlatformView, start_s: float, end_s: float) -> int:
    """The requests the gate counts between two run seconds: submissions, and with ``count: requests`` look-ups."""
    submissions = sum(_between(_at(view.answers, start_s), _at(view.answers, end_s)).values())
    if spec.count == "submissions":
        return submissions
    return submissions + (value_at(view.lookups, end_s) or 0) - (value_at(view.lookups, start_s) or 0)


def _first_traffic_s(view: PlatformView, start_s: float) -> float:
    """When the system's traffic began, at the earliest ``start_s``: the sample before the first that counted a
    submission (a game day's system may start well after the session)."""
    previous = start_s
    for t, counts in view.answers:
        if counts and sum(counts.values()) > 0:
            return max(start_s, previous)
        previous = t
    return start_s


def _amplification(spec: AmplificationGateSpec, view: PlatformView) -> list[GateResult]:
    """``all``: the requests counted per invoice in the ledger. Any other window: its requests against what the
    baseline's rate (from the system's first submission) would have sent in it — the users' operations stand in as
    the baseline's requests, a healthy platform answering each once — so a client that retries harder under a
    fault shows as a ratio above 1."""
    name = f"amplification <= {spec.max_ratio:g}x (platform side)" + (" (all requests)" * (spec.count == "requests"))
    what = "submissions" if spec.count == "submissions" else "requests (look-ups too)"
    if spec.window == "all":
        ledger = view.ledger
        if not ledger.invoices:
            return [_empty(name, "all", spec.max_ratio, "no invoice was issued", spec.allow_empty)]
        counted = ledger.submissions + (ledger.lookups if spec.count == "requests" else 0)
        ratio = round(counted / ledger.invoices, 3)
        message = f"{counted} {what} for {ledger.invoices} invoices ({ratio:.2f}x)"
        return [GateResult(name, "all", ratio <= spec.max_ratio, ratio, spec.max_ratio, message)]
    baseline = select(view.windows, "baseline")
    if not baseline or not baseline[0].operations:
        return [_empty(name, spec.window, spec.max_ratio, "no submission in the baseline", spec.allow_empty)]
    base = baseline[0].window
    began = _first_traffic_s(view, base.start_s)
    rate = _counted(spec, view, began, base.end_s) / max(1e-9, base.end_s - began)
    results = []
    for stats in select(view.windows, spec.window) or []:
        span = stats.window.end_s - stats.window.start_s
        expected = rate * span
        if expected <= 0:
            results.append(_empty(name, stats.window.name, spec.max_ratio, "an empty window", spec.allow_empty))
            continue
        counted = _counted(spec, view, stats.window.start_s, stats.window.end_s)
        ratio = round(counted / expected, 3)
        message = f"{counted} {what} in {span:.1f} s against {rate:.2f}/s in the baseline ({ratio:.2f}x)"
        results.append(GateResult(name, stats.window.name, ratio <= spec.max_ratio, ratio, spec.max_ratio, message))
    return results or [_empty(name, spec.window, spec.max_ratio, f"window {spec.window!r} never happened", False)]


HOLD_SLACK_S = 0.25  # samples come about a second apart, a little less at times: 3 of them hold 3 s


def recovered_after(
    answers: AnswerSamples, reverted_s: float, until_s: float | None, min_success: float, hold_s: float
) -> float | None:
    """Seconds from the revert to the end of the first sample interval that starts a run of intervals, together
    at least ``hold_s`` long, in which the platform accepted ≥ ``min_success`` of the system's submissions
    (intervals it sent nothing in are skipped); only intervals that begin at or after the revert and end before
    ``until_s`` count, so a recovery is read up to a sampling interval late, never early. None: none came."""
    held, first_end = 0.0, None
    for (start, before), (end, after) in itertools.pairwise(answers):
        if start < reverted_s:
            continue
        if until_s is not None and end > until_s:
            break
        kinds = _between(before, after)
        judged = kinds["issued"] + kinds["failed"]  # a refused order (4xx) says nothing of the platform's health
        if not judged:
            continue
        if kinds["issued"] / judged >= min_success:
            first_end = end if first_end is None else first_end
            held += end - start
            if held >= hold_s - HOLD_SLACK_S:
                return round(first_end - reverted_s, 3)
        else:
            held, first_end = 0.0, None
    return None


def _recovery(spec: RecoveryTimeGateSpec, view: PlatformView) -> list[GateResult]:
    """From each revert to the first ``hold_s`` seconds in which the platform accepted ≥ ``min_success`` of the
    system's submissions: the system's own retry and backoff included (latency is not known on this side)."""

    def measure(reverted_s: float, until_s: float | None) -> float | None:
        return recovered_after(view.answers, reverted_s, until_s, spec.min_success, spec.hold_s)

    def not_recovered(what: str) -> str:
        accepted = f"{spec.min_success:.0%} of the system's submissions for {spec.hold_s} s"
        return f"the platform did not accept {accepted} before {what}"

    name = f"recovery_time <= {spec.within_s:g} s (platform side)"
    accepted = "the system's submissions were accepted again"
    return judge_recoveries(name, spec, view.faults, view.end_s, measure, not_recovered, accepted)


def platform_recovery_times(view: PlatformView) -> dict[str, float | None]:
    """Time-to-recover of every fault reverted on schedule, platform side, with the default criteria."""
    criteria = RecoveryCriteria()
    return {
        f.label: recovered_after(
            view.answers, f.reverted_s, recovery_end(view.faults, f)[0], criteria.min_success, criteria.hold_s
        )
        for f in view.faults
        if f.reverted_s is not None and not f.lasted_to_end
    }


def _empty(name: str, window: str, threshold: float, why: str, allow_empty: bool) -> GateResult:
    if allow_empty:
        return not_judged(name, window, threshold, f"{why} (the scenario allows an empty window)")
    return GateResult(name, window, False, None, threshold, f"no data: {why}")
