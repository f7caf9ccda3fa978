"""Platform-wide values kept in the ledger, so a restarted process (or a second one on the same ledger) sees
them: the platform clock's offset."""

from __future__ import annotations

from taxstorm.mock_platform.store.db import Database

CLOCK_OFFSET = "clock_offset_s"


def load_clock_offset(db: Database) -> float:
    """The platform clock's offset from real time (0 when never moved); read inside or outside a transaction (the
    clock is asked for the time while a write is open)."""
    row = db.peek("SELECT value FROM meta WHERE name = ?", (CLOCK_OFFSET,))
    return float(row[0]) if row else 0.0


def save_clock_offset(db: Database, offset_s: float) -> None:
    with db.write() as tx:
        tx.execute("DELETE FROM meta WHERE name = ?", (CLOCK_OFFSET,))
        tx.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (CLOCK_OFFSET, repr(offset_s)))
