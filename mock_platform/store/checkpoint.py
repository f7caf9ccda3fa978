"""WAL checkpoints on a thread of their own, so no request waits while SQLite copies the log into the database.

SQLite checkpoints by default in whichever connection commits the transaction that grows the log past 1,000
pages: with group commit on the event loop, that is the loop, and a checkpoint (copy ~4 MB, sync) held every
request for tens of milliseconds. Here a thread runs ``PRAGMA wal_checkpoint(PASSIVE)`` twice a second (passive:
it never blocks a writer or a reader); the request connections keep a far larger automatic threshold only as a
safety net, should this thread ever fall behind.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

EVERY_S = 0.5
SAFETY_NET_PAGES = 20_000  # the automatic checkpoint of request connections (~80 MB of log)


class Checkpointer:
    """The checkpoint thread of one SQLite ledger in one process."""

    def __init__(self, path: Path, every_s: float = EVERY_S) -> None:
        self.path = path
        self.every_s = every_s
        self.checkpoints = 0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (once)."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ledger-checkpoint", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        except sqlite3.Error:
            return  # the ledger is gone (a test's temporary directory): nothing to checkpoint
        try:
            while not self._stopped.wait(self.every_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    continue  # busy or the file went away: the next turn tries again (or stop() ends it)
        finally:
            conn.close()
