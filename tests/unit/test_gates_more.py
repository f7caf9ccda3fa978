"""error_rate, graceful, recovery_time, amplification and drain gates, and time-to-recover, on hand-built runs."""

from __future__ import annotations

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.gates import (
    AmplificationGateSpec,
    DrainGateSpec,
    ErrorRateGateSpec,
    GracefulGateSpec,
    RecoveryTimeGateSpec,
    Snapshot,
    evaluate,
    recovery_times,
)
from taxstorm.loadtests.records import OperationRecord
from taxstorm.reconcile import reconcile
from taxstorm.timeseries import RecoveryCriteria, per_second, time_to_recover
from taxstorm.windows import build_windows, window_stats
from tests.unit.test_gates_and_windows import event, op


def every_second(
    start: int, end: int, latency_ms: float, outcome: str = "issued", per_s: int = 4
) -> list[OperationRecord]:
    return [op(t + i / per_s, latency_ms, f"o{t}-{i}", outcome) for t in range(start, end) for i in range(per_s)]


Samples = list[tuple[float, int]]


def snapshot(
    records: list[OperationRecord],
    faults: list[FaultEvent],
    end_s: float,
    platform_requests: Samples | None = None,
    backlog: Samples | None = None,
    load_end_s: float = 0.0,
    lookups: Samples | None = None,
) -> Snapshot:
    windows = [window_stats(w, records) for w in build_windows(faults, end_s)]
    series = per_second(records, end_s)
    return Snapshot(
        windows,
        reconcile({}, [], []),
        series,
        faults,
        platform_requests or [],
        backlog or [],
        load_end_s,
        platform_lookups=lookups or [],
    )


def test_error_rate_counts_failed_only() -> None:
    records = every_second(0, 10, 10) + every_second(10, 12, 10, "queued") + every_second(12, 13, 10, "failed")
    results = evaluate([ErrorRateGateSpec(max_rate=0.05)], snapshot(records, [], 13))
    assert [(r.window, r.passed, round(r.observed or 0, 3)) for r in results] == [("all", False, 0.077)]
    assert "4 of 52 operations failed" in results[0].message
    assert evaluate([ErrorRateGateSpec(max_rate=0.1)], snapshot(records, [], 13))[0].passed


def test_graceful_fails_on_a_hang_and_on_an_undefined_outcome() -> None:
    records = [*every_second(0, 5, 10), op(6, 40000, "hung")]
    result = evaluate([GracefulGateSpec(budget_ms=30_000)], snapshot(records, [], 60))[0]
    assert not result.passed and result.observed == 40_000 and "slowest answer took 40000 ms" in result.message
    odd = [*every_second(0, 5, 10), op(6, 10, "odd", outcome="maybe")]
    result = evaluate([GracefulGateSpec(budget_ms=30_000)], snapshot(odd, [], 10))[0]
    assert not result.passed and "undefined outcomes {'maybe': 1}" in result.message
    numberless = [*every_second(0, 5, 10), op(6, 10, "n1", inv=None), op(7, 10, "n2", inv=None)]
    result = evaluate([GracefulGateSpec(budget_ms=30_000)], snapshot(numberless, [], 10))[0]
    assert not result.passed and "2 answers said issued without an invoice number" in result.message


def test_time_to_recover_waits_for_held_health() -> None:
    # baseline p95 10 ms; fault 10–20 s; after the revert: 3 s of failures, one good second, a bad one, then good
    records = every_second(0, 10, 10) + every_second(10, 20, 900, "queued") + every_second(20, 23, 10, "failed")
    records += every_second(23, 24, 10) + every_second(24, 25, 400) + every_second(25, 40, 12)
    series = per_second(records, 40)
    criteria = RecoveryCriteria(min_success=0.99, latency_factor=2.0, latency_slack_ms=50.0, hold_s=3)
    assert time_to_recover(series, 20.0, 10.0, criteria) == 5.0  # 25 s: the first of three healthy seconds
    assert time_to_recover(series[:27], 20.0, 10.0, criteria) is None  # the run ended before 3 healthy seconds


def test_recovery_time_gate_and_ttr_reported_for_every_fault() -> None:
    records = every_second(0, 10, 10) + every_second(10, 20, 900, "queued") + every_second(20, 40, 10)
    faults = [event("outage", 10, 20)]
    snap = snapshot(records, faults, 40)
    assert recovery_times(snap) == {"outage": 0.0}
    assert evaluate([RecoveryTimeGateSpec(within_s=5)], snap)[0].passed
    slow = every_second(0, 10, 10) + every_second(10, 30, 900, "queued") + every_second(30, 40, 10)
    result = evaluate([RecoveryTimeGateSpec(within_s=5)], snapshot(slow, faults, 40))[0]
    assert not result.passed and result.observed == 10.0 and result.window == "recovery:outage"
    none = evaluate([RecoveryTimeGateSpec(fault="other", within_s=5)], snap)[0]
    assert not none.passed and "no fault matches 'other'" in none.message


def test_amplification_divides_platform_requests_by_user_operations_per_window() -> None:
    records = every_second(0, 10, 10) + every_second(10, 20, 10)  # 40 operations per window
    faults = [event("errors", 10, 20)]
    requests = [(0.0, 0), (10.0, 42), (20.0, 242), (30.0, 242)]  # 42 in baseline, 200 during the fault
    snap = snapshot(records, faults, 30, platform_requests=requests)
    results = {r.window: r for r in evaluate([AmplificationGateSpec(window="errors", max_ratio=2.0)], snap)}
    assert not results["errors"].passed and results["errors"].observed == 5.0
    baseline = evaluate([AmplificationGateSpec(window="baseline", max_ratio=2.0)], snap)[0]
    assert baseline.passed and baseline.observed == 1.05


def test_amplification_counts_submissions_and_look_ups_only_when_asked() -> None:
    """An asynchronous platform costs a look-up per PROCESSING invoice: following it is not a retry storm, unless
    the scenario asks to judge every request (``count: requests``)."""
    records = every_second(0, 10, 4)  # 40 operations
    submissions = [(0.0, 0), (10.0, 44)]
    lookups = [(0.0, 0), (10.0, 60)]
    snap = snapshot(records, [], 10, platform_requests=submissions, lookups=lookups)
    (result,) = evaluate([AmplificationGateSpec(max_ratio=1.5)], snap)
    assert result.passed and result.observed == 1.1
    assert result.message == "44 submissions for 40 user operations (1.10x); 60 look-ups not counted"
    (every,) = evaluate([AmplificationGateSpec(max_ratio=1.5, count="requests")], snap)
    assert not every.passed and every.observed == 2.6 and every.name == "amplification <= 1.5x (all requests)"
    assert "104 issue requests (60 of them look-ups)" in every.message


def test_drain_gate_measures_from_the_last_revert_to_an_empty_backlog() -> None:
    records = every_second(0, 30, 10)
    faults = [event("down", 5, 10), event("down2", 12, 15)]
    backlog = [(5.0, 0), (9.0, 30), (15.0, 12), (18.5, 3), (21.0, 0), (25.0, 0)]
    result = evaluate([DrainGateSpec(within_s=5)], snapshot(records, faults, 30, backlog=backlog))[0]
    assert not result.passed and result.observed == 6.0
    assert evaluate([DrainGateSpec(within_s=10)], snapshot(records, faults, 30, backlog=backlog))[0].passed
    stuck = [(15.0, 12), (29.0, 3)]
    result = evaluate([DrainGateSpec(within_s=10)], snapshot(records, faults, 30, backlog=stuck))[0]
    assert not result.passed and "3 orders still owed at the end" in result.message
