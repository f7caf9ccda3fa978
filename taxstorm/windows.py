"""Phase windows (baseline / fault / recovery) and the frozen per-window metrics snapshot."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.digest import Digest
from taxstorm.loadtests.records import CLAIM_OPERATIONS, OperationRecord

WindowKind = Literal["all", "baseline", "fault", "recovery"]
DEFINED_OUTCOMES = frozenset({"issued", "queued", "rejected", "failed"})


@dataclass(frozen=True)
class Window:
    """A named span of run time.

    Membership keeps fault effects out of the healthy windows: ``baseline`` holds operations that *finished*
    before the first fault; a fault window holds every operation whose span touched the fault; ``recovery``
    holds operations by their start time, except that a recovery cut short by the next fault
    (``ends_at_fault``) leaves out those that were still running when it struck (they count in that fault's
    window); ``all`` holds operations by their start time.
    """

    name: str
    kind: WindowKind
    start_s: float
    end_s: float
    fault: str | None = None
    ends_at_fault: bool = False

    def includes(self, start_s: float, end_s: float) -> bool:
        if self.kind == "baseline" or (self.kind == "recovery" and self.ends_at_fault):
            return self.start_s <= start_s and end_s < self.end_s
        if self.kind == "fault":
            return start_s < self.end_s and end_s >= self.start_s
        return self.start_s <= start_s < self.end_s


@dataclass(frozen=True)
class WindowStats:
    """Frozen metrics of the operations that started in one window."""

    window: Window
    operations: int
    outcomes: dict[str, int]
    latency_ms: dict[str, float] = field(default_factory=dict)
    undefined: int = 0  # outcomes outside the protocol, or "issued" without an invoice number
    defects: int = 0  # answers the guard had to make up: the client broke the protocol (taxstorm.loadtests.defects)
    abandoned: int = 0  # of those, calls that never answered within the answer budget
    invoice_ms: dict[str, float] = field(default_factory=dict)  # time to invoice of the orders that got one
    invoiced: int = 0  # orders of the window whose user got an invoice number (at once or by a later drain)

    @property
    def failed(self) -> int:
        return self.outcomes.get("failed", 0)

    @property
    def error_rate(self) -> float:
        return self.failed / self.operations if self.operations else 0.0


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def build_windows(events: Sequence[FaultEvent], end_s: float) -> list[Window]:
    """``all``, ``baseline`` before the first fault, one window per applied fault and one recovery after it."""
    windows = [Window("all", "all", 0.0, end_s)]
    applied = sorted((e for e in events if e.applied_s is not None), key=lambda e: e.applied_s or 0.0)
    first = applied[0].applied_s if applied else end_s
    windows.append(Window("baseline", "baseline", 0.0, first or 0.0))
    for event in applied:
        assert event.applied_s is not None
        fault_end = event.reverted_s if event.reverted_s is not None else end_s
        windows.append(Window(event.label, "fault", event.applied_s, min(fault_end, end_s), event.label))
        if event.reverted_s is not None and event.reverted_s < end_s and not event.lasted_to_end:
            later = [e.applied_s for e in applied if e.applied_s is not None and e.applied_s >= event.reverted_s]
            until = min([end_s, *later])
            windows.append(
                Window(f"recovery:{event.label}", "recovery", event.reverted_s, until, event.label, until < end_s)
            )
    return windows


DEFAULT_PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def invoice_times(records: Iterable[OperationRecord]) -> dict[str, float]:
    """When each order's user first held an invoice number: the end of its first ``issued`` claim (an ``issue``
    answer, or a drain after a ``queued`` one). In memory: for records at hand (a run streams them instead:
    ``Recorder.issues_with_invoice_time``)."""
    first: dict[str, float] = {}
    for record in records:
        if record.operation in CLAIM_OPERATIONS and record.outcome == "issued" and record.invoice_no:
            known = first.get(record.order_ref)
            first[record.order_ref] = record.end_s if known is None else min(known, record.end_s)
    return first


class _Tally:
    """What one window has seen of the ``issue`` stream so far."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.latency = Digest()
        self.waits = Digest()
        self.outcomes: Counter[str] = Counter()
        self.undefined = self.defects = self.abandoned = 0

    def add(self, record: OperationRecord, invoiced_at: float | None) -> None:
        self.latency.add(record.latency_ms)
        self.outcomes[record.outcome] += 1
        if record.outcome not in DEFINED_OUTCOMES or (record.outcome == "issued" and not record.invoice_no):
            self.undefined += 1
        if record.defect:
            self.defects += 1
            self.abandoned += record.defect.endswith(":no_answer")
        if invoiced_at is not None:
            self.waits.add((invoiced_at - record.start_s) * 1000.0)

    def stats(self, percentiles: Sequence[float]) -> WindowStats:
        wanted = sorted({*DEFAULT_PERCENTILES, *percentiles})
        latency = {f"p{p:g}": round(v, 3) for p, v in self.latency.percentiles(wanted).items()}
        if self.latency.count:
            latency["max"] = round(self.latency.max, 3)
            latency["mean"] = round(self.latency.mean, 3)
        invoice = {f"p{p:g}": round(v, 3) for p, v in self.waits.percentiles(wanted).items()}
        if self.waits.count:
            invoice["max"] = round(self.waits.max, 3)
        return WindowStats(
            self.window,
            self.latency.count,
            dict(self.outcomes),
            latency,
            self.undefined,
            self.defects,
            self.abandoned,
            invoice,
            self.waits.count,
        )


def judge_windows(
    windows: Sequence[Window],
    issues: Iterable[tuple[OperationRecord, float | None]],
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
) -> list[WindowStats]:
    """Outcome counts and latency percentiles of the ``issue`` operations that belong to each window, and the
    time to invoice of their orders, in one pass over ``issues``: (record, when its order's user first held an
    invoice number or None). Memory is bounded: see :class:`taxstorm.digest.Digest`.

    Latency is the time to the user's *answer* (``queued`` answers quickly on an async platform); time to
    invoice is how long until the user held the invoice number, however many answers that took."""
    tallies = [_Tally(window) for window in windows]
    for record, invoiced_at in issues:
        if record.operation != "issue":
            continue
        for tally in tallies:
            if tally.window.includes(record.start_s, record.end_s):
                tally.add(record, invoiced_at)
    return [tally.stats(percentiles) for tally in tallies]


def window_stats(
    window: Window,
    records: Sequence[OperationRecord],
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    invoiced_at: Mapping[str, float] | None = None,
) -> WindowStats:
    """:func:`judge_windows` of one window over records at hand (``invoiced_at``: see :func:`invoice_times`)."""
    invoiced_at = invoice_times(records) if invoiced_at is None else invoiced_at
    issues = ((r, invoiced_at.get(r.order_ref)) for r in records if r.operation == "issue")
    return judge_windows([window], issues, percentiles)[0]


def select(stats: Sequence[WindowStats], selector: str) -> list[WindowStats]:
    """Windows a gate's ``window`` selector names: a kind (``fault``) or one window's name."""
    return [s for s in stats if s.window.kind == selector or s.window.name == selector]
