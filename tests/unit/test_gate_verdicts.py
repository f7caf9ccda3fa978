"""Every gate can fail as well as pass: for each gate type a hand-built run that must pass it and, next to it,
the nearest run that must fail it; then the ways a gate used to pass on nothing (no data, a fault-free drain,
a recovery that never happened) and now does not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.gates import (
    GATES,
    AmplificationGateSpec,
    ContractGateSpec,
    DrainGateSpec,
    ErrorRateGateSpec,
    GateResult,
    GateSpec,
    GracefulGateSpec,
    IntegrityGateSpec,
    LatencyGateSpec,
    RecoveryTimeGateSpec,
    Snapshot,
    TimeToInvoiceGateSpec,
    evaluate,
)
from taxstorm.loadtests.defects import Defect, DefectLog
from taxstorm.loadtests.records import OperationRecord
from taxstorm.reconcile import Reconciliation, reconcile
from taxstorm.timeseries import per_second
from taxstorm.windows import build_windows, window_stats
from tests.unit.test_reconcile import CASES as FINDING_CASES

Samples = list[tuple[float, int]]
HEALTHY = [OperationRecord(t / 4, t / 4 + 0.01, "issue", "issued", f"o{t}", 1, f"N{t}") for t in range(120)]  # 30 s


def fault(label: str = "f", applied: float = 10, reverted: float | None = 20, cause: str = "schedule") -> FaultEvent:
    planned = None if cause == "end" else reverted
    return FaultEvent(label, "latency", {}, applied, planned, applied, reverted, revert_cause=cause)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Run:
    """A hand-built run: records, faults and the samples gates read."""

    records: list[OperationRecord]
    faults: tuple[FaultEvent, ...] = ()
    end_s: float = 30.0
    requests: tuple[tuple[float, int], ...] = ((0.0, 0), (10.0, 40), (20.0, 80), (30.0, 120))
    backlog: tuple[tuple[float, int], ...] = ((29.0, 0), (31.0, 0))
    load_end_s: float = 30.0
    reconciliation: Reconciliation | None = None
    defects: tuple[Defect, ...] = ()

    def snapshot(self) -> Snapshot:
        windows = [window_stats(w, self.records) for w in build_windows(list(self.faults), self.end_s)]
        log = DefectLog()
        for defect in self.defects:
            log.add(defect, 1.0)
        rec = self.reconciliation or reconcile({}, [], [])
        series = per_second(self.records, self.end_s)
        return Snapshot(windows, rec, series, self.faults, self.requests, self.backlog, self.load_end_s, log.rows())


def with_latency(ms: float, outcome: str = "issued", start: float = 10, end: float = 20) -> list[OperationRecord]:
    """HEALTHY, with the operations started in [start, end) taking ``ms`` and ending ``outcome``."""
    return [
        OperationRecord(r.start_s, r.start_s + ms / 1000, "issue", outcome, r.order_ref, 1, r.invoice_no)
        if start <= r.start_s < end
        else r
        for r in HEALTHY
    ]


def drained(at: float, start: float, end: float) -> list[OperationRecord]:
    """Drain answers at ``at`` settling (issued) the orders of HEALTHY started in [start, end)."""
    return [
        OperationRecord(at, at + 0.5, "drain", "issued", r.order_ref, 1, f"D-{r.order_ref}")
        for r in HEALTHY
        if start <= r.start_s < end
    ]


def drained_after(delay_s: float, start: float = 10, end: float = 20) -> list[OperationRecord]:
    """Drain answers settling (issued) each order of HEALTHY started in [start, end), ``delay_s`` after it."""
    return [
        OperationRecord(r.start_s + delay_s, r.start_s + delay_s + 0.5, "drain", "issued", r.order_ref, 1, "D")
        for r in HEALTHY
        if start <= r.start_s < end
    ]


def lost_one() -> Reconciliation:
    story = FINDING_CASES["lost"][0]
    return reconcile(story.orders, story.records, story.ledger)


# gate type -> (spec, a run that passes, a run that fails, what the failure says)
GATE_CASES: dict[str, tuple[GateSpec, Run, Run, str]] = {
    "latency": (
        LatencyGateSpec(window="f", max_ms=500),
        Run(with_latency(300), (fault(),)),
        Run(with_latency(900), (fault(),)),
        "p95 900 ms over 500 ms",
    ),
    "time_to_invoice": (
        TimeToInvoiceGateSpec(window="f", max_ms=3000),
        Run(with_latency(10, "queued") + drained_after(1.0), (fault(),)),  # each invoiced 1.5 s after its order
        Run(with_latency(10, "queued") + drained_after(5.0), (fault(),)),  # 5.5 s after
        "ms until the user held the invoice",
    ),
    "error_rate": (
        ErrorRateGateSpec(window="all", max_rate=0.05),
        Run(with_latency(10, "queued"), (fault(),)),  # queued is graceful degradation, not failure
        Run(with_latency(10, "failed"), (fault(),)),
        "40 of 120 operations failed",
    ),
    "graceful": (
        GracefulGateSpec(budget_ms=5000),
        Run(with_latency(4000), (fault(),)),
        Run(with_latency(6000), (fault(),)),
        "the slowest answer took 6000 ms",
    ),
    "recovery_time": (
        RecoveryTimeGateSpec(within_s=3),
        Run(with_latency(900, "queued"), (fault(),)),  # back to baseline at once after 20 s
        Run(with_latency(900, "queued", end=26), (fault(),)),  # still queueing until 26 s
        "recovered 6.0 s after the revert",
    ),
    "amplification": (
        AmplificationGateSpec(window="f", max_ratio=1.5),
        Run(HEALTHY, (fault(),)),
        Run(HEALTHY, (fault(),), requests=((0.0, 0), (10.0, 40), (20.0, 200), (30.0, 240))),
        "160 submissions for 40 user operations",
    ),
    "drain": (
        DrainGateSpec(within_s=5),
        Run(HEALTHY, (fault(),), backlog=((20.0, 12), (24.0, 3), (27.0, 0), (31.0, 0))),
        Run(HEALTHY, (fault(),), backlog=((20.0, 12), (27.0, 3), (31.0, 3)), load_end_s=26.0),
        "3 orders still owed at the end",
    ),
    "integrity": (
        IntegrityGateSpec(),
        Run(HEALTHY),
        Run(HEALTHY, reconciliation=lost_one()),
        "1 lost (A)",
    ),
    "contract": (
        ContractGateSpec(),
        Run(HEALTHY),
        Run(HEALTHY, defects=(Defect("issue", "unknown_status", "done", "status 'done' is not one of ..."),)),
        "1× issue() unknown_status (done: status 'done'",
    ),
}


def test_every_gate_has_a_passing_and_a_failing_run() -> None:
    assert sorted(GATE_CASES) == sorted(GATES)


def judge(spec: GateSpec, run: Run) -> list[GateResult]:
    return evaluate([spec], run.snapshot())


@pytest.mark.parametrize("kind", sorted(GATE_CASES))
def test_the_gate_passes_the_healthy_run(kind: str) -> None:
    spec, good, _, _ = GATE_CASES[kind]
    results = judge(spec, good)
    assert results and all(r.passed and r.judged and r.kind == kind for r in results), results


@pytest.mark.parametrize("kind", sorted(GATE_CASES))
def test_the_gate_fails_the_broken_run_and_says_why(kind: str) -> None:
    spec, _, bad, why = GATE_CASES[kind]
    results = judge(spec, bad)
    assert any(not r.passed and r.judged for r in results), results
    assert any(why in r.message for r in results), [r.message for r in results]


WINDOWED: dict[str, Callable[[bool], GateSpec]] = {
    "time_to_invoice": lambda empty: TimeToInvoiceGateSpec(window="f", max_ms=500, allow_empty=empty),
    "latency": lambda empty: LatencyGateSpec(window="f", max_ms=500, allow_empty=empty),
    "error_rate": lambda empty: ErrorRateGateSpec(window="f", max_rate=0.05, allow_empty=empty),
    "graceful": lambda empty: GracefulGateSpec(window="f", budget_ms=5000, allow_empty=empty),
    "amplification": lambda empty: AmplificationGateSpec(window="f", max_ratio=1.5, allow_empty=empty),
}


@pytest.mark.parametrize("kind", sorted(WINDOWED))
def test_a_window_without_operations_fails_with_no_data_unless_the_scenario_allows_it(kind: str) -> None:
    idle = Run([r for r in HEALTHY if not (9 <= r.start_s < 21)], (fault(),))
    (failed,) = judge(WINDOWED[kind](False), idle)
    assert not failed.passed and failed.judged and failed.message == "no data: no operations in f"
    (skipped,) = judge(WINDOWED[kind](True), idle)
    assert skipped.passed and not skipped.judged and skipped.message.startswith("not judged: no operations in f")
    missing = evaluate([WINDOWED[kind](False).model_copy(update={"window": "recovery"})], Run(HEALTHY).snapshot())
    assert not missing[0].passed and "never happened" in missing[0].message


def test_amplification_without_platform_counters_is_no_data_not_a_pass() -> None:
    (result,) = judge(AmplificationGateSpec(window="all", max_ratio=1.5), Run(HEALTHY, requests=()))
    assert not result.passed and result.message.startswith("no data")


def test_the_drain_of_a_fault_free_run_is_measured_from_the_end_of_the_load_not_from_zero() -> None:
    """peak_season_filing used to pass a client that queued everything: 'empty 0.0 s after' t = 0."""
    never = Run(HEALTHY, backlog=((0.0, 0), (10.0, 40), (20.0, 80), (30.0, 120), (45.0, 120)))
    (result,) = judge(DrainGateSpec(within_s=60), never)
    assert not result.passed and "120 orders still owed at the end" in result.message
    caught_up = Run(HEALTHY, backlog=((0.0, 0), (30.0, 120), (38.0, 0)))
    (result,) = judge(DrainGateSpec(within_s=10), caught_up)
    assert result.passed and result.observed == 8.0 and "after the load ended" in result.message
    (result,) = judge(DrainGateSpec(within_s=10), Run(HEALTHY, backlog=((10.0, 0),)))
    assert not result.passed and result.message.startswith("no data")


def test_the_drain_is_measured_from_the_later_of_the_end_of_load_and_the_last_revert() -> None:
    late = Run(HEALTHY, (fault(applied=10, reverted=28),), backlog=((28.0, 5), (30.0, 2), (33.0, 0)), load_end_s=25.0)
    (result,) = judge(DrainGateSpec(within_s=10), late)
    assert result.observed == 5.0 and "after the last fault cleared" in result.message


def test_a_fault_lasting_to_the_end_has_no_recovery_to_judge() -> None:
    to_end = Run(with_latency(900, "queued", end=30), (fault(reverted=29.9, cause="end"),))
    (result,) = judge(RecoveryTimeGateSpec(within_s=5), to_end)
    assert result.passed and not result.judged and "lasted to the run's end" in result.message
    assert "recovery:f" not in {w.window.name for w in to_end.snapshot().windows}
    never_applied = FaultEvent("g", "latency", {}, 40, 50)
    (result,) = judge(RecoveryTimeGateSpec(fault="g", within_s=5), Run(HEALTHY, (never_applied,)))
    assert not result.judged and "never applied" in result.message


def test_graceful_fails_on_abandoned_calls_and_defects_even_within_the_budget() -> None:
    abandoned = [*HEALTHY[:10], OperationRecord(3, 8, "issue", "failed", "x", 1, defect="issue:no_answer")]
    (result,) = judge(GracefulGateSpec(budget_ms=5000), Run(abandoned))
    assert not result.passed and "1 calls never answered within the answer budget" in result.message
    odd = [*HEALTHY[:10], OperationRecord(3, 3.01, "issue", "failed", "x", 1, defect="issue:bad_return")]
    (result,) = judge(GracefulGateSpec(budget_ms=5000), Run(odd))
    assert not result.passed and "1 answers broke the client protocol" in result.message


def test_not_judged_results_neither_pass_nor_hide_a_failure() -> None:
    results = evaluate(
        [RecoveryTimeGateSpec(within_s=5), IntegrityGateSpec()],
        Run(HEALTHY, (fault(reverted=29.9, cause="end"),), reconciliation=lost_one()).snapshot(),
    )
    assert [(r.kind, r.judged, r.passed) for r in results] == [
        ("recovery_time", False, True),
        ("integrity", True, False),
    ]


def test_time_to_invoice_counts_queued_orders_until_their_drain_and_latency_only_until_the_answer() -> None:
    """On an async platform a good client answers "queued" at once: latency judges that answer, time to invoice
    judges how long the user waited for the number."""
    run = Run(with_latency(10, "queued") + drained(at=25.0, start=10, end=20), (fault(),))
    (latency,) = judge(LatencyGateSpec(window="f", max_ms=100), run)
    assert latency.passed and latency.observed == 10.0
    (invoice,) = judge(TimeToInvoiceGateSpec(window="f", max_ms=10_000), run)
    assert not invoice.passed and invoice.observed == pytest.approx(15_000.0) and "40 of 40 orders" in invoice.message
    never = Run(with_latency(10, "queued"), (fault(),))
    (none,) = judge(TimeToInvoiceGateSpec(window="f", max_ms=10_000), never)
    assert not none.passed and none.message == "no data: no operations in f"


def test_a_recovery_is_looked_for_only_until_the_next_fault() -> None:
    """Healthy seconds after the *next* fault are that fault's recovery, not this one's (an outsider saw 8 s
    charged to a fault whose recovery the next fault had cut short)."""
    first, second = fault("a", applied=10, reverted=20), fault("b", applied=22, reverted=26)
    slow_until_next = Run(with_latency(900, "queued", start=10, end=26), (first, second), end_s=60)
    results = {r.window: r for r in judge(RecoveryTimeGateSpec(within_s=20), slow_until_next)}
    assert (
        not results["recovery:a"].judged
        and "the next fault came 2.0 s after the revert" in results["recovery:a"].message
    )
    assert results["recovery:b"].judged and results["recovery:b"].observed == 0.0
    long_gap = (fault("a", applied=5, reverted=8), fault("b", applied=26, reverted=28))
    never = Run(with_latency(900, "queued", start=5, end=28), long_gap, end_s=60)
    results = {r.window: r for r in judge(RecoveryTimeGateSpec(within_s=10), never)}
    assert not results["recovery:a"].passed and "not recovered before the next fault" in results["recovery:a"].message


def test_an_error_rate_can_count_rejections_where_every_order_is_valid() -> None:
    """At a month rollover every order is valid: one bounced for want of quota is a user failed, not a typo."""
    bounced = Run(with_latency(10, "rejected"), (fault(),))
    (lenient,) = judge(ErrorRateGateSpec(max_rate=0.01), bounced)
    assert lenient.passed  # rejected is the user's business error by default
    (strict,) = judge(ErrorRateGateSpec(max_rate=0.01, outcomes=["failed", "rejected"]), bounced)
    assert not strict.passed and "40 of 120 operations failed or rejected" in strict.message
    assert strict.name == "error_rate <= 1.00% (failed+rejected)"
