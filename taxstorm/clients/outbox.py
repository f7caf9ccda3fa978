"""A durable outbox: an order and its request serial are stored *before* the first send.

Every seller's outbox in one state directory lives in one SQLite file (WAL) reached through one shared
connection per process: a thousand point-of-sale users cost one connection, not a thousand.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from taxstorm.clients.orders import Order

EntryState = Literal["pending", "issued", "rejected", "mismatch", "upload"]  # upload: issued, to upload again

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    seller     TEXT NOT NULL,
    order_ref  TEXT NOT NULL,
    serial     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    state      TEXT NOT NULL,
    invoice_no TEXT,
    error      TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    UNIQUE (seller, order_ref)
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (seller, state, seq);
"""


@dataclass(frozen=True)
class OutboxEntry:
    """One order in the outbox with the serial it will always be sent under."""

    order_ref: str
    serial: str
    body: str  # the issue request as JSON text, serialised once and sent as is on every try
    state: EntryState
    invoice_no: str | None
    attempts: int  # 0 until a request for this entry may have reached the platform
    total_with_tax: str  # the order's total, to check the platform's answer against

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


SETTLE_GROUP = 64


class _SharedConnection:
    """One autocommit connection to an outbox file, shared by every outbox of the process, reference-counted."""

    _open: ClassVar[dict[Path, _SharedConnection]] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)
        self.lock = threading.Lock()  # statements are autocommit; the lock keeps threads off one cursor
        self.users = 0
        self.settles: list[tuple[Any, ...]] = []  # written in groups: see Outbox.settle

    def flush(self) -> None:
        """Write the deferred settles in one transaction (call with ``lock`` held)."""
        if self.settles:
            settles, self.settles = self.settles, []
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "UPDATE outbox SET state = ?, invoice_no = ?, error = ? WHERE seller = ? AND order_ref = ?", settles
            )
            self.conn.execute("COMMIT")

    @classmethod
    def acquire(cls, path: Path) -> _SharedConnection:
        key = path.resolve()
        with cls._registry_lock:
            shared = cls._open.get(key)
            if shared is None:
                shared = cls._open[key] = cls(key)
            shared.users += 1
            return shared

    def release(self) -> None:
        with self._registry_lock:
            self.users -= 1
            with self.lock:
                self.flush()
            if self.users == 0:
                self._open.pop(self.path, None)
                self.conn.close()


class Outbox:
    """One seller's outbox, FIFO over pending entries, in the shared outbox file at ``path``."""

    def __init__(self, path: Path, seller: str) -> None:
        self._shared = _SharedConnection.acquire(path)
        self._seller = seller
        self._closed = False

    def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._shared.lock:
            self._shared.flush()  # every read sees every settle
            return self._shared.conn.execute(sql, parameters).fetchall()

    def record(self, order: Order, sending: bool) -> tuple[OutboxEntry, bool]:
        """Store the order with a fresh serial (True), or return the entry it already has (False).

        ``sending``: the caller sends it right away, so the entry is marked as possibly sent in the same write.
        """
        serial = f"TS{uuid.uuid4().hex[:24]}"
        body = json.dumps(order.invoice_payload(serial), separators=(",", ":"))
        attempts = 1 if sending else 0
        with self._shared.lock:
            inserted = self._shared.conn.execute(
                "INSERT INTO outbox (seller, order_ref, serial, payload, state, attempts, created_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (seller, order_ref) DO NOTHING",
                (self._seller, order.order_ref, serial, body, attempts, time.time()),
            ).rowcount
        if inserted:
            entry = OutboxEntry(order.order_ref, serial, body, "pending", None, attempts, str(order.total_with_tax))
            return entry, True
        existing = self.get(order.order_ref)
        assert existing is not None  # the conflicting row exists and rows are never deleted
        return existing, False

    def get(self, order_ref: str) -> OutboxEntry | None:
        rows = self._execute(
            "SELECT order_ref, serial, payload, state, invoice_no, attempts FROM outbox "
            "WHERE order_ref = ? AND seller = ?",
            (order_ref, self._seller),
        )
        return self._entry(rows[0]) if rows else None

    def pending(self, limit: int) -> list[OutboxEntry]:
        rows = self._execute(
            "SELECT order_ref, serial, payload, state, invoice_no, attempts FROM outbox "
            "WHERE seller = ? AND state = 'pending' ORDER BY seq LIMIT ?",
            (self._seller, limit),
        )
        return [self._entry(row) for row in rows]

    def count_pending(self) -> int:
        """Work still owed: orders to issue, and issued invoices to upload again."""
        rows = self._execute(
            "SELECT COUNT(*) FROM outbox WHERE seller = ? AND state IN ('pending', 'upload')", (self._seller,)
        )
        return int(rows[0][0])

    def to_upload(self, limit: int) -> list[OutboxEntry]:
        """Issued invoices whose upload to the tax bureau FAILED, oldest first."""
        rows = self._execute(
            "SELECT order_ref, serial, payload, state, invoice_no, attempts FROM outbox "
            "WHERE seller = ? AND state = 'upload' ORDER BY seq LIMIT ?",
            (self._seller, limit),
        )
        return [self._entry(row) for row in rows]

    def rotate_serial(self, entry: OutboxEntry) -> OutboxEntry:
        """A new serial for an order whose old serial the platform marked FAILED (no invoice exists under it)."""
        serial = f"TS{uuid.uuid4().hex[:24]}"
        body = json.dumps({**entry.payload, "requestSerialNo": serial}, separators=(",", ":"))
        self._execute(
            "UPDATE outbox SET serial = ?, payload = ? WHERE seller = ? AND order_ref = ?",
            (serial, body, self._seller, entry.order_ref),
        )
        return replace(entry, serial=serial, body=body)

    def count_attempt(self, order_ref: str) -> None:
        """Note that a request for this entry may have reached the platform (its outcome can be unknown)."""
        self._execute(
            "UPDATE outbox SET attempts = attempts + 1 WHERE seller = ? AND order_ref = ?", (self._seller, order_ref)
        )

    def settle(self, order_ref: str, state: EntryState, invoice_no: str | None, error: str | None = None) -> None:
        """Record the final state; written with the next read or in groups of ``SETTLE_GROUP``.

        Deferring is safe: an entry whose settle a crash lost is still pending and marked as possibly sent, so
        the next drain looks its serial up and settles it from the platform's answer, never resubmitting it.
        """
        with self._shared.lock:
            self._shared.settles.append((state, invoice_no, error, self._seller, order_ref))
            if len(self._shared.settles) >= SETTLE_GROUP:
                self._shared.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._shared.release()

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> OutboxEntry:
        total = str(json.loads(row[2])["totals"]["totalWithTax"])
        return OutboxEntry(row[0], row[1], row[2], row[3], row[4], row[5], total)
