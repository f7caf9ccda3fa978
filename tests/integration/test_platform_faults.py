"""Every platform fault against a real platform process: the effect a client sees, then gone after revert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from taxstorm.chaos.registry import Fault, FaultContext
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.waiting import wait_until
from tests import helpers
from tests.conftest import RunningPlatform
from tests.helpers import SELLER, build_fault, http_token, order


@pytest.fixture
def live(platform: RunningPlatform) -> Iterator[RunningPlatform]:
    """The platform; after the test no fault mode, notice or bad release may remain."""
    yield platform
    status = httpx.get(f"{platform.url}/api/v1/status", timeout=10).json()["data"]
    assert status["faults"] == [], f"fault modes left behind: {status['faults']}"
    assert set(status["features"].values()) == {"UP"}, status["features"]
    assert httpx.get(f"{platform.url}/api/v1/notices", timeout=10).json()["data"]["notices"] == []
    assert httpx.get(f"{platform.url}/health", timeout=10).json()["release"] == "stable"


def make(platform: RunningPlatform, **spec: Any) -> Fault[Any]:
    context = FaultContext("run", ToxiproxyAPI("http://127.0.0.1:9"), "unused", platform.admin)
    return build_fault(context, **spec)


def post(
    platform: RunningPlatform, serial: str, headers: dict[str, str], timeout: float = 10, **kw: Any
) -> httpx.Response:
    body = order(serial, **kw).invoice_payload(serial)
    return httpx.post(f"{platform.url}/api/v1/invoices", json=body, headers=headers, timeout=timeout)


def elapsed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_error_injection_answers_the_code_on_chosen_families(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="error_injection", code="E9003", rate=1.0, families=["issue"], retry_after_s=7)
    fault.apply()
    try:
        refused = post(live, "E1", headers)
        assert refused.status_code == 503 and refused.json()["code"] == "E9003"
        assert refused.headers["Retry-After"] == "7"
        assert httpx.get(f"{live.url}/api/v1/invoices", headers=headers, timeout=10).status_code == 200
    finally:
        fault.revert()
    assert post(live, "E1", headers).status_code == 200


def test_an_internal_error_may_have_committed_and_a_busy_refusal_never_has(live: RunningPlatform) -> None:
    """E9005 means 'outcome unknown': a client that resubmits under a new serial duplicates (DOMAIN.md §B3/§B8)."""
    headers = http_token(live.url)
    unknown = make(live, type="error_injection", code="E9005", rate=1.0, families=["issue"], commit_rate=1.0)
    unknown.apply()
    try:
        assert post(live, "U1", headers).status_code == 500
    finally:
        unknown.revert()
    found = httpx.get(f"{live.url}/api/v1/invoices/by-serial/U1", headers=headers, timeout=10)
    assert found.status_code == 200 and found.json()["data"]["status"] == "ISSUED"  # it was done after all
    busy = make(live, type="error_injection", code="E9003", rate=1.0, families=["issue"])
    busy.apply()
    try:
        assert post(live, "U2", headers).status_code == 503
    finally:
        busy.revert()
    assert httpx.get(f"{live.url}/api/v1/invoices/by-serial/U2", headers=headers, timeout=10).status_code == 404
    with pytest.raises(ValueError, match="commit_rate"):  # a refusal never commits: a contradiction is refused
        make(live, type="error_injection", code="E9003", rate=1.0, commit_rate=0.5).apply()


def test_ghosts_haunt_batches_and_red_invoices_too(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    blue = post(live, "R0", headers).json()["data"]
    fault = make(live, type="ghost_success", rate=1.0, answer="504")
    fault.apply()
    try:
        items = [order(f"GB{i}").invoice_payload(f"GB{i}") for i in range(3)]
        lost = httpx.post(f"{live.url}/api/v1/invoices/batch", json={"items": items}, headers=headers, timeout=10)
        assert lost.status_code == 504
        entered = httpx.post(
            f"{live.url}/api/v1/red-confirmations",
            json={"blueInvoiceNo": blue["invoiceNo"], "reasonCode": "02", "applicant": "0"},
            headers=headers,
            timeout=10,
        ).json()["data"]
        red = {"confirmationUuid": entered["uuid"], "requestSerialNo": "RG1", "orderRef": "R0-R"}
        lost_red = httpx.post(
            f"{live.url}/api/v1/invoices/{blue['invoiceNo']}/red", json=red, headers=headers, timeout=10
        )
        assert lost_red.status_code == 504
    finally:
        fault.revert()
    for serial in ("GB0", "GB1", "GB2", "RG1"):  # every one committed although its answer was lost
        found = httpx.get(f"{live.url}/api/v1/invoices/by-serial/{serial}", headers=headers, timeout=10)
        assert found.status_code == 200 and found.json()["data"]["status"] == "ISSUED", (serial, found.text)


def test_platform_latency_slows_answers(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="platform_latency", median_ms=300, p99_ms=300)
    fault.apply()
    try:
        assert elapsed(lambda: httpx.get(f"{live.url}/api/v1/invoices", headers=headers, timeout=10)) >= 0.3
    finally:
        fault.revert()
    assert elapsed(lambda: httpx.get(f"{live.url}/api/v1/invoices", headers=headers, timeout=10)) < 0.25


def test_ghost_success_commits_then_loses_the_answer(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="ghost_success", rate=1.0, answer="504")
    fault.apply()
    try:
        lost = post(live, "G1", headers)
        assert lost.status_code == 504 and lost.json()["code"] == "E9004"
        found = httpx.get(f"{live.url}/api/v1/invoices/by-serial/G1", headers=headers, timeout=10).json()["data"]
        assert found["status"] == "ISSUED"  # committed although the client was told "timeout"
        again = post(live, "G1", headers)  # the same serial: the original, not a second invoice
        assert again.status_code == 200 and again.json()["data"]["replayed"] is True
    finally:
        fault.revert()
    hang = make(live, type="ghost_success", rate=1.0, answer="hang", hang_ms=1500)
    hang.apply()
    try:
        with pytest.raises(httpx.ReadTimeout):
            post(live, "G2", headers, timeout=0.4)
        wait_until(lambda: live.admin.stats()["ledgerSize"] == 2, 10, "the hung invoice committed")
    finally:
        hang.revert()
    assert post(live, "G3", headers).status_code == 200


def test_ledger_stall_holds_writes_not_reads(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="ledger_stall", stall_ms=400)
    fault.apply()
    try:
        assert elapsed(lambda: post(live, "L1", headers)) >= 0.4
        assert elapsed(lambda: httpx.get(f"{live.url}/api/v1/invoices", headers=headers, timeout=10)) < 0.3
    finally:
        fault.revert()
    assert elapsed(lambda: post(live, "L2", headers)) < 0.3


def test_capacity_change_sheds_then_restores_the_old_model(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    before = live.admin.stats()["capacity"]["issue"]["config"]
    fault = make(
        live,
        type="capacity_change",
        family="issue",
        capacity={"concurrency": 1, "policy": "shed", "service_time": {"median_ms": 400, "p99_ms": 400}},
    )
    fault.apply()
    try:
        with ThreadPoolExecutor(4) as pool:
            codes = [r.status_code for r in pool.map(lambda i: post(live, f"C{i}", headers), range(4))]
        assert 503 in codes and 200 in codes
    finally:
        fault.revert()
    assert live.admin.stats()["capacity"]["issue"]["config"] == before


@pytest.mark.parametrize("release", ["bad-5xx-by-serial", "renamed-field", "wrong-rounding"])
def test_bad_release_then_rollback(live: RunningPlatform, release: str) -> None:
    headers = http_token(live.url)
    fault = make(live, type="bad_release", release=release)
    fault.apply()
    try:
        assert httpx.get(f"{live.url}/health", timeout=10).json()["release"] == release
        answer = post(live, "R1", headers, price="10.05", quantity=1)  # tax 1.3065: half-up 1.31, truncated 1.30
        if release == "bad-5xx-by-serial":
            lookup = httpx.get(f"{live.url}/api/v1/invoices/by-serial/R1", headers=headers, timeout=10)
            assert lookup.status_code == 500 and lookup.json()["code"] == "E9005"
        elif release == "renamed-field":
            assert "invoiceNumber" in answer.json()["data"] and "invoiceNo" not in answer.json()["data"]
        else:  # the platform's totals no longer match what the client computed: detectable
            assert answer.json()["data"]["totals"]["tax"] == "1.30"  # the client sent 1.31: a detectable mismatch
    finally:
        fault.revert()
    rolled = post(live, "R2", headers).json()["data"]
    assert "invoiceNo" in rolled and rolled["totals"]["tax"] == order("R2").invoice_payload("R2")["totals"]["tax"]


def test_latency_leak_grows_with_traffic(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="bad_release", release="latency-leak", leak_ms=300)
    fault.apply()
    try:
        with httpx.Client(headers=headers, timeout=30) as client:
            first = elapsed(lambda: client.get(f"{live.url}/api/v1/invoices"))
            for _ in range(100):  # one band of 100 requests: only the last one or two pay the first 300 ms step
                client.get(f"{live.url}/api/v1/quota")
            later = elapsed(lambda: client.get(f"{live.url}/api/v1/invoices"))
        assert first < 0.2 and later >= 0.3, (first, later)  # a 300 ms step, not a busy machine's noise
    finally:
        fault.revert()


def test_policy_change_new_required_field_and_rates(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="policy_change", required_fields=["remarks"], tax_rates=[{"rate": "0.12", "name": "12%"}])
    fault.apply()
    try:
        missing = post(live, "P1", headers)
        assert missing.status_code == 400 and missing.json()["field"] == "remarks"
        body = order("P2").invoice_payload("P2") | {"remarks": "备注"}
        old_rate = httpx.post(f"{live.url}/api/v1/invoices", json=body, headers=headers, timeout=10)
        assert old_rate.json()["code"] == "E2004"
        new = order("P3", rate="0.12").invoice_payload("P3") | {"remarks": "备注"}
        assert httpx.post(f"{live.url}/api/v1/invoices", json=new, headers=headers, timeout=10).status_code == 200
    finally:
        fault.revert()
    assert post(live, "P4", headers).status_code == 200


def test_token_revocation_and_reverification(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="token_revocation", taxpayers=[SELLER.tax_id], require_reverify=True)
    fault.apply()
    try:
        dropped = httpx.get(f"{live.url}/api/v1/invoices", headers=headers, timeout=10)
        assert dropped.status_code == 401 and dropped.json()["code"] == "E1003"
        fetch = helpers.fetch(SELLER.tax_id)
        refused = httpx.post(f"{live.url}/api/v1/auth/token", json=fetch, timeout=10)
        assert refused.status_code == 403 and refused.json()["code"] == "E1004"
    finally:
        fault.revert()
    assert httpx.get(f"{live.url}/api/v1/invoices", headers=http_token(live.url), timeout=10).status_code == 200


@pytest.mark.parametrize("taxpayers", [None, [SELLER.tax_id]])
def test_quota_suspension(live: RunningPlatform, taxpayers: list[str] | None) -> None:
    headers = http_token(live.url)
    fault = make(live, type="quota_suspension", taxpayers=taxpayers)
    fault.apply()
    try:
        refused = post(live, "Q1", headers)
        assert refused.status_code == 403 and refused.json()["code"] == "E4002"
    finally:
        fault.revert()
    assert post(live, "Q1", headers).status_code == 200


def test_maintenance_is_announced_then_refuses_until_reverted(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="maintenance", notice_ahead_s=1.0, for_s=30, features=["issue"])
    fault.apply()
    try:
        notices = httpx.get(f"{live.url}/api/v1/notices", timeout=10).json()["data"]["notices"]
        assert len(notices) == 1 and notices[0]["affectedFeatures"] == ["issue"]
        assert post(live, "M1", headers).status_code == 200  # announced, not started
        wait_until(lambda: post(live, "M2", headers).status_code == 503, 10, "the maintenance window")
        refused = post(live, "M3", headers)
        assert refused.json()["code"] == "E9002" and int(refused.headers["Retry-After"]) > 20
    finally:
        fault.revert()
    assert post(live, "M3", headers).status_code == 200


def test_feature_down_affects_only_that_feature(live: RunningPlatform) -> None:
    headers = http_token(live.url)
    fault = make(live, type="feature_down", feature="red")
    fault.apply()
    try:
        refused = httpx.post(
            f"{live.url}/api/v1/red-confirmations",
            json={"blueInvoiceNo": "26421000000000000001", "reasonCode": "01"},
            headers=headers,
            timeout=10,
        )
        assert refused.status_code == 503 and refused.json()["code"] == "E9006"
        assert post(live, "F1", headers).status_code == 200
    finally:
        fault.revert()
