"""The fault timeline as a function of elapsed time, and the scheduler that runs it on an injected clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from taxstorm.chaos.executor import EventHook, FaultApplyError, FaultEvent, FaultExecutor, RevertCause
from taxstorm.chaos.registry import Fault

__all__ = ["Action", "FaultApplyError", "FaultEvent", "FaultScheduler", "RevertCause", "Timeline"]
ActionKind = Literal["apply", "revert"]


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


class FaultScheduler:
    """Plays a timeline of faults on a ``FaultExecutor``: each applied at its ``at_s``, reverted ``for_s`` later
    (the executor's rules for half-applied faults and failed reverts apply)."""

    def __init__(
        self,
        faults: Sequence[tuple[Fault[Any], float, float | None]],
        clock: Callable[[], float],
        sleep: Callable[[float], None] = time.sleep,
        on_event: EventHook | None = None,
    ) -> None:
        self._faults = [f for f, _, _ in faults]
        self._applies = Timeline([(at, None) for _, at, _ in faults])
        self._expires = [None if dur is None else at + dur for _, at, dur in faults]
        self.executor = FaultExecutor(clock, on_event)
        self.events = [
            FaultEvent(f.label, f.spec.type, f.describe(), at, None if dur is None else at + dur)
            for f, at, dur in faults
        ]
        self._clock = clock
        self._sleep = sleep

    def tick(self) -> None:
        """Revert what is due, then apply what is due (a revert and an apply at one time: the revert first)."""
        self.executor.expire()  # a revert that fails stays applied, its error on its event, for revert_all
        for action in self._applies.due(self._clock()):
            self.executor.apply(self._faults[action.index], self.events[action.index], self._expires[action.index])

    def run(self, end_s: float, should_stop: Callable[[], bool], max_sleep_s: float = 0.05) -> None:
        """Tick until ``end_s`` or ``should_stop()``; sleeps no longer than ``max_sleep_s`` at a time."""
        while not should_stop():
            self.tick()
            now = self._clock()
            if now >= end_s:
                return
            due = [t for t in (self._applies.next_at(), self.executor.next_expiry(), end_s) if t is not None]
            self._sleep(max(0.0, min(max_sleep_s, min(due) - now)))

    def active(self) -> list[str]:
        return [item.event.label for item in self.executor.applied]

    def revert_all(self) -> list[str]:
        """Revert every applied fault, newest first; return the errors of those that would not revert."""
        return self.executor.revert_all("end")
