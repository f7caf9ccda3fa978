"""Group commit: concurrent ledger writes share a transaction; one that raises rolls back alone."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from mock_platform.store.db import SqliteDatabase, Tx
from mock_platform.store.group_commit import GroupCommit


def count(db: SqliteDatabase, name: str) -> int:
    row = db.peek("SELECT value FROM counters WHERE name = ?", (name,))
    return int(row[0]) if row else 0


def test_waiting_writes_share_one_commit_and_a_failing_one_rolls_back_alone(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "ledger.sqlite3")
    writer = GroupCommit(db)
    gate = threading.Event()

    def held(tx: Tx) -> int:
        gate.wait(5)  # the writer is busy with this one while the others queue up
        return tx.next_value("a")

    def bump(tx: Tx) -> int:
        return tx.next_value("a")

    def refuse(tx: Tx) -> int:
        tx.next_value("a")
        raise ValueError("refused")

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(writer.run(held))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(writer.run(f)) for f in (bump, refuse, bump, bump)]
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(first, *rest, return_exceptions=True))

    results = asyncio.run(scenario())
    assert results[0] == 1 and [r for r in results[1:] if not isinstance(r, Exception)] == [2, 3, 4]
    assert isinstance(results[2], ValueError)  # its own exception, its own rollback
    assert count(db, "a") == 4
    assert writer.writes == 5 and writer.groups == 2  # the four that waited went in one transaction


def test_a_database_error_of_a_write_reaches_its_request(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "ledger.sqlite3")
    writer = GroupCommit(db)

    def unknown_table(tx: Tx) -> None:
        tx.execute("INSERT INTO nowhere VALUES (1)")

    with pytest.raises(Exception, match="nowhere"):
        asyncio.run(writer.run(unknown_table))
