"""The resilient reference client against the real platform through the real Toxiproxy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taxstorm.chaos.network import DownFault, DownSpec, LatencyFault, LatencySpec
from taxstorm.chaos.registry import FaultContext
from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import InvoiceClient, Outcome
from taxstorm.clients.resilient import ResilientClient, create_client
from tests.conftest import Proxied, RunningPlatform, running_platform
from tests.helpers import client_config, fast_resilient, order

FAST = fast_resilient()


@pytest.fixture(params=["httpx", "gevent"])
def client(proxied: Proxied, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ResilientClient]:
    """The resilient client on each HTTP stack: httpx (threads) and geventhttpclient (inside Locust)."""
    config = client_config(proxied.client_url, tmp_path / "client")
    resilient = ResilientClient(config, fast_resilient(http_stack=request.param))
    yield resilient
    resilient.close()


def ledger_refs(proxied: Proxied) -> list[str]:
    return sorted(row["orderRef"] for row in proxied.platform.admin.ledger())


def test_satisfies_the_protocol_and_issues(client: ResilientClient, proxied: Proxied) -> None:
    assert isinstance(client, InvoiceClient)
    outcome = client.issue(order("R1"))
    assert outcome.status == "issued" and outcome.invoice_no and len(outcome.invoice_no) == 20
    assert client.issue(order("R1")).invoice_no == outcome.invoice_no  # same order: same invoice, no new call
    assert ledger_refs(proxied) == ["R1"]


def test_platform_unreachable_queues_fast_then_drains_exactly_once(client: ResilientClient, proxied: Proxied) -> None:
    down = DownFault(DownSpec(at_s=0), FaultContext("r", proxied.api, proxied.name), "down")
    down.apply()
    try:
        started = time.perf_counter()
        outcome = client.issue(order("Q1"))
        elapsed = time.perf_counter() - started
    finally:
        down.revert()
    assert outcome.status == "queued"
    assert elapsed < FAST.issue_budget_s + 1.0
    assert client.backlog() == 1 and ledger_refs(proxied) == []
    drained = client.drain(budget_s=5)
    assert [(o.order_ref, o.status) for o in drained] == [("Q1", "issued")]
    assert client.backlog() == 0 and ledger_refs(proxied) == ["Q1"]


def test_lost_responses_are_resolved_by_serial_not_duplicated(client: ResilientClient, proxied: Proxied) -> None:
    # The request reaches the platform and commits; the answer arrives after the client's read timeout.
    assert client.issue(order("WARM")).status == "issued"  # the token is fetched and cached before the fault
    slow = LatencyFault(LatencySpec(at_s=0, latency_ms=1500), FaultContext("r", proxied.api, proxied.name), "slow")
    slow.apply()
    try:
        outcome = client.issue(order("G1"))
    finally:
        slow.revert()
    assert outcome.status == "queued", outcome
    assert ledger_refs(proxied) == ["G1", "WARM"]  # committed despite the timeout
    drained = client.drain(budget_s=5)
    assert [(o.order_ref, o.status) for o in drained] == [("G1", "issued")]
    assert ledger_refs(proxied) == ["G1", "WARM"]  # looked up by serial, never resubmitted under a new one


def test_validation_errors_are_not_retried(client: ResilientClient, proxied: Proxied) -> None:
    bad = order("V1", rate="0.17")  # not an allowed rate
    outcome = client.issue(bad)
    assert outcome.status == "rejected" and outcome.attempts == 1 and "E2004" in (outcome.error or "")
    assert client.backlog() == 0
    posts = [
        r
        for r in proxied.platform.admin.stats()["requests"]
        if r["method"] == "POST" and r["route"] == "/api/v1/invoices"
    ]
    assert sum(r["count"] for r in posts) == 1


def test_outbox_survives_a_client_restart(proxied: Proxied, tmp_path: Path) -> None:
    config = client_config(proxied.client_url, tmp_path / "client")
    down = DownFault(DownSpec(at_s=0), FaultContext("r", proxied.api, proxied.name), "down")
    first = ResilientClient(config, FAST)
    down.apply()
    try:
        assert first.issue(order("P1")).status == "queued"
    finally:
        down.revert()
        first.close()
    second = ResilientClient(config, FAST)
    try:
        assert second.backlog() == 1
        assert [o.status for o in second.drain(budget_s=5)] == ["issued"]
    finally:
        second.close()
    assert ledger_refs(proxied) == ["P1"]


def test_async_processing_is_polled_to_the_final_status(tmp_path: Path) -> None:
    with running_platform(tmp_path / "slow", processing_ms='{"median_ms": 300, "p99_ms": 300}') as running:
        outcome = issue_once(running, tmp_path, order("P1"))
        assert outcome.status == "issued" and outcome.invoice_no and outcome.attempts >= 2
        lookups = [r for r in running.admin.stats()["requests"] if r["route"].endswith("/by-serial/{serial}")]
        assert sum(r["count"] for r in lookups) >= 1  # polled by serial, not resubmitted
        assert int(running.admin.stats()["ledgerSize"]) == 1


def test_a_short_answer_budget_still_waits_out_the_platforms_retry_after(tmp_path: Path) -> None:
    # a cashier waits 3 s at most: the factory gives the retries 1.5 s and each read 1 s. The 202 says "ask again
    # in 1 s"; that look-up starts within the retry budget and ends well within the cashier's 3 s, so the user
    # gets the invoice, not "queued" (as every order of network_partition once did, even on a healthy platform)
    with running_platform(tmp_path / "slow", processing_ms='{"median_ms": 300, "p99_ms": 300}') as running:
        client = create_client(client_config(running.url, tmp_path / "client", answer_budget_s=3.0))
        try:
            started = time.perf_counter()
            outcomes = [client.issue(order(f"B{i}")) for i in range(3)]
            elapsed = (time.perf_counter() - started) / 3
        finally:
            client.close()
    assert [o.status for o in outcomes] == ["issued"] * 3, outcomes
    assert 1.0 <= elapsed < 2.7  # the Retry-After was honoured, and the answer came within the budget


def test_a_failed_job_is_reissued_under_a_new_serial(tmp_path: Path) -> None:
    with running_platform(tmp_path / "failing", issue_failure_rate="1.0") as failing:
        outcome = issue_once(failing, tmp_path, order("F1"))
        assert outcome.status == "queued" and outcome.attempts == FAST.max_attempts
        serials = {row["requestSerialNo"] for row in failing.admin.ledger()}
        assert len(serials) == FAST.max_attempts  # every attempt after a FAILED used a fresh serial
        assert {row["status"] for row in failing.admin.ledger()} == {"FAILED"}


def issue_once(running: RunningPlatform, tmp_path: Path, one: Order) -> Outcome:
    """Issue one order with a fresh resilient client talking to the platform directly."""
    client = ResilientClient(client_config(running.url, tmp_path / "client"), FAST)
    try:
        return client.issue(one)
    finally:
        client.close()


@pytest.mark.parametrize("stack", ["httpx", "gevent"])
@pytest.mark.parametrize("keep_alive", [True, False])
def test_connection_reuse_decides_how_a_partial_toxic_hits(
    proxied: Proxied, tmp_path: Path, keep_alive: bool, stack: str
) -> None:
    # no background /status refresh during the calls: it would open a second pooled connection
    changes = {"read_timeout_s": 5.0, "keep_alive": keep_alive, "http_stack": stack, "status_refresh_s": 3600.0}
    options = fast_resilient(**changes)
    client = ResilientClient(client_config(proxied.client_url, tmp_path / "c"), options)
    try:
        client.issue(order("WARM"))  # token fetched and connection opened before the toxic
        fault = LatencyFault(
            LatencySpec(at_s=0, latency_ms=250, toxicity=0.5), FaultContext("r", proxied.api, proxied.name), "half"
        )
        fault.apply()
        try:
            slow = []
            for i in range(16):
                started = time.perf_counter()
                assert client.issue(order(f"K{i}")).status == "issued"
                slow.append(time.perf_counter() - started >= 0.25)
        finally:
            fault.revert()
    finally:
        client.close()
    if keep_alive:
        assert len(set(slow)) == 1, slow  # the one pooled connection: toxic on every call or on none
    else:
        assert 0 < sum(slow) < 16, slow  # a new connection per call: some are hit, some are not


def batch_posts(proxied: Proxied) -> int:
    rows = proxied.platform.admin.stats()["requests"]
    return sum(r["count"] for r in rows if r["method"] == "POST" and r["route"] == "/api/v1/invoices/batch")


def test_a_batch_is_one_post_with_an_outcome_per_order(client: ResilientClient, proxied: Proxied) -> None:
    orders = [order(f"B{i}") for i in range(5)] + [order("BAD", rate="0.17")]
    outcomes = client.issue_batch(orders)
    assert [o.order_ref for o in outcomes] == [o.order_ref for o in orders]
    assert [o.status for o in outcomes] == ["issued"] * 5 + ["rejected"]
    assert "E2004" in (outcomes[-1].error or "")  # the item's business error, not retried
    assert batch_posts(proxied) == 1 and client.backlog() == 0
    assert ledger_refs(proxied) == [f"B{i}" for i in range(5)]
    assert (
        client.issue_batch(orders[:2])
        == [  # issued orders are answered from the outbox
            Outcome("issued", o.order_ref, o.invoice_no, attempts=0) for o in outcomes[:2]
        ]
    )
    assert batch_posts(proxied) == 1


def test_a_batch_whose_answer_is_lost_is_settled_under_its_serials_exactly_once(
    client: ResilientClient, proxied: Proxied
) -> None:
    assert client.issue(order("WARM")).status == "issued"  # token cached before the fault
    slow = LatencyFault(LatencySpec(at_s=0, latency_ms=1500), FaultContext("r", proxied.api, proxied.name), "slow")
    slow.apply()
    try:
        outcomes = client.issue_batch([order(f"L{i}") for i in range(4)])
    finally:
        slow.revert()
    assert {o.status for o in outcomes} == {"queued"}, outcomes
    assert ledger_refs(proxied) == ["L0", "L1", "L2", "L3", "WARM"]  # the batch committed; its answer was lost
    drained = client.drain(budget_s=10)
    assert sorted((o.order_ref, o.status) for o in drained) == [(f"L{i}", "issued") for i in range(4)]
    # the drain sent the batch again under the same serials: the platform answered with the originals
    assert ledger_refs(proxied) == ["L0", "L1", "L2", "L3", "WARM"]
    assert batch_posts(proxied) == 2


def test_batch_items_still_processing_are_followed_to_issued(tmp_path: Path) -> None:
    with running_platform(tmp_path / "slow", processing_ms='{"median_ms": 200, "p99_ms": 300}') as running:
        config = client_config(running.url, tmp_path / "client")
        client = ResilientClient(config, FAST)
        try:
            outcomes = client.issue_batch([order(f"P{i}") for i in range(5)])
        finally:
            client.close()
        assert [o.status for o in outcomes] == ["issued"] * 5, outcomes
        rows = running.admin.stats()["requests"]
        follows = sum(r["count"] for r in rows if r["route"] == "/api/v1/invoices/batch/{batchId}")
        lookups = sum(r["count"] for r in rows if r["route"].endswith("/by-serial/{serial}"))
        assert follows >= 1 and lookups == 0  # followed through the batch, not item by item


def test_overlapping_drains_work_each_order_once(proxied: Proxied, tmp_path: Path) -> None:
    config = client_config(proxied.client_url, tmp_path / "client")
    client = ResilientClient(config, fast_resilient(drain_rate_per_s=20, breaker_fail_max=1000))
    down = DownFault(DownSpec(at_s=0), FaultContext("r", proxied.api, proxied.name), "down")
    down.apply()
    try:
        assert {client.issue(order(f"D{i}")).status for i in range(8)} == {"queued"}
    finally:
        down.revert()
    results: list[list[Outcome]] = [[], []]
    threads = [threading.Thread(target=lambda i=i: results[i].extend(client.drain(budget_s=5))) for i in (0, 1)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        client.close()
    drained = sorted(o.order_ref for outcomes in results for o in outcomes)
    assert drained == [f"D{i}" for i in range(8)]  # every order once, though two drains ran at the same time
    assert ledger_refs(proxied) == [f"D{i}" for i in range(8)]
