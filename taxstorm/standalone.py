"""``taxstorm platform``: the mock platform behind Toxiproxy, standing by for a client system pointed at it by hand
(an ERP or a POS under test), until Ctrl-C. Faults come from the admin API, Toxiproxy's own API or the CLI."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.mock_platform.credentials import credentials_for, irp_password_for, irp_user_for
from taxstorm.mock_platform.dialects import REGIMES, Dialect
from taxstorm.platform_side import PlatformSideVerdict, platform_side_verdict
from taxstorm.runner import StopRequest, stop_on_signals
from taxstorm.scenario import PlatformSpec
from taxstorm.stack import LocalStack, Stack, StackOptions


@dataclass(frozen=True)
class StandbyInfo:
    """What a client system and its operator need to reach the platform (also written as JSON)."""

    client_url: str  # the platform as clients reach it: through the Toxiproxy proxy
    platform_url: str  # direct (the admin API; never for clients)
    admin_token: str
    toxiproxy_url: str
    proxy: str
    ca_file: str | None  # HTTPS: the CA to trust
    sellers: list[dict[str, str]]  # tax id, client id and secret of each seller credential
    folder: str
    dialect: str = "native"
    endpoints: dict[str, str] = field(default_factory=dict)  # the dialect's endpoints as clients reach them


def seller_credentials(credential_key: str, tax_ids: list[str], dialect: str = "native") -> list[dict[str, str]]:
    """Each seller's credential for the platform's token endpoint (irp: and its API user's name and password)."""
    found = []
    for tax_id in tax_ids:
        client_id, secret = credentials_for(credential_key, tax_id)
        seller = {"tax_id": tax_id, "client_id": client_id, "client_secret": secret}
        if dialect == "irp":
            seller |= {"user_name": irp_user_for(tax_id), "password": irp_password_for(credential_key, tax_id)}
        found.append(seller)
    return found


def standby_lines(info: StandbyInfo) -> list[str]:
    """The terminal's account of a standing platform."""
    lines = [
        f"clients:   {info.client_url}   (through Toxiproxy proxy {info.proxy} at {info.toxiproxy_url})",
        f"dialect:   {info.dialect}" + "".join(f"   {name} {url}" for name, url in info.endpoints.items()),
        f"admin API: {info.platform_url}   token {info.admin_token}",
    ]
    if info.ca_file:
        lines.append(f"trust:     {info.ca_file}   (SSL_CERT_FILE / REQUESTS_CA_BUNDLE, or your client's CA setting)")
    key, secret = ("appKey", "appSecret") if info.dialect == "nuonuo" else ("client_id", "client_secret")
    for s in info.sellers:
        user = f"  user_name {s['user_name']}  password {s['password']}" if "user_name" in s else ""
        lines.append(f"seller {s['tax_id']}: {key} {s['client_id']}  {secret} {s['client_secret']}{user}")
    if info.dialect == "nuonuo" and not info.ca_file:
        lines.append("note:      Nuonuo SDKs accept HTTPS endpoints only: start with --tls")
    lines.append(f"files:     {info.folder}   (the ledger, logs)  Ctrl-C stops everything")
    return lines


def dialect_endpoints(dialect: str, client_url: str) -> dict[str, str]:
    """Where a system speaking ``dialect`` sends its calls."""
    if dialect == "nuonuo":
        return {"token": f"{client_url}/accessToken", "services": f"{client_url}/open/v1/services"}
    if dialect == "irp":
        return {"auth": f"{client_url}/eivital/v1.04/auth", "invoices": f"{client_url}/eicore/v1.03/Invoice"}
    return {"token": f"{client_url}/api/v1/auth/token", "api": f"{client_url}/api/v1"}


def standby_info(stack: Stack, sellers: list[str], folder: Path, dialect: str) -> StandbyInfo:
    """What a system pointed at a started stack needs (irp: the platform's public key is written into ``folder``)."""
    assert stack.toxiproxy is not None and stack.admin is not None
    endpoints = dialect_endpoints(dialect, stack.client_url)
    if dialect == "irp":  # NIC hands its key out as a file
        path = folder / "irp-public-key.pem"
        path.write_text(stack.admin.irp_public_key(), encoding="utf-8")
        endpoints["public key"] = str(path)
    return StandbyInfo(
        client_url=stack.client_url,
        platform_url=stack.platform_url,
        admin_token=stack.admin.token,
        toxiproxy_url=stack.toxiproxy.base_url,
        proxy=stack.proxy_name,
        ca_file=str(stack.ca_file) if stack.ca_file is not None else None,
        sellers=seller_credentials(stack.credential_key, sellers, dialect),
        folder=str(folder),
        dialect=dialect,
        endpoints=endpoints,
    )


class Standby:
    """Starts the stack, reports it, waits for SIGINT/SIGTERM, stops it (``stop`` is safe on every path)."""

    def __init__(
        self, folder: Path, tls: bool, sellers: int, toxiproxy_bin_dir: Path, dialect: Dialect = "native"
    ) -> None:
        run_id = f"platform-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        folder.mkdir(parents=True, exist_ok=True)
        self.stack = LocalStack(
            StackOptions(folder, run_id, toxiproxy_bin_dir=toxiproxy_bin_dir), PlatformSpec(tls=tls)
        )
        regime = REGIMES[dialect]
        self.sellers = [OrderGenerator(0, run_id, regime).seller(i).tax_id for i in range(sellers)]
        self.folder = folder
        self.dialect = dialect

    def start(self) -> StandbyInfo:
        self.stack.start()
        return standby_info(self.stack, self.sellers, self.folder, self.dialect)

    def wait(self) -> str:
        """Block until SIGINT or SIGTERM; the signal's name."""
        stop = StopRequest()
        with stop_on_signals(stop):
            while not stop.requested:
                time.sleep(0.5)
        return stop.signals[0]

    def judge(self) -> PlatformSideVerdict:
        """The session judged from the platform's side (before ``stop``: it reads the running platform)."""
        assert self.stack.admin is not None
        return platform_side_verdict(self.stack.admin.ledger(), self.stack.admin.stats())

    def stop(self) -> list[str]:
        return self.stack.stop()


def write_info(info: StandbyInfo, path: Path) -> None:
    """The standby's facts as JSON, written whole (a reader never sees half of it); private: it holds secrets."""
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(asdict(info), indent=2))
    os.replace(tmp, path)
