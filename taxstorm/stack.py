"""The system under test's surroundings: the platform and Toxiproxy, started here or found (external mode).

Toxiproxy is started here unless ``toxiproxy_url`` points at an external one (as in docker compose); the
platform is started here unless ``platform_url`` points at a running one. The run's proxy is named after the
run id and is the only thing the run deletes, unless ``proxy`` names an existing proxy (compose populates
one): the run then only adds and removes its own toxics on it, and checks that it left it clean.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from taxstorm.chaos.platform_admin import PlatformAdmin, PlatformAdminError
from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.tls import RunCA, requests_verify
from taxstorm.chaos.toxiproxy import install
from taxstorm.chaos.toxiproxy.api import NotFound, ToxiproxyAPI, ToxiproxyError
from taxstorm.chaos.toxiproxy.lease import Lease
from taxstorm.chaos.toxiproxy.server import LocalToxiproxy
from taxstorm.chaos.waiting import NotReadyError, wait_until
from taxstorm.errors import EnvironmentError_
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY
from taxstorm.reset import process_started
from taxstorm.scenario import PlatformSpec


@dataclass(frozen=True)
class StackOptions:
    """Where things go and which Toxiproxy to use."""

    run_dir: Path
    run_id: str
    toxiproxy_url: str | None = None
    toxiproxy_bin_dir: Path = Path(".bin")
    ready_timeout_s: float = 30.0
    platform_url: str | None = None  # external mode: the running platform (its admin API, never proxied)
    admin_token: str | None = None  # external mode: the platform's admin token
    credential_key: str | None = None  # external mode: the platform's credential key (default: the development key)
    proxy: str | None = None  # external mode: use this existing Toxiproxy proxy instead of creating one
    ca_file: Path | None = None  # external mode: the platform serves HTTPS with a certificate this CA issued

    @property
    def external(self) -> bool:
        return self.platform_url is not None


@dataclass
class Secondary:
    """The second platform on the same ledger, behind a proxy of its own (failover)."""

    platform: PlatformProcess
    proxy_name: str
    url: str = ""
    client_url: str = ""

    @property
    def admin(self) -> PlatformAdmin:
        assert self.platform.admin is not None
        return self.platform.admin


class Stack(Protocol):
    """What a run stands on: the platform (and a secondary), the Toxiproxy proxy clients reach it through, and
    their admin APIs; ``start`` waits for readiness, ``stop`` is safe on every path and returns its problems."""

    credential_key: str
    proxy_name: str
    proxy_upstream: str  # where the proxy led when the run began ("": unknown)
    toxiproxy: ToxiproxyAPI | None
    admin: PlatformAdmin | None
    platform_url: str
    client_url: str
    platform: PlatformProcess | None
    secondary: Secondary | None
    lease: Lease | None

    @property
    def state_path(self) -> Path: ...

    @property
    def ca_file(self) -> Path | None: ...

    def start(self) -> None: ...

    def stop(self) -> list[str]: ...

    def keep_lease(self) -> str | None: ...

    def admins(self) -> list[PlatformAdmin]: ...

    def round_trip_ms(self) -> float | None:
        """How long the platform takes to answer /health the way clients reach it; None if it does not."""
        ...


StackFactory = Callable[[StackOptions, PlatformSpec], Stack]


class LocalStack:
    """Platform (uvicorn subprocess) behind the run's Toxiproxy proxy; ``stop`` is safe on every path."""

    def __init__(self, options: StackOptions, platform: PlatformSpec) -> None:
        self.options = options
        self.platform_spec = platform
        self.admin_token = options.admin_token or secrets.token_urlsafe(24)
        # every seller's credential derives from this key: a run's own platform gets a key of its own
        default_key = DEV_CREDENTIAL_KEY if options.external else secrets.token_urlsafe(24)
        self.credential_key = options.credential_key or default_key
        self.proxy_name = options.proxy or f"taxstorm-{options.run_id}"
        self.toxiproxy: ToxiproxyAPI | None = None
        self.admin: PlatformAdmin | None = None
        self.platform_url = ""
        self.client_url = ""
        self._local_toxiproxy: LocalToxiproxy | None = None
        self.platform: PlatformProcess | None = None
        self.secondary: Secondary | None = None
        self._proxy_created = False
        self.lease: Lease | None = None  # on a shared Toxiproxy: what tells `taxstorm reset` this run is alive
        self.ca: RunCA | None = None  # platform.tls: the run's own certificate authority
        self.proxy_upstream = ""  # where the run's proxy led when the run began (a fault may point it elsewhere)

    @property
    def state_path(self) -> Path:
        return self.options.run_dir / "state.json"

    @property
    def ca_file(self) -> Path | None:
        """What clients must trust to reach an HTTPS platform (None: plain HTTP): the run's CA, or in external
        mode the one the platform's certificate chains to."""
        return self.ca.ca_file if self.ca is not None else self.options.ca_file

    @property
    def scheme(self) -> str:
        """How clients speak to the platform through the proxy: as the platform itself is served."""
        if self.options.external:
            return urlsplit(self.options.platform_url or "").scheme.lower() or "http"
        return "https" if self.ca is not None else "http"

    def start(self) -> None:
        """Start everything and wait for readiness; raise EnvironmentError_ naming what failed."""
        if self.platform_spec.tls and not self.options.external:  # a platform of one's own serves its own
            self.ca = RunCA(self.options.run_dir / "tls")
        try:
            self.toxiproxy = self._start_toxiproxy()
            if self.options.toxiproxy_url:  # shared: taken before any proxy exists, so none is ever without one
                self.lease = Lease(self.toxiproxy, self.options.run_id)
                self.lease.take()
            self.platform_url = self._start_platform() if not self.options.external else self._find_platform()
            self.client_url = self._client_url(self.toxiproxy)
            if self.platform_spec.secondary:
                self.secondary = self._start_secondary(self.toxiproxy)
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
        if binaries is None:  # the first run on this machine: install it where the next run finds it
            binaries = install.ensure(install.user_bin_dir())
        self._local_toxiproxy = LocalToxiproxy(binaries.server, self.options.run_dir / "toxiproxy.log")
        return self._local_toxiproxy.start(timeout_s=self.options.ready_timeout_s)

    def _client_url(self, toxiproxy: ToxiproxyAPI) -> str:
        """The platform as clients see it: the run's proxy (created here, or the existing one, checked clean)."""
        if self.options.proxy is None:
            listen = "0.0.0.0:0" if self.options.external else "127.0.0.1:0"  # compose: other containers connect
            upstream = urlsplit(self.platform_url).netloc
            proxy = toxiproxy.create_proxy(self.proxy_name, upstream=upstream, listen=listen)
            self._proxy_created = True
        else:
            found = toxiproxy.proxies().get(self.proxy_name)
            if found is None:
                raise ToxiproxyError(f"--toxiproxy-proxy: no proxy {self.proxy_name!r} on {toxiproxy.base_url}")
            proxy = found
            left = sorted(toxiproxy.toxics(self.proxy_name))
            if left or not proxy.enabled:
                raise ToxiproxyError(
                    f"proxy {self.proxy_name!r} is not clean (toxics {left}, enabled {proxy.enabled}): "
                    "another run may be using it, or a killed run left it; run 'taxstorm reset --toxiproxy-url ...'"
                )
        self.proxy_upstream = proxy.upstream
        host, port = proxy.listen.rsplit(":", 1)
        if host in ("0.0.0.0", "", "[::]"):  # listening everywhere: reach it by the Toxiproxy server's name
            host = urlsplit(toxiproxy.base_url).hostname or "127.0.0.1"
        return f"{self.scheme}://{host}:{port}"

    def _delete_proxy(self, name: str) -> list[str]:
        """Delete one of the run's proxies (already gone is fine); what went wrong, if anything."""
        if self.toxiproxy is None:
            return []
        try:
            self.toxiproxy.delete_proxy(name)
        except NotFound:
            pass
        except ToxiproxyError as exc:
            return [f"could not delete proxy {name}: {exc}"]
        return []

    def _stop_secondary(self, secondary: Secondary) -> list[str]:
        errors = self._delete_proxy(secondary.proxy_name) if secondary.client_url else []
        secondary.platform.resume()
        secondary.platform.close()
        return errors

    def _find_platform(self) -> str:
        """External mode: the platform must already answer /health (docker compose waits for its healthcheck)."""
        url = (self.options.platform_url or "").rstrip("/")
        self.admin = PlatformAdmin(url, self.admin_token, ca_file=self.options.ca_file)
        admin = self.admin
        refusal = admin.tls_refusal()
        if refusal is not None:  # no point waiting: the certificate will not change
            trust = f"the CA in {self.options.ca_file}" if self.options.ca_file else "the default trust store"
            raise NotReadyError(
                f"platform {url}: its certificate is refused with {trust} ({refusal}); give --ca-file with the CA "
                "it chains to"
            )
        try:
            wait_until(admin.healthy, self.options.ready_timeout_s, f"platform {url}/health")
            admin.stats()  # the admin token is right
        except PlatformAdminError as exc:
            raise NotReadyError(
                f"platform admin API at {url}: {exc} (is TAXSTORM_ADMIN_TOKEN its admin token?)"
            ) from None
        return url

    def _start_platform(self) -> str:
        settings = {
            name: value if isinstance(value, str) else json.dumps(value)
            for name, value in self.platform_spec.settings.items()
        }
        settings["ledger_path"] = str(self.options.run_dir / "ledger.sqlite3")
        settings["credential_key"] = self.credential_key
        settings["release"] = self.platform_spec.release
        self.platform = PlatformProcess(
            self.options.run_dir, self.admin_token, settings, self.options.ready_timeout_s, self.ca
        )
        url = self.platform.start()
        self.platform.on_start = self._write_state  # restarts (crash, upgrade) record their new pid
        self.admin = self.platform.admin
        return url

    def _start_secondary(self, toxiproxy: ToxiproxyAPI) -> Secondary:
        """A second platform process on the primary's ledger (instance "secondary"), behind its own proxy."""
        assert self.platform is not None
        workdir = self.options.run_dir / "secondary"
        workdir.mkdir(parents=True, exist_ok=True)
        settings = {**self.platform.settings, "instance": "secondary"}
        process = PlatformProcess(workdir, self.admin_token, settings, self.options.ready_timeout_s, self.ca)
        secondary = Secondary(process, f"{self.proxy_name}-secondary")
        self.secondary = secondary  # stop() cleans up whatever started
        secondary.url = process.start()
        process.on_start = self._write_state
        proxy = toxiproxy.create_proxy(secondary.proxy_name, upstream=urlsplit(secondary.url).netloc)
        secondary.client_url = f"{self.scheme}://{proxy.listen}"
        return secondary

    def admins(self) -> list[PlatformAdmin]:
        """Every platform's admin API (the primary's first)."""
        assert self.admin is not None
        return [self.admin, *([self.secondary.admin] if self.secondary is not None else [])]

    def round_trip_ms(self, timeout_s: float = 3.0) -> float | None:
        """How long the platform takes to answer /health through Toxiproxy (the way clients reach it); None if not."""
        import requests

        started = time.perf_counter()
        try:
            answer = requests.get(f"{self.client_url}/health", timeout=timeout_s, verify=requests_verify(self.ca_file))
        except requests.RequestException:
            return None
        return (time.perf_counter() - started) * 1000.0 if answer.status_code == 200 else None

    def _write_state(self, status: str = "running") -> None:
        """What ``taxstorm reset`` needs to clean up after this run if it is killed (private to root: 0600)."""
        state = {
            "status": status,
            "run_id": self.options.run_id,
            "toxiproxy_url": self.toxiproxy.base_url if self.toxiproxy else None,
            "proxy": self.proxy_name,
            "proxy_owned": self.options.proxy is None,  # a borrowed proxy (compose's) is cleaned, never deleted
            "proxy_upstream": self.proxy_upstream,  # a borrowed proxy is pointed back here
            "platform_url": self.platform_url,
            "admin_token": self.admin_token,
            "ca_file": str(self.ca_file) if self.ca_file is not None else None,
            "client_url": self.client_url,
            "secondary_proxy": self.secondary.proxy_name if self.secondary else None,
            "lease": self.lease.name if self.lease else None,
            "runner_pid": os.getpid(),
            "runner_started": process_started(os.getpid()),
            "host": socket.gethostname(),
            "pids": {
                "platform": self.platform.pid if self.platform else None,
                "secondary": self.secondary.platform.pid if self.secondary else None,
                "toxiproxy": self._local_toxiproxy.process.pid
                if self._local_toxiproxy and self._local_toxiproxy.process
                else None,
            },
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_path)

    def keep_lease(self) -> str | None:
        """Renew the run's lease on a shared Toxiproxy and check that its proxies are still there: what was lost.

        A lease someone deleted is taken again; a proxy someone deleted cannot be (clients may hold its port)."""
        if self.lease is None or self.toxiproxy is None:
            return None
        try:
            if not self.lease.renew():
                self.lease.take()
            present = self.toxiproxy.proxies()
        except ToxiproxyError:
            return None  # unreachable for a moment: the next renewal tries again, long before the lease ends
        mine = [self.proxy_name] + ([self.secondary.proxy_name] if self.secondary is not None else [])
        gone = [name for name in mine if name not in present]
        if not gone:
            return None
        return (
            f"the run's proxy {gone[0]} was deleted from the Toxiproxy at {self.toxiproxy.base_url} while the run "
            "used it (a 'taxstorm reset --toxiproxy-url' of an older taxstorm, or another tool): its clients lost "
            "the platform from then on, so the run stopped without a verdict"
        )

    def stop(self) -> list[str]:
        """Delete the run's proxy, stop the platform and a local Toxiproxy; return what went wrong."""
        errors: list[str] = []
        if self._proxy_created:
            errors += self._delete_proxy(self.proxy_name)
            self._proxy_created = False
        if self.secondary is not None:
            errors += self._stop_secondary(self.secondary)
            self.secondary = None
        if self.lease is not None:
            try:
                self.lease.release()
            except ToxiproxyError as exc:
                errors.append(f"could not release the run's lease {self.lease.name}: {exc}")
            self.lease = None
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
