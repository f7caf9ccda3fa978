"""The ledger on PostgreSQL, for multi-replica platforms: same schema, same transaction contract as SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg._cursor_base import BaseCursor
from psycopg.rows import BaseRowFactory, RowMaker

from taxstorm.mock_platform.store.db import ADDED_COLUMNS, SCHEMA, Cursor, Database, Row, Tx, to_pyformat

WRITE_LOCK = 7_466_201  # one advisory lock: writers queue like SQLite's BEGIN IMMEDIATE


class PgRow(tuple[Any, ...]):
    """A tuple that also answers to column names."""

    names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> PgRow:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)


def _rows(cursor: BaseCursor[Any, Any]) -> RowMaker[PgRow]:
    names = {column.name: i for i, column in enumerate(cursor.description or [])}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, names)

    return make


ROW_FACTORY: BaseRowFactory[PgRow] = _rows


class PostgresTx(Tx):
    """A transaction on a psycopg connection."""

    def __init__(self, conn: psycopg.Connection[PgRow]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(to_pyformat(sql), tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.conn.execute(to_pyformat(sql), tuple(params)).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.conn.execute(to_pyformat(sql), tuple(params)).fetchall())


class PostgresDatabase(Database):
    """A PostgreSQL database; one connection per thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        conn = self._connection()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            conn.execute(SCHEMA.replace(" REAL", " DOUBLE PRECISION"))
            for table, column, kind in ADDED_COLUMNS:
                kind = kind.replace("REAL", "DOUBLE PRECISION")
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")

    def _connection(self) -> psycopg.Connection[PgRow]:
        conn: psycopg.Connection[PgRow] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True, row_factory=ROW_FACTORY)
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        conn = self._connection()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield PostgresTx(conn)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        conn = self._connection()
        with conn.transaction():
            yield PostgresTx(conn)

    def peek(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self._connection().execute(to_pyformat(sql), tuple(params)).fetchone()
        return row

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        with psycopg.connect(self.url, row_factory=ROW_FACTORY) as conn, conn.cursor(name="taxstorm_stream") as cur:
            cur.execute(to_pyformat(sql), tuple(params))
            yield from cur
