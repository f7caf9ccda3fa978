"""Database access: serialised write transactions, concurrent reads, one schema, two engines.

SQLite in WAL mode is the embedded default: write transactions start with ``BEGIN IMMEDIATE`` so writers queue
on the database lock (several processes may share one file) and readers never block; ``synchronous=NORMAL`` in
WAL mode keeps every committed transaction through a process crash (``kill -9``). PostgreSQL (``database_url``)
serves multi-replica deployments: writers serialise on a transaction-scoped advisory lock, the same contract.
SQL is written once with ``?`` placeholders.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from taxstorm.mock_platform.store.checkpoint import SAFETY_NET_PAGES, Checkpointer

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    seller_tax_id     TEXT NOT NULL,
    request_serial_no TEXT NOT NULL,
    payload_hash      TEXT NOT NULL,
    order_ref         TEXT NOT NULL,
    kind              TEXT NOT NULL,
    invoice_type      TEXT NOT NULL,
    invoice_no        TEXT UNIQUE,
    blue_invoice_no   TEXT,
    final_status      TEXT NOT NULL,
    fail_code         TEXT,
    fail_reason       TEXT,
    buyer_tax_id      TEXT,
    total_amount      TEXT NOT NULL,
    total_tax         TEXT NOT NULL,
    total_with_tax    TEXT NOT NULL,
    created_at        REAL NOT NULL,
    due_at            REAL NOT NULL,
    batch_id          TEXT,
    instance          TEXT NOT NULL,
    payload           TEXT NOT NULL,
    upload_state      TEXT NOT NULL DEFAULT 'UPLOADED',
    uploaded_at       REAL,
    PRIMARY KEY (seller_tax_id, request_serial_no)
);
CREATE INDEX IF NOT EXISTS invoices_created_at ON invoices (created_at);
CREATE INDEX IF NOT EXISTS invoices_order_ref ON invoices (order_ref);
CREATE INDEX IF NOT EXISTS invoices_blue ON invoices (blue_invoice_no);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token       TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    taxpayer_id TEXT NOT NULL,
    issued_at   REAL NOT NULL,
    expires_at  REAL NOT NULL,
    revoked_at  REAL
);
CREATE INDEX IF NOT EXISTS tokens_taxpayer ON tokens (taxpayer_id, issued_at);
CREATE TABLE IF NOT EXISTS segments (
    seller_tax_id TEXT NOT NULL,
    year          TEXT NOT NULL,
    start_no      TEXT NOT NULL,
    end_no        TEXT NOT NULL,
    next_seq      INTEGER NOT NULL,
    end_seq       INTEGER NOT NULL,
    created_at    REAL NOT NULL,
    PRIMARY KEY (seller_tax_id, start_no)
);
CREATE TABLE IF NOT EXISTS quota (
    taxpayer_id TEXT NOT NULL,
    period      TEXT NOT NULL,
    monthly     TEXT NOT NULL,
    downloaded  TEXT NOT NULL,
    used        TEXT NOT NULL,
    suspended   INTEGER NOT NULL DEFAULT 0,
    adjusted_at REAL,
    PRIMARY KEY (taxpayer_id, period)
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id      TEXT PRIMARY KEY,
    seller_tax_id TEXT NOT NULL,
    created_at    REAL NOT NULL,
    items         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS red_confirmations (
    uuid            TEXT PRIMARY KEY,
    seller_tax_id   TEXT NOT NULL,
    buyer_tax_id    TEXT,
    blue_invoice_no TEXT NOT NULL,
    applicant       TEXT NOT NULL,
    reason_code     TEXT NOT NULL,
    amount          TEXT NOT NULL,
    tax             TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      REAL NOT NULL,
    decided_at      REAL,
    red_invoice_no  TEXT
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verifications (
    invoice_no TEXT NOT NULL,
    day        TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (invoice_no, day)
);
"""

# Columns added after a ledger may already exist (a compose volume kept across upgrades): (table, column, type).
ADDED_COLUMNS = (
    ("invoices", "upload_state", "TEXT NOT NULL DEFAULT 'UPLOADED'"),
    ("invoices", "uploaded_at", "REAL"),
)

TABLES = (
    "invoices",
    "counters",
    "tokens",
    "segments",
    "quota",
    "batches",
    "red_confirmations",
    "verifications",
    "meta",
)


class Row(Protocol):
    """A result row: by position or by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Cursor(Protocol):
    """What callers use of a cursor."""

    @property
    def rowcount(self) -> int: ...


class Tx(ABC):
    """One transaction's helpers."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    @abstractmethod
    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def savepoint(self) -> Savepoint:
        """A part of the transaction that rolls back alone if its block raises (one request of a group commit)."""
        return Savepoint(self)

    def next_value(self, counter: str, step: int = 1) -> int:
        """Add ``step`` to a named counter and return its new value (atomic inside the transaction)."""
        row = self.one(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = counters.value + ? RETURNING value",
            (counter, step, step),
        )
        assert row is not None
        return int(row[0])


class Savepoint:
    """``with tx.savepoint():`` (a class, not a generator: one is entered per invoice of a group commit)."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    def __enter__(self) -> None:
        self.tx.execute("SAVEPOINT part")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            self.tx.execute("ROLLBACK TO SAVEPOINT part")
        self.tx.execute("RELEASE SAVEPOINT part")


class Database(ABC):
    """Where the ledger lives."""

    @abstractmethod
    def write(self) -> Any:
        """A context manager: a serialised read-write transaction, rolled back if the block raises."""

    def write_now(self) -> AbstractContextManager[Tx] | None:
        """A write transaction already begun, if the ledger could be locked without waiting; else None (another
        writer holds it, or this engine cannot tell without a round trip)."""
        return None

    @abstractmethod
    def read(self) -> Any:
        """A context manager: a consistent read transaction."""

    @abstractmethod
    def peek(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """One row read on this thread's connection without opening a transaction (safe inside one)."""

    @abstractmethod
    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """Rows of a long query from a private connection, so a slow consumer blocks nobody."""

    def reset(self) -> None:
        """Empty every table (admin reset between runs)."""
        with self.write() as tx:
            for table in TABLES:
                tx.execute(f"DELETE FROM {table}")


BUSY_TIMEOUT_MS = 60_000  # how long a SQLite writer waits for another process's transaction
NO_WAIT_MS = 0


class SqliteTx(Tx):
    """A transaction on a SQLite connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.conn.execute(sql, params).fetchall())


class SqliteDatabase(Database):
    """A SQLite database file in WAL mode; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # Threads of this process queue here, so SQLite's busy handler (which sleeps in coarse steps) only
        # ever arbitrates between processes; without it, write latency grows a long tail under load.
        self._write_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.checkpointer = Checkpointer(path)
        weakref.finalize(self, self.checkpointer.stop)  # the thread ends with the database object
        conn = self._connection()
        conn.executescript(SCHEMA)
        for table, column, kind in ADDED_COLUMNS:
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")  # the checkpointer's thread does it
            self._local.conn = conn
            self.checkpointer.start()
        return conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            with self._finishing(conn) as tx:
                yield tx

    def write_now(self) -> AbstractContextManager[Tx] | None:
        if not self._write_lock.acquire(blocking=False):  # another thread of this process is writing
            return None
        conn = self._connection()
        try:
            began = self._begin_without_waiting(conn)
        except BaseException:
            self._write_lock.release()
            raise
        if not began:
            self._write_lock.release()
            return None
        return self._locked(conn)

    @staticmethod
    def _begin_without_waiting(conn: sqlite3.Connection) -> bool:
        """BEGIN IMMEDIATE, or False at once if another process holds the ledger (SQLITE_BUSY)."""
        conn.execute(f"PRAGMA busy_timeout={NO_WAIT_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return True

    @contextmanager
    def _locked(self, conn: sqlite3.Connection) -> Iterator[Tx]:
        try:
            with self._finishing(conn) as tx:
                yield tx
        finally:
            self._write_lock.release()

    @staticmethod
    @contextmanager
    def _finishing(conn: sqlite3.Connection) -> Iterator[Tx]:
        """Commit a begun transaction if the block succeeds (roll back if it or the commit fails)."""
        try:
            yield SqliteTx(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def read(self) -> Iterator[Tx]:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield SqliteTx(conn)
        finally:
            conn.execute("COMMIT")

    def peek(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: sqlite3.Row | None = self._connection().execute(sql, params).fetchone()
        return row

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        # a streamed response advances this generator from whichever worker thread is free: the connection
        # must not be tied to the thread that opened it (it is only ever used by one consumer at a time)
        conn = sqlite3.connect(self.path, timeout=60.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        try:
            yield from conn.execute(sql, params)
        finally:
            conn.close()


def open_database(path: Path, url: str | None) -> Database:
    """PostgreSQL when a ``postgresql://`` URL is given, else the SQLite file."""
    if url:
        from taxstorm.mock_platform.store.postgres import PostgresDatabase

        return PostgresDatabase(url)
    return SqliteDatabase(path)


_PLACEHOLDER = re.compile(r"\?")


def to_pyformat(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (no ``?`` or ``%`` appears in our SQL otherwise)."""
    return _PLACEHOLDER.sub("%s", sql)
