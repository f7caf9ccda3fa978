"""Toxiproxy in local mode (the harness starts ``toxiproxy-server``) or external mode (``TOXIPROXY_URL``)."""

from __future__ import annotations

import socket
from pathlib import Path

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.waiting import NotReadyError, wait_until


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel just said was free (for servers that cannot report an ephemeral port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalToxiproxy:
    """A ``toxiproxy-server`` child process on a free loopback port."""

    def __init__(self, binary: Path, log_path: Path, host: str = "127.0.0.1") -> None:
        self.binary = binary
        self.host = host
        self.log_path = log_path
        self.process: ManagedProcess | None = None
        self.api: ToxiproxyAPI | None = None

    def start(self, timeout_s: float = 15.0, attempts: int = 3) -> ToxiproxyAPI:
        """Start and wait until ``/version`` answers; retry on another port if one was taken meanwhile."""
        last: Exception | None = None
        for _ in range(attempts):
            port = free_port(self.host)
            process = ManagedProcess(
                "toxiproxy-server",
                [str(self.binary), "-host", self.host, "-port", str(port)],
                self.log_path,
            )
            process.start()
            api = ToxiproxyAPI(f"http://{self.host}:{port}")

            def up(process: ManagedProcess = process, api: ToxiproxyAPI = api) -> bool:
                return not process.alive() or api.ping()

            try:
                wait_until(up, timeout_s, "toxiproxy-server")
            except NotReadyError as exc:
                last = exc
            if process.alive() and api.ping():
                self.process, self.api = process, api
                return api
            process.stop()
            last = last or RuntimeError(process.log_tail())
        raise NotReadyError(f"toxiproxy-server did not start: {last}")

    def stop(self) -> None:
        if self.api is not None:
            self.api.close()
        if self.process is not None:
            self.process.stop()
