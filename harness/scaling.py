"""Stretch or shrink a scenario in time: ``taxstorm run FILE --scale 0.25`` (a CI smoke) or ``--scale 10``.

The story keeps its shape: the run, the drain, every fault's start, length and notice, and the load shape's
timings scale by the factor (simulated business time runs correspondingly faster or slower). Thresholds
that are physical properties of the client (latency, time-to-recover, error rates) do not scale; the drain
deadline does, because a backlog grows with the outage that filled it.
"""

from __future__ import annotations

from typing import Any

from harness.errors import InvalidInputError
from harness.scenario import Scenario

FAULT_TIMES = ("at_s", "for_s", "notice_ahead_s", "effective_in_s")
SHAPE_TIMES = ("at_s", "for_s", "every_s")
MIN_DRAIN_S = 5.0


def scale_scenario(scenario: Scenario, factor: float) -> Scenario:
    """The same scenario with its timeline multiplied by ``factor``."""
    if not 0.01 <= factor <= 100:
        raise InvalidInputError(f"--scale {factor:g}: use a factor between 0.01 and 100 (0.25 = four times shorter)")
    data = scenario.model_dump(mode="json", exclude_unset=False)
    data["duration_s"] = round(data["duration_s"] * factor, 3)
    data["drain_s"] = max(MIN_DRAIN_S, round(data["drain_s"] * factor, 3)) if data["drain_s"] else 0
    for fault in data["faults"]:
        _scale(fault, FAULT_TIMES, factor)
    for traffic in (data["load"], *(data["load"].get(k) or {} for k in ("erp", "receivers", "returns"))):
        shape = traffic.get("shape") if isinstance(traffic, dict) else None
        if shape:
            _scale(shape, SHAPE_TIMES, factor)
            if "time_scale" in shape:
                shape["time_scale"] = shape["time_scale"] / factor
    for gate in data["gates"]:
        if gate["type"] == "drain":
            gate["within_s"] = round(gate["within_s"] * factor, 3)
    return Scenario.model_validate(data)


def _scale(item: dict[str, Any], keys: tuple[str, ...], factor: float) -> None:
    for key in keys:
        if item.get(key) is not None:
            item[key] = round(item[key] * factor, 3)
