"""Gates are pure functions over a frozen snapshot: ``gate(spec, snapshot) -> [GateResult]``.

Each gate's spec (what a scenario writes under ``gates:``) sits right above its function; a new gate is one spec
class and one function here, named in ``GateSpec`` and ``GATES`` below (tests/unit/test_extension_lists.py fails
when the two disagree).

No gate passes vacuously: a window without operations, or a measure without data, fails with "no data" unless
the scenario says the window may be empty (``allow_empty``); then, and for a recovery that a fault lasting to
the run's end never had, the result is *not judged* — reported, and neither a pass nor a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import Field

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.loadtests.defects import DefectRow
from taxstorm.reconcile import Reconciliation
from taxstorm.strict import Strict
from taxstorm.timeseries import RecoveryCriteria, Second, time_to_recover, value_at
from taxstorm.windows import DEFINED_OUTCOMES, WindowStats, select


@dataclass(frozen=True)
class Snapshot:
    """Everything gates may look at, frozen after the run.

    ``platform_submissions``, ``platform_lookups`` and ``backlog`` are (run second, value) samples: the
    platforms' cumulative issue-family submissions (POST) and look-ups (GET), and the orders owed (told queued,
    no invoice in the ledger yet: the harness's own count). ``load_end_s`` is when the load stopped;
    ``defects`` what the client did against the protocol.
    """

    windows: Sequence[WindowStats]
    reconciliation: Reconciliation
    series: Sequence[Second] = ()
    faults: Sequence[FaultEvent] = ()
    platform_submissions: Sequence[tuple[float, int]] = ()
    backlog: Sequence[tuple[float, int]] = ()
    load_end_s: float = 0.0
    defects: Sequence[DefectRow] = ()
    platform_lookups: Sequence[tuple[float, int]] = ()

    @property
    def baseline_p95_ms(self) -> float:
        baseline = select(self.windows, "baseline")
        return baseline[0].latency_ms.get("p95", 0.0) if baseline and baseline[0].operations else 0.0


@dataclass(frozen=True)
class GateResult:
    """One verdict with the evidence: observed against threshold and a sentence saying why.

    ``judged`` False: there was nothing to judge and the scenario allows that (reported, counted neither way).
    """

    name: str
    window: str
    passed: bool
    observed: float | None
    threshold: float | None
    message: str
    kind: str = ""  # the gate's type (latency, integrity, ...), set by evaluate
    judged: bool = True


def not_judged(name: str, window: str, threshold: float | None, why: str) -> GateResult:
    return GateResult(name, window, True, None, threshold, f"not judged: {why}", judged=False)


def _no_data(name: str, window: str, threshold: float | None, why: str, allow_empty: bool) -> GateResult:
    if allow_empty:
        return not_judged(name, window, threshold, f"{why} (the scenario allows an empty window)")
    return GateResult(name, window, False, None, threshold, f"no data: {why}")


def _per_window(
    name: str,
    selector: str,
    snapshot: Snapshot,
    judge: Callable[[WindowStats], GateResult | None],
    threshold: float,
    allow_empty: bool,
) -> list[GateResult]:
    """``judge`` on every window ``selector`` names; None from it (or no operations) means no data."""
    chosen = select(snapshot.windows, selector)
    if not chosen:
        return [_no_data(name, selector, threshold, f"window {selector!r} never happened", allow_empty)]
    results = []
    for stats in chosen:
        label = stats.window.name
        window = stats.window
        if not stats.operations and window.kind == "recovery" and window.ends_at_fault:
            span = window.end_s - window.start_s
            why = f"no operation finished in {label} before the next fault struck, {span:.1f} s after the revert"
            results.append(not_judged(name, label, threshold, why))
            continue
        verdict = judge(stats) if stats.operations else None
        results.append(verdict or _no_data(name, label, threshold, f"no operations in {label}", allow_empty))
    return results


class LatencyGateSpec(Strict):
    """pNN latency of operations in a window must stay at or under ``max_ms``."""

    type: Literal["latency"] = "latency"
    window: str = Field("all", description="all | baseline | fault | recovery | a fault id")
    percentile: float = Field(95, gt=0, le=100)
    max_ms: float = Field(gt=0)
    allow_empty: bool = Field(False, description="a window without operations is 'not judged' instead of failed")


def latency_gate(spec: LatencyGateSpec, snapshot: Snapshot) -> list[GateResult]:
    key = f"p{spec.percentile:g}"
    name = f"latency {key} <= {spec.max_ms:g} ms"

    def judge(stats: WindowStats) -> GateResult:
        observed = _observed_percentile(stats, spec.percentile)
        passed = observed <= spec.max_ms
        verdict = "within" if passed else "over"
        message = f"{key} {observed:.0f} ms {verdict} {spec.max_ms:g} ms over {stats.operations} operations"
        return GateResult(name, stats.window.name, passed, observed, spec.max_ms, message)

    return _per_window(name, spec.window, snapshot, judge, spec.max_ms, spec.allow_empty)


def _observed_percentile(stats: WindowStats, pct: float, measure: str = "latency_ms") -> float:
    key = f"p{pct:g}"
    values: dict[str, float] = getattr(stats, measure)
    if key in values:
        return values[key]
    raise ValueError(f"percentile {pct} was not computed; use one of {sorted(values)}")


class TimeToInvoiceGateSpec(Strict):
    """pNN of the time until the user holds the invoice number (the issuing answer, or the drain that settled a
    ``queued`` order) of the orders that got one, in a window, at or under ``max_ms``. Latency gates judge the
    time to the user's *answer*; this one judges the time to the *invoice*."""

    type: Literal["time_to_invoice"] = "time_to_invoice"
    window: str = Field("all", description="all | baseline | fault | recovery | a fault id")
    percentile: float = Field(95, gt=0, le=100)
    max_ms: float = Field(gt=0)
    allow_empty: bool = Field(False, description="a window without operations is 'not judged' instead of failed")


def time_to_invoice_gate(spec: TimeToInvoiceGateSpec, snapshot: Snapshot) -> list[GateResult]:
    key = f"p{spec.percentile:g}"
    name = f"time_to_invoice {key} <= {spec.max_ms:g} ms"

    def judge(stats: WindowStats) -> GateResult | None:
        if not stats.invoiced:
            return None  # no order of the window ever got its invoice: no data
        observed = _observed_percentile(stats, spec.percentile, "invoice_ms")
        passed = observed <= spec.max_ms
        message = f"{key} {observed:.0f} ms {'within' if passed else 'over'} {spec.max_ms:g} ms until the user held "
        message += f"the invoice ({stats.invoiced} of {stats.operations} orders invoiced)"
        return GateResult(name, stats.window.name, passed, observed, spec.max_ms, message)

    return _per_window(name, spec.window, snapshot, judge, spec.max_ms, spec.allow_empty)


class IntegrityGateSpec(Strict):
    """Every claim checked against the ledger after the drain: nothing lost, never issued, duplicated,
    mismatched, of unknown outcome, issued without a number, unanswered or contradicted (taxstorm.reconcile's
    FINDINGS). Always judged: added when a scenario does not list it."""

    type: Literal["integrity"] = "integrity"


def integrity_gate(spec: IntegrityGateSpec, snapshot: Snapshot) -> list[GateResult]:
    rec = snapshot.reconciliation
    bad = {kind: items for kind, items in rec.findings().items() if items}
    total = sum(len(items) for items in bad.values())
    if not bad:
        message = f"{rec.orders} orders, {rec.ledger_invoices} live invoices: every claim matches the ledger"
    else:
        parts = []
        for kind, items in bad.items():
            refs = ", ".join(f.order_ref for f in items[:5]) + (" …" if len(items) > 5 else "")
            parts.append(f"{len(items)} {kind.replace('_', ' ')} ({refs})")
        message = "; ".join(parts)
    return [GateResult("integrity", "all", not bad, float(total), 0.0, message)]


class ContractGateSpec(Strict):
    """The client kept the protocol: no exception, wrong return type, unknown status, outcome for another order
    or call past its budget (taxstorm.loadtests.defects). Always judged: added when a scenario does not list it."""

    type: Literal["contract"] = "contract"


def contract_gate(spec: ContractGateSpec, snapshot: Snapshot) -> list[GateResult]:
    rows = snapshot.defects
    total = sum(row.count for row in rows)
    if not rows:
        return [GateResult("contract", "all", True, 0.0, 0.0, "the client answered every call as the protocol says")]
    parts = [f"{row.count}× {row.method}() {row.kind} ({row.type}: {row.message})" for row in rows[:4]]
    more = f"; and {len(rows) - 4} more kinds" if len(rows) > 4 else ""
    return [GateResult("contract", "all", False, float(total), 0.0, "; ".join(parts) + more)]


class ErrorRateGateSpec(Strict):
    """The share of operations ending ``failed`` in a window stays at or under ``max_rate`` (queued and
    rejected are not failures: queueing is graceful degradation, rejection the user's business error)."""

    type: Literal["error_rate"] = "error_rate"
    window: str = Field("all", description="all | baseline | fault | recovery | a fault id")
    max_rate: float = Field(ge=0, le=1, description="e.g. 0.01 for 1 %")
    outcomes: list[Literal["failed", "rejected"]] = Field(
        ["failed"],
        min_length=1,
        description="the answers that count: failed; add rejected in a story whose orders are all valid "
        "(an order refused for the seller's account state — quota, numbers — must wait, not bounce)",
    )
    allow_empty: bool = Field(False, description="a window without operations is 'not judged' instead of failed")


def error_rate_gate(spec: ErrorRateGateSpec, snapshot: Snapshot) -> list[GateResult]:
    counted = "+".join(spec.outcomes)
    name = f"error_rate <= {spec.max_rate:.2%}" + ("" if spec.outcomes == ["failed"] else f" ({counted})")

    def judge(stats: WindowStats) -> GateResult:
        bad = sum(stats.outcomes.get(outcome, 0) for outcome in spec.outcomes)
        rate = bad / stats.operations
        passed = rate <= spec.max_rate
        message = f"{bad} of {stats.operations} operations {' or '.join(spec.outcomes)} ({rate:.2%})"
        return GateResult(name, stats.window.name, passed, rate, spec.max_rate, message)

    return _per_window(name, spec.window, snapshot, judge, spec.max_rate, spec.allow_empty)


class GracefulGateSpec(Strict):
    """No operation outlives its time budget (no hangs) and every one ends issued, queued, rejected or failed."""

    type: Literal["graceful"] = "graceful"
    window: str = Field("all", description="all | baseline | fault | recovery | a fault id")
    budget_ms: float = Field(gt=0, description="the longest a user may wait for an answer")
    allow_empty: bool = Field(False, description="a window without operations is 'not judged' instead of failed")


def graceful_gate(spec: GracefulGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"graceful within {spec.budget_ms:g} ms"

    def judge(stats: WindowStats) -> GateResult:
        longest = stats.latency_ms.get("max", 0.0)
        unknown = {k: v for k, v in stats.outcomes.items() if k not in DEFINED_OUTCOMES}
        problems = []
        if stats.abandoned:
            problems.append(f"{stats.abandoned} calls never answered within the answer budget (abandoned)")
        if longest > spec.budget_ms:
            problems.append(f"the slowest answer took {longest:.0f} ms")
        if unknown:
            problems.append(f"undefined outcomes {unknown}")
        elif stats.undefined:
            problems.append(f"{stats.undefined} answers said issued without an invoice number")
        if stats.defects > stats.abandoned:
            problems.append(f"{stats.defects - stats.abandoned} answers broke the client protocol")
        message = "; ".join(problems) or f"every answer within {longest:.0f} ms, every outcome defined"
        return GateResult(name, stats.window.name, not problems, longest, spec.budget_ms, message)

    return _per_window(name, spec.window, snapshot, judge, spec.budget_ms, spec.allow_empty)


class RecoveryTimeGateSpec(Strict):
    """After a fault is reverted, users get back to baseline within ``within_s``: success rate ≥
    ``min_success`` and p95 ≤ ``latency_factor`` × baseline p95, held for ``hold_s`` seconds."""

    type: Literal["recovery_time"] = "recovery_time"
    fault: str = Field("*", description="a fault id, or * for every fault")
    within_s: float = Field(gt=0)
    min_success: float = Field(0.99, ge=0, le=1)
    latency_factor: float = Field(2.0, ge=1)
    hold_s: int = Field(3, ge=1, le=3600)


def recovery_time_gate(spec: RecoveryTimeGateSpec, snapshot: Snapshot) -> list[GateResult]:
    criteria = RecoveryCriteria(spec.min_success, spec.latency_factor, hold_s=spec.hold_s)
    baseline_ms = snapshot.baseline_p95_ms

    def measure(reverted_s: float, until_s: float | None) -> float | None:
        return time_to_recover(snapshot.series, reverted_s, baseline_ms, criteria, until_s)

    def not_recovered(what: str) -> str:
        return (
            f"not recovered before {what} (criteria: success >= {spec.min_success:.0%}, p95 <= "
            f"{spec.latency_factor:g}x baseline {baseline_ms:.0f} ms, for {spec.hold_s} s)"
        )

    name = f"recovery_time <= {spec.within_s:g} s"
    return judge_recoveries(name, spec, snapshot.faults, len(snapshot.series), measure, not_recovered, "recovered")


def judge_recoveries(
    name: str,
    spec: RecoveryTimeGateSpec,
    faults: Sequence[FaultEvent],
    end_s: float,
    measure: Callable[[float, float | None], float | None],
    not_recovered: Callable[[str], str],
    recovered: str,
) -> list[GateResult]:
    """The recovery_time gate for each fault ``spec`` names, whoever measures it: ``measure(reverted_s, until_s)``
    is the time to recover seen before ``until_s`` (None: none seen). A recovery the next fault (or the end, at
    ``end_s``) came too soon to see is not judged; one not seen in time fails with ``not_recovered(what came)``."""
    results = []
    for fault in recoveries(name, spec, faults):
        if isinstance(fault, GateResult):
            results.append(fault)
            continue
        window = f"recovery:{fault.label}"
        assert fault.reverted_s is not None  # recoveries() keeps only reverted faults
        until_s, what = recovery_end(faults, fault)
        ttr = measure(fault.reverted_s, until_s)
        span = (until_s if until_s is not None else end_s) - fault.reverted_s
        if ttr is None and span < spec.within_s + spec.hold_s:
            why = f"{what} came {span:.1f} s after the revert, too soon to see a recovery within {spec.within_s:g} s "
            why += f"held {spec.hold_s} s"
            results.append(not_judged(name, window, spec.within_s, why))
        elif ttr is None:
            results.append(GateResult(name, window, False, None, spec.within_s, not_recovered(what)))
        else:
            message = f"{recovered} {ttr:.1f} s after the revert"
            results.append(GateResult(name, window, ttr <= spec.within_s, ttr, spec.within_s, message))
    return results


def recoveries(name: str, spec: RecoveryTimeGateSpec, faults: Sequence[FaultEvent]) -> list[FaultEvent | GateResult]:
    """The faults ``spec`` names whose recovery can be measured, and a result for each that cannot (never
    applied, lasted to the end; a failure when none matches)."""
    matching = [f for f in faults if spec.fault in ("*", f.label)]
    if not matching:
        return [GateResult(name, spec.fault, False, None, spec.within_s, f"no fault matches {spec.fault!r}")]
    found: list[FaultEvent | GateResult] = []
    for fault in matching:
        if fault.applied_s is None or fault.reverted_s is None or fault.lasted_to_end:
            why = "it was never applied" if fault.applied_s is None else f"{fault.label} lasted to the run's end"
            found.append(not_judged(name, f"recovery:{fault.label}", spec.within_s, f"no recovery to measure: {why}"))
        else:
            found.append(fault)
    return found


def recovery_end(faults: Sequence[FaultEvent], fault: FaultEvent) -> tuple[float | None, str]:
    """Where a fault's recovery can be seen: until the next fault is applied, else until the run's end."""
    assert fault.reverted_s is not None
    later = [f.applied_s for f in faults if f.applied_s is not None and f.applied_s >= fault.reverted_s]
    if later:
        return min(later), "the next fault"
    return None, "the run's end"


class AmplificationGateSpec(Strict):
    """Platform issue-family submissions (or every request, ``count: requests``) ÷ user issue operations in a
    window stays at or under ``max_ratio`` (a retry-storm detector)."""

    type: Literal["amplification"] = "amplification"
    window: str = Field("all", description="all | baseline | fault | recovery | a fault id")
    max_ratio: float = Field(gt=0)
    count: Literal["submissions", "requests"] = Field(
        "submissions",
        description="submissions: POSTs under /api/v1/invoices (issues, batches, red invoices, re-uploads: what a"
        " retry storm multiplies); requests: look-ups (GET) too, e.g. to judge how a client polls",
    )
    allow_empty: bool = Field(False, description="a window without operations is 'not judged' instead of failed")


def amplification_gate(spec: AmplificationGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"amplification <= {spec.max_ratio:g}x" + (" (all requests)" if spec.count == "requests" else "")

    def judge(stats: WindowStats) -> GateResult | None:
        window = stats.window
        submissions = _increase(snapshot.platform_submissions, window.start_s, window.end_s)
        lookups = _increase(snapshot.platform_lookups, window.start_s, window.end_s)
        if submissions is None:
            return None  # the platform's counters were never read: no data
        looked = lookups or 0
        if spec.count == "requests":
            counted, what = submissions + looked, f"{submissions + looked} issue requests ({looked} of them look-ups)"
        else:
            counted, what = submissions, f"{submissions} submissions"
        ratio = counted / stats.operations
        message = f"{what} for {stats.operations} user operations ({ratio:.2f}x)"
        if spec.count == "submissions" and lookups is not None:
            message += f"; {lookups} look-ups not counted"
        return GateResult(name, window.name, ratio <= spec.max_ratio, ratio, spec.max_ratio, message)

    return _per_window(name, spec.window, snapshot, judge, spec.max_ratio, spec.allow_empty)


def _increase(samples: Sequence[tuple[float, int]], start_s: float, end_s: float) -> int | None:
    """How much a cumulative counter grew between two run seconds (None: it was never read by then)."""
    after = value_at(samples, end_s)
    if after is None:
        return None
    return after - (value_at(samples, start_s) or 0)


class DrainGateSpec(Strict):
    """The clients' offline backlog is empty within ``within_s`` after the last fault clears."""

    type: Literal["drain"] = "drain"
    within_s: float = Field(gt=0)


def drain_gate(spec: DrainGateSpec, snapshot: Snapshot) -> list[GateResult]:
    """Orders owed (the harness's count, not the client's: told queued without an invoice, or an upload to repeat)
    reach 0 within ``within_s`` of the later of the end of the load and the last revert."""
    name = f"drain within {spec.within_s:g} s"
    reverts = [f.reverted_s for f in snapshot.faults if f.reverted_s is not None]
    cleared_s = max([snapshot.load_end_s, *reverts])
    cause = "the last fault cleared" if reverts and cleared_s > snapshot.load_end_s else "the load ended"
    after = [(t, owed) for t, owed in snapshot.backlog if t >= cleared_s]
    if not after:
        return [GateResult(name, "drain", False, None, spec.within_s, f"no data: no backlog sample after {cause}")]
    empty = next((t for t, owed in after if owed == 0), None)
    if empty is None:
        message = (
            f"{after[-1][1]} orders still owed at the end: told queued without an invoice yet, or an upload to repeat"
            f" ({cause} at {cleared_s:.1f} s)"
        )
        return [GateResult(name, "drain", False, None, spec.within_s, message)]
    took = round(empty - cleared_s, 3)
    message = f"nothing owed (every order told queued invoiced, every upload done) {took:.1f} s after {cause}"
    return [GateResult(name, "drain", took <= spec.within_s, took, spec.within_s, message)]


GateFunction = Callable[[Any, Snapshot], list[GateResult]]
GATES: dict[str, GateFunction] = {
    "latency": latency_gate,
    "time_to_invoice": time_to_invoice_gate,
    "integrity": integrity_gate,
    "contract": contract_gate,
    "error_rate": error_rate_gate,
    "graceful": graceful_gate,
    "recovery_time": recovery_time_gate,
    "amplification": amplification_gate,
    "drain": drain_gate,
}


def recovery_times(snapshot: Snapshot, criteria: RecoveryCriteria | None = None) -> dict[str, float | None]:
    """Time-to-recover of every fault reverted on schedule, with the default criteria: reported even when no gate
    asks (a fault lasting to the run's end has no recovery to measure)."""
    chosen = criteria or RecoveryCriteria()
    return {
        f.label: time_to_recover(
            snapshot.series, f.reverted_s, snapshot.baseline_p95_ms, chosen, recovery_end(snapshot.faults, f)[0]
        )
        for f in snapshot.faults
        if f.reverted_s is not None and not f.lasted_to_end
    }


def evaluate(specs: Sequence[GateSpec], snapshot: Snapshot) -> list[GateResult]:
    """Every gate of ``specs``, in order."""
    results: list[GateResult] = []
    for spec in specs:
        results.extend(replace(result, kind=spec.type) for result in GATES[spec.type](spec, snapshot))
    return results


GateSpec = (
    LatencyGateSpec
    | TimeToInvoiceGateSpec
    | IntegrityGateSpec
    | ContractGateSpec
    | ErrorRateGateSpec
    | GracefulGateSpec
    | RecoveryTimeGateSpec
    | AmplificationGateSpec
    | DrainGateSpec
)
GateStep = Annotated[GateSpec, Field(discriminator="type")]


def default_gates() -> list[GateSpec]:
    """The gates of a scenario that names none: nothing lost or duplicated, the protocol kept, nobody left hanging."""
    return [IntegrityGateSpec(), ContractGateSpec(), GracefulGateSpec(budget_ms=30_000)]


ALWAYS_JUDGED: tuple[type[IntegrityGateSpec | ContractGateSpec], ...] = (IntegrityGateSpec, ContractGateSpec)


def judged_gates(gates: list[GateSpec]) -> list[GateSpec]:
    """The scenario's gates plus the ones every run judges (integrity, contract) where it does not list them:
    no scenario can switch off the check that a client kept its promises."""
    missing = [kind() for kind in ALWAYS_JUDGED if not any(isinstance(g, kind) for g in gates)]
    return [*gates, *missing]
