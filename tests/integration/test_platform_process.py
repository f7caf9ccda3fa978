"""The platform as real uvicorn processes: durable across kill -9, two processes sharing one ledger."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from taxstorm.chaos.waiting import wait_until
from tests.conftest import Ledger, RunningPlatform, running_platform
from tests.helpers import http_token, order


def test_issue_over_http_and_export(platform: RunningPlatform) -> None:
    headers = http_token(platform.url)
    answer = httpx.post(
        f"{platform.url}/api/v1/invoices", json=order("A").invoice_payload("S-A"), headers=headers, timeout=10
    )
    assert answer.status_code == 200
    assert answer.headers["x-trace-id"] == answer.json()["traceId"]
    rows = list(platform.admin.ledger())
    assert [r["orderRef"] for r in rows] == ["A"]
    assert platform.admin.stats()["ledgerSize"] == 1
    assert "taxstorm_ledger_invoices 1" in httpx.get(f"{platform.url}/metrics").text


def test_acknowledged_invoices_survive_kill_9(ledger: Ledger, tmp_path: Path) -> None:
    with running_platform(tmp_path, **ledger) as platform:
        acknowledged = issue_then_kill_9(platform)
    with running_platform(tmp_path / "again", **ledger) as restarted:
        stored = {row["orderRef"]: row["invoiceNo"] for row in restarted.admin.ledger()}
    missing = {ref: no for ref, no in acknowledged.items() if stored.get(ref) != no}
    assert missing == {}, f"{len(missing)} acknowledged invoices lost by kill -9"


def issue_then_kill_9(platform: RunningPlatform) -> dict[str, str]:
    """Issue from 8 threads, SIGKILL the platform once 100 are acknowledged; return what was acknowledged."""
    headers = http_token(platform.url)
    acknowledged: dict[str, str] = {}

    def issue(i: int) -> None:
        payload = order(f"K{i}").invoice_payload(f"SK{i}")
        try:
            answer = httpx.post(f"{platform.url}/api/v1/invoices", json=payload, headers=headers, timeout=5)
        except httpx.HTTPError:
            return  # in flight when the process died: not acknowledged, so not promised
        if answer.status_code == 200:
            acknowledged[f"K{i}"] = answer.json()["data"]["invoiceNo"]

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(issue, i) for i in range(400)]
        wait_until(lambda: len(acknowledged) >= 100, 60, "100 acknowledged invoices", interval_s=0.01)
        platform.process.kill()  # SIGKILL mid-load: requests are in flight
        for future in futures:
            future.result(timeout=30)
    assert len(acknowledged) >= 100
    assert not platform.process.alive()
    return acknowledged


def test_primary_and_secondary_share_tokens_and_ledger(ledger: Ledger, tmp_path: Path) -> None:
    with (
        running_platform(tmp_path, **ledger) as platform,
        running_platform(tmp_path / "secondary", **ledger, instance="secondary") as secondary,
    ):
        headers = http_token(platform.url)  # a token from the primary …
        issued = httpx.post(
            f"{platform.url}/api/v1/invoices", json=order("F1").invoice_payload("SF1"), headers=headers, timeout=10
        ).json()["data"]
        seen = httpx.get(f"{secondary.url}/api/v1/invoices/by-serial/SF1", headers=headers, timeout=10)
        assert seen.status_code == 200 and seen.json()["data"]["invoiceNo"] == issued["invoiceNo"]  # … works here
        replay = httpx.post(
            f"{secondary.url}/api/v1/invoices", json=order("F1").invoice_payload("SF1"), headers=headers, timeout=10
        ).json()["data"]
        assert replay["replayed"] is True and replay["invoiceNo"] == issued["invoiceNo"]
        other = httpx.post(
            f"{secondary.url}/api/v1/invoices", json=order("F2").invoice_payload("SF2"), headers=headers, timeout=10
        ).json()["data"]
        assert int(other["invoiceNo"]) == int(issued["invoiceNo"]) + 1  # one number sequence
        assert secondary.admin.stats()["instance"] == "secondary"
        instances = sorted(row["instance"] for row in platform.admin.ledger())
        assert instances == ["primary", "secondary"]


def test_the_ledger_export_arrives_whole_while_the_platform_serves_other_requests(tmp_path: Path) -> None:
    """The export used to break off whenever another thread served a request in the middle of it."""
    with running_platform(tmp_path) as platform:
        headers = http_token(platform.url)
        with httpx.Client(base_url=platform.url, headers=headers, timeout=10) as client:
            batch = [order(f"E{i}").invoice_payload(f"SE{i}") for i in range(100)]
            for start in range(0, 3000, 100):
                items = [
                    {**p, "requestSerialNo": f"SE{start + i}", "orderRef": f"E{start + i}"} for i, p in enumerate(batch)
                ]
                assert client.post("/api/v1/invoices/batch", json={"items": items}).status_code == 202
        wait_until(lambda: platform.admin.stats()["ledgerSize"] == 3000, 30, "3000 invoices")
        stop = threading.Event()

        def busy() -> None:
            with httpx.Client(base_url=platform.url, timeout=10) as other:
                while not stop.is_set():
                    other.get("/health")

        with ThreadPoolExecutor(8) as pool:
            for _ in range(8):
                pool.submit(busy)
            try:
                counts = [sum(1 for _ in platform.admin.ledger()) for _ in range(3)]
            finally:
                stop.set()
        assert counts == [3000, 3000, 3000]
