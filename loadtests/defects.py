"""Defects of the client under test: how it broke the protocol, counted by kind, with the evidence.

A defect is the client's fault, never the environment's: an exception out of one of its methods, a return
value of the wrong type, a status outside the protocol, an outcome for another order, a call that did not
return within its budget, a factory that could not build it. Each is recorded once per occurrence and kept
as one row per (method, kind, type) with its count, the first message and the first frames.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

DefectKind = Literal["create", "exception", "bad_return", "unknown_status", "wrong_order", "no_answer", "blocked"]
DEFECT_KINDS: dict[str, str] = {
    "create": "the factory raised or returned something that is not a client",
    "exception": "a method raised instead of answering",
    "bad_return": "a method returned a value of the wrong type",
    "unknown_status": "an Outcome status outside issued, queued, rejected, failed",
    "wrong_order": "an Outcome for another order than the one asked about",
    "no_answer": "a call did not return within its time budget (abandoned)",
    "blocked": "a call blocked the whole process in a system call (the run was abandoned)",
}
FRAMES_KEPT = 6


@dataclass(frozen=True)
class Defect:
    """One misbehaviour of the client under test."""

    method: str  # create, issue, issue_batch, drain, backlog, close
    kind: DefectKind
    type: str  # the exception's class, or the type the method returned
    message: str
    frames: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        """What an operation record keeps: ``method:kind``."""
        return f"{self.method}:{self.kind}"

    def summary(self) -> str:
        return f"{self.method}() {self.kind}: {self.type}: {self.message}"

    @classmethod
    def from_exception(cls, method: str, exc: BaseException, kind: DefectKind = "exception") -> Defect:
        """The exception's type, message and the innermost frames of its traceback (where it was raised)."""
        frames = traceback.extract_tb(exc.__traceback__)[-FRAMES_KEPT:]
        shown = tuple(f"{f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()}" for f in frames)
        return cls(method, kind, type(exc).__name__, str(exc)[:500], shown)


@dataclass
class DefectRow:
    """Every occurrence of one (method, kind, type): how often, since when, and the first one's evidence."""

    method: str
    kind: str
    type: str
    count: int
    first_s: float
    message: str
    frames: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DefectLog:
    """Defects of one process's clients, merged by (method, kind, type); ships deltas in distributed runs."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], DefectRow] = {}
        self._shipped: dict[tuple[str, str, str], int] = {}

    def add(self, defect: Defect, at_s: float) -> None:
        key = (defect.method, defect.kind, defect.type)
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = DefectRow(*key, 1, round(at_s, 3), defect.message, list(defect.frames))
        else:
            row.count += 1

    def merge(self, rows: Iterable[dict[str, Any]]) -> None:
        """Rows from elsewhere (a worker's shipment): counts add up, the earliest evidence is kept."""
        for data in rows:
            incoming = DefectRow(**data)
            key = (incoming.method, incoming.kind, incoming.type)
            row = self._rows.get(key)
            if row is None:
                self._rows[key] = incoming
            else:
                row.count += incoming.count
                if incoming.first_s < row.first_s:
                    row.first_s, row.message, row.frames = incoming.first_s, incoming.message, incoming.frames

    def rows(self) -> list[DefectRow]:
        return sorted(self._rows.values(), key=lambda r: (r.first_s, r.method, r.kind))

    def total(self) -> int:
        return sum(row.count for row in self._rows.values())

    def unshipped(self) -> list[dict[str, Any]]:
        """What was added since the last call, as rows to :meth:`merge` elsewhere (each occurrence once)."""
        out = []
        for key, row in self._rows.items():
            sent = self._shipped.get(key, 0)
            if row.count > sent:
                out.append({**row.as_dict(), "count": row.count - sent})
                self._shipped[key] = row.count
        return out
