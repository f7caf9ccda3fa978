"""Invoice rows. Status is materialised on read: a row is PROCESSING until its ``due_at``, then final."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from taxstorm.mock_platform.clock import iso
from taxstorm.mock_platform.store.db import Database, Row, Tx

COLUMNS = (
    "seller_tax_id, request_serial_no, payload_hash, order_ref, kind, invoice_type, invoice_no, blue_invoice_no, "
    "final_status, fail_code, fail_reason, buyer_tax_id, total_amount, total_tax, total_with_tax, created_at, "
    "due_at, batch_id, instance, payload, upload_state, uploaded_at"
)
DOCUMENT_KINDS = ("pdf", "ofd", "xml")


@dataclass(frozen=True)
class Invoice:
    """One ledger row (blue or red) with its final outcome decided at acceptance."""

    seller_tax_id: str
    request_serial_no: str
    payload_hash: str
    order_ref: str
    kind: str
    invoice_type: str
    invoice_no: str | None
    blue_invoice_no: str | None
    final_status: str
    fail_code: str | None
    fail_reason: str | None
    buyer_tax_id: str | None
    total_amount: str
    total_tax: str
    total_with_tax: str
    created_at: float
    due_at: float
    batch_id: str | None
    instance: str
    payload: str
    upload_state: str = "UPLOADED"  # FAILED: the upload to the tax bureau failed; the seller must re-upload
    uploaded_at: float | None = None  # when the bureau has it (UPLOADING before)

    @classmethod
    def from_row(cls, row: Row) -> Invoice:
        return cls(*row)

    @property
    def accept_no(self) -> str:
        """受理编号: the platform's number of the accepted request (the same on every replay)."""
        return hashlib.sha256(f"{self.seller_tax_id}|{self.request_serial_no}".encode()).hexdigest()[:20].upper()

    def status_at(self, now: float) -> str:
        return "PROCESSING" if now < self.due_at else self.final_status

    def upload_at(self, now: float) -> str | None:
        """The 乐企 issue-then-upload state of an ISSUED invoice: UPLOADING, UPLOADED or FAILED (None otherwise)."""
        if self.status_at(now) != "ISSUED":
            return None
        if self.upload_state == "FAILED":
            return "FAILED"
        return "UPLOADING" if self.uploaded_at is not None and now < self.uploaded_at else "UPLOADED"

    def view(self, now: float, replayed: bool = False) -> dict[str, Any]:
        """The result document clients see."""
        status = self.status_at(now)
        issued = status == "ISSUED"
        upload = self.upload_at(now)
        data: dict[str, Any] = {
            "requestSerialNo": self.request_serial_no,
            "acceptNo": self.accept_no,
            "orderRef": self.order_ref,
            "sellerTaxId": self.seller_tax_id,
            "buyerTaxId": self.buyer_tax_id,
            "kind": self.kind,
            "invoiceType": self.invoice_type,
            "status": status,
            "invoiceNo": self.invoice_no if issued else None,
            "issueTime": iso(self.due_at) if issued else None,
            "totals": {"amount": self.total_amount, "tax": self.total_tax, "totalWithTax": self.total_with_tax},
            "uploadState": upload,
            "replayed": replayed,
        }
        if upload == "UPLOADED" and self.invoice_no:  # delivery: the documents the buyer receives
            base = f"/api/v1/invoices/{self.invoice_no}/documents"
            data.update({f"{kind}Url": f"{base}/{kind}" for kind in DOCUMENT_KINDS})
        if self.blue_invoice_no:
            data["blueInvoiceNo"] = self.blue_invoice_no
        if self.batch_id:
            data["batchId"] = self.batch_id
        if status == "FAILED":
            data["failCode"] = self.fail_code
            data["failReason"] = self.fail_reason
        return data

    def detail(self, now: float) -> dict[str, Any]:
        """The view plus the original lines."""
        body = json.loads(self.payload)
        return {
            **self.view(now),
            "lines": body.get("lines", []),
            "seller": body.get("seller"),
            "buyer": body.get("buyer"),
            "remarks": body.get("remarks"),
        }

    def export(self, now: float) -> dict[str, Any]:
        """The admin ledger export row: the view plus what only the operator may know (the final outcome and
        number of a row still PROCESSING)."""
        return {
            **self.view(now),
            "invoiceNo": self.invoice_no,
            "finalStatus": self.final_status,
            "createdAt": self.created_at,
            "dueAt": self.due_at,
            "instance": self.instance,
        }


def insert(tx: Tx, invoice: Invoice) -> None:
    tx.execute(
        f"INSERT INTO invoices ({COLUMNS}) VALUES ({', '.join('?' * 22)})",
        (
            invoice.seller_tax_id,
            invoice.request_serial_no,
            invoice.payload_hash,
            invoice.order_ref,
            invoice.kind,
            invoice.invoice_type,
            invoice.invoice_no,
            invoice.blue_invoice_no,
            invoice.final_status,
            invoice.fail_code,
            invoice.fail_reason,
            invoice.buyer_tax_id,
            invoice.total_amount,
            invoice.total_tax,
            invoice.total_with_tax,
            invoice.created_at,
            invoice.due_at,
            invoice.batch_id,
            invoice.instance,
            invoice.payload,
            invoice.upload_state,
            invoice.uploaded_at,
        ),
    )


def mark_uploaded(tx: Tx, invoice_no: str, now: float) -> None:
    """A re-upload that reached the tax bureau."""
    tx.execute("UPDATE invoices SET upload_state = 'UPLOADED', uploaded_at = ? WHERE invoice_no = ?", (now, invoice_no))


def find(tx: Tx, seller_tax_id: str, serial: str) -> Invoice | None:
    row = tx.one(
        f"SELECT {COLUMNS} FROM invoices WHERE seller_tax_id = ? AND request_serial_no = ?", (seller_tax_id, serial)
    )
    return Invoice.from_row(row) if row else None


def by_number(tx: Tx, invoice_no: str) -> Invoice | None:
    row = tx.one(f"SELECT {COLUMNS} FROM invoices WHERE invoice_no = ?", (invoice_no,))
    return Invoice.from_row(row) if row else None


def red_total(tx: Tx, blue_invoice_no: str, now: float) -> Decimal:
    """Σ of red net amounts already issued or in flight against a blue invoice (negative)."""
    rows = tx.all(
        "SELECT total_amount FROM invoices WHERE blue_invoice_no = ? AND kind = 'red' AND "
        "(final_status = 'ISSUED' OR due_at > ?)",
        (blue_invoice_no, now),
    )
    return sum((Decimal(r[0]) for r in rows), Decimal(0))


@dataclass(frozen=True)
class ListFilter:
    """Filters of ``GET /invoices``."""

    seller_tax_id: str
    since: float | None = None
    until: float | None = None
    status: str | None = None
    page: int = 1
    page_size: int = 20


def list_page(tx: Tx, flt: ListFilter, now: float) -> tuple[int, list[Invoice]]:
    """(total matching, the page) ordered by creation time."""
    where = ["seller_tax_id = ?", "created_at >= ?", "created_at < ?"]
    params: list[Any] = [flt.seller_tax_id, flt.since or 0.0, flt.until or 1e12]
    if flt.status == "PROCESSING":
        where.append("due_at > ?")
        params.append(now)
    elif flt.status is not None:
        where.append("final_status = ? AND due_at <= ?")
        params.extend([flt.status, now])
    clause = " AND ".join(where)
    total_row = tx.one(f"SELECT COUNT(*) FROM invoices WHERE {clause}", params)
    rows = tx.all(
        f"SELECT {COLUMNS} FROM invoices WHERE {clause} ORDER BY created_at, request_serial_no LIMIT ? OFFSET ?",
        [*params, flt.page_size, (flt.page - 1) * flt.page_size],
    )
    return int(total_row[0]) if total_row else 0, [Invoice.from_row(r) for r in rows]


def export(db: Database, since: float | None, until: float | None) -> Iterator[Invoice]:
    """Every row created in [since, until), oldest first, streamed."""
    for row in db.stream(
        f"SELECT {COLUMNS} FROM invoices WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
        (since if since is not None else 0.0, until if until is not None else 1e12),
    ):
        yield Invoice.from_row(row)


def landed(tx: Tx, order_refs: Sequence[str]) -> set[str]:
    """The order refs among ``order_refs`` that have a blue invoice whose outcome is (or will be) ISSUED."""
    found: set[str] = set()
    for start in range(0, len(order_refs), LOOKUP_CHUNK):
        chunk = list(order_refs[start : start + LOOKUP_CHUNK])
        marks = ", ".join("?" * len(chunk))
        rows = tx.all(
            f"SELECT DISTINCT order_ref FROM invoices WHERE kind = 'blue' AND final_status = 'ISSUED' "
            f"AND order_ref IN ({marks})",
            chunk,
        )
        found.update(str(r[0]) for r in rows)
    return found


def upload_failed(tx: Tx) -> set[str]:
    """The order refs whose blue invoice is (or will be, once processed) ISSUED with an upload that FAILED and was
    not repeated: work a seller still owes the tax bureau."""
    rows = tx.all(
        "SELECT DISTINCT order_ref FROM invoices WHERE kind = 'blue' AND final_status = 'ISSUED' "
        "AND upload_state = 'FAILED'"
    )
    return {str(r[0]) for r in rows}


LOOKUP_CHUNK = 500  # bound parameters per query (SQLite allows far more; PostgreSQL plans it well)


def count(tx: Tx) -> int:
    row = tx.one("SELECT COUNT(*) FROM invoices")
    return int(row[0]) if row else 0
