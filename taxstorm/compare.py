"""``taxstorm compare``: what changed between two runs (e.g. release N against N+1), and whether it regressed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taxstorm.reconcile import FINDINGS


@dataclass(frozen=True)
class Change:
    """One compared figure: its value in run A and run B, and whether B is a regression beyond tolerance."""

    metric: str
    a: float | None
    b: float | None
    regression: bool
    note: str = ""


def _windows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(w["window"]["name"]): w for w in result.get("windows", [])}


def _gates(result: dict[str, Any]) -> dict[str, bool]:
    return {f"{g['name']} [{g['window']}]": bool(g["passed"]) for g in result.get("gates", [])}


def compare_runs(a: dict[str, Any], b: dict[str, Any], latency_tolerance: float = 0.2) -> list[Change]:
    """Latency per common window (regression: B's p95 more than ``latency_tolerance`` above A's), error rates,
    time-to-recover per fault, integrity findings, and gates that passed in A and fail in B."""
    changes: list[Change] = []
    wa, wb = _windows(a), _windows(b)
    for name in [n for n in wa if n in wb]:
        for key in ("p50", "p95", "p99"):
            va, vb = wa[name]["latency_ms"].get(key), wb[name]["latency_ms"].get(key)
            worse = key == "p95" and va is not None and vb is not None and vb > va * (1 + latency_tolerance) + 1
            changes.append(Change(f"{name} {key} ms", va, vb, worse))
        ea, eb = _error_rate(wa[name]), _error_rate(wb[name])
        changes.append(Change(f"{name} error rate", ea, eb, eb > ea + 0.01))
    ra, rb = a.get("recovery_s", {}), b.get("recovery_s", {})
    for fault in [f for f in ra if f in rb]:
        ta, tb = ra[fault], rb[fault]
        worse = (tb is None and ta is not None) or (ta is not None and tb is not None and tb > ta * 1.5 + 2)
        changes.append(Change(f"{fault} time to recover s", ta, tb, worse, "" if tb is not None else "not recovered"))
    for kind in FINDINGS:
        na = len((a.get("reconciliation") or {}).get(kind, []))
        nb = len((b.get("reconciliation") or {}).get(kind, []))
        changes.append(Change(f"{kind} orders", na, nb, nb > na))
    ga, gb = _gates(a), _gates(b)
    for gate in [g for g in ga if g in gb]:
        if ga[gate] != gb[gate]:
            note = f"{_verdict(ga[gate])} → {_verdict(gb[gate])}"
            changes.append(Change(f"gate {gate}", float(ga[gate]), float(gb[gate]), ga[gate] and not gb[gate], note))
    return changes


def _error_rate(window: dict[str, Any]) -> float:
    operations = int(window.get("operations", 0))
    return int(window.get("outcomes", {}).get("failed", 0)) / operations if operations else 0.0


def _verdict(passed: bool) -> str:
    return "pass" if passed else "fail"
