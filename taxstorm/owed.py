"""The harness's own backlog: orders whose users were told "queued" and that have no invoice in the ledger yet,
plus the orders whose invoice's upload to the tax bureau FAILED and was not repeated (work still owed).

It is counted from what the clients told their users and what the platform's ledger holds, never from the
client's own word (``backlog()``): a client that drops its offline queue still owes every invoice it promised.
The drain gate and the live status use this count; the client's count is only compared with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from taxstorm.loadtests.records import CLAIM_OPERATIONS, Recorder, transaction

Lookup = Callable[[list[str]], set[str]]  # which of these orders have an invoice in the ledger
UploadsOwed = Callable[[], set[str]]  # the orders (of any run on the ledger) whose upload FAILED, not repeated


class _Landed:
    """Orders seen in the ledger, on disk (SQLite's private temporary database): a long run lands many."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.executescript("PRAGMA journal_mode = OFF; CREATE TABLE landed (ref TEXT PRIMARY KEY) WITHOUT ROWID;")

    def update(self, refs: Iterable[str]) -> None:
        with transaction(self._db):
            self._db.executemany("INSERT OR IGNORE INTO landed (ref) VALUES (?)", ((ref,) for ref in refs))

    def __contains__(self, ref: object) -> bool:
        return self._db.execute("SELECT 1 FROM landed WHERE ref = ?", (ref,)).fetchone() is not None


class OwedInvoices:
    """Orders whose latest claim is ``queued``, minus those the ledger has an invoice for; plus this run's orders
    whose invoice's upload FAILED and was not repeated."""

    def __init__(self, recorder: Recorder, lookup: Lookup, uploads_owed: UploadsOwed = lambda: set()) -> None:
        self._recorder = recorder
        self._lookup = lookup
        self._uploads_owed = uploads_owed
        self._seen = 0  # records read so far (the recorder only appends)
        self._queued: set[str] = set()  # latest claim "queued", not yet seen in the ledger
        self._landed = _Landed()  # seen in the ledger: no longer owed, whatever comes later
        self._not_uploaded: set[str] = set()  # at the last look, an upload still to repeat
        self.lookup_errors = 0  # look-ups that failed (the platform may be down: the count stays as it was)

    def owed(self) -> set[str]:
        """The orders still owed, by what is known now (no look-up)."""
        self._read_claims()
        return self._queued | self._not_uploaded

    def refresh(self) -> int:
        """Read the new claims, ask the ledger about every order still owed, and return how many remain."""
        waiting = self.owed() - self._not_uploaded
        try:
            if waiting:
                landed = self._lookup(sorted(waiting))
                self._landed.update(landed)
                self._queued -= landed
            self._not_uploaded = self._recorder.claimed(self._uploads_owed())
        except Exception:
            self.lookup_errors += 1
        return len(self.owed())

    def _read_claims(self) -> None:
        fresh = self._recorder.since(self._seen)
        self._seen += len(fresh)
        for record in fresh:
            if record.operation not in CLAIM_OPERATIONS:
                continue
            if record.outcome != "queued":
                self._queued.discard(record.order_ref)
            elif record.order_ref not in self._landed:
                self._queued.add(record.order_ref)


def backlog_check(owed: int, client_says: int, drained: bool, settled: dict[str, Any] | None = None) -> dict[str, Any]:
    """The client's ``backlog()`` after the drain against the harness's count of orders still owed; ``settled``:
    the last drain the client got to read outcomes already decided (its count before, how long it took)."""
    agrees = owed == client_says
    if not drained:
        message = "no drain: not compared"
    elif agrees:
        message = f"the client's backlog() ({client_says}) matches the {owed} orders still owed"
    elif client_says < owed:
        message = (
            f"the client's backlog() says {client_says}, but {owed} orders are still owed (told queued without an "
            "invoice, or an upload to repeat): a dropped queue, or a backlog() that does not count them"
        )
    else:
        message = (
            f"the client's backlog() says {client_says}, but only {owed} orders are still owed (told queued without"
            " an invoice, or an upload to repeat)"
        )
    if drained and settled is not None:
        message += (
            f"; when the drain's time ran out it said {settled['client_before']} with nothing owed, and a last drain"
            f" of {settled['took_s']:.1f} s let it read the outcomes it was still waiting for"
        )
    check = {"owed": owed, "client": client_says, "agrees": agrees or not drained, "message": message}
    return check | ({"settled": settled} if settled is not None else {})
