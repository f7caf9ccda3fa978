"""The one place faults are applied and reverted: a scenario's timeline and a game day's operators both go
through a ``FaultExecutor``, so both follow the same rules.

- A fault's window starts when applying *begins* and ends when reverting *ends* (its whole effect).
- A fault whose ``apply`` raises may have done part of its work: it is reverted at once. If that revert fails
  too, it stays on the applied list, and ``revert_all`` tries it again.
- A revert that fails (scheduled, by hand) leaves the fault applied, with the error on its event; it is not
  retried on every tick, only by a later revert by hand or by ``revert_all``, which names those that never went.
- Event hooks that raise are logged and counted (``hook_errors``); the fault is applied or reverted either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from taxstorm.chaos.registry import Fault

log = logging.getLogger(__name__)
RevertCause = Literal["schedule", "operator", "halt", "end"]


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


EventHook = Callable[[str, FaultEvent], None]
"""``(kind, event)``: kind is applied, apply_failed or reverted."""


@dataclass
class Applied:
    """A fault on the applied list (half-applied ones included), and when it is due to be reverted."""

    fault: Fault[Any]
    event: FaultEvent
    expires_s: float | None


class FaultExecutor:
    """Applies and reverts faults on one clock, keeping every applied fault until it is reverted."""

    def __init__(self, clock: Callable[[], float], on_event: EventHook | None = None) -> None:
        self.clock = clock
        self._on_event = on_event
        self.applied: list[Applied] = []  # apply order
        self.events: list[FaultEvent] = []  # every fault ever applied (or tried), in order
        self.hook_errors: list[str] = []

    def apply(
        self, fault: Fault[Any], event: FaultEvent, expires_s: float | None = None, for_s: float | None = None
    ) -> None:
        """Apply ``fault`` now; raise FaultApplyError if it failed. ``expires_s``: when ``expire`` reverts it (a
        timeline's planned time), or ``for_s``: that long after its apply *ended* (an operator's fault)."""
        if event not in self.events:
            self.events.append(event)
        started_s = self.clock()
        try:
            fault.apply()
        except Exception as exc:
            event.error = f"apply failed: {exc}"
            item = Applied(fault, event, None)
            self.applied.append(item)
            if not self._revert(item, "end"):  # undo what it did before it failed (kept for revert_all if not)
                event.error = f"apply failed: {exc}; then {event.error}"
            self._emit("apply_failed", event)
            raise FaultApplyError(f"fault {event.label} could not be applied: {exc}") from exc
        except BaseException:  # interrupted (a killed greenlet, Ctrl-C): whatever it did, revert_all undoes
            event.error = "apply interrupted"
            self.applied.append(Applied(fault, event, None))
            raise
        event.applied_s = started_s
        if for_s is not None:
            expires_s = event.planned_revert_s = round(self.clock() + for_s, 3)
        self.applied.append(Applied(fault, event, expires_s))
        self._emit("applied", event)

    def find(self, label: str) -> Applied | None:
        return next((item for item in self.applied if item.event.label == label), None)

    def revert(self, item: Applied, cause: RevertCause) -> bool:
        """Revert one applied fault; False (the error on its event) if it would not go."""
        return self._revert(item, cause)

    def expire(self) -> list[str]:
        """Revert every fault whose time has run out; return the errors of those that would not go."""
        now = self.clock()
        due = [item for item in self.applied if item.expires_s is not None and item.expires_s <= now]
        errors = []
        for item in due:
            if not self._revert(item, "schedule"):
                item.expires_s = None  # tried once; revert_all tries again
                errors.append(f"{item.event.label}: {item.event.error}")
        return errors

    def next_expiry(self) -> float | None:
        return min((item.expires_s for item in self.applied if item.expires_s is not None), default=None)

    def revert_all(self, cause: RevertCause = "end") -> list[str]:
        """Revert every applied fault, newest first; return the errors of those that would not go."""
        return [
            f"{item.event.label}: {item.event.error}"
            for item in reversed(list(self.applied))
            if not self._revert(item, cause)
        ]

    def _revert(self, item: Applied, cause: RevertCause) -> bool:
        try:
            item.fault.revert()
        except Exception as exc:
            item.event.error = f"revert failed: {exc}"
            return False
        self.applied.remove(item)
        if item.event.applied_s is not None:
            item.event.reverted_s = self.clock()
            item.event.revert_cause = cause
            self._emit("reverted", item.event)
        return True

    def _emit(self, kind: str, event: FaultEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(kind, event)
        except Exception as exc:  # the fault is applied (or reverted) either way
            log.exception("fault event hook failed on %s", kind)
            self.hook_errors.append(f"{kind}: {type(exc).__name__}: {exc}")
