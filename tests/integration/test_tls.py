"""HTTPS end to end: the platform serves TLS with a run's own CA, Toxiproxy passes it through (and its toxics
still act on it), clients trusting the CA get through and clients that do not are refused by the handshake;
a bad-certificate fault makes even trusting clients refuse it, until its revert."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.registry import FaultContext
from taxstorm.chaos.tls import RunCA
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from tests.helpers import build_fault
from tests.integration.test_cli_run import only_run, scenario, taxstorm


@dataclass
class HttpsPlatform:
    """A TLS platform behind a Toxiproxy proxy."""

    ca: RunCA
    process: PlatformProcess
    proxy: str
    client_url: str  # https:// through the proxy

    def health(self, verify: ssl.SSLContext | bool) -> str:
        return str(httpx.get(f"{self.client_url}/health", verify=verify, timeout=10).json()["status"])

    def trusting(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca.ca_file))


@pytest.fixture
def https_platform(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> Iterator[HttpsPlatform]:
    ca = RunCA(tmp_path / "tls")
    process = PlatformProcess(tmp_path, "admin-token-for-tls", {"ledger_path": str(tmp_path / "l.db")}, 30.0, ca)
    url = process.start()
    try:
        proxy = toxiproxy.create_proxy("tls-test", url.removeprefix("https://"))
        yield HttpsPlatform(ca, process, "tls-test", f"https://{proxy.listen}")
        assert toxiproxy.toxics("tls-test") == {}, "a toxic was left on the proxy"
    finally:
        if "tls-test" in toxiproxy.proxies():
            toxiproxy.delete_proxy("tls-test")
        process.stop()


def test_clients_reach_an_https_platform_through_toxiproxy_only_when_they_trust_the_run_ca(
    https_platform: HttpsPlatform, toxiproxy: ToxiproxyAPI
) -> None:
    platform = https_platform
    assert platform.process.url.startswith("https://127.0.0.1:") and platform.process.admin is not None
    assert platform.process.admin.healthy() and platform.health(platform.trusting()) == "UP"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        platform.health(True)  # the default trust store does not know the run's CA
    with pytest.raises(httpx.HTTPError):
        httpx.get(platform.client_url.replace("https://", "http://") + "/health", timeout=5)  # plain HTTP: nowhere
    toxiproxy.add_toxic(platform.proxy, "slow", "latency", {"latency": 400})
    started = time.perf_counter()
    platform.health(platform.trusting())
    assert time.perf_counter() - started >= 0.4  # the toxic acts on the encrypted stream
    toxiproxy.remove_toxic(platform.proxy, "slow")


@pytest.mark.parametrize(
    ("problem", "refusal"), [("expired", "certificate has expired"), ("wrong_host", "IP address mismatch")]
)
def test_a_bad_certificate_is_refused_by_trusting_clients_until_the_revert(
    https_platform: HttpsPlatform, toxiproxy: ToxiproxyAPI, problem: str, refusal: str
) -> None:
    platform = https_platform
    context = FaultContext("run", toxiproxy, platform.proxy, platform.process.admin, platform.process)
    fault = build_fault(context, type="bad_certificate", at_s=0, problem=problem)
    before = platform.process.pid
    fault.apply()
    try:
        assert platform.process.pid != before  # restarted on it
        with pytest.raises(httpx.ConnectError, match=refusal):
            platform.health(platform.trusting())
        assert platform.process.admin is not None and platform.process.admin.healthy()  # the harness still sees it
    finally:
        fault.revert()
    assert platform.health(platform.trusting()) == "UP"  # reverted: a good certificate again
    fault.revert()  # idempotent


def test_a_bad_certificate_needs_a_tls_platform(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    process = PlatformProcess(tmp_path, "admin-token-for-tls", {"ledger_path": str(tmp_path / "l.db")})
    process.start()
    try:
        context = FaultContext("run", toxiproxy, "none", process.admin, process)
        fault = build_fault(context, type="bad_certificate", at_s=0)
        with pytest.raises(RuntimeError, match=r"platform: \{tls: true\}"):
            fault.apply()
        fault.revert()
        assert process.admin is not None and process.admin.healthy()  # untouched
    finally:
        process.stop()


@pytest.mark.parametrize("workers", [[], ["--workers", "1"]], ids=["local", "worker"])
def test_a_tls_run_passes_with_clients_that_trust_its_ca(tmp_path: Path, workers: list[str]) -> None:
    path = scenario(tmp_path, platform={"tls": True}, duration_s=8)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"), *workers)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-3000:]
    result, state = only_run(tmp_path / "reports")
    endpoints = result["endpoints"]
    assert endpoints["platform"].startswith("https://") and endpoints["client"].startswith("https://")
    assert state["ca_file"] and Path(state["ca_file"]).is_file()
    issued = result["load"]["operations"]["issue"]
    assert issued.get("issued", 0) > 20 and set(issued) <= {"issued", "queued"}, issued
    assert [g["kind"] for g in result["gates"] if g["passed"]] == ["latency", "latency", "integrity", "contract"]
