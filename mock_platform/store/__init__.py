"""The durable ledger: one database shared by every platform process (SQLite WAL by default)."""
