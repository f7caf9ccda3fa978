"""HTTPS end to end: the platform serves TLS with a run's own CA, Toxiproxy passes it through (and its toxics
still act on it), clients trusting the CA get through and clients that do not are refused by the handshake."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
import pytest

from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.tls import RunCA
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from tests.integration.test_cli_run import only_run, scenario, taxstorm


def test_clients_reach_an_https_platform_through_toxiproxy_only_when_they_trust_the_run_ca(
    tmp_path: Path, toxiproxy: ToxiproxyAPI
) -> None:
    ca = RunCA(tmp_path / "tls")
    platform = PlatformProcess(
        tmp_path, "admin-token-for-tls", {"ledger_path": str(tmp_path / "l.db")}, 30.0, ca.issue(), ca.ca_file
    )
    url = platform.start()
    try:
        assert url.startswith("https://127.0.0.1:") and platform.admin is not None and platform.admin.healthy()
        proxy = toxiproxy.create_proxy("tls-test", url.removeprefix("https://"))
        through = f"https://{proxy.listen}"
        trusting = ssl.create_default_context(cafile=str(ca.ca_file))
        assert httpx.get(f"{through}/health", verify=trusting, timeout=5).json()["status"] == "UP"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{through}/health", timeout=5)  # the default trust store does not know the run's CA
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{proxy.listen}/health", timeout=5)  # plain HTTP to a TLS port gets nowhere
        toxiproxy.add_toxic("tls-test", "slow", "latency", {"latency": 400})
        started = time.perf_counter()
        httpx.get(f"{through}/health", verify=trusting, timeout=10)
        assert time.perf_counter() - started >= 0.4  # the toxic acts on the encrypted stream
        toxiproxy.remove_toxic("tls-test", "slow")
    finally:
        if "tls-test" in toxiproxy.proxies():
            toxiproxy.delete_proxy("tls-test")
        platform.stop()


@pytest.mark.parametrize("workers", [[], ["--workers", "1"]], ids=["local", "worker"])
def test_a_tls_run_passes_with_clients_that_trust_its_ca(tmp_path: Path, workers: list[str]) -> None:
    path = scenario(tmp_path, platform={"tls": True}, duration_s=8)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"), *workers)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output[-3000:]
    result, state = only_run(tmp_path / "reports")
    assert result["endpoints"]["platform"].startswith("https://") and result["endpoints"]["client"].startswith(
        "https://"
    )
    assert state["ca_file"] and Path(state["ca_file"]).is_file()
    issued = result["load"]["operations"]["issue"]
    assert issued.get("issued", 0) > 20 and set(issued) <= {"issued", "queued"}, issued
    assert [g["kind"] for g in result["gates"] if g["passed"]] == ["latency", "latency", "integrity", "contract"]
