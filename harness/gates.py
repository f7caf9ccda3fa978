"""Gates are pure functions over a frozen snapshot: ``gate(spec, snapshot) -> [GateResult]``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chaos.timeline import FaultEvent
from harness.reconcile import Reconciliation
from harness.scenario import (
    AmplificationGateSpec,
    DrainGateSpec,
    ErrorRateGateSpec,
    GateSpec,
    GracefulGateSpec,
    IntegrityGateSpec,
    LatencyGateSpec,
    RecoveryTimeGateSpec,
)
from harness.timeseries import RecoveryCriteria, Second, time_to_recover, value_at
from harness.windows import DEFINED_OUTCOMES, WindowStats, select


@dataclass(frozen=True)
class Snapshot:
    """Everything gates may look at, frozen after the run.

    ``platform_requests`` and ``backlog`` are (run second, value) samples: the platform's cumulative
    issue-family request count and the clients' total offline backlog.
    """

    windows: Sequence[WindowStats]
    reconciliation: Reconciliation
    series: Sequence[Second] = ()
    faults: Sequence[FaultEvent] = ()
    platform_requests: Sequence[tuple[float, int]] = ()
    backlog: Sequence[tuple[float, int]] = ()

    @property
    def baseline_p95_ms(self) -> float:
        baseline = select(self.windows, "baseline")
        return baseline[0].latency_ms.get("p95", 0.0) if baseline and baseline[0].operations else 0.0


@dataclass(frozen=True)
class GateResult:
    """One verdict with the evidence: observed against threshold and a sentence saying why."""

    name: str
    window: str
    passed: bool
    observed: float | None
    threshold: float | None
    message: str
    kind: str = ""  # the gate's type (latency, integrity, ...), set by evaluate


def latency_gate(spec: LatencyGateSpec, snapshot: Snapshot) -> list[GateResult]:
    key = f"p{spec.percentile:g}"
    name = f"latency {key} <= {spec.max_ms:g} ms"
    chosen = select(snapshot.windows, spec.window)
    if not chosen:
        return [GateResult(name, spec.window, False, None, spec.max_ms, f"window {spec.window!r} never happened")]
    results = []
    for stats in chosen:
        label = stats.window.name
        if stats.operations == 0:
            results.append(GateResult(name, label, False, None, spec.max_ms, f"no operations in {label}"))
            continue
        observed = _observed_percentile(stats, spec.percentile)
        passed = observed <= spec.max_ms
        verdict = "within" if passed else "over"
        message = f"{key} {observed:.0f} ms {verdict} {spec.max_ms:g} ms over {stats.operations} operations"
        results.append(GateResult(name, label, passed, observed, spec.max_ms, message))
    return results


def _observed_percentile(stats: WindowStats, pct: float) -> float:
    key = f"p{pct:g}"
    if key in stats.latency_ms:
        return stats.latency_ms[key]
    raise ValueError(f"percentile {pct} was not computed; use one of {sorted(stats.latency_ms)}")


def integrity_gate(spec: IntegrityGateSpec, snapshot: Snapshot) -> list[GateResult]:
    rec = snapshot.reconciliation
    problems = {"lost": rec.lost, "duplicated": rec.duplicates, "mismatched": rec.mismatched}
    bad = {kind: items for kind, items in problems.items() if items}
    total = sum(len(items) for items in bad.values())
    if not bad:
        message = f"{rec.orders} orders, {rec.ledger_invoices} invoices: none lost, duplicated or mismatched"
    else:
        parts = []
        for kind, items in bad.items():
            refs = ", ".join(f.order_ref for f in items[:5]) + (" …" if len(items) > 5 else "")
            parts.append(f"{len(items)} {kind} ({refs})")
        message = "; ".join(parts)
    return [GateResult("integrity", "all", not bad, float(total), 0.0, message)]


def _per_window(
    name: str, selector: str, snapshot: Snapshot, judge: Callable[[WindowStats], GateResult | None], threshold: float
) -> list[GateResult]:
    chosen = select(snapshot.windows, selector)
    if not chosen:
        return [GateResult(name, selector, False, None, threshold, f"window {selector!r} never happened")]
    results = []
    for stats in chosen:
        verdict = judge(stats)
        if verdict is None:
            verdict = GateResult(
                name, stats.window.name, False, None, threshold, f"no operations in {stats.window.name}"
            )
        results.append(verdict)
    return results


def error_rate_gate(spec: ErrorRateGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"error_rate <= {spec.max_rate:.2%}"

    def judge(stats: WindowStats) -> GateResult | None:
        if stats.operations == 0:
            return None
        rate = stats.error_rate
        passed = rate <= spec.max_rate
        message = f"{stats.failed} of {stats.operations} operations failed ({rate:.2%})"
        return GateResult(name, stats.window.name, passed, rate, spec.max_rate, message)

    return _per_window(name, spec.window, snapshot, judge, spec.max_rate)


def graceful_gate(spec: GracefulGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"graceful within {spec.budget_ms:g} ms"

    def judge(stats: WindowStats) -> GateResult | None:
        if stats.operations == 0:
            return None
        longest = stats.latency_ms.get("max", 0.0)
        unknown = {k: v for k, v in stats.outcomes.items() if k not in DEFINED_OUTCOMES}
        problems = []
        if longest > spec.budget_ms:
            problems.append(f"the slowest answer took {longest:.0f} ms")
        if unknown:
            problems.append(f"undefined outcomes {unknown}")
        elif stats.undefined:
            problems.append(f"{stats.undefined} answers said issued without an invoice number")
        message = "; ".join(problems) or f"every answer within {longest:.0f} ms, every outcome defined"
        return GateResult(name, stats.window.name, not problems, longest, spec.budget_ms, message)

    return _per_window(name, spec.window, snapshot, judge, spec.budget_ms)


def recovery_time_gate(spec: RecoveryTimeGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"recovery_time <= {spec.within_s:g} s"
    criteria = RecoveryCriteria(spec.min_success, spec.latency_factor, hold_s=spec.hold_s)
    faults = [f for f in snapshot.faults if spec.fault in ("*", f.label) and f.reverted_s is not None]
    if not faults:
        return [GateResult(name, spec.fault, False, None, spec.within_s, f"no reverted fault matches {spec.fault!r}")]
    results = []
    for fault in faults:
        assert fault.reverted_s is not None
        ttr = time_to_recover(snapshot.series, fault.reverted_s, snapshot.baseline_p95_ms, criteria)
        window = f"recovery:{fault.label}"
        if ttr is None:
            message = f"not recovered before the run ended (criteria: success >= {spec.min_success:.0%}, p95 <= "
            message += f"{spec.latency_factor:g}x baseline {snapshot.baseline_p95_ms:.0f} ms, for {spec.hold_s} s)"
            results.append(GateResult(name, window, False, None, spec.within_s, message))
        else:
            passed = ttr <= spec.within_s
            message = f"recovered {ttr:.1f} s after the revert"
            results.append(GateResult(name, window, passed, ttr, spec.within_s, message))
    return results


def amplification_gate(spec: AmplificationGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"amplification <= {spec.max_ratio:g}x"

    def judge(stats: WindowStats) -> GateResult | None:
        window = stats.window
        before = value_at(snapshot.platform_requests, window.start_s)
        after = value_at(snapshot.platform_requests, window.end_s)
        if stats.operations == 0 or after is None:
            return None
        requests = after - (before or 0)
        ratio = requests / stats.operations
        message = f"{requests} platform issue requests for {stats.operations} user operations ({ratio:.2f}x)"
        return GateResult(name, window.name, ratio <= spec.max_ratio, ratio, spec.max_ratio, message)

    return _per_window(name, spec.window, snapshot, judge, spec.max_ratio)


def drain_gate(spec: DrainGateSpec, snapshot: Snapshot) -> list[GateResult]:
    name = f"drain within {spec.within_s:g} s"
    reverts = [f.reverted_s for f in snapshot.faults if f.reverted_s is not None]
    cleared_s = max(reverts, default=0.0)
    after = [(t, backlog) for t, backlog in snapshot.backlog if t >= cleared_s]
    empty = next((t for t, backlog in after if backlog == 0), None)
    if empty is None:
        left = after[-1][1] if after else None
        message = f"backlog never empty after the last fault cleared (last sample: {left})"
        return [GateResult(name, "drain", False, None, spec.within_s, message)]
    took = round(empty - cleared_s, 3)
    message = f"backlog empty {took:.1f} s after the last fault cleared"
    return [GateResult(name, "drain", took <= spec.within_s, took, spec.within_s, message)]


GateFunction = Callable[[Any, Snapshot], list[GateResult]]
GATES: dict[str, GateFunction] = {
    "latency": latency_gate,
    "integrity": integrity_gate,
    "error_rate": error_rate_gate,
    "graceful": graceful_gate,
    "recovery_time": recovery_time_gate,
    "amplification": amplification_gate,
    "drain": drain_gate,
}


def recovery_times(snapshot: Snapshot, criteria: RecoveryCriteria | None = None) -> dict[str, float | None]:
    """Time-to-recover of every reverted fault with the default criteria: reported even when no gate asks."""
    chosen = criteria or RecoveryCriteria()
    return {
        f.label: time_to_recover(snapshot.series, f.reverted_s, snapshot.baseline_p95_ms, chosen)
        for f in snapshot.faults
        if f.reverted_s is not None
    }


def evaluate(specs: Sequence[GateSpec], snapshot: Snapshot) -> list[GateResult]:
    """Every gate of the scenario, in order."""
    results: list[GateResult] = []
    for spec in specs:
        results.extend(replace(result, kind=spec.type) for result in GATES[spec.type](spec, snapshot))
    return results
