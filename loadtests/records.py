"""Per-operation records: what each business operation was told, when, and how long it took."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal

Operation = Literal["issue", "drain"]


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One user-level operation; times are seconds since the run started on the run clock."""

    start_s: float
    end_s: float
    operation: Operation
    outcome: str
    order_ref: str
    attempts: int
    invoice_no: str | None = None
    error: str | None = None

    @property
    def latency_ms(self) -> float:
        return (self.end_s - self.start_s) * 1000.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "latency_ms": round(self.latency_ms, 3)}


class Recorder:
    """Collects records and the expected totals of every order handed to a client."""

    def __init__(self) -> None:
        self.records: list[OperationRecord] = []
        self.expected_totals: dict[str, Decimal] = {}
        self.arrivals = 0  # operations the load offered
        self.dropped = 0  # offered while the generator's in-flight cap was reached
        self.in_flight = 0  # operations started and not yet recorded

    def order_created(self, order_ref: str, total_with_tax: Decimal) -> None:
        self.expected_totals[order_ref] = total_with_tax

    def add(self, record: OperationRecord) -> None:
        self.records.append(record)
