"""``--scale``: the timeline stretches, physical thresholds do not, and bad factors are refused clearly."""

from __future__ import annotations

import pytest

from taxstorm.errors import InvalidInputError
from taxstorm.scaling import scale_scenario
from taxstorm.scenario import DrainGateSpec, LatencyGateSpec, Scenario


def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "s",
            "duration_s": 100,
            "drain_s": 40,
            "load": {"users": 2, "shape": {"type": "spike", "base_per_s": 4, "peak_per_s": 8, "at_s": 20, "for_s": 10}},
            "faults": [
                {"type": "latency", "id": "slow", "at_s": 30, "for_s": 20, "latency_ms": 500},
                {"type": "maintenance", "id": "m", "at_s": 60, "for_s": 30, "notice_ahead_s": 10},
            ],
            "gates": [{"type": "latency", "max_ms": 300}, {"type": "drain", "within_s": 60}],
        }
    )


def test_the_timeline_scales_and_physical_thresholds_do_not() -> None:
    short = scale_scenario(scenario(), 0.25)
    assert short.duration_s == 25 and short.drain_s == 15  # scaled, but not below 15 s (a breaker's reset)
    assert scale_scenario(scenario().model_copy(update={"drain_s": 8}), 0.25).drain_s == 8  # nor above the original
    slow, maintenance = short.faults
    assert (slow.at_s, slow.for_s) == (7.5, 5) and (maintenance.at_s, maintenance.for_s) == (15, 7.5)
    assert maintenance.notice_ahead_s == 2.5  # type: ignore[union-attr]
    shape = short.load.shape
    assert shape is not None and (shape.at_s, shape.for_s) == (5, 2.5)  # type: ignore[union-attr]
    latency, drain = short.gates
    assert isinstance(latency, LatencyGateSpec) and latency.max_ms == 300  # a latency is a latency
    assert isinstance(drain, DrainGateSpec) and drain.within_s == 30  # scaled, but not below 30 s
    assert scale_scenario(scenario(), 10).gates[1].within_s == 600  # type: ignore[union-attr]
    assert "rate_per_s" not in short.load.model_fields_set  # a shape still stands alone


def test_a_bad_factor_is_refused_by_name() -> None:
    with pytest.raises(InvalidInputError, match=r"--scale 0: use a factor between 0\.01 and 100"):
        scale_scenario(scenario(), 0)
