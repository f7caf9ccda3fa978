"""The journal both SDK examples keep (an integrator's own persistence): the requests owed to their users, written
before the first send, each ``new`` (not sent, as far as the client knows) or ``sent`` (its outcome may be unknown:
look before sending it again)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextvars import copy_context
from typing import Any, TypeVar

import gevent

T = TypeVar("T")


class Journal:
    """Requests owed to their users, on disk (SQLite), oldest first."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS owed (ref TEXT PRIMARY KEY, body TEXT, state TEXT, at REAL)")
        self._lock = threading.Lock()

    def record(self, ref: str, body: dict[str, Any]) -> None:
        """Keep ``body`` as the request of ``ref`` unless it is already kept (a retry resends the same request)."""
        with self._lock:
            row = (ref, json.dumps(body, ensure_ascii=False), time.time())
            self._db.execute("INSERT OR IGNORE INTO owed VALUES (?, ?, 'new', ?)", row)

    def state(self, ref: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT state, body FROM owed WHERE ref = ?", (ref,)).fetchone()
        return (str(row[0]), json.loads(row[1])) if row else None

    def mark(self, ref: str, state: str) -> None:
        with self._lock:
            self._db.execute("UPDATE owed SET state = ? WHERE ref = ?", (state, ref))

    def done(self, ref: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM owed WHERE ref = ?", (ref,))

    def owed(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self._db.execute("SELECT ref FROM owed ORDER BY at")]

    def close(self) -> None:
        self._db.close()


def work_owed(
    journal: Journal,
    busy: set[str],
    settle: Callable[[str], T],
    until: float,
    clock: Callable[[], float],
    trouble: type[Exception],
    parallel: int = 1,
) -> list[T]:
    """Settle the journal's requests oldest first until ``until``, skipping those a user's call is working on, up to
    ``parallel`` at a time (greenlets: the examples run in taxstorm's gevent process) with a slow start: one at a
    time until the platform settles some, one more after each it settles, so a struggling platform meets one
    request, not ``parallel``. After the first ``trouble`` no more start: the next drain tries again."""
    settled: list[T] = []
    troubled: list[Exception] = []
    failed: list[BaseException] = []  # anything else: raised here, after the others have ended
    allowed = 1

    def one(ref: str) -> None:
        nonlocal allowed
        try:
            settled.append(settle(ref))
            allowed = min(parallel, allowed + 1)
        except trouble as exc:
            troubled.append(exc)
        except Exception as exc:
            failed.append(exc)
        finally:
            busy.discard(ref)

    running: list[gevent.Greenlet[Any]] = []
    try:
        for ref in journal.owed():
            running = [g for g in running if not g.dead]
            while len(running) >= allowed and not (troubled or failed):
                gevent.wait(running, count=1)
                running = [g for g in running if not g.dead]
            if troubled or failed or clock() >= until:
                break
            if ref in busy:
                continue
            busy.add(ref)
            running.append(gevent.spawn(copy_context().run, one, ref))  # with the caller's context (a deadline)
        gevent.joinall(running)
    except BaseException:  # the caller itself was killed (a watchdog, a stop): so are its settles
        gevent.killall(running)
        raise
    if failed:
        raise failed[0]
    return settled
