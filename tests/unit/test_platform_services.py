"""Verification, quota, number segments, batches, status/metrics and the admin controls, in-process."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from taxstorm.loadtests.orders import OrderGenerator
from tests.conftest import Ledger
from tests.helpers import fetch, order
from tests.platform_helpers import ADMIN, platform_app, token


def issue(client: TestClient, headers: dict[str, str], serial: str, ref: str, **kw: Any) -> Any:
    return client.post("/api/v1/invoices", json=order(ref, **kw).invoice_payload(serial), headers=headers)


def test_verify_consistent_mismatch_not_found_and_daily_limit(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, clock):
        headers = token(client)
        data = issue(client, headers, "S-1", "A").json()["data"]
        today = data["issueTime"][:10]
        body = {"invoiceNo": data["invoiceNo"], "issueDate": today, "totalWithTax": "23.73"}
        assert client.post("/api/v1/verify", json=body, headers=headers).json()["data"]["result"] == "consistent"
        wrong = client.post("/api/v1/verify", json={**body, "totalWithTax": "23.70"}, headers=headers).json()["data"]
        assert wrong["result"] == "mismatch" and wrong["mismatchedFields"] == ["totalWithTax"]
        for _ in range(3):
            client.post("/api/v1/verify", json=body, headers=headers)
        limited = client.post("/api/v1/verify", json=body, headers=headers)
        assert limited.status_code == 429 and limited.json()["code"] == "E6001"
        assert int(limited.headers["Retry-After"]) > 0
        missing = {**body, "invoiceNo": "26421999999999999999"}
        assert client.post("/api/v1/verify", json=missing, headers=headers).json()["data"]["result"] == "not_found"
        clock.advance(86400)
        headers = token(client)
        assert client.post("/api/v1/verify", json=body, headers=headers).status_code == 200  # a new day
        clock.advance(6 * 366 * 86400)
        old = client.post("/api/v1/verify", json=body, headers=token(client))
        assert old.status_code == 422 and old.json()["code"] == "E6002"


def test_quota_is_monthly_without_overdraw_and_restored_by_failures(ledger: Ledger) -> None:
    with platform_app(ledger, monthly_quota=Decimal("50.00")) as (client, clock):
        headers = token(client)
        assert issue(client, headers, "S-1", "A").status_code == 200  # 21.00 net
        assert issue(client, headers, "S-2", "B").status_code == 200  # 42.00 used
        over = issue(client, headers, "S-3", "C")
        assert over.status_code == 422 and over.json()["code"] == "E4001"
        quota = client.get("/api/v1/quota", headers=headers).json()["data"]
        assert (quota["bysxed"], quota["kysyed"], quota["sq"], quota["ztsxbz"]) == ("50.00", "8.00", "202611", "N")
        clock.advance(14 * 86400)  # December: a fresh quota, nothing carried over
        headers = token(client)
        assert issue(client, headers, "S-3", "C").status_code == 200
        assert client.get("/api/v1/quota", headers=headers).json()["data"]["kysyed"] == "29.00"


def test_download_mode_needs_downloaded_quota_and_return_works(ledger: Ledger) -> None:
    with platform_app(ledger, quota_mode="download", monthly_quota=Decimal("100.00")) as (client, _):
        headers = token(client)
        assert issue(client, headers, "S-1", "A").json()["code"] == "E4001"
        got = client.post("/api/v1/quota/download", json={"sqed": "30.00"}, headers=headers).json()["data"]
        assert got["yxzed"] == "30.00" and got["kysyed"] == "70.00"
        assert issue(client, headers, "S-1", "A").status_code == 200
        left = client.get("/api/v1/quota", headers=headers).json()["data"]
        assert left["yxzwsyed"] == "9.00"
        too_much = client.post("/api/v1/quota/return", json={"amount": "10.00"}, headers=headers)
        assert too_much.json()["code"] == "E4001"
        back = client.post("/api/v1/quota/return", json={"amount": "9.00"}, headers=headers).json()["data"]
        assert back["yxzed"] == "21.00" and back["kysyed"] == "79.00"
        over = client.post("/api/v1/quota/download", json={"amount": "80.00"}, headers=headers)
        assert over.json()["code"] == "E4001"


def test_quota_expires_after_the_filing_deadline_until_adjusted(ledger: Ledger) -> None:
    with platform_app(ledger, filing_deadline_day=15) as (client, _):  # the clock says the 18th
        headers = token(client)
        expired = issue(client, headers, "S-1", "A")
        assert expired.status_code == 409 and expired.json()["code"] == "E4003"
        assert client.get("/api/v1/quota", headers=headers).json()["data"]["expired"] is True
        client.post("/api/v1/quota/adjust-period", headers=headers)
        assert issue(client, headers, "S-1", "A").status_code == 200


def test_suspended_quota_refuses_issuing(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        headers = token(client)
        state = client.app.state.platform  # type: ignore[attr-defined]
        with state.db.write() as tx:
            state.quota.set_suspended(tx, order("x").seller_tax_id, True, state.clock())
        answer = issue(client, headers, "S-1", "A")
        assert answer.status_code == 403 and answer.json()["code"] == "E4002"
        assert client.get("/api/v1/quota", headers=headers).json()["data"]["ztsxbz"] == "Y"


def test_number_segments_are_required_in_segment_mode_and_run_out(ledger: Ledger) -> None:
    with platform_app(ledger, numbering="segments", segment_max=2) as (client, _):
        headers = token(client)
        assert issue(client, headers, "S-1", "A").json()["code"] == "E4004"
        assert client.post("/api/v1/number-segments", json={"count": 3}, headers=headers).json()["field"] == "count"
        segment = client.post("/api/v1/number-segments", json={"lysl": 2}, headers=headers).json()["data"]
        assert segment["startNo"].startswith("26421") and int(segment["endNo"]) - int(segment["startNo"]) == 1
        numbers = [issue(client, headers, f"S-{i}", f"O{i}").json()["data"]["invoiceNo"] for i in (1, 2)]
        assert numbers == [segment["startNo"], segment["endNo"]]
        assert issue(client, headers, "S-3", "O3").json()["code"] == "E4004"
        listed = client.get("/api/v1/number-segments", headers=headers).json()["data"]["segments"]
        assert listed[0]["remaining"] == 0


def test_batch_partial_success_and_status(ledger: Ledger) -> None:
    with platform_app(ledger, batch_max=3) as (client, _):
        headers = token(client)
        good = order("A").invoice_payload("SB-1")
        bad_rate = order("B", rate="0.17").invoice_payload("SB-2")
        items = [good, bad_rate, {"requestSerialNo": "SB-3"}]
        answer = client.post("/api/v1/invoices/batch", json={"items": items}, headers=headers)
        assert answer.status_code == 202
        data = answer.json()["data"]
        assert data["counts"] == {"ISSUED": 1, "REJECTED": 2}
        assert [i.get("code") for i in data["items"]] == [None, "E2004", "E2001"]
        again = client.get(f"/api/v1/invoices/batch/{data['batchId']}", headers=headers).json()["data"]
        assert again["items"][0]["invoice"]["status"] == "ISSUED"
        too_big = client.post("/api/v1/invoices/batch", json={"items": [good] * 4}, headers=headers)
        assert too_big.status_code == 400 and too_big.json()["field"] == "items"
        other = token(client, "91350100M000100Y43")
        assert client.get(f"/api/v1/invoices/batch/{data['batchId']}", headers=other).status_code == 404


def test_a_batch_item_named_in_pinyin_is_reported_under_its_serial(ledger: Ledger) -> None:
    """乐企 aliases are accepted in batch items too: an item whose serial is ``fpqqlsh`` is issued, and its entry
    carries that serial and its invoice (it was once listed with a null serial and counted REJECTED)."""
    with platform_app(ledger) as (client, _):
        headers = token(client)
        item = order("P").invoice_payload("SP-1")
        item["fpqqlsh"] = item.pop("requestSerialNo")
        answer = client.post("/api/v1/invoices/batch", json={"items": [item]}, headers=headers).json()["data"]
        again = client.get(f"/api/v1/invoices/batch/{answer['batchId']}", headers=headers).json()["data"]
        for batch in (answer, again):
            assert batch["counts"] == {"ISSUED": 1}
            entry = batch["items"][0]
            assert entry["requestSerialNo"] == "SP-1" and entry["invoice"]["requestSerialNo"] == "SP-1"
        refused = {**item, "orderRef": ""}
        answer = client.post("/api/v1/invoices/batch", json={"items": [refused]}, headers=headers).json()["data"]
        assert answer["items"][0]["requestSerialNo"] == "SP-1" and answer["items"][0]["accepted"] is False


def test_status_notices_metrics_and_admin(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, clock):
        headers = token(client)
        issue(client, headers, "S-1", "A")
        status = client.get("/api/v1/status").json()["data"]
        assert set(status["features"]) == {"issue", "red", "verify", "quota", "delivery", "auth"}
        assert client.get("/api/v1/notices").json()["data"] == {"notices": []}
        metrics = client.get("/metrics").text
        assert 'taxstorm_requests_total{method="POST",route="/api/v1/invoices",status="200"} 1' in metrics
        assert "taxstorm_ledger_invoices 1" in metrics
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        assert all(f.documentation for f in families.values())  # every metric says what it counts (# HELP)
        latency = families["taxstorm_request_duration_seconds"]
        assert latency.type == "histogram"
        counts = {s.labels["family"]: s.value for s in latency.samples if s.name.endswith("_count")}
        assert counts["issue"] == 1 and counts["auth"] == 1  # the issue and the token it needed, each in its family
        assert families["taxstorm_family_shed"].type == "counter" and families["taxstorm_in_flight"].type == "gauge"
        before = clock()
        assert client.post("/admin/clock", json={"advance_s": 60}, headers=ADMIN).json()["offsetS"] == 60
        assert clock() == before + 60
        stats = client.get("/admin/stats", headers=ADMIN).json()
        assert stats["capacity"]["issue"]["served"] == 1 and stats["instance"] == "primary"
        rows = [json.loads(line) for line in client.get("/admin/ledger", headers=ADMIN).text.splitlines() if line]
        assert len(rows) == 2 and rows[0]["orderRef"] == "A" and rows[0]["finalStatus"] == "ISSUED"
        assert rows[1] == {"end": True, "rows": 1}  # a stream without this line was cut short
        assert client.post("/admin/reset", headers=ADMIN).status_code == 200
        assert client.get("/api/v1/invoices", headers=headers).json()["code"] == "E1001"  # tokens are gone too


def test_admin_needs_the_token(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        for path in ("/admin/stats", "/admin/ledger"):
            assert client.get(path).status_code == 401
            assert client.get(path, headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        assert client.post("/admin/reset").status_code == 401


def test_landed_names_the_orders_with_an_invoice_that_is_or_will_be_issued(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        headers = token(client)
        issue(client, headers, "S-1", "A")
        issue(client, headers, "S-2", "B")
        answer = client.post("/admin/ledger/landed", json={"orderRefs": ["A", "B", "C"]}, headers=ADMIN)
        assert answer.status_code == 200 and answer.json() == {"landed": ["A", "B"]}
        assert client.post("/admin/ledger/landed", json={"orderRefs": ["A"]}).status_code == 401
        refused = client.post("/admin/ledger/landed", json={"orderRefs": "A"}, headers=ADMIN)
        assert refused.status_code == 400 and refused.json()["code"] == "E2001"


def test_throttling_is_on_by_default_and_counts_per_credential_and_taxpayer(ledger: Ledger) -> None:
    from taxstorm.mock_platform.settings import PlatformSettings

    limits = {f: c.rate_per_min for f, c in PlatformSettings(admin_token="admin-secret").capacity.items()}
    assert all(limits.values()) and limits["issue"] == 600 and limits["auth"] == 30  # on by default
    shed = {"concurrency": 50, "policy": "shed"}  # a family configured without a limit keeps its default
    assert PlatformSettings(admin_token="admin-secret", capacity={"issue": shed}).capacity["issue"].rate_per_min == 600
    with platform_app(ledger, capacity={"auth": {"rate_per_min": 2}}) as (client, _):
        answers = [client.post("/api/v1/auth/token", json=fetch()) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["code"] == "E9001" and answers[2].headers["X-RateLimit-Limit"] == "2"
        other = OrderGenerator(seed=7, run_tag="t").seller(1).tax_id
        assert client.post("/api/v1/auth/token", json=fetch(other)).status_code == 200  # its own budget
