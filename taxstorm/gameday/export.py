"""The operators' session as a YAML scenario CI can replay: the base scenario with their fault timeline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.scenario import WINDOW_KINDS  # gates naming other windows name faults

RECOVERY_S = 15.0  # the replay keeps running this long after the last fault clears
MAX_NAME = 64


@dataclass(frozen=True)
class Note:
    """An operator's note on the run's timeline (seconds since the run started)."""

    at_s: float
    text: str


def _comment(text: str) -> list[str]:
    """Text made safe for a YAML comment: one line per line, printable characters only."""
    lines = text.splitlines() or [""]
    return ["".join(c if c.isprintable() else " " for c in line).rstrip() for line in lines]


def _without_shadowed_rates(load: dict[str, Any]) -> dict[str, Any]:
    """A full ``model_dump`` carries ``rate_per_s`` beside a ``shape``, which a scenario refuses: drop it."""

    def clean(traffic: Any) -> Any:
        if isinstance(traffic, dict) and traffic.get("shape") is not None:
            return {k: v for k, v in traffic.items() if k != "rate_per_s"}
        return traffic

    cleaned = clean(load)
    return {k: clean(v) if k in ("erp", "receivers", "returns") else v for k, v in cleaned.items()}


def _steps(events: Sequence[FaultEvent], end_s: float) -> list[dict[str, Any]]:
    steps = []
    for event in sorted((e for e in events if e.applied_s is not None), key=lambda e: e.applied_s or 0.0):
        assert event.applied_s is not None
        at_s = round(event.applied_s, 1)
        until = event.reverted_s if event.reverted_s is not None else max(end_s, event.applied_s)
        for_s = max(0.1, round(until - at_s, 1))
        params = {k: v for k, v in event.params.items() if k not in ("type", "id", "at_s", "for_s")}
        steps.append({"type": event.type, "id": event.label, "at_s": at_s, "for_s": for_s, **params})
    return steps


def names_only(window: str, fault: str, labels: set[str]) -> bool:
    """Whether a gate's window (or recovery fault) exists in a session whose faults are ``labels``."""
    return (window in WINDOW_KINDS or window in labels) and (fault == "*" or fault in labels)


def _kept_gates(gates: list[dict[str, Any]], labels: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Gates whose window (or recovery fault) still exists in the replay, and a line for each dropped one."""
    kept, dropped = [], []
    for gate in gates:
        window = gate.get("window", "all")
        fault = gate.get("fault", "*")
        if names_only(window, fault, labels):
            kept.append(gate)
        else:
            named = window if window not in WINDOW_KINDS and window not in labels else fault
            dropped.append(f"{gate.get('type')} gate on {named!r} (no such fault in this session)")
    return kept, dropped


def _timeline(events: Sequence[FaultEvent], notes: Sequence[Note]) -> list[str]:
    entries: list[tuple[float, str]] = []
    for event in events:
        if event.applied_s is None:
            entries.append((event.planned_apply_s, f"{event.label} ({event.type}) not applied: {event.error}"))
            continue
        entries.append((event.applied_s, f"applied {event.label} ({event.type})"))
        if event.reverted_s is not None:
            entries.append((event.reverted_s, f"reverted {event.label}"))
    for note in notes:
        text = _comment(note.text)
        entries.append((note.at_s, "note: " + text[0]))
        entries.extend((note.at_s, "      " + line) for line in text[1:])
    return [f"#  {at_s:7.1f} s  {text}" for at_s, text in sorted(entries, key=lambda entry: entry[0])]


def export_scenario(
    base: dict[str, Any],
    events: Sequence[FaultEvent],
    notes: Sequence[Note],
    duration_s: float,
    recovery_s: float = RECOVERY_S,
) -> str:
    """``base`` (``Scenario.model_dump(mode="json")``, with or without ``exclude_unset``) with ``faults``
    replaced by the operators' timeline.

    Still-active faults last until ``duration_s`` (the export time); the replay runs at least ``recovery_s``
    past the last fault. Gates that name a fault of the base scenario the session did not apply are dropped.
    The notes and the session's timeline become YAML comments.
    """
    steps = _steps(events, duration_s)
    last_end = max((step["at_s"] + step["for_s"] for step in steps), default=0.0)
    length = float(math.ceil(max(duration_s, last_end + recovery_s, 1.0)))
    gates, dropped = _kept_gates(list(base.get("gates") or []), {step["id"] for step in steps})
    name = str(base.get("name", "gameday"))
    scenario = {
        **base,
        "name": (name[: MAX_NAME - len("-gameday")] + "-gameday") if not name.endswith("-gameday") else name,
        "description": f"replay of a game day on {name}: operator faults {len(steps)}, notes {len(notes)}",
        "duration_s": length,
        "faults": steps,
    }
    if "gates" in base:  # absent (an exclude_unset dump): the default gates stay
        scenario["gates"] = gates
    if isinstance(base.get("load"), dict):
        scenario["load"] = _without_shadowed_rates(base["load"])
    limits = dict(base.get("limits", {}))
    drain_s = float(base.get("drain_s", 15))
    limits["max_run_s"] = max(float(limits.get("max_run_s", 600)), length + drain_s)
    scenario["limits"] = limits
    header = [
        f"# Game day session on scenario {name!r}, exported by taxstorm; replay it with: taxstorm run FILE",
        "# Timeline (seconds since the run started):",
        *(_timeline(events, notes) or ["#   (nothing happened)"]),
        *(f"# dropped: {line}" for line in dropped),
    ]
    body = yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True)
    return "\n".join(header) + "\n" + body
