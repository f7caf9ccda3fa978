"""The durable ledger: SQLite in WAL mode; an acknowledged invoice survives ``kill -9``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    seller_tax_id     TEXT NOT NULL,
    request_serial_no TEXT NOT NULL,
    payload_hash      TEXT NOT NULL,
    order_ref         TEXT NOT NULL,
    invoice_no        TEXT NOT NULL UNIQUE,
    status            TEXT NOT NULL,
    total_amount      TEXT NOT NULL,
    total_tax         TEXT NOT NULL,
    total_with_tax    TEXT NOT NULL,
    issue_time        TEXT NOT NULL,
    created_at        REAL NOT NULL,
    PRIMARY KEY (seller_tax_id, request_serial_no)
);
CREATE INDEX IF NOT EXISTS invoices_created_at ON invoices (created_at);
CREATE INDEX IF NOT EXISTS invoices_order_ref ON invoices (order_ref);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_COLUMNS = (
    "seller_tax_id, request_serial_no, payload_hash, order_ref, invoice_no, status, "
    "total_amount, total_tax, total_with_tax, issue_time, created_at"
)


@dataclass(frozen=True)
class InvoiceRecord:
    """One row of the ledger."""

    seller_tax_id: str
    request_serial_no: str
    payload_hash: str
    order_ref: str
    invoice_no: str
    status: str
    total_amount: str
    total_tax: str
    total_with_tax: str
    issue_time: str
    created_at: float

    def export(self) -> dict[str, Any]:
        """The row as the admin ledger export shows it (camelCase, no payload hash)."""
        return {
            "sellerTaxId": self.seller_tax_id,
            "requestSerialNo": self.request_serial_no,
            "orderRef": self.order_ref,
            "invoiceNo": self.invoice_no,
            "status": self.status,
            "totals": {
                "amount": self.total_amount,
                "tax": self.total_tax,
                "totalWithTax": self.total_with_tax,
            },
            "issueTime": self.issue_time,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True)
class NewInvoice:
    """What the issue path asks the ledger to store."""

    seller_tax_id: str
    request_serial_no: str
    payload_hash: str
    order_ref: str
    total_amount: str
    total_tax: str
    total_with_tax: str


@dataclass(frozen=True)
class IssueOutcome:
    """The stored record and whether it already existed (a replay or a conflict)."""

    record: InvoiceRecord
    existed: bool


def payload_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a request body."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Ledger:
    """Invoices keyed by (seller, serial); one SQLite connection per thread, writers serialised by SQLite."""

    def __init__(self, path: Path, number_prefix: str) -> None:
        self._path = path
        self._number_prefix = number_prefix
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9);
            # only an OS crash or power loss can roll back the last commits.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def issue(self, new: NewInvoice, now: float) -> IssueOutcome:
        """Store a new invoice or return the one already stored under the same key."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing = self._find(conn, new.seller_tax_id, new.request_serial_no)
            if existing is not None:
                conn.execute("COMMIT")
                return IssueOutcome(existing, existed=True)
            year = datetime.fromtimestamp(now, UTC).strftime("%y")
            counter = f"{year}{self._number_prefix}"
            row = conn.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
                (counter,),
            ).fetchone()
            record = InvoiceRecord(
                seller_tax_id=new.seller_tax_id,
                request_serial_no=new.request_serial_no,
                payload_hash=new.payload_hash,
                order_ref=new.order_ref,
                invoice_no=f"{counter}{row[0]:015d}",
                status="ISSUED",
                total_amount=new.total_amount,
                total_tax=new.total_tax,
                total_with_tax=new.total_with_tax,
                issue_time=datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
                created_at=now,
            )
            conn.execute(
                f"INSERT INTO invoices ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.seller_tax_id,
                    record.request_serial_no,
                    record.payload_hash,
                    record.order_ref,
                    record.invoice_no,
                    record.status,
                    record.total_amount,
                    record.total_tax,
                    record.total_with_tax,
                    record.issue_time,
                    record.created_at,
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return IssueOutcome(record, existed=False)

    def by_serial(self, seller_tax_id: str, serial: str) -> InvoiceRecord | None:
        """The invoice stored under (seller, serial), if any."""
        return self._find(self._connection(), seller_tax_id, serial)

    def export(self, since: float | None = None, until: float | None = None) -> Iterator[InvoiceRecord]:
        """Every invoice created in [since, until), oldest first, streamed from a private connection."""
        conn = sqlite3.connect(self._path, timeout=30.0)
        try:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM invoices WHERE created_at >= ? AND created_at < ? "
                "ORDER BY created_at, invoice_no",
                (since if since is not None else float("-inf"), until if until is not None else float("inf")),
            )
            for row in rows:
                yield InvoiceRecord(*row)
        finally:
            conn.close()

    def count(self) -> int:
        """How many invoices the ledger holds."""
        return int(self._connection().execute("SELECT COUNT(*) FROM invoices").fetchone()[0])

    def reset(self) -> None:
        """Forget every invoice and counter (admin reset between runs)."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM invoices")
        conn.execute("DELETE FROM counters")
        conn.execute("COMMIT")

    @staticmethod
    def _find(conn: sqlite3.Connection, seller_tax_id: str, serial: str) -> InvoiceRecord | None:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM invoices WHERE seller_tax_id = ? AND request_serial_no = ?",
            (seller_tax_id, serial),
        ).fetchone()
        return InvoiceRecord(*row) if row else None


def now_epoch() -> float:
    """Wall-clock seconds; the default clock of the platform."""
    return time.time()
