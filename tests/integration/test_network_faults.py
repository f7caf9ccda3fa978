"""Network faults through the real toxiproxy-server, seen from a client, and gone after revert."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from taxstorm.chaos.network import DownFault, DownSpec, LatencyFault, LatencySpec
from taxstorm.chaos.registry import Fault, FaultContext
from taxstorm.chaos.toxiproxy.api import NotFound, ToxiproxyAPI
from tests.conftest import Proxied
from tests.helpers import build_fault


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


def make(proxied: Proxied, **spec: Any) -> Fault[Any]:
    """A registered network fault from its scenario form."""
    return build_fault(FaultContext("run", proxied.api, proxied.name), **spec)


@contextmanager
def applied(fault: Fault[Any]) -> Iterator[None]:
    fault.apply()
    try:
        yield
    finally:
        fault.revert()


def test_bandwidth_slows_a_large_answer(proxied: Proxied) -> None:
    size = len(httpx.get(f"{proxied.client_url}/openapi.json", timeout=10).content)
    rate_kbps = 40
    with applied(make(proxied, type="bandwidth", rate_kbps=rate_kbps)):
        started = time.perf_counter()
        assert httpx.get(f"{proxied.client_url}/openapi.json", timeout=30).status_code == 200
        elapsed = time.perf_counter() - started
    assert elapsed >= 0.7 * size / (rate_kbps * 1024), (size, elapsed)
    assert timed_health(proxied.client_url) < 0.5


def test_slow_close_delays_the_hang_up(proxied: Proxied) -> None:
    def fetch_until_close() -> float:
        host, port = proxied.client_url.removeprefix("http://").split(":")
        started = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: platform\r\nConnection: close\r\n\r\n")
            while sock.recv(65536):
                pass
        return time.perf_counter() - started

    with applied(make(proxied, type="slow_close", delay_ms=600)):
        assert fetch_until_close() >= 0.6
    assert fetch_until_close() < 0.5


def test_timeout_black_holes_until_the_client_gives_up(proxied: Proxied) -> None:
    with applied(make(proxied, type="timeout", timeout_ms=0)), pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{proxied.client_url}/health", timeout=httpx.Timeout(0.5, connect=2))
    with applied(make(proxied, type="timeout", timeout_ms=300)):
        started = time.perf_counter()
        with pytest.raises(httpx.RemoteProtocolError):  # closed without an answer after 300 ms
            httpx.get(f"{proxied.client_url}/health", timeout=5)
        assert time.perf_counter() - started >= 0.3
    assert timed_health(proxied.client_url) < 0.5


def test_reset_peer_resets_connections_fast(proxied: Proxied) -> None:
    with applied(make(proxied, type="reset_peer", timeout_ms=0)):
        started = time.perf_counter()
        with pytest.raises(httpx.TransportError) as caught:
            httpx.get(f"{proxied.client_url}/health", timeout=5)
        assert time.perf_counter() - started < 2
        assert not isinstance(caught.value, httpx.TimeoutException)
    assert timed_health(proxied.client_url) < 0.5


def test_slicer_dribbles_the_answer(proxied: Proxied) -> None:
    with applied(make(proxied, type="slicer", average_size_bytes=8, delay_us=10_000)):
        assert timed_health(proxied.client_url) >= 0.2
    assert timed_health(proxied.client_url) < 0.2


def test_limit_data_cuts_the_answer_short(proxied: Proxied) -> None:
    with applied(make(proxied, type="limit_data", bytes=40)), pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{proxied.client_url}/health", timeout=5)
    assert timed_health(proxied.client_url) < 0.5


def test_toxicity_is_decided_per_connection(proxied: Proxied) -> None:
    with applied(make(proxied, type="latency", latency_ms=300, toxicity=0.5)):
        fresh = [timed_health(proxied.client_url) >= 0.3 for _ in range(30)]  # a new connection each time
        with httpx.Client(timeout=5) as reused:
            reused.get(f"{proxied.client_url}/health")
            slow = []
            for _ in range(8):
                started = time.perf_counter()
                reused.get(f"{proxied.client_url}/health")
                slow.append(time.perf_counter() - started >= 0.3)
    assert 0 < sum(fresh) < 30, "half the new connections should be delayed"
    assert len(set(slow)) == 1, "one kept-alive connection is delayed on every request or on none"


def test_populate_creates_and_replaces_proxies_server_side(toxiproxy: ToxiproxyAPI) -> None:
    created = toxiproxy.populate(
        [
            {"name": "pop-a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"},
            {"name": "pop-b", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:10"},
        ]
    )
    assert sorted(p.name for p in created) == ["pop-a", "pop-b"]
    assert {"pop-a", "pop-b"} <= set(toxiproxy.proxies())
    again = toxiproxy.populate([{"name": "pop-a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:11"}])
    assert [p.upstream for p in again] == ["127.0.0.1:11"]
    for name in ("pop-a", "pop-b"):
        toxiproxy.delete_proxy(name)
    with pytest.raises(NotFound):
        toxiproxy.delete_proxy("pop-a")
