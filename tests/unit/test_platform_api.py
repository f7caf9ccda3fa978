"""The platform's skeleton API in-process (fresh app per test, real SQLite ledger in tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mock_platform.app import create_app
from mock_platform.settings import PlatformSettings
from tests.helpers import SELLER, order

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = PlatformSettings(ledger_path=tmp_path / "ledger.sqlite3", admin_token="admin-secret")
    with TestClient(create_app(settings, clock=lambda: 1_790_000_000.0)) as test_client:
        yield test_client


def payload(serial: str = "S-1", ref: str = "ORD-1", **changes: Any) -> dict[str, Any]:
    body = order(ref).invoice_payload(serial)
    body.update(changes)
    return body


def test_issue_returns_a_20_digit_number_from_the_region_and_year(client: TestClient) -> None:
    answer = client.post("/api/v1/invoices", json=payload())
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert answer.json()["code"] == "0000"
    assert len(data["invoiceNo"]) == 20 and data["invoiceNo"].startswith(
        "26421"
    )  # 2026 (clock 1.79e9), region 42, channel 1
    assert data["orderRef"] == "ORD-1" and data["replayed"] is False
    assert data["totals"] == {"amount": "21.00", "tax": "2.73", "totalWithTax": "23.73"}


def test_same_serial_same_payload_replays_the_original(client: TestClient) -> None:
    first = client.post("/api/v1/invoices", json=payload()).json()["data"]
    again = client.post("/api/v1/invoices", json=payload())
    assert again.status_code == 200
    assert again.json()["data"]["invoiceNo"] == first["invoiceNo"]
    assert again.json()["data"]["replayed"] is True


def test_same_serial_different_payload_is_e3002(client: TestClient) -> None:
    client.post("/api/v1/invoices", json=payload())
    answer = client.post("/api/v1/invoices", json=payload(ref="ORD-2"))
    assert answer.status_code == 409
    assert answer.json()["code"] == "E3002" and answer.json()["field"] == "requestSerialNo"


def test_concurrent_identical_requests_make_one_invoice(client: TestClient) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post("/api/v1/invoices", json=payload()), range(16)))
    numbers = {a.json()["data"]["invoiceNo"] for a in answers}
    assert {a.status_code for a in answers} == {200}
    assert len(numbers) == 1
    stats = client.get("/admin/stats", headers=ADMIN).json()
    assert stats["ledgerSize"] == 1


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda b: b["lines"][0].update(taxAmount="2.74"), "E2002", "lines[0].taxAmount"),
        (lambda b: b["lines"][0].update(amount="21.001"), "E2002", "lines[0].amount"),
        (lambda b: b["lines"][0].update(amount="25.00"), "E2002", "lines[0].amount"),
        (lambda b: b["lines"][0].update(taxRate="0.17"), "E2004", "lines[0].taxRate"),
        (lambda b: b["totals"].update(totalWithTax="23.74"), "E2002", "totals.totalWithTax"),
        (lambda b: b["totals"].update(amount="21.01"), "E2002", "totals.amount"),
        (
            lambda b: b["seller"].update(taxId=SELLER.tax_id[:-1] + ("0" if SELLER.tax_id[-1] != "0" else "1")),
            "E2005",
            "seller.taxId",
        ),
        (lambda b: b.update(invoiceType="01"), "E2003", "buyer.taxId"),
        (lambda b: b.pop("orderRef"), "E2001", "orderRef"),
        (lambda b: b.update(requestSerialNo="bad serial!"), "E2001", "requestSerialNo"),
        (lambda b: b["lines"][0].update(colour="red"), "E2001", "lines[0].colour"),
    ],
)
def test_rejections_name_the_code_and_field(client: TestClient, mutate: Any, code: str, field: str) -> None:
    body = payload()
    mutate(body)
    answer = client.post("/api/v1/invoices", json=body)
    assert 400 <= answer.status_code < 500
    assert answer.json()["code"] == code
    assert answer.json()["field"] == field
    assert answer.json()["message"]


def test_line_count_limit(tmp_path: Path) -> None:
    settings = PlatformSettings(ledger_path=tmp_path / "l.sqlite3", admin_token="admin-secret", max_lines=1)
    with TestClient(create_app(settings)) as client:
        body = payload()
        body["lines"].append({**body["lines"][0], "lineNo": 2})
        answer = client.post("/api/v1/invoices", json=body)
    assert answer.status_code == 400 and answer.json()["field"] == "lines"


def test_lookup_by_serial(client: TestClient) -> None:
    issued = client.post("/api/v1/invoices", json=payload()).json()["data"]
    found = client.get("/api/v1/invoices/by-serial/S-1", params={"sellerTaxId": SELLER.tax_id})
    assert found.status_code == 200 and found.json()["data"]["invoiceNo"] == issued["invoiceNo"]
    missing = client.get("/api/v1/invoices/by-serial/S-2", params={"sellerTaxId": SELLER.tax_id})
    assert missing.status_code == 404 and missing.json()["code"] == "E3004"


def test_admin_needs_the_token(client: TestClient) -> None:
    for path in ("/admin/stats", "/admin/ledger"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.post("/admin/reset").status_code == 401


def test_stats_count_by_route_template_and_status(client: TestClient) -> None:
    client.post("/api/v1/invoices", json=payload())
    client.post("/api/v1/invoices", json=payload())
    client.get("/api/v1/invoices/by-serial/NOPE", params={"sellerTaxId": SELLER.tax_id})
    rows = client.get("/admin/stats", headers=ADMIN).json()["requests"]
    counts = {(r["method"], r["route"], r["status"]): r["count"] for r in rows}
    assert counts[("POST", "/api/v1/invoices", 200)] == 2
    assert counts[("GET", "/api/v1/invoices/by-serial/{serial}", 404)] == 1


def test_ledger_export_streams_ndjson_and_filters_by_time(client: TestClient) -> None:
    client.post("/api/v1/invoices", json=payload("S-1", "ORD-1"))
    client.post("/api/v1/invoices", json=payload("S-2", "ORD-2"))
    export = client.get("/admin/ledger", headers=ADMIN)
    assert export.headers["content-type"].startswith("application/x-ndjson")
    refs = [line for line in export.text.splitlines() if line]
    assert len(refs) == 2 and '"orderRef": "ORD-1"' in refs[0]
    assert client.get("/admin/ledger", headers=ADMIN, params={"since": 1_800_000_000}).text == ""


def test_reset_empties_ledger_and_counters(client: TestClient) -> None:
    client.post("/api/v1/invoices", json=payload())
    assert client.post("/admin/reset", headers=ADMIN).status_code == 200
    stats = client.get("/admin/stats", headers=ADMIN).json()
    assert stats["ledgerSize"] == 0
    assert [r for r in stats["requests"] if r["route"] == "/api/v1/invoices"] == []


def test_health_names_the_release(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "UP", "release": "stable"}
