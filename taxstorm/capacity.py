"""``taxstorm capacity``: find the knee — the highest offered rate the platform and client under test still
serve within the scenario's latency and error gates.

One run, no faults: the offered rate steps up (``start``, ``start + step``, …) every ``step_s`` seconds on the
scenario's own platform and client. Each step is judged on the operations that *started* in it (the first
second of a step is left out: the previous step's tail still drains). The knee is the last step of the
first unbroken run of passing steps; a step that passes after a failure does not move it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from taxstorm.gates import ErrorRateGateSpec, LatencyGateSpec
from taxstorm.loadtests.records import OperationRecord
from taxstorm.loadtests.shapes import Step
from taxstorm.scenario import Scenario
from taxstorm.windows import percentile

SETTLE_S = 1.0  # the first second of a step belongs to the transition


@dataclass(frozen=True)
class Criteria:
    """What a step must meet: pNN latency, failed share, and the share of its orders actually issued."""

    percentile: float = 95.0
    max_latency_ms: float = 1000.0
    max_error_rate: float = 0.01
    min_issued_share: float = 0.95

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Criteria:
        """The scenario's strictest latency and error-rate gates (whatever window they name), else defaults."""
        latency = [g for g in scenario.gates if isinstance(g, LatencyGateSpec)]
        errors = [g for g in scenario.gates if isinstance(g, ErrorRateGateSpec)]
        strictest = min(latency, key=lambda g: g.max_ms, default=None)
        return cls(
            percentile=strictest.percentile if strictest else 95.0,
            max_latency_ms=strictest.max_ms if strictest else 1000.0,
            max_error_rate=min((g.max_rate for g in errors), default=0.01),
        )


@dataclass(frozen=True)
class StepResult:
    """One offered rate and what users got at it."""

    offered_per_s: float
    operations: int
    issued_per_s: float
    latency_ms: float
    error_rate: float
    issued_share: float
    passed: bool
    why: str


FAULT_FREE_WINDOWS = ("all", "baseline")  # the windows a run without faults still has


def capacity_scenario(
    scenario: Scenario, start_per_s: float, step_per_s: float, step_s: float, steps: int
) -> tuple[Scenario, list[str]]:
    """The scenario's platform and client under a stepped load and no faults (capacity of the healthy system),
    and the gates left out with why: a gate on a fault's window, or on recovery, has nothing to judge there."""
    data = scenario.model_dump(mode="json", exclude_unset=True)
    load = data.setdefault("load", {})
    load.pop("rate_per_s", None)
    top = start_per_s + step_per_s * (steps - 1)
    load["shape"] = Step(start_per_s=start_per_s, step_per_s=step_per_s, every_s=step_s, max_per_s=top).model_dump()
    data.update(faults=[], halt=[], duration_s=step_s * steps, name=f"{scenario.name}-capacity")
    data["steady_state"] = {"enabled": False}
    kept, left_out = [], []
    for index, gate in enumerate(scenario.gates):
        window = getattr(gate, "window", "all")
        if gate.type == "recovery_time":
            left_out.append(f"gates[{index}] ({gate.type}): a capacity run has no fault to recover from")
        elif window not in FAULT_FREE_WINDOWS:
            left_out.append(f"gates[{index}] ({gate.type} on window {window!r}): a capacity run has no faults")
        else:
            kept.append(gate.model_dump(mode="json"))
    data["gates"] = kept
    return Scenario.model_validate(data), left_out


def judge_steps(
    records: Sequence[OperationRecord],
    start_per_s: float,
    step_per_s: float,
    step_s: float,
    steps: int,
    criteria: Criteria,
) -> list[StepResult]:
    """Each step's latency, failures and issued share against ``criteria`` (pure)."""
    results = []
    for index in range(steps):
        begin, end = index * step_s + min(SETTLE_S, step_s / 4), (index + 1) * step_s
        offered = start_per_s + step_per_s * index
        inside = [r for r in records if r.operation == "issue" and begin <= r.start_s < end]
        span = end - begin
        issued = sum(1 for r in inside if r.outcome == "issued")
        failed = sum(1 for r in inside if r.outcome == "failed")
        latency = percentile(sorted(r.latency_ms for r in inside), criteria.percentile)
        error_rate = failed / len(inside) if inside else 0.0
        share = issued / len(inside) if inside else 0.0  # of the arrivals (not the nominal rate: Poisson noise)
        problems = []
        if not inside:
            problems.append("no operation completed")
        if latency > criteria.max_latency_ms:
            problems.append(f"p{criteria.percentile:g} {latency:.0f} ms > {criteria.max_latency_ms:g} ms")
        if error_rate > criteria.max_error_rate:
            problems.append(f"error rate {error_rate:.1%} > {criteria.max_error_rate:.1%}")
        expected = offered * span
        if len(inside) < expected - 3 * math.sqrt(expected):  # beyond Poisson noise (3 sd): load not delivered
            problems.append(f"{len(inside)} of ~{expected:.0f} offered orders arrived (the client fell behind)")
        if share < criteria.min_issued_share:
            problems.append(f"issued {share:.0%} of the orders (< {criteria.min_issued_share:.0%}; the rest queued)")
        results.append(
            StepResult(
                offered_per_s=offered,
                operations=len(inside),
                issued_per_s=round(issued / span, 2),
                latency_ms=round(latency, 1),
                error_rate=round(error_rate, 4),
                issued_share=round(share, 3),
                passed=not problems,
                why="; ".join(problems) or "within every criterion",
            )
        )
    return results


def knee(results: Sequence[StepResult]) -> StepResult | None:
    """The last step of the first unbroken run of passing steps (None when the first step already fails)."""
    best = None
    for result in results:
        if not result.passed:
            break
        best = result
    return best


def capacity_report(
    scenario: Scenario, criteria: Criteria, results: Sequence[StepResult], run_id: str
) -> dict[str, Any]:
    """The JSON document of a capacity run."""
    found = knee(results)
    return {
        "kind": "taxstorm.capacity",
        "schema_version": 1,
        "scenario": scenario.name,
        "run_id": run_id,
        "criteria": asdict(criteria),
        "steps": [asdict(r) for r in results],
        "knee_per_s": found.offered_per_s if found else None,
    }
