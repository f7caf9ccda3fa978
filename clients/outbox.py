"""A durable outbox: an order and its request serial are stored *before* the first send."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from clients.orders import Order

EntryState = Literal["pending", "issued", "rejected", "mismatch"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    order_ref  TEXT NOT NULL UNIQUE,
    serial     TEXT NOT NULL UNIQUE,
    payload    TEXT NOT NULL,
    state      TEXT NOT NULL,
    invoice_no TEXT,
    error      TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);
"""


@dataclass(frozen=True)
class OutboxEntry:
    """One order in the outbox with the serial it will always be sent under."""

    order_ref: str
    serial: str
    payload: dict[str, Any]
    state: EntryState
    invoice_no: str | None
    attempts: int


class Outbox:
    """SQLite-backed (WAL) outbox of one seller; FIFO over pending entries."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def record(self, order: Order) -> OutboxEntry:
        """Store the order with a fresh serial, or return the entry it already has."""
        existing = self.get(order.order_ref)
        if existing is not None:
            return existing
        serial = f"TS{uuid.uuid4().hex[:24]}"
        payload = order.invoice_payload(serial)
        self._conn.execute(
            "INSERT INTO outbox (order_ref, serial, payload, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
            (order.order_ref, serial, json.dumps(payload), time.time()),
        )
        return OutboxEntry(order.order_ref, serial, payload, "pending", None, 0)

    def get(self, order_ref: str) -> OutboxEntry | None:
        row = self._conn.execute(
            "SELECT order_ref, serial, payload, state, invoice_no, attempts FROM outbox WHERE order_ref = ?",
            (order_ref,),
        ).fetchone()
        return self._entry(row) if row else None

    def pending(self, limit: int) -> list[OutboxEntry]:
        rows = self._conn.execute(
            "SELECT order_ref, serial, payload, state, invoice_no, attempts FROM outbox "
            "WHERE state = 'pending' ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [self._entry(row) for row in rows]

    def count_pending(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    def rotate_serial(self, entry: OutboxEntry) -> OutboxEntry:
        """A new serial for an order whose old serial the platform marked FAILED (no invoice exists under it)."""
        serial = f"TS{uuid.uuid4().hex[:24]}"
        payload = {**entry.payload, "requestSerialNo": serial}
        self._conn.execute(
            "UPDATE outbox SET serial = ?, payload = ? WHERE order_ref = ?",
            (serial, json.dumps(payload), entry.order_ref),
        )
        return OutboxEntry(entry.order_ref, serial, payload, entry.state, entry.invoice_no, entry.attempts)

    def count_attempt(self, order_ref: str) -> None:
        self._conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE order_ref = ?", (order_ref,))

    def settle(self, order_ref: str, state: EntryState, invoice_no: str | None, error: str | None = None) -> None:
        self._conn.execute(
            "UPDATE outbox SET state = ?, invoice_no = ?, error = ? WHERE order_ref = ?",
            (state, invoice_no, error, order_ref),
        )

    def close(self) -> None:
        self._conn.close()

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> OutboxEntry:
        return OutboxEntry(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])
