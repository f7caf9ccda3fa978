"""HTTPS end to end: the platform serves TLS with a run's own CA, Toxiproxy passes it through (and its toxics
still act on it), clients trusting the CA get through and clients that do not are refused by the handshake;
a bad-certificate fault makes even trusting clients refuse it, until its revert."""

from __future__ import annotations

import socket
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


def test_an_external_https_platform_is_judged_with_the_ca_it_chains_to(tmp_path: Path) -> None:
    """External mode over HTTPS: a platform of one's own (here with a CA the run never saw) serves its own
    certificate; with ``--ca-file`` the harness, its clients and its admin calls trust that CA, through Toxiproxy."""
    own = RunCA(tmp_path / "own-ca")
    process = PlatformProcess(tmp_path / "own", "own-admin-token", {"ledger_path": str(tmp_path / "own.db")}, 30.0, own)
    url = process.start()
    try:
        path = scenario(tmp_path, platform={"tls": True}, duration_s=8)
        args = ["--platform-url", url, "--admin-token", "own-admin-token", "--ca-file", str(own.ca_file)]
        proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"), *args)
        output, _ = proc.communicate(timeout=120)
        untrusted = taxstorm("run", str(path), "--report-dir", str(tmp_path / "refused"), *args[:4])
        refusal, _ = untrusted.communicate(timeout=60)
    finally:
        process.stop()
    assert proc.returncode == 0, output[-3000:]
    result, state = only_run(tmp_path / "reports")
    assert result["endpoints"]["platform"] == url and result["endpoints"]["client"].startswith("https://")
    assert state["ca_file"] == str(own.ca_file)
    issued = result["load"]["operations"]["issue"]
    assert issued.get("issued", 0) > 20 and set(issued) <= {"issued", "queued"}, issued
    assert untrusted.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in refusal, refusal[-2000:]  # its CA is needed


def test_a_stalled_handshake_cuts_open_connections_and_leaves_new_ones_unanswered_until_the_revert(
    https_platform: HttpsPlatform, toxiproxy: ToxiproxyAPI
) -> None:
    """``handshake_stall`` on the real Toxiproxy: TCP still connects, the TLS handshake hears nothing (a client bounds
    it or waits forever), a kept-alive connection is cut; the revert answers again and leaves no proxy behind."""
    platform = https_platform
    host, port = platform.client_url.removeprefix("https://").rsplit(":", 1)
    before = toxiproxy.proxies()[platform.proxy].upstream
    fault = build_fault(FaultContext("run", toxiproxy, platform.proxy), type="handshake_stall", id="stall")
    with httpx.Client(verify=platform.trusting(), timeout=3) as kept:
        assert kept.get(f"{platform.client_url}/health").status_code == 200
        fault.apply()
        try:
            with pytest.raises(httpx.TransportError):  # its connection was cut; the reconnect stalls
                kept.get(f"{platform.client_url}/health")
            with socket.create_connection((host, int(port)), timeout=2) as raw:  # the TCP connect still succeeds
                raw.settimeout(1.5)
                started = time.perf_counter()
                with pytest.raises(TimeoutError):
                    platform.trusting().wrap_socket(raw, server_hostname=host)  # no ServerHello, ever
                assert time.perf_counter() - started >= 1.4
            assert [name for name in toxiproxy.proxies() if name.startswith("taxstorm-run-stall-")]
        finally:
            fault.revert()
    assert platform.health(platform.trusting()) == "UP"
    assert toxiproxy.proxies()[platform.proxy].upstream == before and toxiproxy.toxics(platform.proxy) == {}
    assert not [name for name in toxiproxy.proxies() if name.startswith("taxstorm-run-")]
    fault.revert()  # idempotent


def test_a_run_through_stalled_handshakes_passes_a_client_that_bounds_its_connects(tmp_path: Path) -> None:
    faults = [{"type": "handshake_stall", "id": "stall", "at_s": 3, "for_s": 4}]
    # the resilient client queues what the stall meets (its breaker stays open 5 s after the revert): a drain of 20 s
    # lets it issue all of it on a busy machine
    gates = [{"type": "integrity"}]
    path = scenario(tmp_path, platform={"tls": True}, duration_s=12, drain_s=20, faults=faults, gates=gates)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-3000:]
    result, _ = only_run(tmp_path / "reports")
    (event,) = result["faults"]
    assert event["type"] == "handshake_stall" and event["reverted_s"] is not None and not event["error"]
    assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True} and not result["errors"]
    queued = result["load"]["operations"]["issue"].get("queued", 0)
    assert queued > 0, result["load"]  # the users met the stall, and were answered
