"""The system under test's surroundings in local mode: the platform and Toxiproxy, started and stopped.

Toxiproxy is started here unless ``toxiproxy_url`` points at an external one (as in docker compose).
Either way the run's proxy is named after the run id and is the only thing the run deletes.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from chaos.platform_admin import PlatformAdmin
from chaos.platform_process import PlatformProcess
from chaos.toxiproxy import install
from chaos.toxiproxy.api import NotFound, ToxiproxyAPI, ToxiproxyError
from chaos.toxiproxy.server import LocalToxiproxy
from chaos.waiting import NotReadyError
from harness.errors import EnvironmentError_
from harness.scenario import PlatformSpec


@dataclass(frozen=True)
class StackOptions:
    """Where things go and which Toxiproxy to use."""

    run_dir: Path
    run_id: str
    toxiproxy_url: str | None = None
    toxiproxy_bin_dir: Path = Path(".bin")
    ready_timeout_s: float = 30.0


class LocalStack:
    """Platform (uvicorn subprocess) behind the run's Toxiproxy proxy; ``stop`` is safe on every path."""

    def __init__(self, options: StackOptions, platform: PlatformSpec) -> None:
        self.options = options
        self.platform_spec = platform
        self.admin_token = secrets.token_urlsafe(24)
        self.proxy_name = f"taxstorm-{options.run_id}"
        self.toxiproxy: ToxiproxyAPI | None = None
        self.admin: PlatformAdmin | None = None
        self.platform_url = ""
        self.client_url = ""
        self._local_toxiproxy: LocalToxiproxy | None = None
        self.platform: PlatformProcess | None = None
        self._proxy_created = False

    @property
    def state_path(self) -> Path:
        return self.options.run_dir / "state.json"

    def start(self) -> None:
        """Start everything and wait for readiness; raise EnvironmentError_ naming what failed."""
        try:
            self.toxiproxy = self._start_toxiproxy()
            self.platform_url = self._start_platform()
            proxy = self.toxiproxy.create_proxy(self.proxy_name, upstream=self.platform_url.removeprefix("http://"))
            self._proxy_created = True
            self.client_url = f"http://{proxy.listen}"
        except (NotReadyError, ToxiproxyError, install.ToxiproxyInstallError, OSError) as exc:
            raise EnvironmentError_(f"environment not ready: {exc}") from exc
        self._write_state()

    def _start_toxiproxy(self) -> ToxiproxyAPI:
        url = self.options.toxiproxy_url
        if url:
            api = ToxiproxyAPI(url)
            version = api.version()  # raises ToxiproxyError if unreachable
            if version.major != 2:
                raise ToxiproxyError(f"{url} runs Toxiproxy {version.version}; taxstorm needs 2.x")
            return api
        binaries = install.locate(self.options.toxiproxy_bin_dir)
        if binaries is None:
            raise install.ToxiproxyInstallError(
                "toxiproxy-server v2.x not found (TOXIPROXY_SERVER, .bin/, PATH); "
                "run 'make demo' or 'python -m chaos.toxiproxy.install --bin-dir .bin', or pass --toxiproxy-url"
            )
        self._local_toxiproxy = LocalToxiproxy(binaries.server, self.options.run_dir / "toxiproxy.log")
        return self._local_toxiproxy.start(timeout_s=self.options.ready_timeout_s)

    def _start_platform(self) -> str:
        settings = {
            name: value if isinstance(value, str) else json.dumps(value)
            for name, value in self.platform_spec.settings.items()
        }
        settings["ledger_path"] = str(self.options.run_dir / "ledger.sqlite3")
        settings["release"] = self.platform_spec.release
        self.platform = PlatformProcess(self.options.run_dir, self.admin_token, settings, self.options.ready_timeout_s)
        url = self.platform.start()
        self.platform.on_start = self._write_state  # restarts (crash, upgrade) record their new pid
        self.admin = self.platform.admin
        return url

    def _write_state(self, status: str = "running") -> None:
        """What ``taxstorm reset`` needs to clean up after this run if it is killed (private to root: 0600)."""
        state = {
            "status": status,
            "run_id": self.options.run_id,
            "toxiproxy_url": self.toxiproxy.base_url if self.toxiproxy else None,
            "proxy": self.proxy_name,
            "platform_url": self.platform_url,
            "admin_token": self.admin_token,
            "client_url": self.client_url,
            "pids": {
                "platform": self.platform.pid if self.platform else None,
                "toxiproxy": self._local_toxiproxy.process.pid
                if self._local_toxiproxy and self._local_toxiproxy.process
                else None,
            },
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_path)

    def stop(self) -> list[str]:
        """Delete the run's proxy, stop the platform and a local Toxiproxy; return what went wrong."""
        errors: list[str] = []
        if self.toxiproxy is not None and self._proxy_created:
            try:
                self.toxiproxy.delete_proxy(self.proxy_name)
            except NotFound:
                pass
            except ToxiproxyError as exc:
                errors.append(f"could not delete proxy {self.proxy_name}: {exc}")
            self._proxy_created = False
        if self.platform is not None:
            self.platform.resume()  # a hung (SIGSTOPped) platform must be able to hear the stop
            self.platform.close()
        if self._local_toxiproxy is not None:
            self._local_toxiproxy.stop()
        elif self.toxiproxy is not None:
            self.toxiproxy.close()
        if self.state_path.exists():
            self._write_state("finished")
        return errors
