"""Group commit: the ledger writes of many concurrent requests in one transaction, on a writer thread.

A request hands its write (a function of the transaction) to the writer and awaits it; the writer takes every
write waiting at that moment (up to ``max_group``), runs each in a savepoint of one transaction (a write that
raises rolls back alone and its request gets the exception) and commits once; only then are the requests
answered, so an acknowledged invoice is as durable as before. Meanwhile the event loop goes on parsing and
validating the next requests: the commit is shared, and the database work leaves the loop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mock_platform.store.db import Database, Tx

T = TypeVar("T")


@dataclass
class _Write(Generic[T]):
    work: Callable[[Tx], T]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


class GroupCommit:
    """The writer thread of one platform process."""

    def __init__(self, db: Database, max_group: int = 64) -> None:
        self._db = db
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Write[Any]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups = 0  # transactions committed (for the counters: writes ÷ groups is the batching achieved)
        self.writes = 0

    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in a shared transaction; its result once committed (or its exception)."""
        loop = asyncio.get_running_loop()
        write: _Write[T] = _Write(work, loop, loop.create_future())
        self._ensure_thread()
        self._queue.put(write)
        return await write.future

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="ledger-writer", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            group = [self._queue.get()]
            while len(group) < self._max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            outcomes = self._commit(group)
            self.groups += 1
            self.writes += len(group)
            for write, (ok, value) in zip(group, outcomes, strict=True):
                write.loop.call_soon_threadsafe(_settle, write.future, ok, value)

    def _commit(self, group: list[_Write[Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._db.write() as tx:
                for write in group:
                    try:
                        with tx.savepoint():
                            outcomes.append((True, write.work(tx)))
                    except Exception as exc:  # this request's refusal (an ApiError) or failure: only it rolls back
                        outcomes.append((False, exc))
        except Exception as exc:  # the commit itself failed: no write of the group happened
            return [(False, exc)] * len(group)
        return outcomes


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
