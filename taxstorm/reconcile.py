"""Reconciliation: what clients told their users against what the platform's ledger holds.

Every order the load handed to a client is judged on its *last claim* (the last ``issue``/``batch``/``drain``
answer) against the ledger after the drain, never on the client's word alone. A *live* invoice is a blue
invoice whose outcome is ISSUED and that no red invoice has reversed in full. Each finding is a broken promise
to a user; ``FINDINGS`` is the one list of them, with what each means.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from taxstorm.loadtests.records import CLAIM_OPERATIONS, PAGE, OperationRecord, Recorder, transaction

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


_LEDGER_SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -2048;
CREATE TABLE blues (id INTEGER PRIMARY KEY, order_ref TEXT NOT NULL, number TEXT, total TEXT, issued INTEGER,
                    upload_failed INTEGER);
CREATE TABLE reds (blue_no TEXT NOT NULL, total TEXT NOT NULL);
"""


class _Ledger:
    """The ledger on disk (SQLite's private temporary database): blue invoices by order, red ones by the blue
    invoice they reverse, every number's owner. Read once from a stream (the admin API's NDJSON export)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.executescript(_LEDGER_SCHEMA)
        blues: list[tuple[Any, ...]] = []
        reds: list[tuple[str, str]] = []
        for row in rows:
            issued = str(row.get("finalStatus", row.get("status"))) == "ISSUED"
            number = row.get("invoiceNo")
            total = str(Decimal(str(row["totals"]["totalWithTax"])))
            if row.get("kind", "blue") == "red":
                if issued and row.get("blueInvoiceNo"):
                    reds.append((str(row["blueInvoiceNo"]), total))
            else:
                failed = row.get("uploadState") == "FAILED"
                blues.append((str(row["orderRef"]), str(number) if number else None, total, issued, failed))
            if len(blues) + len(reds) >= 5_000:
                self._write(blues, reds)
        self._write(blues, reds)
        self._db.execute("CREATE INDEX reds_blue ON reds (blue_no)")
        self._reds = bool(self._db.execute("SELECT 1 FROM reds LIMIT 1").fetchone())
        self._numbered = False  # the index by number is built at the first look-up (most runs need none)

    def _write(self, blues: list[tuple[Any, ...]], reds: list[tuple[str, str]]) -> None:
        sql = "INSERT INTO blues (order_ref, number, total, issued, upload_failed) VALUES (?, ?, ?, ?, ?)"
        with transaction(self._db):
            self._db.executemany(sql, blues)
            self._db.executemany("INSERT INTO reds (blue_no, total) VALUES (?, ?)", reds)
        blues.clear()
        reds.clear()

    def by_order(self) -> Iterator[tuple[str, list[_Blue]]]:
        """Every order's blue invoices (each with the red invoices against it summed), sorted by order ref."""
        reds = "(SELECT group_concat(total, ' ') FROM reds WHERE reds.blue_no = blues.number)" if self._reds else "NULL"
        cursor = self._db.execute(
            f"SELECT order_ref, number, total, issued, upload_failed, {reds} FROM blues ORDER BY order_ref, id"
        )
        current: str | None = None
        group: list[_Blue] = []
        while True:
            rows = cursor.fetchmany(PAGE)
            if not rows:
                break
            for ref, number, total, issued, failed, red_totals in rows:
                if ref != current:
                    if current is not None:
                        yield current, group
                    current, group = ref, []
                reversed_by = sum((Decimal(t) for t in red_totals.split()), Decimal(0)) if red_totals else Decimal(0)
                group.append(_Blue(number, Decimal(total), bool(issued), reversed_by, bool(failed)))
            del rows  # before the next page is read: one page held at a time
        if current is not None:
            yield current, group

    def owner(self, number: str) -> str | None:
        """The order an invoice number belongs to (None: not in the ledger)."""
        if not self._numbered:
            self._db.execute("CREATE INDEX blues_number ON blues (number)")
            self._numbered = True
        row = self._db.execute("SELECT order_ref FROM blues WHERE number = ? LIMIT 1", (number,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()


_V = TypeVar("_V")
Owner = Callable[[str], str | None]  # the order an invoice number belongs to (None: not in the ledger)


class _Aligned(Generic[_V]):
    """Look-ups by ascending key into a stream sorted by key: each key is read once, skipped ones dropped."""

    def __init__(self, stream: Iterator[tuple[str, _V]]) -> None:
        self._stream = stream
        self._head: tuple[str, _V] | None = next(stream, None)

    def take(self, key: str, default: _V) -> _V:
        while self._head is not None and self._head[0] < key:
            self._head = next(self._stream, None)
        if self._head is not None and self._head[0] == key:
            return self._head[1]
        return default


def _judge_order(
    told: Sequence[OperationRecord], blues: Sequence[_Blue], owner: Owner, expected: Decimal, returned: bool
) -> Iterator[tuple[str, str]]:
    """(finding kind, detail) for one order (``blues``: its blue invoices in the ledger), each kind at most once.

    Every ``issued`` answer is final for the user who got it (a number handed to a buyer), so each one is
    checked, even one a later drain superseded; the last answer decides what a ``queued``, ``failed`` or
    ``rejected`` user was promised."""
    live = [b for b in blues if b.live]
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
    reversed_numbers = {b.number for b in blues if b.issued and not b.live and b.number}
    for claim in told:
        if claim.outcome == "issued":
            for kind, detail in _judge_issued(claim.invoice_no, owner, live, reversed_numbers, returned):
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
    claimed: str | None, owner: Owner, live: Sequence[_Blue], reversed_numbers: set[str], returned: bool
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
    if claimed in reversed_numbers:
        if not returned:
            yield "lost", f"the client's invoice {claimed} was reversed by a red invoice nobody in the run asked for"
        return
    belongs_to = owner(claimed)
    where = "is not in the ledger" if belongs_to is None else f"belongs to order {belongs_to}"
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


def reconcile_run(recorder: Recorder, ledger_rows: Iterable[Mapping[str, Any]]) -> Reconciliation:
    """Judge every order the load handed to a client against the ledger (blue and red rows, any status).

    Three streams sorted by order ref are walked side by side (the orders, every record about them, the ledger's
    blue invoices), so judging keeps one order in memory at a time, whatever the length of the run."""
    ledger = _Ledger(ledger_rows)
    try:
        about = _Aligned(recorder.about_orders())
        invoices = _Aligned(ledger.by_order())
        counts: dict[str, int] = defaultdict(int)
        found: dict[str, list[OrderFinding]] = defaultdict(list)
        orders = live_invoices = returned = 0
        for order_ref, expected in recorder.orders_by_ref():
            orders += 1
            records = about.take(order_ref, [])
            told = [r for r in records if r.operation in CLAIM_OPERATIONS]
            was_returned = any(r.operation == "red" for r in records)
            returned += was_returned
            claim = told[-1] if told else None
            counts[claim.outcome if claim else "no-answer"] += 1
            blues = invoices.take(order_ref, [])
            live = tuple(b.number or "?" for b in blues if b.live)
            live_invoices += len(live)
            judged = list(_judge_order(told, blues, ledger.owner, expected, was_returned))
            check = next((r for r in records if r.operation == "verify" and r.outcome in CONTRADICTING), None)
            if check is not None:
                judged.append(
                    ("contradicted", f"verification of {check.invoice_no}: {check.outcome} ({check.error or ''})")
                )
            for kind, detail in judged:
                evidence = _evidence(told, kind, live)
                status = evidence.outcome if evidence else "no-answer"
                number = evidence.invoice_no if evidence else None
                found[kind].append(OrderFinding(order_ref, status, number, live, detail))
    finally:
        ledger.close()
    return Reconciliation(
        orders=orders,
        claims=dict(counts),
        ledger_invoices=live_invoices,
        returned=returned,
        **{kind: found[kind] for kind in FINDINGS},
    )


def reconcile(
    expected_totals: Mapping[str, Decimal],
    records: Iterable[OperationRecord],
    ledger_rows: Iterable[Mapping[str, Any]],
) -> Reconciliation:
    """:func:`reconcile_run` on records and orders at hand (records read back, a test's story)."""
    recorder = Recorder.from_records(records, expected_totals.items())
    try:
        return reconcile_run(recorder, ledger_rows)
    finally:
        recorder.close()
