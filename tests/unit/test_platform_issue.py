"""Auth and blue-invoice issuing in-process (fresh app per test, real SQLite ledger, movable clock)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.mock_platform.clock import OffsetClock
from taxstorm.mock_platform.issuing import payload_hash
from taxstorm.mock_platform.models import IssueInvoiceRequest
from taxstorm.mock_platform.settings import ServiceTime
from tests.conftest import Ledger
from tests.helpers import SELLER, fetch, order
from tests.platform_helpers import ADMIN, platform_app, token

OTHER = OrderGenerator(seed=7, run_tag="t").seller(1)


@pytest.fixture
def app(ledger: Ledger) -> Iterator[tuple[TestClient, OffsetClock]]:
    with platform_app(ledger) as pair:
        yield pair


@pytest.fixture
def client(app: tuple[TestClient, OffsetClock]) -> TestClient:
    return app[0]


def payload(serial: str = "S-1", ref: str = "ORD-1", **changes: Any) -> dict[str, Any]:
    body = order(ref).invoice_payload(serial)
    body.update(changes)
    return body


def issue(client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None, mode: str = "async") -> Any:
    return client.post(f"/api/v1/invoices?mode={mode}", json=body, headers=headers or token(client))


def test_token_needs_known_credentials_and_a_valid_taxpayer(client: TestClient) -> None:
    bad = {**fetch(), "clientSecret": "nope"}
    assert client.post("/api/v1/auth/token", json=bad).json()["code"] == "E1001"
    wrong_id = fetch("91350100M000100Y44")  # the check digit is wrong
    answer = client.post("/api/v1/auth/token", json=wrong_id)
    assert answer.status_code == 422 and answer.json()["code"] == "E2003"
    mine = fetch()
    pinyin = {"client_id": mine["clientId"], "client_secret": mine["clientSecret"], "nsrsbh": SELLER.tax_id}
    assert client.post("/api/v1/auth/token", json=pinyin).status_code == 200


def test_a_credential_is_bound_to_its_taxpayer(ledger: Ledger) -> None:
    other = OrderGenerator(seed=7, run_tag="t").seller(1).tax_id
    with platform_app(ledger) as (client, _):
        borrowed = {**fetch(), "taxpayerId": other}  # SELLER's credential, another taxpayer
        answer = client.post("/api/v1/auth/token", json=borrowed)
        assert answer.status_code == 403 and answer.json()["code"] == "E1005"
        assert client.post("/api/v1/auth/token", json=fetch(other)).status_code == 200
        foreign_key = fetch(key="another-platforms-key")  # derived under another key: unknown here
        assert client.post("/api/v1/auth/token", json=foreign_key).json()["code"] == "E1001"
    static = {"credentials": {"erp-app": "s3cret-s3cret"}, "credential_taxpayers": {"erp-app": [SELLER.tax_id]}}
    with platform_app(ledger, **static) as (client, _):
        app_fetch = {"clientId": "erp-app", "clientSecret": "s3cret-s3cret", "taxpayerId": SELLER.tax_id}
        assert client.post("/api/v1/auth/token", json=app_fetch).status_code == 200
        assert client.post("/api/v1/auth/token", json={**app_fetch, "taxpayerId": other}).status_code == 403


def test_business_endpoints_need_a_token(client: TestClient) -> None:
    assert client.post("/api/v1/invoices", json=payload()).json()["code"] == "E1001"
    assert client.get("/api/v1/invoices", headers={"Authorization": "Bearer forged"}).json()["code"] == "E1001"


def test_tokens_expire_on_the_platform_clock(app: tuple[TestClient, OffsetClock]) -> None:
    client, clock = app
    headers = token(client)
    clock.advance(7201)
    answer = client.get("/api/v1/invoices", headers=headers)
    assert answer.status_code == 401 and answer.json()["code"] == "E1002"


def test_token_fetch_cap_per_30_days(ledger: Ledger) -> None:
    with platform_app(ledger, token_fetch_cap_30d=2) as (client, clock):
        token(client)
        token(client)
        capped = client.post("/api/v1/auth/token", json=fetch())
        assert capped.status_code == 429 and capped.json()["code"] == "E9001"
        assert capped.headers["Retry-After"] == "86400"
        clock.advance(31 * 86400)
        token(client)


def test_revoked_tokens_get_e1003_with_disconnect_flag(client: TestClient) -> None:
    headers, other = token(client), token(client, OTHER.tax_id)
    answer = client.post("/admin/tokens/revoke", json={"taxpayers": [SELLER.tax_id]}, headers=ADMIN)
    assert answer.json() == {"revoked": 1}
    refused = client.get("/api/v1/invoices", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "E1003"
    assert refused.json()["data"] == {"disconnFlag": 1}
    assert client.get("/api/v1/invoices", headers=other).status_code == 200  # only the listed taxpayers
    assert client.get("/api/v1/invoices", headers=token(client)).status_code == 200  # re-auth works
    assert client.post("/admin/tokens/revoke", json={}, headers=ADMIN).json()["revoked"] == 2


def test_seller_must_be_the_token_taxpayer(client: TestClient) -> None:
    answer = issue(client, payload(), headers=token(client, OTHER.tax_id))
    assert answer.status_code == 403 and answer.json()["code"] == "E1005"


def test_issue_returns_a_20_digit_number_from_year_region_channel(client: TestClient) -> None:
    answer = issue(client, payload())
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data["status"] == "ISSUED" and data["invoiceNo"] == "26421000000000000001"
    assert data["orderRef"] == "ORD-1" and data["replayed"] is False
    assert data["totals"] == {"amount": "21.00", "tax": "2.73", "totalWithTax": "23.73"}


def test_async_issue_is_202_processing_until_the_processing_time_passes(ledger: Ledger) -> None:
    with platform_app(ledger, processing_ms=ServiceTime(median_ms=60_000, p99_ms=60_000)) as (client, clock):
        headers = token(client)
        accepted = issue(client, payload(), headers)
        assert accepted.status_code == 202 and accepted.json()["data"]["status"] == "PROCESSING"
        assert accepted.json()["data"]["invoiceNo"] is None and accepted.headers["Retry-After"] == "60"
        again = issue(client, payload(), headers)  # same serial while in flight
        assert again.status_code == 409 and again.json()["code"] == "E3003"
        assert again.headers["Retry-After"] == "60"
        clock.advance(60)
        done = client.get("/api/v1/invoices/by-serial/S-1", headers=headers).json()["data"]
        assert done["status"] == "ISSUED" and len(done["invoiceNo"]) == 20
        replay = issue(client, payload(), headers)
        assert replay.status_code == 200 and replay.json()["data"]["replayed"] is True


def test_sync_mode_times_out_with_504_while_the_job_goes_on(ledger: Ledger) -> None:
    slow = ServiceTime(median_ms=5_000, p99_ms=5_000)
    with platform_app(ledger, processing_ms=slow, sync_timeout_s=0.2) as (client, clock):
        headers = token(client)
        answer = issue(client, payload(), headers, mode="sync")
        assert answer.status_code == 504 and answer.json()["code"] == "E9004"
        assert int(answer.headers["Retry-After"]) >= 1
        clock.advance(5)
        assert client.get("/api/v1/invoices/by-serial/S-1", headers=headers).json()["data"]["status"] == "ISSUED"


def test_sync_mode_waits_for_a_short_job(ledger: Ledger) -> None:
    with platform_app(ledger, processing_ms=ServiceTime(median_ms=50, p99_ms=50)) as (client, _):
        answer = issue(client, payload(), mode="sync")
        assert answer.status_code == 200 and answer.json()["data"]["status"] == "ISSUED"


def test_failed_jobs_have_no_number_and_give_quota_back(ledger: Ledger) -> None:
    with platform_app(ledger, issue_failure_rate=1.0) as (client, _):
        headers = token(client)
        data = issue(client, payload(), headers).json()["data"]
        assert data["status"] == "FAILED" and data["invoiceNo"] is None and data["failCode"] == "E9005"
        assert client.get("/api/v1/quota", headers=headers).json()["data"]["used"] == "0.00"


def test_same_serial_different_payload_is_e3002(client: TestClient) -> None:
    headers = token(client)
    issue(client, payload(), headers)
    answer = issue(client, payload(ref="ORD-2"), headers)
    assert answer.status_code == 409
    assert answer.json()["code"] == "E3002" and answer.json()["field"] == "requestSerialNo"


def test_a_replay_matches_a_row_written_with_the_older_sorted_key_digest(client: TestClient) -> None:
    """Ledgers written before the digest moved to model-order JSON hold a sorted-key digest: a replay still replays."""
    headers = token(client)
    first = issue(client, payload(), headers).json()["data"]
    request = IssueInvoiceRequest.model_validate(payload())
    with client.app.state.platform.db.write() as tx:  # type: ignore[attr-defined]
        tx.execute(
            "UPDATE invoices SET payload_hash = ? WHERE request_serial_no = ?",
            (payload_hash(request.model_dump(mode="json")), "S-1"),
        )
    again = issue(client, payload(), headers)
    assert again.status_code == 200 and again.json()["data"]["replayed"] is True
    assert again.json()["data"]["invoiceNo"] == first["invoiceNo"]
    assert issue(client, payload(ref="ORD-2"), headers).json()["code"] == "E3002"


def test_concurrent_identical_requests_make_one_invoice(client: TestClient) -> None:
    headers = token(client)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: issue(client, payload(), headers), range(16)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["data"]["invoiceNo"] for a in answers}) == 1
    assert client.get("/admin/stats", headers=ADMIN).json()["ledgerSize"] == 1


def test_pinyin_field_names_are_accepted(client: TestClient) -> None:
    body = payload()
    body["fpqqlsh"] = body.pop("requestSerialNo")
    body["hj"] = {"hjje": "21.00", "hjse": "2.73", "jshj": "23.73"}
    body.pop("totals")
    answer = issue(client, body)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("mutate", "status", "code", "field"),
    [
        (lambda b: b["lines"][0].update(taxAmount="2.75"), 422, "E2002", "lines[0].taxAmount"),  # 0.01 is tolerated
        (lambda b: b["lines"][0].update(amount="21.001"), 422, "E2002", "lines[0].amount"),
        (lambda b: b["lines"][0].update(amount="25.00"), 422, "E2002", "lines[0].amount"),
        (lambda b: b["lines"][0].update(amount="-21.00"), 422, "E2002", "lines[0].amount"),
        (lambda b: b["lines"][0].update(taxRate="0.17"), 422, "E2004", "lines[0].taxRate"),
        (lambda b: b["lines"][0].update(taxCategoryCode="12"), 422, "E2005", "lines[0].taxCategoryCode"),
        (lambda b: b["totals"].update(totalWithTax="23.74"), 422, "E2002", "totals.totalWithTax"),
        (lambda b: b["totals"].update(amount="21.01"), 422, "E2002", "totals.amount"),
        (lambda b: b.update(invoiceType="01"), 422, "E2003", "buyer.taxId"),
        (lambda b: b["buyer"].update(taxId="91350100M000100Y44"), 422, "E2003", "buyer.taxId"),
        (lambda b: b.pop("orderRef"), 400, "E2001", "orderRef"),
        (lambda b: b.update(requestSerialNo="bad serial!"), 400, "E2001", "requestSerialNo"),
        (lambda b: b["lines"][0].update(colour="red"), 400, "E2001", "lines[0].colour"),
        (lambda b: b["lines"][0].update(amount="1e400"), 400, "E2001", "lines[0].amount"),
    ],
)
def test_rejections_name_the_code_and_field(
    client: TestClient, mutate: Any, status: int, code: str, field: str
) -> None:
    body = payload()
    mutate(body)
    answer = issue(client, body)
    assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (status, code, field)
    assert answer.json()["message"] and answer.json()["messageZh"]


def test_tax_included_prices_derive_the_net_amount(client: TestClient) -> None:
    body = payload()
    body["priceIncludesTax"] = True
    body["lines"][0].update(quantity=None, unitPrice=None, amount="113.00", taxAmount="13.00", taxRate="0.13")
    body["totals"] = {"amount": "100.00", "tax": "13.00", "totalWithTax": "113.00"}
    assert issue(client, body).status_code == 200


def test_line_count_limit(ledger: Ledger) -> None:
    with platform_app(ledger, max_lines=1) as (client, _):
        body = payload()
        body["lines"].append({**body["lines"][0], "lineNo": 2})
        body["totals"] = {"amount": "42.00", "tax": "5.46", "totalWithTax": "47.46"}
        answer = issue(client, body)
    assert answer.status_code == 400 and answer.json()["field"] == "lines"


def test_rates_follow_the_effective_dated_table(ledger: Ledger) -> None:
    from datetime import date
    from decimal import Decimal

    from taxstorm.mock_platform.settings import TaxRate

    table = [
        TaxRate(rate=Decimal("0.13"), name="13%", effective_to=date(2026, 11, 20)),
        TaxRate(rate=Decimal("0.12"), name="12%", effective_from=date(2026, 11, 20)),
    ]
    with platform_app(ledger, tax_rates=table) as (client, clock):
        headers = token(client)
        assert issue(client, payload(), headers).status_code == 200
        clock.advance(3 * 86400)
        answer = issue(client, payload("S-2", "ORD-2"))  # a fresh token: the old one expired
        assert answer.json()["code"] == "E2004" and "0.12" in answer.json()["message"]
        rates = client.get("/api/v1/tax-rates").json()["data"]["rates"]
        assert [r["rate"] for r in rates] == ["0.13", "0.12"]


def test_lookups_by_serial_number_and_list(client: TestClient) -> None:
    headers = token(client)
    first = issue(client, payload("S-1", "A"), headers).json()["data"]
    issue(client, payload("S-2", "B"), headers)
    found = client.get("/api/v1/invoices/by-serial/S-1", headers=headers).json()["data"]
    assert found["invoiceNo"] == first["invoiceNo"]
    detail = client.get(f"/api/v1/invoices/{first['invoiceNo']}", headers=headers).json()["data"]
    assert detail["lines"][0]["itemName"] == "茶叶 tea"
    page = client.get("/api/v1/invoices", params={"pageSize": 1, "page": 2, "status": "ISSUED"}, headers=headers)
    assert page.json()["data"]["total"] == 2 and [i["orderRef"] for i in page.json()["data"]["items"]] == ["B"]
    other = token(client, OTHER.tax_id)
    assert client.get("/api/v1/invoices/by-serial/S-1", headers=other).json()["code"] == "E3004"
    assert client.get(f"/api/v1/invoices/{first['invoiceNo']}", headers=other).status_code == 404
    assert client.get("/api/v1/invoices", headers=other).json()["data"]["total"] == 0


def test_issuing_is_asynchronous_by_default_and_slows_with_the_platforms_own_backlog(ledger: Ledger) -> None:
    from taxstorm.mock_platform.settings import PlatformSettings

    assert PlatformSettings(admin_token="admin-secret").processing_ms.median_ms > 0  # realistic by default
    slow = {"processing_ms": {"median_ms": 300, "p99_ms": 300}, "processing_per_pending_ms": 100}
    with platform_app(ledger, **slow) as (client, clock):
        headers = token(client)
        answers = [
            client.post("/api/v1/invoices", json=order(f"B{i}").invoice_payload(f"SB-{i}"), headers=headers)
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert all(
            a.json()["data"]["status"] == "PROCESSING" and a.json()["data"]["invoiceNo"] is None for a in answers
        )
        assert all(int(a.headers["Retry-After"]) >= 1 for a in answers)
        rows = {r["orderRef"]: r for r in _ledger(client)}
        waits = [round(rows[f"B{i}"]["dueAt"] - rows[f"B{i}"]["createdAt"], 3) for i in range(3)]
        assert waits == [0.3, 0.4, 0.5]  # each job waits for the ones already PROCESSING
        clock.advance(1)
        done = client.get("/api/v1/invoices/by-serial/SB-0", headers=headers).json()["data"]
        assert done["status"] == "ISSUED" and len(done["invoiceNo"]) == 20


def _ledger(client: TestClient) -> list[dict[str, Any]]:
    lines = client.get("/admin/ledger", headers=ADMIN).text.splitlines()
    return [row for row in map(json.loads, lines) if "orderRef" in row]
