"""The capacity model's observable behaviour on a real uvicorn process, configured at start and at runtime."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningPlatform, start_platform
from tests.helpers import http_token


def configure(platform: RunningPlatform, family: str, **config: Any) -> None:
    answer = httpx.put(
        f"{platform.url}/admin/capacity/{family}",
        json=config,
        headers={"Authorization": f"Bearer {platform.admin_token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def burst(url: str, headers: dict[str, str], n: int) -> list[tuple[int, float, httpx.Response]]:
    """n concurrent GETs of the query family; (status, seconds, response) in completion order."""

    with httpx.Client(headers=headers, timeout=30, limits=httpx.Limits(max_connections=n)) as client:
        client.get(f"{url}/health")  # warm up before the burst

        def one(_: int) -> tuple[int, float, httpx.Response]:
            started = time.perf_counter()
            response = client.get(f"{url}/api/v1/invoices")
            return response.status_code, time.perf_counter() - started, response

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(one, range(n)))


@pytest.fixture
def headers(platform: RunningPlatform) -> dict[str, str]:
    return http_token(platform.url)


def test_shed_answers_fast_503_with_retry_after(platform: RunningPlatform, headers: dict[str, str]) -> None:
    configure(
        platform, "query", concurrency=1, policy="shed", retry_after_s=3, service_time={"median_ms": 400, "p99_ms": 400}
    )
    results = burst(platform.url, headers, 6)
    shed = [r for r in results if r[0] == 503]
    assert [r[0] for r in results].count(200) >= 1 and len(shed) >= 4
    for _, seconds, response in shed:
        assert response.json()["code"] == "E9003" and response.headers["Retry-After"] == "3"
        assert seconds < 0.3, "shedding must be immediate"
    assert platform.admin.stats()["capacity"]["query"]["shed"] == len(shed)


def test_queue_policy_makes_latency_grow(platform: RunningPlatform, headers: dict[str, str]) -> None:
    configure(
        platform, "query", concurrency=1, queue=100, policy="queue", service_time={"median_ms": 100, "p99_ms": 100}
    )
    results = burst(platform.url, headers, 6)
    assert {r[0] for r in results} == {200}
    latencies = sorted(r[1] for r in results)
    assert latencies[0] >= 0.1 and latencies[-1] >= 0.55, latencies  # the last waited for five others


def test_collapse_loses_throughput_under_overload(platform: RunningPlatform, headers: dict[str, str]) -> None:
    # 10 concurrent on 2 slots of 150 ms: about 0.75 s when queued; with collapse each service slows by
    # (1 + 0.5·(waiting/slots)²) while the queue is long, so the same work takes several times as long.
    service = {"median_ms": 150, "p99_ms": 150}
    configure(platform, "query", concurrency=2, queue=100, policy="queue", service_time=service)
    started = time.perf_counter()
    assert {r[0] for r in burst(platform.url, headers, 10)} == {200}
    queued_s = time.perf_counter() - started
    configure(platform, "query", concurrency=2, queue=100, policy="collapse", collapse_factor=0.5, service_time=service)
    started = time.perf_counter()
    assert {r[0] for r in burst(platform.url, headers, 10)} == {200}
    collapsed_s = time.perf_counter() - started
    assert collapsed_s > 2 * queued_s, (queued_s, collapsed_s)


def clear_of_a_minute_boundary(deadline_s: float = 30.0) -> None:
    """Polls until the wall clock is at least 15 s before a minute ends: the limiter's windows are clock minutes, so
    a test that counts within one window must not straddle a boundary (CI saw a fourth request land in a new one)."""
    deadline = time.monotonic() + deadline_s
    while time.time() % 60 > 45:
        assert time.monotonic() < deadline, "the clock never left the last 15 s of a minute"
        time.sleep(0.2)


def test_rate_limit_per_client_with_headers(platform: RunningPlatform, headers: dict[str, str]) -> None:
    clear_of_a_minute_boundary()
    configure(platform, "query", rate_per_min=3)
    answers = [httpx.get(f"{platform.url}/api/v1/invoices", headers=headers, timeout=10) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[-1]
    assert limited.json()["code"] == "E9001" and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Limit"] == "3"
    other = http_token(platform.url, "91350100M000100Y43")
    assert httpx.get(f"{platform.url}/api/v1/invoices", headers=other, timeout=10).status_code == 200
    fresh = http_token(platform.url)  # the same credential and taxpayer with a new token: still limited
    assert httpx.get(f"{platform.url}/api/v1/invoices", headers=fresh, timeout=10).status_code == 429


def test_capacity_set_at_start(tmp_path: Path) -> None:
    capacity = {"query": {"concurrency": 1, "policy": "shed", "service_time": {"median_ms": 300, "p99_ms": 300}}}
    running = start_platform(tmp_path, capacity=json.dumps(capacity))
    try:
        results = burst(running.url, http_token(running.url), 4)
        assert 503 in {r[0] for r in results}
        assert running.admin.stats()["capacity"]["query"]["config"]["policy"] == "shed"
    finally:
        running.admin.close()
        running.process.stop()
