"""The outbox: one file and one connection per process, each seller seeing only its own entries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from taxstorm.clients.outbox import Outbox
from tests.helpers import order


def test_sellers_share_one_file_but_not_their_entries(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    first, second = Outbox(path, "SELLER-A"), Outbox(path, "SELLER-B")
    try:
        a, fresh = first.record(order("O1"), sending=True)
        again, fresh_again = first.record(order("O1"), sending=True)
        assert fresh and not fresh_again and again.serial == a.serial  # recorded once: the serial never changes
        assert again.attempts == 1  # stored as possibly sent: a later try looks it up before resubmitting
        second.record(order("O1"), sending=False)  # another seller may use the same business key
        second.record(order("O2"), sending=False)
        assert first.count_pending() == 1 and second.count_pending() == 2
        first.settle("O1", "issued", "1" * 20)
        assert first.count_pending() == 0 and second.count_pending() == 2
        assert [(e.order_ref, e.attempts) for e in second.pending(limit=10)] == [("O1", 0), ("O2", 0)]
    finally:
        first.close()
        second.close()


def test_entries_survive_closing_every_outbox(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path, "SELLER-A")
    recorded, _ = outbox.record(order("O1"), sending=False)
    outbox.close()
    outbox.close()  # idempotent: the shared connection is released once
    reopened = Outbox(path, "SELLER-A")
    try:
        found = reopened.get("O1")
        assert found is not None and found.serial == recorded.serial and found.state == "pending"
    finally:
        reopened.close()


def test_settles_are_written_in_groups_and_seen_by_every_read(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path, "SELLER-A")
    try:
        for i in range(3):
            outbox.record(order(f"O{i}"), sending=True)
        outbox.settle("O0", "issued", "1" * 20)
        on_disk = sqlite3.connect(path).execute("SELECT state FROM outbox WHERE order_ref = 'O0'").fetchone()
        assert on_disk == ("pending",)  # deferred: a crash now leaves it pending and marked as possibly sent
        assert outbox.count_pending() == 2  # a read writes the deferred settles first
        on_disk = sqlite3.connect(path).execute("SELECT state FROM outbox WHERE order_ref = 'O0'").fetchone()
        assert on_disk == ("issued",)
        for i in range(1, 3):
            outbox.settle(f"O{i}", "issued", str(i) * 20)
    finally:
        outbox.close()  # closing writes what is deferred
    states = sqlite3.connect(path).execute("SELECT state, attempts FROM outbox ORDER BY order_ref").fetchall()
    assert states == [("issued", 1)] * 3
