"""The fault timeline and scheduler on a fake clock: no servers, microseconds per test."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pytest

from taxstorm.chaos.executor import EventHook, FaultEvent
from taxstorm.chaos.registry import Fault, FaultContext, FaultRegistry
from taxstorm.chaos.spec import FaultSpec
from taxstorm.chaos.timeline import FaultApplyError, FaultScheduler, Timeline


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class NoteSpec(FaultSpec):
    type: Literal["note"] = "note"
    fail_apply: bool = False
    fail_revert: int = 0


class NoteFault(Fault[NoteSpec]):
    """Records apply/revert calls in a shared journal."""

    spec_type = NoteSpec
    summary = "test fault"
    journal: ClassVar[list[str]] = []

    def apply(self) -> None:
        self.journal.append(f"apply {self.label}")
        if self.spec.fail_apply:
            raise RuntimeError("boom")

    def revert(self) -> None:
        self.journal.append(f"revert {self.label}")
        if self.spec.fail_revert > 0:
            object.__setattr__(self.spec, "fail_revert", self.spec.fail_revert - 1)
            raise RuntimeError("stuck")


def make(specs: list[NoteSpec], clock: FakeClock, hook: EventHook | None = None) -> tuple[FaultScheduler, list[str]]:
    journal: list[str] = []
    NoteFault.journal = journal
    context: Any = FaultContext("run", None, "proxy")  # type: ignore[arg-type]
    faults = [(NoteFault(s, context, s.label(i)), s.at_s, s.for_s) for i, s in enumerate(specs)]
    return FaultScheduler(faults, clock, clock.sleep, hook), journal


def test_timeline_returns_each_action_once_in_time_order() -> None:
    timeline = Timeline([(5.0, 10.0), (15.0, None)])
    assert timeline.due(4.9) == []
    assert [(a.kind, a.index) for a in timeline.due(5.0)] == [("apply", 0)]
    assert timeline.next_at() == 15.0
    # the revert of fault 0 and the apply of fault 1 at the same instant: revert first
    assert [(a.kind, a.index) for a in timeline.due(20.0)] == [("revert", 0), ("apply", 1)]
    assert timeline.due(100.0) == [] and timeline.next_at() is None


def test_scheduler_applies_and_reverts_on_time_and_records_actual_times() -> None:
    clock = FakeClock()
    scheduler, journal = make([NoteSpec(at_s=2, for_s=3, id="a")], clock)
    scheduler.run(10.0, lambda: False, max_sleep_s=0.05)
    assert journal == ["apply a", "revert a"]
    event = scheduler.events[0]
    assert event.planned_apply_s == 2 and event.planned_revert_s == 5
    assert event.applied_s == pytest.approx(2.0, abs=0.051)
    assert event.reverted_s == pytest.approx(5.0, abs=0.051)
    assert clock.now == pytest.approx(10.0)


def test_a_slow_fault_window_spans_its_whole_effect_from_apply_start_to_revert_end() -> None:
    """A rolling upgrade is down from the moment it stops the platform, not when the new release is up."""
    clock = FakeClock()
    scheduler, _ = make([NoteSpec(at_s=2, for_s=3, id="slow")], clock)
    fault = scheduler._faults[0]
    original_apply, original_revert = fault.apply, fault.revert

    def slow(step: Any) -> Any:
        def run() -> None:
            clock.now += 0.8  # the restart takes 0.8 s
            step()

        return run

    object.__setattr__(fault, "apply", slow(original_apply))
    object.__setattr__(fault, "revert", slow(original_revert))
    scheduler.run(10.0, lambda: False, max_sleep_s=0.05)
    event = scheduler.events[0]
    assert event.applied_s == pytest.approx(2.0, abs=0.051)  # when the apply began
    assert event.reverted_s == pytest.approx(5.8, abs=0.051)  # when the revert (due at 5 s) ended
    assert event.revert_cause == "schedule" and not event.lasted_to_end


def test_open_ended_fault_is_reverted_by_revert_all_newest_first() -> None:
    clock = FakeClock()
    scheduler, journal = make([NoteSpec(at_s=1, id="a"), NoteSpec(at_s=2, id="b")], clock)
    scheduler.run(5.0, lambda: False)
    assert scheduler.active() == ["a", "b"]
    assert scheduler.revert_all() == []
    assert journal == ["apply a", "apply b", "revert b", "revert a"]
    assert scheduler.active() == []
    assert scheduler.revert_all() == []  # idempotent


def test_stop_request_ends_the_run_early() -> None:
    clock = FakeClock()
    scheduler, journal = make([NoteSpec(at_s=1, id="a"), NoteSpec(at_s=8, id="b")], clock)
    scheduler.run(10.0, lambda: clock.now >= 3)
    assert journal == ["apply a"]
    scheduler.revert_all()
    assert journal == ["apply a", "revert a"]


def test_failed_apply_raises_and_is_still_reverted() -> None:
    clock = FakeClock()
    scheduler, journal = make([NoteSpec(at_s=1, id="a", fail_apply=True)], clock)
    with pytest.raises(FaultApplyError, match="a could not be applied"):
        scheduler.run(5.0, lambda: False)
    assert scheduler.revert_all() == []
    assert journal == ["apply a", "revert a"]


def test_revert_failure_is_reported_and_retried_by_revert_all() -> None:
    clock = FakeClock()
    scheduler, journal = make([NoteSpec(at_s=1, for_s=1, id="a", fail_revert=1)], clock)
    scheduler.run(5.0, lambda: False)
    assert scheduler.active() == ["a"]  # planned revert failed
    assert scheduler.revert_all() == []  # the retry succeeds
    assert journal == ["apply a", "revert a", "revert a"]


def test_revert_that_never_succeeds_is_named() -> None:
    clock = FakeClock()
    scheduler, _ = make([NoteSpec(at_s=0, id="a", fail_revert=99)], clock)
    scheduler.tick()
    errors = scheduler.revert_all()
    assert errors == ["a: revert failed: stuck"]


def test_registry_rejects_duplicates_and_names_unknown_faults() -> None:
    registry = FaultRegistry()
    registry.register(NoteFault)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(NoteFault)
    with pytest.raises(KeyError, match="unknown fault 'nope'; known: note"):
        registry.get("nope")


def test_a_hook_that_raises_is_counted_and_the_timeline_goes_on() -> None:
    def hook(kind: str, event: FaultEvent) -> None:
        raise RuntimeError(f"broken hook on {kind}")

    scheduler, journal = make([NoteSpec(at_s=1, for_s=1, id="a")], FakeClock(), hook)
    scheduler.run(5.0, lambda: False)
    assert journal == ["apply a", "revert a"] and scheduler.events[0].reverted_s is not None
    assert scheduler.executor.hook_errors == [
        "applied: RuntimeError: broken hook on applied",
        "reverted: RuntimeError: broken hook on reverted",
    ]
