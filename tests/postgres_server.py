"""A throw-away PostgreSQL server from the Debian packages, for running the ledger tests on PostgreSQL too."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.toxiproxy.server import free_port
from taxstorm.chaos.waiting import wait_until


def find_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` with initdb and postgres, or PATH's."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """initdb + postgres on a free loopback port; runs as the ``postgres`` user when we are root."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # its own folder under the system temp dir: pytest's are private to root, postgres could not enter
        self.base = Path(tempfile.mkdtemp(prefix="taxstorm-pg-"))
        self.port = free_port()
        self.process: ManagedProcess | None = None
        self._as_user: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        data, sockets = self.base / "data", self.base / "sockets"
        sockets.mkdir()
        if self._as_user:
            shutil.chown(self.base, "postgres")
            shutil.chown(sockets, "postgres")
        subprocess.run(
            [
                *self._as_user,
                str(self.bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.process = ManagedProcess(
            "postgres",
            [
                *self._as_user,
                str(self.bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(sockets),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=300",
            ],
            self.base / "postgres.log",
        )
        self.process.start()
        wait_until(self._ready, 60, "postgres")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ready(self) -> bool:
        assert self.process is not None and self.process.alive(), self.process and self.process.log_tail()
        with psycopg.connect(self.url(), connect_timeout=2):
            return True

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout_s=15)
        shutil.rmtree(self.base, ignore_errors=True)
