"""Network faults through the real toxiproxy-server, seen from a client, and gone after revert."""

from __future__ import annotations

import time

import httpx
import pytest

from chaos.network import DownFault, DownSpec, LatencyFault, LatencySpec
from chaos.registry import FaultContext
from chaos.toxiproxy.api import ToxiproxyAPI
from tests.conftest import Proxied


def timed_health(url: str) -> float:
    """Seconds for GET /health over a fresh connection (toxics act per connection)."""
    with httpx.Client(timeout=10) as client:
        started = time.perf_counter()
        assert client.get(f"{url}/health").status_code == 200
        return time.perf_counter() - started


def test_latency_is_observable_and_gone_after_revert(proxied: Proxied) -> None:
    context = FaultContext("run1", proxied.api, proxied.name)
    fault = LatencyFault(LatencySpec(at_s=0, latency_ms=400), context, "slow")
    before = timed_health(proxied.client_url)
    fault.apply()
    try:
        assert list(proxied.api.toxics(proxied.name)) == ["run1-slow"]
        during = timed_health(proxied.client_url)
    finally:
        fault.revert()
    after = timed_health(proxied.client_url)
    assert during >= 0.4, f"latency fault not observed: {during:.3f}s"
    assert before < 0.3 and after < 0.3
    assert proxied.api.toxics(proxied.name) == {}
    fault.revert()  # idempotent


def test_latency_on_the_upstream_stream_delays_requests_too(proxied: Proxied) -> None:
    fault = LatencyFault(
        LatencySpec(at_s=0, latency_ms=300, stream="upstream"), FaultContext("r", proxied.api, proxied.name), "up"
    )
    fault.apply()
    try:
        assert proxied.api.toxics(proxied.name)["r-up"].stream == "upstream"
        assert timed_health(proxied.client_url) >= 0.3
    finally:
        fault.revert()


def test_down_refuses_connections_until_reverted(proxied: Proxied) -> None:
    fault = DownFault(DownSpec(at_s=0), FaultContext("r", proxied.api, proxied.name), "down")
    fault.apply()
    try:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{proxied.client_url}/health", timeout=2)
    finally:
        fault.revert()
    assert timed_health(proxied.client_url) < 1


def test_adapter_is_per_instance_and_patches_toxics(toxiproxy: ToxiproxyAPI, proxied: Proxied) -> None:
    other = ToxiproxyAPI("http://127.0.0.1:9", timeout_s=0.5)  # nothing listens there
    assert not other.ping()
    assert toxiproxy.version().major == 2
    toxiproxy.add_toxic(proxied.name, "t", "latency", {"latency": 10})
    updated = toxiproxy.update_toxic(proxied.name, "t", {"latency": 250})
    assert updated.attributes["latency"] == 250
    toxiproxy.remove_toxic(proxied.name, "t")
