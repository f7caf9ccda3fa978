"""The fault timeline as a function of elapsed time, and the scheduler that runs it on an injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from taxstorm.chaos.registry import Fault

ActionKind = Literal["apply", "revert"]
RevertCause = Literal["schedule", "operator", "halt", "end"]


@dataclass(frozen=True, order=True)
class Action:
    """Apply or revert fault number ``index`` at ``at_s`` (reverts sort before applies at the same time)."""

    at_s: float
    kind_order: int
    index: int
    kind: ActionKind = field(compare=False)


class Timeline:
    """Pure data: ``due(elapsed_s)`` returns the actions whose time has come, each exactly once."""

    def __init__(self, windows: list[tuple[float, float | None]]) -> None:
        actions: list[Action] = []
        for index, (at_s, for_s) in enumerate(windows):
            actions.append(Action(at_s, 1, index, "apply"))
            if for_s is not None:
                actions.append(Action(at_s + for_s, 0, index, "revert"))
        self._pending = sorted(actions)

    def due(self, elapsed_s: float) -> list[Action]:
        ready = [a for a in self._pending if a.at_s <= elapsed_s]
        self._pending = self._pending[len(ready) :]
        return ready

    def next_at(self) -> float | None:
        return self._pending[0].at_s if self._pending else None


@dataclass
class FaultEvent:
    """Planned and actual apply/revert times of one fault, in seconds since the run started.

    ``applied_s`` is when applying *began* and ``reverted_s`` when reverting *ended*, so the fault's window
    covers its whole effect (a rolling upgrade is down from the moment it stops the platform, a crash until the
    restart is done)."""

    label: str
    type: str
    params: dict[str, Any]
    planned_apply_s: float
    planned_revert_s: float | None
    applied_s: float | None = None
    reverted_s: float | None = None
    error: str | None = None
    revert_cause: RevertCause | None = None  # "end": only the run's end (or its clean-up) took it away

    @property
    def lasted_to_end(self) -> bool:
        """Applied and never reverted before the run ended: no recovery of it was ever seen."""
        return self.applied_s is not None and (self.reverted_s is None or self.revert_cause == "end")

    @property
    def active(self) -> bool:
        return self.applied_s is not None and self.reverted_s is None


class FaultApplyError(RuntimeError):
    """A fault could not be applied (the environment is at fault, not the system under test)."""


class FaultScheduler:
    """Runs a timeline against real faults; every applied fault is remembered until reverted."""

    def __init__(
        self,
        faults: Sequence[tuple[Fault[Any], float, float | None]],
        clock: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
        on_event: Callable[[str, FaultEvent], None] | None = None,
    ) -> None:
        self._faults = [f for f, _, _ in faults]
        self._timeline = Timeline([(at, dur) for _, at, dur in faults])
        self.events = [
            FaultEvent(f.label, f.spec.type, f.describe(), at, None if dur is None else at + dur)
            for f, at, dur in faults
        ]
        self._clock = clock
        self._sleep = sleep
        self._on_event = on_event or (lambda kind, event: None)
        self._applied: list[int] = []  # indexes in apply order, still applied

    def tick(self) -> None:
        """Run every action that is due now."""
        for action in self._timeline.due(self._clock()):
            if action.kind == "apply":
                self._apply(action.index)
            else:
                self._revert(action.index, "schedule")

    def run(self, end_s: float, should_stop: Callable[[], bool], max_sleep_s: float = 0.05) -> None:
        """Tick until ``end_s`` or ``should_stop()``; sleeps no longer than ``max_sleep_s`` at a time."""
        while not should_stop():
            self.tick()
            now = self._clock()
            if now >= end_s:
                return
            next_at = self._timeline.next_at()
            wake = min(end_s, next_at if next_at is not None else end_s)
            self._sleep(max(0.0, min(max_sleep_s, wake - now)))

    def active(self) -> list[str]:
        return [self.events[i].label for i in self._applied]

    def revert_all(self) -> list[str]:
        """Revert every applied fault, newest first; return the errors of those that would not revert."""
        errors: list[str] = []
        for index in reversed(list(self._applied)):
            if not self._revert(index, "end"):
                errors.append(f"{self.events[index].label}: {self.events[index].error}")
        return errors

    def _apply(self, index: int) -> None:
        event = self.events[index]
        started_s = self._clock()  # a fault's effect starts while it is applied (a restart's downtime: at once)
        try:
            self._faults[index].apply()
        except Exception as exc:
            event.error = f"apply failed: {exc}"
            self._applied.append(index)  # half-applied faults get reverted too
            raise FaultApplyError(f"fault {event.label} could not be applied: {exc}") from exc
        event.applied_s = started_s
        self._applied.append(index)
        self._on_event("applied", event)

    def _revert(self, index: int, cause: RevertCause) -> bool:
        if index not in self._applied:
            return True
        event = self.events[index]
        try:
            self._faults[index].revert()
        except Exception as exc:
            event.error = f"revert failed: {exc}"
            return False
        event.reverted_s = self._clock()
        event.revert_cause = cause
        self._applied.remove(index)
        self._on_event("reverted", event)
        return True
