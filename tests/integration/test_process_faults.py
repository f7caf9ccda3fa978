"""Process faults on a real platform process: crash and restart, hang, rolling upgrade and rollback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from taxstorm.chaos.registry import Fault, FaultContext
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from tests.conftest import RunningPlatform
from tests.helpers import build_fault, http_token, order


def make(platform: RunningPlatform, **spec: Any) -> Fault[Any]:
    context = FaultContext("run", ToxiproxyAPI("http://127.0.0.1:9"), "unused", platform.admin, platform.process)
    return build_fault(context, **spec)


def test_crash_refuses_connections_and_restart_keeps_port_and_ledger(platform: RunningPlatform) -> None:
    headers = http_token(platform.url)
    body = order("C1").invoice_payload("SC1")
    issued = httpx.post(f"{platform.url}/api/v1/invoices", json=body, headers=headers, timeout=10).json()["data"]
    pid = platform.process.pid
    fault = make(platform, type="crash")
    fault.apply()
    try:
        assert not platform.process.alive()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{platform.url}/health", timeout=2)
    finally:
        fault.revert()
    assert platform.process.alive() and platform.process.pid != pid
    headers = http_token(platform.url)  # tokens are in the ledger: the old one works, a new one too
    found = httpx.get(f"{platform.url}/api/v1/invoices/by-serial/SC1", headers=headers, timeout=10).json()["data"]
    assert found["invoiceNo"] == issued["invoiceNo"]


def test_hang_accepts_connections_but_never_answers(platform: RunningPlatform) -> None:
    fault = make(platform, type="hang")
    fault.apply()
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{platform.url}/health", timeout=httpx.Timeout(0.5, connect=2))
    finally:
        fault.revert()
    assert httpx.get(f"{platform.url}/health", timeout=5).status_code == 200


def test_rolling_upgrade_restarts_on_the_new_release_and_rolls_back(platform: RunningPlatform) -> None:
    headers = http_token(platform.url)
    fault = make(platform, type="rolling_upgrade", release="renamed-field")
    fault.apply()
    try:
        assert httpx.get(f"{platform.url}/health", timeout=5).json()["release"] == "renamed-field"
        body = order("U1").invoice_payload("SU1")
        answer = httpx.post(f"{platform.url}/api/v1/invoices", json=body, headers=headers, timeout=10).json()
        assert "invoiceNumber" in answer["data"]
    finally:
        fault.revert()
    assert httpx.get(f"{platform.url}/health", timeout=5).json()["release"] == "stable"
