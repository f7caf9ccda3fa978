"""Halt conditions and the baseline steady-state check, on hand-built records."""

from __future__ import annotations

from taxstorm.halt import SteadyStateCheck, blame_baseline, check_steady_state, halt_reason
from taxstorm.loadtests.records import OperationRecord
from taxstorm.scenario import ErrorRateHaltSpec, LatencyHaltSpec, SteadyStateSpec
from tests.unit.test_gates_and_windows import op


def test_error_rate_halt_looks_at_the_recent_span_only() -> None:
    records = [op(t / 2, 10, f"ok{t}") for t in range(40)] + [op(20 + t / 4, 10, f"f{t}", "failed") for t in range(12)]
    spec = ErrorRateHaltSpec(above=0.5, for_s=3, min_operations=5)
    assert halt_reason(spec, records[:40], 20.0) is None  # healthy so far
    reason = halt_reason(spec, records, 23.0)
    assert reason is not None and reason.startswith("error rate 100% > 50% over the last 3 s")
    assert halt_reason(ErrorRateHaltSpec(above=0.5, for_s=3, min_operations=50), records, 23.0) is None
    assert halt_reason(spec, records, 2.0) is None  # not for_s into the run yet


def test_latency_halt() -> None:
    records = [op(t / 4, 2000 if t > 20 else 10, f"o{t}") for t in range(60)]
    spec = LatencyHaltSpec(above_ms=1000, for_s=6)
    reason = halt_reason(spec, records, 14.0)  # operations started 8–12 s and answered by 14 s
    assert reason is not None and reason.startswith("p95 2000 ms > 1000 ms over the last 6 s (17 operations)")
    assert halt_reason(spec, records, 6.0) is None


def problem(spec: SteadyStateSpec, records: list[OperationRecord], before_s: float) -> str | None:
    return check_steady_state(spec, records, before_s).problem


def test_steady_state_needs_enough_healthy_operations_before_the_first_fault() -> None:
    healthy = [op(t / 4, 10, f"o{t}") for t in range(20)]
    assert check_steady_state(SteadyStateSpec(), healthy, 6.0) == SteadyStateCheck(6.0, 20, 1.0, 10.0, None)
    assert problem(SteadyStateSpec(min_operations=50), healthy, 6.0) == (
        "20 operations completed before the first fault (need 50)"
    )
    assert problem(SteadyStateSpec(), [], 6.0) == "0 operations completed before the first fault (need 1)"
    assert problem(SteadyStateSpec(min_operations=0), [], 6.0) is None
    sick = healthy + [op(5 + t / 10, 10, f"f{t}", "failed") for t in range(10)]
    assert problem(SteadyStateSpec(min_success=0.9), sick, 7.0) == "success 67% < 90%"
    slow = [op(t / 4, 9000, f"s{t}") for t in range(20)]
    assert problem(SteadyStateSpec(max_p95_ms=5000), slow, 20.0) == "p95 9000 ms > 5000 ms"
    late = [*healthy, op(6.5, 10, "late")]  # finished after the check: not part of the baseline it saw
    assert check_steady_state(SteadyStateSpec(), late, 6.0).operations == 20


def test_a_client_queuing_what_a_healthy_platform_would_issue_fails_the_steady_state() -> None:
    issued = [op(t / 4, 10, f"o{t}") for t in range(10)]
    queued = [op(2.5 + t / 4, 10, f"q{t}", "queued") for t in range(10)]
    assert problem(SteadyStateSpec(), issued + queued, 6.0) is None  # half queued: a slow async answer is fine
    everything = [op(t / 4, 1, f"q{t}", "queued") for t in range(20)]
    assert problem(SteadyStateSpec(), everything, 6.0) == (
        "issued 0% of the orders answered < 50%: the rest were told queued while the platform was healthy"
    )
    assert problem(SteadyStateSpec(min_issued=0), everything, 6.0) is None  # a story may expect a queue at once


def stats(ok: int, server_errors: int = 0) -> dict[str, object]:
    rows = [{"method": "POST", "route": "/api/v1/invoices", "status": 200, "count": ok}]
    return {"requests": [*rows, {"method": "POST", "route": "/api/v1/invoices", "status": 503, "count": server_errors}]}


def test_an_unhealthy_baseline_is_the_clients_fault_only_when_the_environment_was_demonstrably_healthy() -> None:
    failing = [op(t / 2, 10, f"f{t}", "failed", None) for t in range(20)]
    blame = blame_baseline(failing, 10.0, stats(40), 3.0, 5000)
    assert blame.client and "the client under test failed its users" in blame.reason
    assert not blame_baseline(failing, 10.0, None, 3.0, 5000).client  # the admin API did not answer
    assert not blame_baseline(failing, 10.0, stats(40), None, 5000).client  # nothing through Toxiproxy
    busy = blame_baseline(failing, 10.0, stats(40, server_errors=20), 3.0, 5000)
    assert not busy.client and "20 of 60 requests with a server error" in busy.reason
    slow_path = blame_baseline(failing, 10.0, stats(40), 3.0, 4.0)  # an unreachable latency limit
    assert not slow_path.client and "/health through Toxiproxy in 3.0 ms itself" in slow_path.reason


def test_client_defects_before_the_first_fault_are_always_the_clients_fault() -> None:
    broken = [OperationRecord(t, t + 0.01, "issue", "failed", f"d{t}", 0, defect="issue:exception") for t in range(5)]
    blame = blame_baseline(broken, 10.0, None, None, 5000)
    assert blame.client and "5 of 5 answers were client defects (issue:exception)" in blame.reason
