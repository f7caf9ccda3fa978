"""Group commit: the ledger writes of many concurrent requests in one transaction.

A request hands its write (a function of the transaction) over and awaits it. The writes handed over while the
event loop works through its ready requests form a group; once they have all had their turn, the group runs in
one transaction, each write in a savepoint (a write that raises rolls back alone and its request gets the
exception), and commits once; only then are the requests answered, so an acknowledged invoice is as durable as
one committed alone.

The group runs on the event loop itself when the ledger can be written at once: a Python thread would only take
the GIL back and forth with the loop (measured: a writer thread cost the issue path more CPU than the SQL it ran,
see benchmarks/platform_throughput.py). When the ledger is held elsewhere (another platform process sharing it,
or a group still waiting on the writer thread) or cannot say without waiting (PostgreSQL), the group goes to the
writer thread, so the loop never waits for a lock and keeps answering.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from taxstorm.mock_platform.store.db import Database, Tx

T = TypeVar("T")


@dataclass
class _Write(Generic[T]):
    work: Callable[[Tx], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


Group = list[_Write[Any]]


class GroupCommit:
    """The group commit of one platform process."""

    def __init__(self, db: Database, max_group: int = 64) -> None:
        self._db = db
        self._max_group = max_group
        self._gathering: Group = []  # handed over during this turn of the loop
        self._queue: queue.SimpleQueue[Group] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._count_lock = threading.Lock()  # the loop and the writer thread both commit groups
        self.groups = 0  # transactions committed (for the counters: writes ÷ groups is the batching achieved)
        self.writes = 0
        self.deferred = 0  # groups the writer thread ran because the ledger was held when they were ready

    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in a shared transaction; its result once committed (or its exception)."""
        loop = asyncio.get_running_loop()
        write: _Write[T] = _Write(work, loop, loop.create_future())
        self._gathering.append(write)
        if len(self._gathering) == 1:
            loop.call_soon(self._flush, loop)  # after every request already ready on this turn has handed its write
        return await write.future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        group, self._gathering = self._gathering[: self._max_group], self._gathering[self._max_group :]
        if self._gathering:
            loop.call_soon(self._flush, loop)
        transaction = self._db.write_now()
        if transaction is None:
            self.deferred += 1
            self._ensure_thread()
            self._queue.put(group)
            return
        for write, (ok, value) in zip(group, self._commit(transaction, group), strict=True):
            _settle(write.future, ok, value)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="ledger-writer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            group = self._queue.get()
            while len(group) < self._max_group:
                try:
                    group += self._queue.get_nowait()
                except queue.Empty:
                    break
            outcomes = self._commit(self._db.write(), group)
            for write, (ok, value) in zip(group, outcomes, strict=True):
                write.loop.call_soon_threadsafe(_settle, write.future, ok, value)

    def _commit(self, transaction: AbstractContextManager[Tx], group: Group) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with transaction as tx:
                for write in group:
                    try:
                        with tx.savepoint():
                            outcomes.append((True, write.work(tx)))
                    except Exception as exc:  # this request's refusal (an ApiError) or failure: only it rolls back
                        outcomes.append((False, exc))
        except Exception as exc:  # the commit itself failed: no write of the group happened
            return [(False, exc)] * len(group)
        with self._count_lock:
            self.groups += 1
            self.writes += len(group)
        return outcomes


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
