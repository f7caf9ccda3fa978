"""Stretch or shrink a scenario in time: ``taxstorm run FILE --scale 0.25`` (a CI smoke) or ``--scale 10``.

The story keeps its shape: the run, the drain, every fault's start, length and notice, and the load shape's
timings scale by the factor (simulated business time runs correspondingly faster or slower). Thresholds
that are physical properties of the client (latency, time-to-recover, error rates) do not scale; the drain
phase and the drain deadline do, because a backlog grows with the outage that filled it — but never below
``MIN_DRAIN_S`` and ``MIN_DRAIN_GATE_S`` (or the originals, if smaller): reconnecting, a circuit breaker's reset
and the drain cadence do not shrink, and an order still queued when the drain phase ends is *never issued*.
A drain phase ends as soon as every client's backlog is empty, so a longer one costs a healthy client nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from taxstorm.chaos.registry import default_registry
from taxstorm.errors import InvalidInputError
from taxstorm.loadtests.shapes import ShapeSpec
from taxstorm.scenario import ClockSpec, Scenario

MIN_DRAIN_S = 15.0
MIN_DRAIN_GATE_S = 30.0
MIN_CHORES_S = 2.0


def scale_scenario(scenario: Scenario, factor: float) -> Scenario:
    """The same scenario with its timeline multiplied by ``factor``."""
    if not 0.01 <= factor <= 100:
        raise InvalidInputError(f"--scale {factor:g}: use a factor between 0.01 and 100 (0.25 = four times shorter)")
    data = scenario.model_dump(mode="json", exclude_unset=True)  # defaults stay defaults (rate_per_s vs shape)
    data["duration_s"] = round(scenario.duration_s * factor, 3)
    data["drain_s"] = max(min(MIN_DRAIN_S, scenario.drain_s), round(scenario.drain_s * factor, 3))
    for fault in data.get("faults", []):
        _scale(fault, fault_spec(fault["type"]), factor)
    if data.get("clock"):
        _scale(data["clock"], ClockSpec, factor)
    chores = data.get("load", {}).get("housekeeping")
    if chores:  # the back office's rounds are story time too (never faster than every MIN_CHORES_S)
        chores["every_s"] = max(MIN_CHORES_S, round(scenario.load.housekeeping.every_s * factor, 3))  # type: ignore[union-attr]
    load = data.get("load", {})
    for traffic in (load, *(load.get(k) or {} for k in ("erp", "receivers", "returns"))):
        shape = traffic.get("shape") if isinstance(traffic, dict) else None
        if shape:
            _scale(shape, shape_spec(shape["type"]), factor)
    if factor > 1:  # a longer story needs a longer hard limit
        limits = data.setdefault("limits", {})
        limits["max_run_s"] = min(86_400.0, round(scenario.limits.max_run_s * factor, 3))
    for gate in data.get("gates", []):
        if gate["type"] == "drain":
            floor = min(gate["within_s"], MIN_DRAIN_GATE_S)
            gate["within_s"] = max(floor, round(gate["within_s"] * factor, 3))
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:  # e.g. a maintenance notice that no longer fits its shortened window
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise InvalidInputError(f"--scale {factor:g} makes the scenario invalid: {problems}") from None


def timeline(model: type[BaseModel]) -> dict[str, bool | str]:
    """Each field of ``model`` with its ``x-timeline`` mark (taxstorm.chaos.spec.TIMELINE and friends)."""
    marks: dict[str, bool | str] = {}
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and "x-timeline" in extra:
            mark = extra["x-timeline"]
            assert isinstance(mark, bool | str)
            marks[name] = mark
    return marks


@cache
def fault_spec(kind: str) -> type[BaseModel]:
    """The spec class of a registered fault (looked up once per kind: building the registry imports every family)."""
    return default_registry().get(kind).spec_type


@cache
def shapes() -> dict[str, type[BaseModel]]:
    """Every load shape by its ``type`` (the members of the scenario's shape union)."""
    members = get_args(get_args(ShapeSpec)[0])
    return {member.model_fields["type"].default: member for member in members}


def shape_spec(kind: str) -> type[BaseModel]:
    return shapes()[kind]


def _scale(item: dict[str, Any], model: type[BaseModel], factor: float) -> None:
    """Story-time fields stretch with the run; ``inverse`` ones (a rate of story time) shrink."""
    for key, mark in timeline(model).items():
        if item.get(key) is None or mark is False:
            continue
        item[key] = item[key] / factor if mark == "inverse" else round(item[key] * factor, 3)
