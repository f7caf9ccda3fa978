"""Operator actions on a live run: apply, revert, expire, halt, note. Pure Python; the clock is injected.

No Flask or Locust here (unit tests import this module without gevent); ``taxstorm.gameday.web`` serves it.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from taxstorm.chaos.registry import Fault, FaultContext, FaultRegistry
from taxstorm.chaos.spec import FaultSpec
from taxstorm.chaos.timeline import FaultApplyError, FaultEvent, RevertCause
from taxstorm.errors import InvalidInputError, RevertFailedError, TaxstormError
from taxstorm.gameday.catalogue import TIMING_FIELDS, FaultInfo, catalogue, describe_errors
from taxstorm.gameday.export import Note, export_scenario

__all__ = [
    "ActiveFault",
    "ChaosControl",
    "EventHook",
    "FaultApplyError",
    "HaltedError",
    "Note",
    "OperatorInputError",
    "RevertError",
    "UnknownLabelError",
    "export_scenario",
]

log = logging.getLogger(__name__)
MAX_NOTE_CHARS = 2000

EventHook = Callable[[str, FaultEvent | None], None]
"""``(kind, event)``: kind is applied, apply_failed, reverted (with the fault's event), note or halted (None)."""


class OperatorInputError(InvalidInputError):
    """The operator's input is wrong; ``field`` names what to fix (the web layer answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownLabelError(OperatorInputError):
    """No fault of this session has that label."""


class HaltedError(TaxstormError):
    """The run was halted: no more faults may be applied."""


class RevertError(RevertFailedError):
    """A fault would not revert; it stays on the active list and ``revert_all`` tries again."""


@dataclass(frozen=True)
class ActiveFault:
    """A fault still applied (or half-applied and not yet cleaned up), with its time left."""

    label: str
    type: str
    params: dict[str, Any]
    applied_s: float | None
    left_s: float | None  # None: until reverted by hand, halted or the run ends
    error: str | None = None


@dataclass
class _Applied:
    fault: Fault[Any]
    event: FaultEvent
    expires_s: float | None


class ChaosControl:
    """The operators' faults on one run; every successful apply is remembered until it is reverted."""

    def __init__(
        self,
        registry: FaultRegistry,
        context: FaultContext,
        clock: Callable[[], float],
        on_event: EventHook | None = None,
    ) -> None:
        self.registry = registry
        self.context = context
        self.clock = clock
        self._on_event = on_event
        self._lock = threading.RLock()  # gevent patches it into a greenlet lock inside Locust
        self._catalogue = {info.type: info for info in catalogue(registry, context)}
        self._applied: list[_Applied] = []  # apply order
        self.events: list[FaultEvent] = []
        self.notes: list[Note] = []
        self.halted: str | None = None
        self.halted_s: float | None = None
        self.hook_errors: list[str] = []

    def catalogue(self) -> list[FaultInfo]:
        """Every registered fault with its parameters, for the UI's forms."""
        return list(self._catalogue.values())

    def validate(self, fault_type: str, params: Any, for_s: Any = None) -> FaultSpec:
        """The fault's typed spec applied now, or OperatorInputError naming the bad field and the fix."""
        info = self._catalogue.get(fault_type) if isinstance(fault_type, str) else None
        if info is None:
            known = ", ".join(self._catalogue)
            raise OperatorInputError("type", f"type: unknown fault {fault_type!r}; use one of {known}")
        if info.unavailable:
            usable = ", ".join(name for name, other in self._catalogue.items() if not other.unavailable)
            raise OperatorInputError("type", f"type: {fault_type} {info.unavailable}; use one of {usable}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise OperatorInputError("params", 'params: give an object of parameter names to values, e.g. {"x": 1}')
        _check_timing_keys(fault_type, params)
        if for_s is not None and not _is_number(for_s):
            raise OperatorInputError("for_s", "for_s: give a number of seconds > 0, or null to keep it until reverted")
        data = {**{k: v for k, v in params.items() if k != "type"}, "type": fault_type, "for_s": for_s}
        data["at_s"] = max(0.0, self.clock())
        try:
            return self.registry.get(fault_type).spec_type.model_validate(data)
        except ValidationError as exc:
            field, message = describe_errors(info, exc)
            raise OperatorInputError(field, message) from None

    def _check_slot_free(self, spec: FaultSpec) -> None:
        """A fault setting platform state another applied fault holds (one fault mode, the release, a family's
        capacity) would be ended by that one's revert: refused until it is reverted. Under the lock."""
        slot = spec.slot()
        holder = next(
            (
                a
                for a in self._applied
                if slot is not None and (a.fault.spec.target, a.fault.spec.slot()) == (spec.target, slot)
            ),
            None,
        )
        if holder is not None:
            raise OperatorInputError(
                "type",
                f"type: the {spec.target} platform's {slot} is already set by {holder.event.label}; revert it first "
                "(reverting one would silently end the other)",
            )

    def apply(
        self, fault_type: str, params: dict[str, Any], for_s: float | None = None, label: str | None = None
    ) -> FaultEvent:
        """Validate and apply a fault now; it expires after ``for_s`` seconds (None: until reverted). ``label``
        names it (a scripted step's id); operators' faults are numbered ``<type>-<n>``."""
        with self._lock:
            if self.halted is not None:
                raise HaltedError(f"the run was halted ({self.halted}); no more faults can be applied")
            spec = self.validate(fault_type, params, for_s)
            self._check_slot_free(spec)
            taken = {event.label for event in self.events}
            if label is None:  # the next number not taken by a scripted step's id
                numbered = (f"{fault_type}-{n}" for n in itertools.count(len(self.events) + 1))
                label = next(name for name in numbered if name not in taken)
            elif label in taken:
                raise OperatorInputError("label", f"label: {label!r} already names a fault of this session")
            fault = self.registry.create(spec, self.context, label)
            now = round(self.clock(), 3)  # the effect starts while the fault is applied: its window starts here
            shown = spec.model_dump(mode="json", exclude={"at_s", "for_s", "id", "target"})
            event = FaultEvent(label, fault_type, shown, now, None if spec.for_s is None else now + spec.for_s)
            self.events.append(event)
            try:
                fault.apply()
            except Exception as exc:
                event.error = f"apply failed: {exc}"
                item = _Applied(fault, event, None)
                self._applied.append(item)  # half-applied faults get reverted too
                self._revert(item, "end")
                self._emit("apply_failed", event)
                raise FaultApplyError(f"fault {label} could not be applied: {exc}") from exc
            event.applied_s = now
            expires = None if spec.for_s is None else round(self.clock() + spec.for_s, 3)
            event.planned_revert_s = expires
            self._applied.append(_Applied(fault, event, expires))
            self._emit("applied", event)
            return event

    def revert(self, label: str) -> FaultEvent:
        """Revert one fault by label; reverting a fault that is no longer applied does nothing."""
        with self._lock:
            item = next((a for a in self._applied if a.event.label == label), None)
            if item is None:
                event = next((e for e in self.events if e.label == label), None)
                if event is None:
                    known = ", ".join(a.event.label for a in self._applied) or "none is applied"
                    raise UnknownLabelError("label", f"label: no fault {label!r} in this session; active: {known}")
                return event
            if not self._revert(item, "operator"):
                raise RevertError(f"fault {label} could not be reverted ({item.event.error}); run 'taxstorm reset'")
            return item.event

    def tick(self) -> list[str]:
        """Revert every fault whose ``for_s`` has run out; return the errors of those that would not revert."""
        with self._lock:
            now = self.clock()
            due = [a for a in self._applied if a.expires_s is not None and a.expires_s <= now]
            return [f"{a.event.label}: {a.event.error}" for a in due if not self._revert(a, "schedule")]

    def active(self) -> list[ActiveFault]:
        """Faults still applied, oldest first, with the seconds each has left."""
        with self._lock:
            now = self.clock()
            return [
                ActiveFault(
                    a.event.label,
                    a.event.type,
                    a.event.params,
                    a.event.applied_s,
                    None if a.expires_s is None else max(0.0, a.expires_s - now),
                    a.event.error,
                )
                for a in self._applied
            ]

    def halt(self, reason: str = "") -> list[str]:
        """Revert everything (newest first) and refuse further applies; return the revert errors."""
        with self._lock:
            first = self.halted is None
            if first:
                self.halted = reason.strip() or "halted by the operator"
                self.halted_s = self.clock()
                self.notes.append(Note(round(self.halted_s, 3), f"HALT: {self.halted}"))
            errors = self.revert_all("halt")
            if first:
                self._emit("halted", None)
            return errors

    def note(self, text: str) -> Note:
        """Add an operator note to the timeline at the current time."""
        if not isinstance(text, str) or not text.strip():
            raise OperatorInputError("text", "text: the note is empty; write what you observed")
        if len(text) > MAX_NOTE_CHARS:
            raise OperatorInputError("text", f"text: {len(text)} characters; keep a note under {MAX_NOTE_CHARS}")
        with self._lock:
            note = Note(round(self.clock(), 3), text.strip())
            self.notes.append(note)
            self._emit("note", None)
            return note

    def revert_all(self, cause: RevertCause = "end") -> list[str]:
        """Revert every applied fault, newest first; return the errors of those that would not revert."""
        with self._lock:
            applied = reversed(list(self._applied))
            return [f"{a.event.label}: {a.event.error}" for a in applied if not self._revert(a, cause)]

    def _revert(self, item: _Applied, cause: RevertCause) -> bool:
        try:
            item.fault.revert()
        except Exception as exc:
            item.event.error = f"revert failed: {exc}"
            return False
        self._applied.remove(item)
        if item.event.applied_s is not None:
            item.event.reverted_s = self.clock()
            item.event.revert_cause = cause
            self._emit("reverted", item.event)
        return True

    def _emit(self, kind: str, event: FaultEvent | None) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(kind, event)
        except Exception as exc:  # the fault is applied either way; the runner decides what a broken hook means
            log.exception("game day event hook failed on %s", kind)
            self.hook_errors.append(f"{kind}: {type(exc).__name__}: {exc}")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _check_timing_keys(fault_type: str, params: dict[str, Any]) -> None:
    fixes = {
        "at_s": "faults apply when you press Apply (the run's clock sets at_s); remove it",
        "for_s": "give for_s beside params, not inside them",
        "id": "the control labels faults itself (<type>-<n>); remove it",
    }
    for key in sorted(TIMING_FIELDS & set(params)):
        if key == "type" and params[key] == fault_type:
            continue
        fix = fixes.get(key, f"it must equal the fault's type {fault_type!r}; remove it")
        raise OperatorInputError(f"params.{key}", f"params.{key}: {fix}")
