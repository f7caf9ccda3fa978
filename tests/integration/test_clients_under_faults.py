"""The reference clients against the real platform through the real Toxiproxy, under built-in faults:
the resilient client keeps every invoice exactly once; the naive one demonstrably does not."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taxstorm.chaos.registry import Fault, FaultContext
from taxstorm.chaos.waiting import wait_until
from taxstorm.clients.naive import NaiveClient, NaiveOptions
from taxstorm.clients.protocol import InvoiceClient
from taxstorm.clients.resilient import ResilientClient
from tests.conftest import Proxied, running_platform
from tests.helpers import build_fault, client_config, fast_resilient, order

FAULT_READY = {"read_timeout_s": 1.0, "issue_budget_s": 3.0, "max_attempts": 4, "breaker_fail_max": 50}
RESILIENT = fast_resilient(**FAULT_READY)
NAIVE = NaiveOptions(timeout_s=3.0, retries=2, retry_pause_s=0.05)


def make(proxied: Proxied, **spec: Any) -> Fault[Any]:
    context = FaultContext("run", proxied.api, proxied.name, proxied.platform.admin, proxied.platform.process)
    return build_fault(context, **spec)


@pytest.fixture(params=["resilient", "naive"])
def client(request: pytest.FixtureRequest, proxied: Proxied, tmp_path: Path) -> Iterator[InvoiceClient]:
    config = client_config(proxied.client_url, tmp_path / "client")
    built: InvoiceClient = (
        ResilientClient(config, RESILIENT) if request.param == "resilient" else NaiveClient(config, NAIVE)
    )
    yield built
    built.close()


def invoices_per_order(proxied: Proxied) -> Counter[str]:
    return Counter(row["orderRef"] for row in proxied.platform.admin.ledger() if row["status"] == "ISSUED")


def settle(client: InvoiceClient) -> None:
    deadline = time.monotonic() + 15
    while client.backlog() and time.monotonic() < deadline:
        client.drain(budget_s=3)


def test_ghost_successes(client: InvoiceClient, proxied: Proxied) -> None:
    client.issue(order("WARM"))
    fault = make(proxied, type="ghost_success", rate=0.5)
    fault.apply()
    try:
        outcomes = [client.issue(order(f"G{i}")) for i in range(12)]
    finally:
        fault.revert()
    settle(client)
    counts = invoices_per_order(proxied)
    duplicated = {ref: n for ref, n in counts.items() if n > 1}
    if isinstance(client, ResilientClient):
        assert duplicated == {} and all(counts[f"G{i}"] == 1 for i in range(12))
    else:  # a lost answer + a new serial = a second invoice for the same order
        told_fine = {o.order_ref for o in outcomes if o.status == "issued"}
        assert told_fine & set(duplicated), f"issued-and-duplicated orders expected: {counts}"


def test_black_hole(client: InvoiceClient, proxied: Proxied) -> None:
    client.issue(order("WARM"))
    fault = make(proxied, type="timeout", timeout_ms=0)
    fault.apply()
    try:
        started = time.perf_counter()
        outcome = client.issue(order("B1"))
        waited = time.perf_counter() - started
    finally:
        fault.revert()
    settle(client)
    if isinstance(client, ResilientClient):
        assert outcome.status == "queued" and waited < RESILIENT.issue_budget_s + 2
        assert invoices_per_order(proxied)["B1"] == 1  # delivered after the network came back
    else:  # the user waited through every long timeout and was told it failed
        assert outcome.status == "failed" and waited >= NAIVE.timeout_s * (NAIVE.retries + 1) * 0.9
        # the requests got through and were committed; only the answers were swallowed: told "failed",
        # the order has one invoice per blind retry
        assert invoices_per_order(proxied)["B1"] == NAIVE.retries + 1


def test_crash_and_restart(client: InvoiceClient, proxied: Proxied) -> None:
    client.issue(order("WARM"))
    fault = make(proxied, type="crash")
    fault.apply()
    try:
        outcome = client.issue(order("C1"))
    finally:
        fault.revert()
    settle(client)
    if isinstance(client, ResilientClient):
        assert outcome.status == "queued" and invoices_per_order(proxied)["C1"] == 1
    else:
        assert outcome.status == "failed" and invoices_per_order(proxied)["C1"] == 0


def test_maintenance_window(client: InvoiceClient, proxied: Proxied) -> None:
    client.issue(order("WARM"))
    fault = make(proxied, type="maintenance", features=["issue"])
    fault.apply()
    try:
        outcome = client.issue(order("M1"))
    finally:
        fault.revert()
    settle(client)
    if isinstance(client, ResilientClient):
        assert outcome.status == "queued" and invoices_per_order(proxied)["M1"] == 1
    else:
        assert outcome.status == "failed" and invoices_per_order(proxied)["M1"] == 0


def test_resilient_client_reads_status_and_does_not_send_into_maintenance(proxied: Proxied, tmp_path: Path) -> None:
    options = fast_resilient(**FAULT_READY, status_refresh_s=0.0)
    config = client_config(proxied.client_url, tmp_path / "client")
    client = ResilientClient(config, options)
    admin = proxied.platform.admin

    def issue_posts() -> int:
        rows = admin.stats()["requests"]
        return sum(r["count"] for r in rows if r["method"] == "POST" and r["route"] == "/api/v1/invoices")

    try:
        client.issue(order("WARM"))
        before = issue_posts()
        fault = make(proxied, type="maintenance", features=["issue"])
        fault.apply()
        try:
            outcome = client.issue(order("S1"))
            assert outcome.status == "queued" and outcome.attempts == 0 and "DOWN" in (outcome.error or "")
            assert client.drain(budget_s=1) == []  # nor does the drain send into the window
        finally:
            fault.revert()
        assert issue_posts() == before, "no issue request was sent during the window"
        assert [(o.order_ref, o.status) for o in client.drain(budget_s=5)] == [("S1", "issued")]
    finally:
        client.close()


def test_resilient_client_fails_over_to_the_secondary_and_back(proxied: Proxied, tmp_path: Path) -> None:
    primary = proxied.platform
    with running_platform(tmp_path / "secondary", ledger_path=primary.ledger_path, instance="secondary") as secondary:
        options = fast_resilient(**FAULT_READY, secondary_url=secondary.url, failback_s=0.5)
        client = ResilientClient(client_config(proxied.client_url, tmp_path / "c"), options)
        try:
            assert client.issue(order("P1")).status == "issued"
            down = make(proxied, type="down")
            down.apply()
            try:
                outcome = client.issue(order("S1"))
                assert outcome.status == "issued", outcome  # served by the secondary, not queued
            finally:
                down.revert()
            wait_until(lambda: not client._http.on_secondary, 5, "failback to the primary")
            assert client.issue(order("P2")).status == "issued"
        finally:
            client.close()
        served_by = {row["orderRef"]: row["instance"] for row in primary.admin.ledger()}
    assert served_by == {"P1": "primary", "S1": "secondary", "P2": "primary"}
