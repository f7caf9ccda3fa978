"""Reconciliation: what clients told their users against what the platform's ledger holds.

Every order the load handed to a client is judged on its *last claim* (the last ``issue``/``batch``/``drain``
answer) against the ledger after the drain, never on the client's word alone. A *live* invoice is a blue
invoice whose outcome is ISSUED and that no red invoice has reversed in full. Each finding is a broken promise
to a user; ``FINDINGS`` is the one list of them, with what each means.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loadtests.records import CLAIM_OPERATIONS, OperationRecord

FINDINGS: dict[str, str] = {
    "lost": "told issued, but the order has no live invoice in the ledger (none at all, or the number the client "
    "gave is not this order's, or it was reversed by a red invoice nobody in the run asked for)",
    "never_issued": "told queued (an invoice later), and after the drain the ledger still has no live invoice: "
    "the offline queue was dropped or never drained",
    "duplicates": "more than one live invoice for one order",
    "mismatched": "a live invoice whose total differs from the order, or an issued claim whose number is not the "
    "order's live invoice while it has one (the user holds the wrong number)",
    "unknown": "told failed or rejected (or never answered), but the ledger holds a live invoice: a user who "
    "re-issues by hand duplicates it",
    "no_number": "told issued without an invoice number while the ledger holds the invoice: the user has "
    "nothing to hand the buyer",
    "no_answer": "handed to the client and never answered (no claim at all)",
    "not_uploaded": "the order's live invoice never reached the tax bureau: its upload FAILED and the client did not "
    "upload it again (a buyer's 查验 finds nothing; the invoice is not valid for deduction)",
    "contradicted": "a receiver's verification (查验) of a number the client reported issued came back "
    "mismatch or not_found",
}
CONTRADICTING = frozenset({"mismatch", "not_found"})  # verification results that contradict an issued claim


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
    """Claims against the ledger: counts, and every order of each finding with its evidence."""

    orders: int
    claims: dict[str, int]
    ledger_invoices: int  # live blue invoices of the run's orders
    returned: int = 0  # orders the run's returns desk reversed on purpose
    lost: list[OrderFinding] = field(default_factory=list)
    never_issued: list[OrderFinding] = field(default_factory=list)
    duplicates: list[OrderFinding] = field(default_factory=list)
    mismatched: list[OrderFinding] = field(default_factory=list)
    unknown: list[OrderFinding] = field(default_factory=list)
    no_number: list[OrderFinding] = field(default_factory=list)
    no_answer: list[OrderFinding] = field(default_factory=list)
    not_uploaded: list[OrderFinding] = field(default_factory=list)
    contradicted: list[OrderFinding] = field(default_factory=list)

    def findings(self) -> dict[str, list[OrderFinding]]:
        """Every finding kind (``FINDINGS`` order) with its orders, empty ones included."""
        return {kind: list(getattr(self, kind)) for kind in FINDINGS}

    def total_findings(self) -> int:
        return sum(len(items) for items in self.findings().values())


def claims_by_order(records: Iterable[OperationRecord]) -> dict[str, list[OperationRecord]]:
    """Everything each order's user was told, in the order it was told (``issue``/``batch`` answers, then drains)."""
    claims: dict[str, list[OperationRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.end_s):
        if record.operation in CLAIM_OPERATIONS:  # verifications and returns are not claims about an order
            claims[record.order_ref].append(record)
    return claims


@dataclass
class _Blue:
    """A blue invoice of the ledger, as far as reconciliation cares."""

    number: str | None
    total: Decimal
    issued: bool
    reversed_by: Decimal = Decimal(0)  # Σ of the red invoices against it (negative)
    upload_failed: bool = False  # its upload to the tax bureau FAILED and was never repeated

    @property
    def live(self) -> bool:
        return self.issued and self.total + self.reversed_by > 0


@dataclass
class _Ledger:
    """The ledger grouped by order: blue invoices by order ref, and every number's owner."""

    blues: dict[str, list[_Blue]] = field(default_factory=lambda: defaultdict(list))
    owner: dict[str, str] = field(default_factory=dict)  # invoice number -> order ref

    @classmethod
    def read(cls, rows: Iterable[Mapping[str, Any]]) -> _Ledger:
        """Keep what judging needs; ``rows`` may be a stream (the admin API's NDJSON export)."""
        ledger = cls()
        by_number: dict[str, _Blue] = {}
        reds: list[tuple[str, Decimal]] = []
        for row in rows:
            issued = str(row.get("finalStatus", row.get("status"))) == "ISSUED"
            number = row.get("invoiceNo")
            total = Decimal(str(row["totals"]["totalWithTax"]))
            if row.get("kind", "blue") == "red":
                if issued and row.get("blueInvoiceNo"):
                    reds.append((str(row["blueInvoiceNo"]), total))
                continue
            blue = _Blue(
                str(number) if number else None, total, issued, upload_failed=row.get("uploadState") == "FAILED"
            )
            ledger.blues[str(row["orderRef"])].append(blue)
            if blue.number:
                by_number[blue.number] = blue
                ledger.owner[blue.number] = str(row["orderRef"])
        for blue_no, total in reds:
            if blue_no in by_number:
                by_number[blue_no].reversed_by += total
        return ledger

    def live(self, order_ref: str) -> list[_Blue]:
        return [b for b in self.blues.get(order_ref, []) if b.live]

    def reversed_numbers(self, order_ref: str) -> set[str]:
        return {b.number for b in self.blues.get(order_ref, []) if b.issued and not b.live and b.number}


def _judge_order(
    told: Sequence[OperationRecord], order_ref: str, ledger: _Ledger, expected: Decimal, returned: bool
) -> Iterator[tuple[str, str]]:
    """(finding kind, detail) for one order, each kind at most once.

    Every ``issued`` answer is final for the user who got it (a number handed to a buyer), so each one is
    checked, even one a later drain superseded; the last answer decides what a ``queued``, ``failed`` or
    ``rejected`` user was promised."""
    live = ledger.live(order_ref)
    numbers = [b.number or "?" for b in live]
    found: dict[str, str] = {}
    if len(live) > 1:
        found["duplicates"] = f"{len(live)} live invoices for one order: {', '.join(numbers)}"
    for blue in live:
        if blue.upload_failed:
            found.setdefault("not_uploaded", f"invoice {blue.number}: upload FAILED and never repeated")
        if blue.total != expected:
            found.setdefault(
                "mismatched", f"invoice {blue.number}: ledger total {blue.total} != order total {expected}"
            )
    for claim in told:
        if claim.outcome == "issued":
            for kind, detail in _judge_issued(claim.invoice_no, order_ref, ledger, live, returned):
                found.setdefault(kind, detail)
    last = told[-1].outcome if told else None
    if last is None:
        found["no_answer"] = "the client never answered for this order" + (
            f" (the ledger has {numbers})" if live else ""
        )
    elif last == "queued" and not live:
        found["never_issued"] = "told queued; after the drain the ledger has no live invoice for this order"
    elif last not in ("issued", "queued") and live:
        found["unknown"] = f"told {last}, but the ledger holds {', '.join(numbers)}"
    yield from found.items()


def _judge_issued(
    claimed: str | None, order_ref: str, ledger: _Ledger, live: Sequence[_Blue], returned: bool
) -> Iterator[tuple[str, str]]:
    """What is wrong with one ``issued`` answer (nothing, when its number is the order's live invoice)."""
    numbers = [b.number for b in live]
    if not claimed:
        if live:
            yield "no_number", f"told issued without a number; the ledger holds {', '.join(map(str, numbers))}"
        else:
            yield "lost", "told issued (without a number); the ledger has no live invoice for this order"
        return
    if claimed in numbers:
        return
    if claimed in ledger.reversed_numbers(order_ref):
        if not returned:
            yield "lost", f"the client's invoice {claimed} was reversed by a red invoice nobody in the run asked for"
        return
    owner = ledger.owner.get(claimed)
    where = "is not in the ledger" if owner is None else f"belongs to order {owner}"
    if live:
        shown = ", ".join(map(str, numbers))
        yield "mismatched", f"told issued {claimed}, which {where}; the order's invoice is {shown}"
    else:
        yield "lost", f"the client's invoice {claimed} {where}; the ledger has no live invoice for this order"


def _evidence(told: Sequence[OperationRecord], kind: str, live: Sequence[str]) -> OperationRecord | None:
    """The answer a finding is about: the first wrong ``issued`` one for a wrong number, else the last answer."""
    if kind in ("lost", "mismatched", "no_number"):
        wrong = [c for c in told if c.outcome == "issued" and (not c.invoice_no or c.invoice_no not in live)]
        if wrong:
            return wrong[0]
    return told[-1] if told else None


def reconcile(
    expected_totals: Mapping[str, Decimal],
    records: Sequence[OperationRecord],
    ledger_rows: Iterable[Mapping[str, Any]],
) -> Reconciliation:
    """Judge every order the load handed to a client against the ledger (blue and red rows, any status)."""
    ledger = _Ledger.read(ledger_rows)
    claims = claims_by_order(records)
    returned = {r.order_ref.removesuffix("-R") for r in records if r.operation == "red"}
    contradictions: dict[str, OperationRecord] = {}
    for record in records:
        if record.operation == "verify" and record.outcome in CONTRADICTING:
            contradictions.setdefault(record.order_ref, record)
    counts: dict[str, int] = defaultdict(int)
    found: dict[str, list[OrderFinding]] = defaultdict(list)
    live_invoices = 0
    for order_ref, expected in expected_totals.items():
        told = claims.get(order_ref, [])
        claim = told[-1] if told else None
        counts[claim.outcome if claim else "no-answer"] += 1
        live = tuple(b.number or "?" for b in ledger.live(order_ref))
        live_invoices += len(live)
        judged = list(_judge_order(told, order_ref, ledger, expected, order_ref in returned))
        check = contradictions.get(order_ref)
        if check is not None:
            judged.append(
                ("contradicted", f"verification of {check.invoice_no}: {check.outcome} ({check.error or ''})")
            )
        for kind, detail in judged:
            evidence = _evidence(told, kind, live)
            status = evidence.outcome if evidence else "no-answer"
            found[kind].append(OrderFinding(order_ref, status, evidence.invoice_no if evidence else None, live, detail))
    return Reconciliation(
        orders=len(expected_totals),
        claims=dict(counts),
        ledger_invoices=live_invoices,
        returned=len(returned & set(expected_totals)),
        lost=found["lost"],
        never_issued=found["never_issued"],
        duplicates=found["duplicates"],
        mismatched=found["mismatched"],
        unknown=found["unknown"],
        no_number=found["no_number"],
        no_answer=found["no_answer"],
        not_uploaded=found["not_uploaded"],
        contradicted=found["contradicted"],
    )
