"""Per-operation records: what each business operation was told, when, and how long it took."""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from loadtests.defects import DefectLog

Operation = Literal["issue", "batch", "drain", "verify", "red", "housekeeping"]
CLAIM_OPERATIONS = frozenset({"issue", "batch", "drain"})  # what a client told its user about an order


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
    defect: str | None = None  # ``method:kind`` when the client under test broke the protocol (loadtests.defects)

    @property
    def latency_ms(self) -> float:
        return (self.end_s - self.start_s) * 1000.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "latency_ms": round(self.latency_ms, 3)}


class Recorder:
    """Collects records, the expected totals of every order handed to a client and the client's defects."""

    def __init__(self) -> None:
        self.records: list[OperationRecord] = []
        self.defects = DefectLog()
        self.expected_totals: dict[str, Decimal] = {}
        self.arrivals = 0  # operations the load offered
        self.dropped = 0  # offered while the generator's in-flight cap was reached
        self.in_flight = 0  # operations started and not yet recorded

    def order_created(self, order_ref: str, total_with_tax: Decimal) -> None:
        self.expected_totals[order_ref] = total_with_tax

    def add(self, record: OperationRecord) -> None:
        self.records.append(record)

    def write_csv(self, path: Path) -> None:
        """Every record as one CSV row (times in run seconds, latency in ms)."""
        columns = ["start_s", "end_s", "operation", "outcome", "order_ref", "attempts", "invoice_no", "latency_ms"]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*columns, "error", "defect"])
            for r in self.records:
                writer.writerow(
                    [
                        f"{r.start_s:.4f}",
                        f"{r.end_s:.4f}",
                        r.operation,
                        r.outcome,
                        r.order_ref,
                        r.attempts,
                        r.invoice_no or "",
                        f"{r.latency_ms:.2f}",
                        r.error or "",
                        r.defect or "",
                    ]
                )

    @staticmethod
    def read_csv(path: Path) -> list[OperationRecord]:
        """The records of an ``operations.csv`` written by :meth:`write_csv`."""
        records = []
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                records.append(
                    OperationRecord(
                        start_s=float(row["start_s"]),
                        end_s=float(row["end_s"]),
                        operation=row["operation"],  # type: ignore[arg-type]
                        outcome=row["outcome"],
                        order_ref=row["order_ref"],
                        attempts=int(row["attempts"]),
                        invoice_no=row["invoice_no"] or None,
                        error=row["error"] or None,
                        defect=row.get("defect") or None,
                    )
                )
        return records

    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """How many records of each operation ended in each outcome."""
        counts: dict[str, dict[str, int]] = {}
        for record in self.records:
            by_outcome = counts.setdefault(record.operation, {})
            by_outcome[record.outcome] = by_outcome.get(record.outcome, 0) + 1
        return counts
