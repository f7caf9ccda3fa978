"""Windows, gates and reconciliation on hand-built data (pure functions, no servers)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.gates import IntegrityGateSpec, LatencyGateSpec, Snapshot, evaluate
from taxstorm.loadtests.records import OperationRecord
from taxstorm.reconcile import reconcile
from taxstorm.windows import build_windows, percentile, select, window_stats


def op(start: float, latency_ms: float, ref: str, outcome: str = "issued", inv: str | None = "N1") -> OperationRecord:
    return OperationRecord(start, start + latency_ms / 1000, "issue", outcome, ref, 1, inv)


def row(ref: str, number: str, total: str = "11.30") -> dict[str, Any]:
    return {"orderRef": ref, "invoiceNo": number, "status": "ISSUED", "totals": {"totalWithTax": total}}


def event(label: str, applied: float, reverted: float | None) -> FaultEvent:
    return FaultEvent(label, "latency", {}, applied, reverted, applied, reverted)


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 95) == 0.0
    assert percentile([7.0], 50) == 7.0


def test_windows_split_baseline_fault_recovery() -> None:
    windows = build_windows([event("slow", 20, 40)], 60)
    spans = {(w.name, w.kind): (w.start_s, w.end_s) for w in windows}
    assert spans == {
        ("all", "all"): (0, 60),
        ("baseline", "baseline"): (0, 20),
        ("slow", "fault"): (20, 40),
        ("recovery:slow", "recovery"): (40, 60),
    }


def test_recovery_ends_when_the_next_fault_starts_and_unreverted_fault_runs_to_the_end() -> None:
    windows = build_windows([event("a", 10, 20), event("b", 30, None)], 50)
    spans = {w.name: (w.start_s, w.end_s) for w in windows}
    assert spans["recovery:a"] == (20, 30)
    assert spans["b"] == (30, 50)
    assert "recovery:b" not in spans


def test_operations_touched_by_a_fault_count_in_its_window_not_in_baseline() -> None:
    records = [op(1, 10, "a"), op(19.9, 500, "straddles"), op(30, 10, "b"), op(39.9, 500, "late"), op(45, 5, "c")]
    windows = {w.name: w for w in build_windows([event("slow", 20, 40)], 60)}
    members = {
        name: sorted(r.order_ref for r in records if w.includes(r.start_s, r.end_s)) for name, w in windows.items()
    }
    assert members["baseline"] == ["a"]
    assert members["slow"] == ["b", "late", "straddles"]
    assert members["recovery:slow"] == ["c"]
    assert members["all"] == ["a", "b", "c", "late", "straddles"]


def test_a_recovery_cut_short_by_the_next_fault_leaves_its_operations_to_that_fault() -> None:
    # a 4 s pause struck during the first fault's recovery: an operation caught by it is the pause's, not
    # evidence that the first fault outlived its revert
    records = [op(21, 100, "healthy"), op(28.5, 4000, "paused"), op(35, 10, "after")]
    windows = {w.name: w for w in build_windows([event("slow", 10, 20), event("pause", 29, 33)], 60)}
    members = {
        name: sorted(r.order_ref for r in records if w.includes(r.start_s, r.end_s)) for name, w in windows.items()
    }
    assert members["recovery:slow"] == ["healthy"]
    assert members["pause"] == ["paused"]
    assert members["recovery:pause"] == ["after"]  # the last recovery runs to the end: nothing cuts it short
    late = op(59.5, 2000, "late")  # started before the end, answered after it: still the last recovery's
    assert windows["recovery:pause"].includes(late.start_s, late.end_s)


def test_an_empty_recovery_cut_short_is_not_judged_but_an_empty_last_one_has_no_data() -> None:
    # the next fault came 1.2 s after the revert, before any operation could finish: nothing to judge there
    records = [op(1, 10, "a"), op(10.5, 2000, "slow"), op(25, 10, "b")]
    events = [event("slow", 10, 20), event("ghosts", 21.2, 40)]
    windows = [window_stats(w, records) for w in build_windows(events, 40)]
    results = evaluate([LatencyGateSpec(window="recovery", max_ms=100)], Snapshot(windows, reconcile({}, [], [])))
    (cut,) = results
    assert cut.window == "recovery:slow" and cut.passed and not cut.judged
    assert "no operation finished in recovery:slow before the next fault struck, 1.2 s after" in cut.message
    windows = [window_stats(w, records) for w in build_windows([event("slow", 10, 39.9)], 40)]
    (last,) = evaluate([LatencyGateSpec(window="recovery", max_ms=100)], Snapshot(windows, reconcile({}, [], [])))
    assert not last.passed and last.message.startswith("no data")  # the last recovery is never cut short


def test_latency_gate_per_window() -> None:
    records = [op(1, 10, "a"), op(2, 20, "b"), op(25, 900, "c"), op(45, 15, "d")]
    windows = [window_stats(w, records) for w in build_windows([event("slow", 20, 40)], 60)]
    gates = [LatencyGateSpec(window="baseline", max_ms=100), LatencyGateSpec(window="fault", max_ms=500)]
    results = evaluate(gates, Snapshot(windows, reconcile({}, [], [])))
    verdicts = {(r.window, r.passed) for r in results}
    assert verdicts == {("baseline", True), ("slow", False)}
    assert {r.kind for r in results} == {"latency"}  # reports and compare need not parse the name
    failed = next(r for r in results if not r.passed)
    assert failed.observed == 900 and failed.threshold == 500 and "over 500 ms" in failed.message


def test_latency_gate_fails_on_an_empty_window_rather_than_passing_silently() -> None:
    windows = [window_stats(w, []) for w in build_windows([], 10)]
    results = evaluate([LatencyGateSpec(window="baseline", max_ms=100)], Snapshot(windows, reconcile({}, [], [])))
    assert [r.passed for r in results] == [False]
    assert "no operations" in results[0].message


def test_window_selection_by_kind_or_name() -> None:
    windows = [window_stats(w, []) for w in build_windows([event("a", 1, 2), event("b", 3, 4)], 5)]
    assert [s.window.name for s in select(windows, "fault")] == ["a", "b"]
    assert [s.window.name for s in select(windows, "recovery:b")] == ["recovery:b"]


def test_integrity_passes_when_everything_reconciles() -> None:
    result = reconcile({"a": Decimal("11.30")}, [op(1, 5, "a", inv="N1")], [row("a", "N1")])
    gate = evaluate([IntegrityGateSpec()], Snapshot([], result))[0]
    assert gate.passed and gate.observed == 0
