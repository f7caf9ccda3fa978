"""Per-operation records: what each business operation was told, when, and how long it took.

A run's records and orders live on disk (SQLite's private temporary database), not in the runner's memory: a
30-minute game day at hundreds of operations a second keeps a page cache and a small buffer, however long it
runs. Readers ask for what they need: the increment since they last looked, a span of time, or one stream
of the whole run in the order a judge wants it.
"""

from __future__ import annotations

import csv
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from taxstorm.loadtests.defects import DefectLog

Operation = Literal["issue", "batch", "drain", "verify", "red", "housekeeping"]
CLAIM_OPERATIONS = frozenset({"issue", "batch", "drain"})  # what a client told its user about an order
RETURN_SUFFIX = "-R"  # a return's red operation is recorded under the order's ref with this suffix


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One user-level operation; times are seconds since the run started on the run clock."""

    start_s: float
    end_s: float
    operation: Operation
    outcome: str
    order_ref: str
    attempts: int
    invoice_no: str | None = None
    error: str | None = None
    defect: str | None = (
        None  # ``method:kind`` when the client under test broke the protocol (taxstorm.loadtests.defects)
    )

    @property
    def latency_ms(self) -> float:
        return (self.end_s - self.start_s) * 1000.0

    @property
    def about(self) -> str:
        """The order this record is about (a return's ``red`` operation names the order with a suffix)."""
        return self.order_ref.removesuffix(RETURN_SUFFIX) if self.operation == "red" else self.order_ref

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "latency_ms": round(self.latency_ms, 3)}


_FIELDS = "start_s, end_s, operation, outcome, order_ref, attempts, invoice_no, error, defect"
_CLAIMS = "(" + ", ".join(f"'{o}'" for o in sorted(CLAIM_OPERATIONS)) + ")"
_SCHEMA = f"""
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -2048;
PRAGMA temp_store = FILE;
CREATE TABLE records (id INTEGER PRIMARY KEY, {_FIELDS}, about TEXT NOT NULL);
CREATE INDEX records_end ON records (end_s);
CREATE TABLE orders (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE, total TEXT NOT NULL);
"""
PAGE = 1_000  # rows a stream reads from disk at a time


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction around many statements (in autocommit mode every row of an ``executemany`` would be
    its own: a hundred times slower)."""
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Recorder:
    """Collects records, the expected totals of every order handed to a client and the client's defects.

    Records and orders go to disk as they come (a buffer of at most ``FLUSH_EVERY`` rows is kept); any read
    flushes the buffer first. Safe to use from several threads; the database is deleted when the recorder is
    closed or collected.
    """

    FLUSH_EVERY = 2_000

    def __init__(self) -> None:
        self.defects = DefectLog()
        self.arrivals = 0  # operations the load offered
        self.dropped = 0  # offered while the generator's in-flight cap was reached
        self.in_flight = 0  # operations started and not yet recorded
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)  # "": a private file
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._pending: list[tuple[Any, ...]] = []
        self._pending_orders: list[tuple[str, str]] = []
        self._records = 0

    # -- writing ---------------------------------------------------------------------------------------------

    def order_created(self, order_ref: str, total_with_tax: Decimal) -> None:
        with self._lock:
            self._pending_orders.append((order_ref, str(total_with_tax)))
            if len(self._pending_orders) >= self.FLUSH_EVERY:
                self._flush()

    def add(self, record: OperationRecord) -> None:
        with self._lock:
            r = record
            row = (r.start_s, r.end_s, r.operation, r.outcome, r.order_ref, r.attempts, r.invoice_no, r.error, r.defect)
            self._pending.append((*row, r.about))
            self._records += 1
            if len(self._pending) >= self.FLUSH_EVERY:
                self._flush()

    def _flush(self) -> None:
        if not self._pending and not self._pending_orders:
            return
        with transaction(self._db):
            self._db.executemany(f"INSERT INTO records ({_FIELDS}, about) VALUES ({'?, ' * 9}?)", self._pending)
            # an order created twice (a shipment repeated) keeps its first total
            self._db.executemany("INSERT OR IGNORE INTO orders (ref, total) VALUES (?, ?)", self._pending_orders)
        self._pending, self._pending_orders = [], []

    def close(self) -> None:
        """Delete the records (the recorder cannot be used after)."""
        with self._lock:
            self._pending, self._pending_orders = [], []
            self._db.close()

    # -- small reads: lists bounded by what the caller asks for ----------------------------------------------

    def __len__(self) -> int:
        """How many records were added."""
        return self._records

    def orders(self) -> int:
        """How many distinct orders were handed to a client."""
        return int(self._query("SELECT COUNT(*) FROM orders")[0][0])

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            self._flush()
            return self._db.execute(sql, params).fetchall()

    def since(self, seen: int) -> list[OperationRecord]:
        """The records added after the first ``seen`` (in the order they were added)."""
        rows = self._query(f"SELECT {_FIELDS} FROM records WHERE id > ? ORDER BY id", (seen,))
        return [OperationRecord(*row) for row in rows]

    def ended_between(self, since_s: float, until_s: float) -> list[OperationRecord]:
        """The records that ended in [``since_s``, ``until_s``] (in the order they were added)."""
        sql = f"SELECT {_FIELDS} FROM records WHERE end_s >= ? AND end_s <= ? ORDER BY id"
        return [OperationRecord(*row) for row in self._query(sql, (since_s, until_s))]

    def ended_before(self, before_s: float, operation: Operation) -> list[OperationRecord]:
        """The ``operation`` records that ended before ``before_s`` (a baseline: its span bounds the list)."""
        sql = f"SELECT {_FIELDS} FROM records WHERE end_s < ? AND operation = ? ORDER BY id"
        return [OperationRecord(*row) for row in self._query(sql, (before_s, operation))]

    def orders_since(self, seen: int) -> list[tuple[str, Decimal]]:
        """The orders created after the first ``seen`` distinct ones, with their expected totals."""
        rows = self._query("SELECT ref, total FROM orders WHERE id > ? ORDER BY id", (seen,))
        return [(ref, Decimal(total)) for ref, total in rows]

    def claimed(self, refs: Iterable[str]) -> set[str]:
        """Which of ``refs`` some user got a claim (an ``issue``, ``batch`` or ``drain`` answer) about."""
        wanted, found = list(refs), set[str]()
        for start in range(0, len(wanted), 500):
            chunk = tuple(wanted[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT DISTINCT about FROM records WHERE about IN ({marks}) AND operation IN {_CLAIMS}"
            found.update(row[0] for row in self._query(sql, chunk))
        return found

    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """How many records of each operation ended in each outcome."""
        counts: dict[str, dict[str, int]] = {}
        for operation, outcome, count in self._query(
            "SELECT operation, outcome, COUNT(*) FROM records GROUP BY operation, outcome ORDER BY MIN(id)"
        ):
            counts.setdefault(operation, {})[outcome] = count
        return counts

    # -- streams: the whole run, a page at a time --------------------------------------------------------------

    def _stream(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        with self._lock:
            self._flush()
            cursor = self._db.execute(sql, params)
        while True:
            with self._lock:
                rows = cursor.fetchmany(PAGE)
            if not rows:
                return
            yield from rows
            del rows  # before the next page is read: one page held at a time, not two

    def stream(self, operations: Collection[Operation] = ()) -> Iterator[OperationRecord]:
        """Every record (only those of ``operations``, when given), in the order they were added."""
        where = f"WHERE operation IN ({', '.join(f'{o!r}' for o in sorted(operations))})" if operations else ""
        for row in self._stream(f"SELECT {_FIELDS} FROM records {where} ORDER BY id"):
            yield OperationRecord(*row)

    def stream_by_start(self, operation: Operation) -> Iterator[OperationRecord]:
        """Every ``operation`` record in the order they started (sorted on disk)."""
        sql = f"SELECT {_FIELDS} FROM records WHERE operation = ? ORDER BY start_s, id"
        for row in self._stream(sql, (operation,)):
            yield OperationRecord(*row)

    def issues_with_invoice_time(self) -> Iterator[tuple[OperationRecord, float | None]]:
        """Every ``issue`` record with the time its order's user first held an invoice number (the end of its
        first ``issued`` claim with a number: an ``issue`` answer, or a drain after a ``queued`` one), or None."""
        with self._lock:
            self._flush()
            self._db.execute("DROP TABLE IF EXISTS temp.invoiced")
            self._db.execute("CREATE TEMP TABLE invoiced (ref TEXT PRIMARY KEY, at_s REAL) WITHOUT ROWID")
            self._db.execute(
                "INSERT INTO invoiced SELECT order_ref, MIN(end_s) FROM records WHERE operation IN "
                f"{_CLAIMS} AND outcome = 'issued' AND invoice_no IS NOT NULL AND invoice_no != '' GROUP BY order_ref"
            )
        fields = ", ".join(f"r.{name}" for name in _FIELDS.split(", "))
        sql = (
            f"SELECT {fields}, i.at_s FROM records r LEFT JOIN invoiced i ON i.ref = r.order_ref "
            "WHERE r.operation = 'issue' ORDER BY r.id"
        )
        for row in self._stream(sql):
            yield OperationRecord(*row[:-1]), row[-1]

    def orders_by_ref(self) -> Iterator[tuple[str, Decimal]]:
        """Every order with its expected total, sorted by order ref."""
        for ref, total in self._stream("SELECT ref, total FROM orders ORDER BY ref"):
            yield ref, Decimal(total)

    def about_orders(self) -> Iterator[tuple[str, list[OperationRecord]]]:
        """Every record about an order grouped by the order's ref (sorted), in end order within a group: the
        claims, the receivers' verifications and a return's ``red`` operation."""
        with self._lock:
            self._flush()  # indexed now, not while the run writes: one sort instead of a million random inserts
            self._db.execute("CREATE INDEX IF NOT EXISTS records_about ON records (about, end_s, id)")
        group: list[OperationRecord] = []
        current: str | None = None
        for row in self._stream(f"SELECT about, {_FIELDS} FROM records ORDER BY about, end_s, id"):
            if row[0] != current:
                if current is not None:
                    yield current, group
                current, group = row[0], []
            group.append(OperationRecord(*row[1:]))
        if current is not None:
            yield current, group

    # -- files -------------------------------------------------------------------------------------------------

    def write_csv(self, path: Path) -> None:
        """Every record as one CSV row (times in run seconds, latency in ms), streamed from disk."""
        columns = ["start_s", "end_s", "operation", "outcome", "order_ref", "attempts", "invoice_no", "latency_ms"]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*columns, "error", "defect"])
            for r in self.stream():
                writer.writerow(
                    [
                        f"{r.start_s:.4f}",
                        f"{r.end_s:.4f}",
                        r.operation,
                        r.outcome,
                        r.order_ref,
                        r.attempts,
                        r.invoice_no or "",
                        f"{r.latency_ms:.2f}",
                        r.error or "",
                        r.defect or "",
                    ]
                )

    @classmethod
    def from_records(cls, records: Iterable[OperationRecord], orders: Iterable[tuple[str, Decimal]] = ()) -> Recorder:
        """A recorder holding ``records`` and ``orders`` (ref, expected total): for judging records read back."""
        recorder = cls()
        for ref, total in orders:
            recorder.order_created(ref, total)
        for record in records:
            recorder.add(record)
        return recorder

    @staticmethod
    def read_csv(path: Path) -> Iterator[OperationRecord]:
        """The records of an ``operations.csv`` written by :meth:`write_csv`, one at a time."""
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                yield OperationRecord(
                    start_s=float(row["start_s"]),
                    end_s=float(row["end_s"]),
                    operation=row["operation"],  # type: ignore[arg-type]
                    outcome=row["outcome"],
                    order_ref=row["order_ref"],
                    attempts=int(row["attempts"]),
                    invoice_no=row["invoice_no"] or None,
                    error=row["error"] or None,
                    defect=row.get("defect") or None,
                )
