"""Game day control on a fake clock with fake faults: apply, revert, expiry, halt, notes, errors, export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from taxstorm.chaos.network import DownSpec, LatencySpec
from taxstorm.chaos.platform import ErrorInjectionSpec
from taxstorm.chaos.registry import Fault, FaultContext, FaultRegistry, default_registry
from taxstorm.chaos.spec import FaultSpec
from taxstorm.chaos.timeline import FaultEvent
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.gameday.control import (
    ChaosControl,
    FaultApplyError,
    HaltedError,
    OperatorInputError,
    RevertError,
    UnknownLabelError,
    export_scenario,
)
from taxstorm.scenario import load_scenario
from tests.conftest import REPO


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """What the fake faults did: labels currently applied, and which types refuse to apply or revert."""

    on: list[str] = field(default_factory=list)
    broken_apply: set[str] = field(default_factory=set)
    broken_revert: set[str] = field(default_factory=set)


def fake(spec: type[FaultSpec], world: World) -> type[Fault[Any]]:
    """A fault with a real spec (so exports are real scenarios) that only touches ``world``."""
    name = str(spec.model_fields["type"].default)

    class FakeFault(Fault[Any]):
        spec_type = spec
        summary = f"fake {name}"

        def apply(self) -> None:
            world.on.append(self.label)  # half-applied before it fails, like a real fault can be
            if name in world.broken_apply:
                raise RuntimeError("toxiproxy said no")

        def revert(self) -> None:
            if name in world.broken_revert:
                raise RuntimeError("toxiproxy unreachable")
            if self.label in world.on:
                world.on.remove(self.label)

    return FakeFault


@dataclass
class Rig:
    control: ChaosControl
    clock: FakeClock
    world: World
    seen: list[tuple[str, str | None]]


@pytest.fixture
def rig() -> Rig:
    world, clock = World(), FakeClock()
    registry = FaultRegistry()
    for spec in (LatencySpec, DownSpec, ErrorInjectionSpec):
        registry.register(fake(spec, world))
    seen: list[tuple[str, str | None]] = []
    context = FaultContext("run", ToxiproxyAPI("http://127.0.0.1:9"), "platform")
    control = ChaosControl(
        registry, context, clock, lambda kind, event: seen.append((kind, event.label if event else None))
    )
    return Rig(control, clock, world, seen)


def test_catalogue_lists_every_fault_with_form_fields(rig: Rig) -> None:
    faults = {info.type: info for info in rig.control.catalogue()}
    assert sorted(faults) == ["down", "error_injection", "latency"]
    latency = faults["latency"]
    assert latency.summary == "fake latency" and latency.family == "test_gameday_control"
    params = {p.name: p for p in latency.params}
    assert list(params) == ["stream", "toxicity", "latency_ms", "jitter_ms"]  # no type, at_s, for_s or id
    assert params["latency_ms"].required and params["latency_ms"].kind == "integer"
    assert params["latency_ms"].maximum == 600_000 and "≤ 600000" in params["latency_ms"].constraint
    assert params["stream"].kind == "choice" and params["stream"].choices == ("upstream", "downstream")
    assert params["stream"].default == "downstream" and not params["stream"].required
    assert params["toxicity"].kind == "number" and params["toxicity"].default == 1.0
    injection = {p.name: p for p in faults["error_injection"].params}
    assert injection["families"].kind == "choices" and injection["families"].nullable
    assert "issue" in (injection["families"].choices or ())
    assert "matches" in injection["code"].constraint
    assert faults["down"].params == ()


def test_faults_the_run_cannot_serve_are_marked_and_refused() -> None:
    context = FaultContext("run", ToxiproxyAPI("http://127.0.0.1:9"), "platform")  # no platform, process, docker
    control = ChaosControl(default_registry(), context, FakeClock())
    faults = {info.type: info for info in control.catalogue()}
    assert faults["latency"].unavailable == "" and faults["down"].family == "network"
    assert faults["error_injection"].unavailable == "needs the platform's admin API, and this run has none"
    assert "local mode" in faults["crash"].unavailable and "Docker" in faults["container_kill"].unavailable
    with pytest.raises(OperatorInputError, match="type: error_injection needs the platform's admin API") as caught:
        control.apply("error_injection", {"rate": 0.5})
    assert caught.value.field == "type" and control.events == []


def test_apply_revert_and_events(rig: Rig) -> None:
    rig.clock.now = 5.0
    event = rig.control.apply("latency", {"latency_ms": "300"}, for_s=None)  # form values are coerced
    assert event.label == "latency-1" and event.applied_s == 5.0 and event.active
    assert event.params["latency_ms"] == 300 and event.params["stream"] == "downstream"
    assert rig.world.on == ["latency-1"]
    [active] = rig.control.active()
    assert (active.label, active.type, active.applied_s, active.left_s) == ("latency-1", "latency", 5.0, None)
    rig.clock.now = 9.5
    reverted = rig.control.revert("latency-1")
    assert reverted.reverted_s == 9.5 and not reverted.active
    assert rig.world.on == [] and rig.control.active() == []
    assert rig.control.revert("latency-1") is reverted  # idempotent
    assert rig.seen == [("applied", "latency-1"), ("reverted", "latency-1")]
    with pytest.raises(UnknownLabelError, match="no fault 'latency-9'"):
        rig.control.revert("latency-9")


def test_scripted_steps_keep_their_ids_and_operator_labels_avoid_them(rig: Rig) -> None:
    """``--play-faults`` applies a scenario step under its id; an operator's numbering never reuses a taken label."""
    scripted = rig.control.apply("latency", {"latency_ms": 100}, for_s=3, label="latency-2")
    assert scripted.label == "latency-2" and rig.world.on == ["latency-2"]
    assert rig.control.apply("latency", {"latency_ms": 200}).label == "latency-3"  # not a second latency-2
    with pytest.raises(OperatorInputError, match="'latency-2' already names a fault"):
        rig.control.apply("down", {}, label="latency-2")
    assert rig.world.on == ["latency-2", "latency-3"]  # the refused one touched nothing


def test_tick_reverts_expired_faults_only(rig: Rig) -> None:
    rig.control.apply("latency", {"latency_ms": 100}, for_s=10)
    rig.clock.now = 2.0
    rig.control.apply("down", {}, for_s=3)
    rig.control.apply("latency", {"latency_ms": 50}, for_s=None)
    rig.clock.now = 4.9
    assert rig.control.tick() == [] and len(rig.control.active()) == 3
    assert [a.left_s for a in rig.control.active()] == pytest.approx([5.1, 0.1, None])
    rig.clock.now = 5.0
    rig.control.tick()
    assert rig.world.on == ["latency-1", "latency-3"]
    rig.clock.now = 10.0
    rig.control.tick()
    assert rig.world.on == ["latency-3"]
    assert [e.reverted_s for e in rig.control.events] == [10.0, 5.0, None]


def test_halt_reverts_newest_first_and_refuses_applies(rig: Rig) -> None:
    rig.control.apply("latency", {"latency_ms": 100})
    rig.control.apply("down", {})
    rig.seen.clear()
    rig.clock.now = 7.0
    assert rig.control.halt("  error rate 80 %  ") == []
    reverted = [label for kind, label in rig.seen if kind == "reverted" and label]
    assert reverted == ["down-2", "latency-1"] and rig.world.on == []
    assert rig.seen[-1] == ("halted", None)
    assert rig.control.halted == "error rate 80 %" and rig.control.halted_s == 7.0
    assert rig.control.notes[-1].text == "HALT: error rate 80 %"
    with pytest.raises(HaltedError, match="halted"):
        rig.control.apply("down", {})
    assert rig.control.halt("again") == [] and rig.control.halted == "error rate 80 %"
    assert len(rig.control.notes) == 1


def test_revert_all_reports_what_would_not_revert_and_retries(rig: Rig) -> None:
    rig.control.apply("latency", {"latency_ms": 100})
    rig.control.apply("down", {})
    rig.world.broken_revert.add("down")
    errors = rig.control.revert_all()
    assert errors == ["down-2: revert failed: toxiproxy unreachable"]
    assert rig.world.on == ["down-2"] and [a.label for a in rig.control.active()] == ["down-2"]
    with pytest.raises(RevertError, match="down-2 could not be reverted"):
        rig.control.revert("down-2")
    rig.world.broken_revert.clear()
    assert rig.control.revert_all() == [] and rig.world.on == []


def test_a_fault_that_fails_to_apply_is_recorded_and_cleaned_up(rig: Rig) -> None:
    rig.world.broken_apply.add("down")
    with pytest.raises(FaultApplyError, match="down-1 could not be applied: toxiproxy said no"):
        rig.control.apply("down", {})
    [event] = rig.control.events
    assert event.error == "apply failed: toxiproxy said no" and event.applied_s is None
    assert rig.world.on == [] and rig.control.active() == []  # the half-applied fault was reverted
    assert rig.seen == [("apply_failed", "down-1")]


def test_notes(rig: Rig) -> None:
    rig.clock.now = 12.34567
    note = rig.control.note("  p95 jumped to 900 ms\n")
    assert (note.at_s, note.text) == (12.346, "p95 jumped to 900 ms")
    assert rig.control.notes == [note] and rig.seen == [("note", None)]
    with pytest.raises(OperatorInputError, match="text: the note is empty") as caught:
        rig.control.note("   ")
    assert caught.value.field == "text"


@pytest.mark.parametrize(
    ("fault_type", "params", "for_s", "field", "message"),
    [
        ("latncy", {}, None, "type", "unknown fault 'latncy'; use one of down, error_injection, latency"),
        ("latency", {}, None, "params.latency_ms", "params.latency_ms: required; give a value (integer; ≥ 0"),
        ("latency", {"latency_ms": -5}, None, "params.latency_ms", "greater than or equal to 0"),
        ("latency", {"latency_ms": 5, "jiter_ms": 1}, None, "params.jiter_ms", "did you mean 'jitter_ms'?"),
        ("latency", {"latency_ms": 5, "stream": "sideways"}, None, "params.stream", "one of 'upstream', 'downstream'"),
        ("latency", {"latency_ms": 5}, 0, "for_s", "for_s: Input should be greater than 0; give a number"),
        ("latency", {"latency_ms": 5}, "soon", "for_s", "for_s: give a number of seconds > 0"),
        ("latency", {"latency_ms": 5, "for_s": 3}, None, "params.for_s", "give for_s beside params"),
        ("latency", {"latency_ms": 5, "at_s": 3}, None, "params.at_s", "remove it"),
        ("latency", [1], None, "params", "params: give an object"),
        ("down", {"rate": 1}, None, "params.rate", "down takes no parameters"),
        ("error_injection", {"rate": 0.5, "code": "oops"}, None, "params.code", "matches ^E\\d{4}$"),
    ],
)
def test_bad_params_name_the_field_and_the_fix(
    rig: Rig, fault_type: str, params: Any, for_s: Any, field: str, message: str
) -> None:
    with pytest.raises(OperatorInputError) as caught:
        rig.control.apply(fault_type, params, for_s)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert rig.control.events == [] and rig.world.on == []


def test_export_round_trips_through_load_scenario(rig: Rig, tmp_path: Path) -> None:
    base = load_scenario(REPO / "scenarios" / "smoke.yaml").model_dump(mode="json")
    rig.clock.now = 3.04
    rig.control.apply("latency", {"latency_ms": 400, "jitter_ms": 50}, for_s=None)
    rig.clock.now = 8.0
    rig.control.note("latency on: p95 900 ms\nsecond line")
    rig.clock.now = 13.06
    rig.control.revert("latency-1")
    rig.control.apply("error_injection", {"rate": 0.25, "families": ["issue"]}, for_s=None)
    rig.world.broken_apply.add("down")
    with pytest.raises(FaultApplyError):
        rig.control.apply("down", {})
    rig.clock.now = 20.0
    text = export_scenario(base, rig.control.events, rig.control.notes, duration_s=rig.clock())
    path = tmp_path / "replay.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)

    assert scenario.name == "smoke-gameday"
    latency, injection = scenario.faults
    assert (latency.type, latency.id, latency.at_s, latency.for_s) == ("latency", "latency-1", 3.0, 10.1)
    assert isinstance(latency, LatencySpec) and (latency.latency_ms, latency.jitter_ms) == (400, 50)
    assert (injection.id, injection.at_s, injection.for_s) == ("error_injection-2", 13.1, 6.9)
    assert isinstance(injection, ErrorInjectionSpec) and injection.families == ["issue"]
    assert scenario.duration_s >= 20 + 15  # the still-active fault ends at the export, then recovery
    assert scenario.load == load_scenario(REPO / "scenarios" / "smoke.yaml").load
    assert [g.type for g in scenario.gates] == [
        "latency",
        "latency",
        "time_to_invoice",
        "integrity",
    ]  # the slow-network gate dropped
    assert "# dropped: latency gate on 'slow-network'" in text
    assert "#      8.0 s  note: latency on: p95 900 ms" in text and "second line" in text
    assert "down-3 (down) not applied: apply failed: toxiproxy said no" in text
    assert yaml.safe_load(text)["faults"][0]["id"] == "latency-1"


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_can_be_an_export_base(path: Path, tmp_path: Path) -> None:
    base = load_scenario(path).model_dump(mode="json")
    event = FaultEvent("down-1", "down", {"type": "down"}, 1.0, None, applied_s=1.0, reverted_s=4.0)
    out = tmp_path / "replay.yaml"
    out.write_text(export_scenario(base, [event], [], duration_s=base["duration_s"]), encoding="utf-8")
    scenario = load_scenario(out)
    assert [(f.type, f.at_s, f.for_s) for f in scenario.faults] == [("down", 1.0, 3.0)]
    assert scenario.duration_s + scenario.drain_s <= scenario.limits.max_run_s


def test_an_empty_session_exports_a_valid_scenario(tmp_path: Path) -> None:
    base = load_scenario(REPO / "scenarios" / "smoke.yaml").model_dump(mode="json")
    out = tmp_path / "empty.yaml"
    out.write_text(export_scenario(base, [], [], duration_s=0.0), encoding="utf-8")
    scenario = load_scenario(out)
    assert scenario.faults == [] and scenario.duration_s == 15


def test_a_sparse_base_keeps_its_defaults(tmp_path: Path) -> None:
    source = load_scenario(REPO / "scenarios" / "peak_season_filing.yaml")
    base = source.model_dump(mode="json", exclude_unset=True)
    event = FaultEvent("down-1", "down", {"type": "down"}, 1.0, None, applied_s=1.0, reverted_s=None)
    out = tmp_path / "replay.yaml"
    out.write_text(export_scenario(base, [event], [], duration_s=30.0), encoding="utf-8")
    scenario = load_scenario(out)
    assert scenario.load == source.load and scenario.faults[0].for_s == 29.0


def test_a_platform_mode_already_set_is_refused_until_reverted(rig: Rig) -> None:
    first = rig.control.apply("error_injection", {"code": "E9003", "rate": 0.5})
    with pytest.raises(OperatorInputError, match="error injection is already set by error_injection-1") as caught:
        rig.control.apply("error_injection", {"code": "E9005", "rate": 1.0})
    assert caught.value.field == "type" and len(rig.control.events) == 1  # nothing half-applied
    rig.control.apply("latency", {"latency_ms": 100})  # toxics stack: no slot
    rig.control.apply("latency", {"latency_ms": 200})
    rig.control.revert(first.label)
    again = rig.control.apply("error_injection", {"code": "E9005", "rate": 1.0})
    assert again.applied_s is not None and again.label in rig.world.on
