"""``--scale``: the timeline stretches, physical thresholds do not, and bad factors are refused clearly."""

from __future__ import annotations

import pytest

from taxstorm.chaos.registry import default_registry
from taxstorm.errors import InvalidInputError
from taxstorm.gates import DrainGateSpec, LatencyGateSpec
from taxstorm.scaling import fault_spec, scale_scenario, shapes, timeline
from taxstorm.scenario import Scenario


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


def test_every_field_in_seconds_says_whether_it_is_story_time() -> None:
    """The one list --scale reads is the specs themselves: a new fault or shape field in seconds that says neither
    TIMELINE nor PHYSICAL fails here instead of being silently left unscaled."""
    models = {f"fault {kind}": fault_spec(kind) for kind in default_registry().names()}
    models |= {f"shape {kind}": spec for kind, spec in shapes().items()}
    unmarked = [
        f"{where}.{name}"
        for where, model in models.items()
        for name in model.model_fields
        if ((name.endswith("_s") and not name.endswith("_per_s")) or name == "time_scale")
        and name not in timeline(model)
    ]
    assert unmarked == [], "mark each with json_schema_extra=TIMELINE or PHYSICAL (taxstorm.chaos.spec)"
    assert len(shapes()) == 8 and "recovery_surge" in shapes()


def test_marked_fields_scale_and_physical_ones_keep_their_value() -> None:
    base = {"name": "s", "duration_s": 100}
    faults = [
        {"type": "error_injection", "at_s": 10, "for_s": 10, "rate": 0.5, "retry_after_s": 4},
        {"type": "policy_change", "at_s": 20, "for_s": 40, "effective_in_s": 20, "required_fields": ["remarks"]},
        {"type": "container_restart", "at_s": 70, "service": "platform", "grace_s": 6},
    ]
    shape = {"type": "diurnal", "base_per_s": 2, "time_scale": 720}
    story = Scenario.model_validate({**base, "faults": faults, "load": {"shape": shape}})
    short = scale_scenario(story, 0.5)
    errors, policy, restart = short.faults
    assert (errors.at_s, errors.retry_after_s) == (5, 4)  # type: ignore[union-attr]
    assert policy.effective_in_s == 10  # type: ignore[union-attr]
    assert (restart.at_s, restart.grace_s) == (35, 6)  # type: ignore[union-attr]
    assert short.load.shape.time_scale == 1440  # type: ignore[union-attr]  # business time runs twice as fast
