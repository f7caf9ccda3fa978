"""Judging the steps of a capacity run and finding the knee, on hand-built records."""

from __future__ import annotations

from taxstorm.capacity import Criteria, capacity_scenario, judge_steps, knee
from taxstorm.scenario import Scenario
from tests.unit.test_gates_and_windows import op


def steps_of(latencies: list[float], rate: float = 10.0, step_s: float = 5.0, failed_at: int = -1) -> list:  # type: ignore[type-arg]
    records = []
    for index, latency in enumerate(latencies):
        offered = rate * (index + 1)
        count = int(offered * step_s)
        for i in range(count):
            outcome = "failed" if index == failed_at and i % 5 == 0 else "issued"
            records.append(op(index * step_s + i / offered, latency, f"s{index}-{i}", outcome))
    return judge_steps(records, rate, rate, step_s, len(latencies), Criteria(max_latency_ms=500))


def test_the_knee_is_the_last_step_before_the_first_failure() -> None:
    results = steps_of([50, 80, 120, 900, 200])  # the fifth step passes again: noise, not capacity
    assert [r.passed for r in results] == [True, True, True, False, True]
    assert "p95 900 ms > 500 ms" in results[3].why
    found = knee(results)
    assert found is not None and found.offered_per_s == 30


def test_failures_and_undelivered_load_fail_a_step() -> None:
    results = steps_of([50, 50, 50], failed_at=1)
    assert not results[1].passed and "error rate 20.0% > 1.0%" in results[1].why
    assert knee(steps_of([900, 50])) is None
    thin = judge_steps([op(1.5, 10, "only")], 10, 10, 5, 1, Criteria())
    assert not thin[0].passed and "arrived (the client fell behind)" in thin[0].why


def test_the_capacity_scenario_keeps_platform_and_client_and_drops_faults() -> None:
    scenario = Scenario.model_validate(
        {
            "name": "s",
            "duration_s": 60,
            "platform": {"settings": {"capacity": {"issue": {"concurrency": 4}}}},
            "client": {"ref": "naive"},
            "faults": [{"type": "latency", "at_s": 5, "latency_ms": 100}],
            "gates": [{"type": "latency", "max_ms": 250, "percentile": 99}, {"type": "error_rate", "max_rate": 0.05}],
        }
    )
    probe, left_out = capacity_scenario(scenario, 5, 5, 10, 4)
    assert probe.faults == [] and probe.duration_s == 40 and probe.client.ref == "naive" and left_out == []
    assert probe.platform.settings == {"capacity": {"issue": {"concurrency": 4}}}
    assert probe.load.shape is not None and probe.load.shape.rate_at(35) == 20
    assert Criteria.from_scenario(scenario) == Criteria(percentile=99, max_latency_ms=250, max_error_rate=0.05)


def test_gates_on_fault_windows_and_recovery_are_left_out_with_the_reason() -> None:
    """month_end_overload's amplification gate names the 'month-end' fault: capacity drops the fault, so the gate
    goes too (it used to end in a validation traceback)."""
    from taxstorm.scenario import load_scenario
    from tests.conftest import REPO

    story = load_scenario(REPO / "scenarios" / "network_partition.yaml")
    probe, left_out = capacity_scenario(story, 10, 10, 20, 10)
    assert [g.type for g in probe.gates] == ["error_rate", "graceful", "integrity", "drain"]
    assert left_out == ["gates[4] (recovery_time): a capacity run has no fault to recover from"]
    overload = load_scenario(REPO / "scenarios" / "month_end_overload.yaml")
    probe, left_out = capacity_scenario(overload, 10, 10, 20, 10)
    assert left_out == ["gates[0] (amplification on window 'month-end'): a capacity run has no faults"]
    assert probe.faults == [] and "amplification" not in [g.type for g in probe.gates]
