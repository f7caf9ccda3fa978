"""The mock platform as a child process that faults can crash, hang, restart and upgrade.

The first start binds a free port (reported through a port file); every restart reuses that port, so clients
and the Toxiproxy upstream keep pointing at the same address across a crash.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.platform_admin import PlatformAdmin
from taxstorm.chaos.tls import RunCA, ServerCert
from taxstorm.chaos.waiting import NotReadyError, wait_until


class PlatformProcess:
    """``python -m taxstorm.mock_platform`` with settings as ``TAXSTORM_PLATFORM_*`` variables."""

    def __init__(
        self,
        workdir: Path,
        admin_token: str,
        settings: dict[str, str],
        ready_timeout_s: float = 30.0,
        issuer: RunCA | None = None,
    ) -> None:
        self.workdir = workdir
        self.issuer = issuer  # HTTPS: the run's CA, which issues the certificate each start serves
        self.tls: ServerCert | None = issuer.issue() if issuer is not None else None
        self.tls_trusted = True  # False while a fault serves a certificate clients must refuse
        self.admin_token = admin_token
        self.settings = dict(settings)
        self.ready_timeout_s = ready_timeout_s
        self.port = 0
        self.process: ManagedProcess | None = None
        self.admin: PlatformAdmin | None = None
        self.release = self.settings.get("release", "stable")
        self.on_start: Callable[[], None] = lambda: None  # e.g. record the new pid

    @property
    def ca_file(self) -> Path | None:
        return self.issuer.ca_file if self.issuer is not None else None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def start(self, release: str | None = None, certificate: ServerCert | None = None, verified: bool = True) -> str:
        """Start (or restart on the same port) and wait for /health; return the base URL. ``certificate``: serve
        this one from now on (a TLS fault's bad one, with ``verified`` False: the harness's own admin channel then
        skips verification, knowing the certificate is bad; clients do not)."""
        if release is not None:
            self.release = release
        if certificate is not None:  # kept across later restarts (a crash during the fault restarts on it too)
            self.tls, self.tls_trusted = certificate, verified
        port_file = self.workdir / "platform.port"
        port_file.unlink(missing_ok=True)
        env = {
            **os.environ,
            **{f"TAXSTORM_PLATFORM_{name.upper()}": value for name, value in self.settings.items()},
            "TAXSTORM_PLATFORM_ADMIN_TOKEN": self.admin_token,
            "TAXSTORM_PLATFORM_RELEASE": self.release,
        }
        argv = [sys.executable, "-m", "taxstorm.mock_platform", "--port", str(self.port), "--port-file", str(port_file)]
        if self.tls is not None:
            argv += ["--tls-cert", str(self.tls.cert_file), "--tls-key", str(self.tls.key_file)]
        process = ManagedProcess("platform", argv, self.workdir / "platform.log", env=env)
        process.start()
        self.process = process
        try:
            wait_until(lambda: port_file.exists() or not process.alive(), self.ready_timeout_s, "platform port")
            if not process.alive():
                raise NotReadyError("platform exited during start")
            self.port = int(port_file.read_text().strip())
            if self.admin is None:
                self.admin = PlatformAdmin(self.url, self.admin_token, ca_file=self.ca_file)
            self.admin.verify_with(self.ca_file, self.tls_trusted)
            admin = self.admin
            wait_until(lambda: admin.healthy() or not process.alive(), self.ready_timeout_s, "platform /health")
            if not process.alive():
                raise NotReadyError("platform exited during start")
        except NotReadyError as exc:
            raise NotReadyError(f"{exc}; platform log: {process.log_tail(800)}") from exc
        self.on_start()
        return self.url

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to clean up."""
        if self.process is not None:
            self.process.signal(signal.SIGKILL)
            self.process.stop(timeout_s=5)

    def pause(self) -> None:
        """SIGSTOP: the process hangs; connections are accepted by the kernel but never answered."""
        if self.process is not None:
            self.process.signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.signal(signal.SIGCONT)

    def stop(self) -> None:
        """Graceful stop (SIGTERM, then SIGKILL after a deadline)."""
        if self.process is not None:
            self.process.stop()

    def close(self) -> None:
        self.stop()
        if self.admin is not None:
            self.admin.close()
