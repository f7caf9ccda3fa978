"""Group commit: concurrent ledger writes share a transaction; one that raises rolls back alone; a ledger held by
another process never blocks the event loop."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import time
from pathlib import Path

import pytest

from taxstorm.chaos.waiting import wait_until
from taxstorm.mock_platform.store.checkpoint import SAFETY_NET_PAGES, Checkpointer
from taxstorm.mock_platform.store.db import SqliteDatabase, Tx
from taxstorm.mock_platform.store.group_commit import GroupCommit


def count(db: SqliteDatabase, name: str) -> int:
    row = db.peek("SELECT value FROM counters WHERE name = ?", (name,))
    return int(row[0]) if row else 0


def bump(tx: Tx) -> int:
    return tx.next_value("a")


def refuse(tx: Tx) -> int:
    tx.next_value("a")
    raise ValueError("refused")


def test_writes_handed_over_together_share_one_commit_and_a_failing_one_rolls_back_alone(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "ledger.sqlite3")
    writer = GroupCommit(db)

    async def scenario() -> list[object]:
        return list(await asyncio.gather(*(writer.run(f) for f in (bump, refuse, bump, bump)), return_exceptions=True))

    results = asyncio.run(scenario())
    assert [r for r in results if not isinstance(r, Exception)] == [1, 2, 3]
    assert isinstance(results[1], ValueError)  # its own exception, its own rollback
    assert count(db, "a") == 3
    assert writer.writes == 4 and writer.groups == 1 and writer.deferred == 0


def test_a_group_larger_than_the_limit_is_split(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "ledger.sqlite3")
    writer = GroupCommit(db, max_group=3)

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(writer.run(bump) for _ in range(7))))

    assert sorted(asyncio.run(scenario())) == list(range(1, 8))
    assert writer.groups == 3


def test_a_database_error_of_a_write_reaches_its_request(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "ledger.sqlite3")
    writer = GroupCommit(db)

    def unknown_table(tx: Tx) -> None:
        tx.execute("INSERT INTO nowhere VALUES (1)")

    with pytest.raises(Exception, match="nowhere"):
        asyncio.run(writer.run(unknown_table))


def test_a_ledger_held_by_another_process_defers_the_group_and_the_loop_keeps_answering(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    db = SqliteDatabase(path)
    other = sqlite3.connect(path, isolation_level=None)  # another platform process's connection
    other.execute("BEGIN IMMEDIATE")
    writer = GroupCommit(db)
    ticks: list[float] = []

    async def release_after(delay_s: float) -> None:
        started = time.monotonic()
        while time.monotonic() - started < delay_s:
            ticks.append(time.monotonic())  # the loop runs while the group waits for the ledger
            await asyncio.sleep(0.01)
        other.execute("COMMIT")

    async def scenario() -> list[int]:
        releasing = asyncio.ensure_future(release_after(0.3))
        results = list(await asyncio.gather(writer.run(bump), writer.run(bump)))
        await releasing
        return results

    assert asyncio.run(scenario()) == [1, 2]
    assert writer.deferred == 1 and writer.groups == 1
    assert len(ticks) >= 10  # ~30 turns of 10 ms: never blocked on the lock
    other.close()


def test_the_log_is_checkpointed_by_a_thread_of_its_own_and_the_thread_ends_with_the_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    db = SqliteDatabase(path)
    checkpointer = db.checkpointer
    checkpointer.stop()  # hold the thread's next turn until the log is full of rows
    assert db.peek("PRAGMA wal_autocheckpoint")[0] == SAFETY_NET_PAGES  # type: ignore[index]  # commits never do it
    with db.write() as tx:
        for number in range(200):
            tx.execute("INSERT INTO meta (name, value) VALUES (?, ?)", (f"row-{number}", "x" * 4000))
    before = path.stat().st_size
    assert Path(f"{path}-wal").stat().st_size > 800_000 and before < 800_000  # the rows are in the log only

    running = Checkpointer(path, every_s=0.02)
    running.start()
    wait_until(lambda: path.stat().st_size > before + 700_000, 10, "the checkpoint thread to copy the log")
    running.stop()

    other = SqliteDatabase(tmp_path / "other.sqlite3")
    thread = other.checkpointer._thread
    assert thread is not None and thread.is_alive()
    del other
    gc.collect()
    wait_until(lambda: not thread.is_alive(), 5, "the checkpoint thread to end with its database")
