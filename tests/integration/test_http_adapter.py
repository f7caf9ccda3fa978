"""The http adapter judging a client *service*: the example gateway (a real uvicorn process wrapping the
resilient client) calling the real platform through the real Toxiproxy."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.network import DownFault, DownSpec
from taxstorm.chaos.registry import FaultContext
from taxstorm.chaos.toxiproxy.server import free_port
from taxstorm.chaos.waiting import wait_until
from taxstorm.clients.http_adapter import HttpServiceClient, HttpServiceOptions
from taxstorm.clients.protocol import InvoiceClient, load_factory, parse_options
from tests.conftest import REPO, Proxied
from tests.helpers import client_config, order


@pytest.fixture
def gateway(proxied: Proxied, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PLATFORM_URL": proxied.client_url, "STATE_DIR": str(tmp_path / "gw"), "PYTHONPATH": str(REPO)}
    process = ManagedProcess(
        "gateway",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "examples.invoice_gateway:create_gateway",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        tmp_path / "gateway.log",
        env=env,
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/backlog", timeout=1).status_code == 200, 30, "the example gateway")
        yield url
    finally:
        process.stop()


def test_http_adapter_issues_queues_and_drains_through_the_service(gateway: str, proxied: Proxied) -> None:
    factory = load_factory("http")
    client = factory(client_config(proxied.client_url, Path("."), options={"service_url": gateway}))
    assert isinstance(client, InvoiceClient)
    try:
        first = client.issue(order("H1"))
        assert first.status == "issued" and first.invoice_no and len(first.invoice_no) == 20
        down = DownFault(DownSpec(at_s=0), FaultContext("r", proxied.api, proxied.name), "down")
        down.apply()
        try:
            assert client.issue(order("H2")).status == "queued"
            assert client.backlog() == 1
        finally:
            down.revert()
        drained = client.drain(budget_s=10)
        assert [(o.order_ref, o.status) for o in drained] == [("H2", "issued")]
        assert client.backlog() == 0
    finally:
        client.close()
    assert sorted(r["orderRef"] for r in proxied.platform.admin.ledger()) == ["H1", "H2"]


def test_field_and_status_mapping(tmp_path: Path) -> None:
    options = HttpServiceOptions(
        service_url="http://127.0.0.1:9", status_field="state", invoice_field="fphm", status_map={"OK": "issued"}
    )
    client = HttpServiceClient(client_config("", tmp_path), options)
    try:
        assert client._outcome("A", {"state": "OK", "fphm": "1" * 20}).status == "issued"
        odd = client._outcome("A", {"state": "WEIRD"})
        assert odd.status == "failed" and "WEIRD" in (odd.error or "")
        unreachable = client.issue(order("X"))
        assert unreachable.status == "failed" and "unreachable" in (unreachable.error or "")
    finally:
        client.close()
    with pytest.raises(ValueError, match="service_url"):
        parse_options(HttpServiceOptions, {}, "http")
    with pytest.raises(ValueError, match="unknown http client options \\['colour'\\]"):
        parse_options(HttpServiceOptions, {"service_url": "x", "colour": 1}, "http")
