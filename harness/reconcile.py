"""Reconciliation: what clients told their users against what the platform's ledger holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loadtests.records import CLAIM_OPERATIONS, OperationRecord


@dataclass(frozen=True)
class OrderFinding:
    """One order that did not end cleanly, with the evidence."""

    order_ref: str
    claim: str
    client_invoice_no: str | None
    ledger_invoice_nos: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class Reconciliation:
    """Counts and the specific orders that are lost, duplicated, mismatched or of unknown outcome."""

    orders: int
    claims: dict[str, int]
    ledger_invoices: int
    lost: list[OrderFinding] = field(default_factory=list)
    duplicates: list[OrderFinding] = field(default_factory=list)
    mismatched: list[OrderFinding] = field(default_factory=list)
    unknown: list[OrderFinding] = field(default_factory=list)
    pending: list[OrderFinding] = field(default_factory=list)


def final_claims(records: Iterable[OperationRecord]) -> dict[str, OperationRecord]:
    """The last thing each order's user was told (an ``issue`` answer, later superseded by a drain)."""
    claims: dict[str, OperationRecord] = {}
    for record in sorted(records, key=lambda r: r.end_s):
        if record.operation in CLAIM_OPERATIONS:  # verifications and returns are not claims about an order
            claims[record.order_ref] = record
    return claims


LedgerInvoice = tuple[str, str]  # (invoiceNo, totalWithTax): all reconciliation keeps of a ledger row


def _judge_order(
    status: str, claim: OperationRecord | None, rows: Sequence[LedgerInvoice], expected: Decimal
) -> Iterator[tuple[str, str]]:
    """(finding kind, detail) for one order: duplicates, mismatches, lost, unknown outcome, pending."""
    numbers = [number for number, _ in rows]
    if len(rows) > 1:
        yield "duplicates", f"{len(rows)} live invoices for one order"
    for number, total_text in rows:
        total = Decimal(total_text)
        if total != expected:
            yield "mismatched", f"invoice {number}: ledger total {total} != order total {expected}"
    client_no = claim.invoice_no if claim else None
    if status == "issued":
        if not rows:
            yield "lost", "client said issued; the ledger has no invoice for this order"
        elif client_no is not None and client_no not in numbers:
            yield "lost", f"client's invoice {client_no} is not in the ledger"
    elif rows:
        yield "unknown", f"client said {status}, but the ledger holds an invoice"
    elif status == "queued":
        yield "pending", "still queued in the client's backlog"


def reconcile(
    expected_totals: Mapping[str, Decimal],
    records: Sequence[OperationRecord],
    ledger_rows: Iterable[Mapping[str, Any]],
) -> Reconciliation:
    """Group the ledger by ``orderRef`` and compare with every order the load handed to a client.

    ``ledger_rows`` may be a stream (the admin API's NDJSON): only number and total of live blue invoices are kept.
    """
    ledger: dict[str, list[LedgerInvoice]] = defaultdict(list)
    ledger_count = 0
    for row in ledger_rows:
        if row.get("status") == "ISSUED" and row.get("kind", "blue") == "blue":
            ledger[str(row["orderRef"])].append((str(row["invoiceNo"]), str(row["totals"]["totalWithTax"])))
            ledger_count += 1
    claims = final_claims(records)
    counts: dict[str, int] = defaultdict(int)
    found: dict[str, list[OrderFinding]] = defaultdict(list)

    for order_ref, expected in expected_totals.items():
        claim = claims.get(order_ref)
        status = claim.outcome if claim else "no-answer"
        counts[status] += 1
        rows = ledger.get(order_ref, [])
        for kind, detail in _judge_order(status, claim, rows, expected):
            numbers = tuple(number for number, _ in rows)
            found[kind].append(OrderFinding(order_ref, status, claim.invoice_no if claim else None, numbers, detail))
    return Reconciliation(
        orders=len(expected_totals),
        claims=dict(counts),
        ledger_invoices=ledger_count,
        lost=found["lost"],
        duplicates=found["duplicates"],
        mismatched=found["mismatched"],
        unknown=found["unknown"],
        pending=found["pending"],
    )
