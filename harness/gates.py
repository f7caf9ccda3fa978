"""Gates are pure functions over a frozen snapshot: ``gate(spec, snapshot) -> [GateResult]``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.reconcile import Reconciliation
from harness.scenario import IntegrityGateSpec, LatencyGateSpec
from harness.windows import WindowStats, select


@dataclass(frozen=True)
class Snapshot:
    """Everything gates may look at, frozen after the run."""

    windows: Sequence[WindowStats]
    reconciliation: Reconciliation


@dataclass(frozen=True)
class GateResult:
    """One verdict with the evidence: observed against threshold and a sentence saying why."""

    name: str
    window: str
    passed: bool
    observed: float | None
    threshold: float | None
    message: str


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


GateFunction = Callable[[Any, Snapshot], list[GateResult]]
GATES: dict[str, GateFunction] = {"latency": latency_gate, "integrity": integrity_gate}


def evaluate(specs: Sequence[LatencyGateSpec | IntegrityGateSpec], snapshot: Snapshot) -> list[GateResult]:
    """Every gate of the scenario, in order."""
    results: list[GateResult] = []
    for spec in specs:
        results.extend(GATES[spec.type](spec, snapshot))
    return results
