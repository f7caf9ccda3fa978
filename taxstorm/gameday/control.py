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

from taxstorm.chaos.executor import FaultApplyError, FaultEvent, FaultExecutor, RevertCause
from taxstorm.chaos.registry import FaultContext, FaultRegistry
from taxstorm.chaos.spec import FaultSpec
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


class ChaosControl:
    """The operators' faults on one run, on a ``FaultExecutor`` (the rules a scenario's timeline follows too)."""

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
        self.executor = FaultExecutor(clock, on_event)
        self.events: list[FaultEvent] = self.executor.events
        self.notes: list[Note] = []
        self.halted: str | None = None
        self.halted_s: float | None = None
        self._hook_errors: list[str] = []

    @property
    def hook_errors(self) -> list[str]:
        """Event hooks that raised (on faults, notes and the halt), each logged when it happened."""
        return self.executor.hook_errors + self._hook_errors

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
                for a in self.executor.applied
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
            now = round(self.clock(), 3)
            shown = spec.model_dump(mode="json", exclude={"at_s", "for_s", "id", "target"})
            event = FaultEvent(label, fault_type, shown, now, None if spec.for_s is None else now + spec.for_s)
            # its for_s counts from the end of its apply (a restart may take a while): FaultApplyError when it
            # failed (then reverted at once)
            self.executor.apply(fault, event, for_s=spec.for_s)
            return event

    def revert(self, label: str) -> FaultEvent:
        """Revert one fault by label; reverting a fault that is no longer applied does nothing."""
        with self._lock:
            item = self.executor.find(label)
            if item is None:
                event = next((e for e in self.events if e.label == label), None)
                if event is None:
                    known = ", ".join(a.event.label for a in self.executor.applied) or "none is applied"
                    raise UnknownLabelError("label", f"label: no fault {label!r} in this session; active: {known}")
                return event
            if not self.executor.revert(item, "operator"):
                raise RevertError(f"fault {label} could not be reverted ({item.event.error}); run 'taxstorm reset'")
            return item.event

    def tick(self) -> list[str]:
        """Revert every fault whose ``for_s`` has run out; return the errors of those that would not revert (each
        once: the fault stays applied and ``revert_all`` tries it again)."""
        with self._lock:
            return self.executor.expire()

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
                for a in self.executor.applied
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
            return self.executor.revert_all(cause)

    def _emit(self, kind: str, event: FaultEvent | None) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(kind, event)
        except Exception as exc:  # the note or halt stands either way
            log.exception("game day event hook failed on %s", kind)
            self._hook_errors.append(f"{kind}: {type(exc).__name__}: {exc}")


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
