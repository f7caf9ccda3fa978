"""The platform's edges, in-process: every error in the envelope, the admin door shut before any body is read,
``X-Api-Version``, the rate table following a policy change, the validation gaps and ``Idempotency-Key``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import order
from tests.platform_helpers import ADMIN, platform_app, token


@pytest.fixture
def ledger(tmp_path: Path) -> dict[str, object]:
    """These edges do not depend on the database: SQLite only (the ledger tests run on both)."""
    return {"ledger_path": tmp_path / "ledger.sqlite3"}


def test_routing_errors_answer_in_the_envelope(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        missing = client.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["code"] == "E3004"
        wrong = client.delete("/api/v1/invoices")
        assert wrong.status_code == 405 and wrong.json()["code"] == "E2001" and "method not allowed" in wrong.text
        garbled = client.post("/api/v1/auth/token", content=b"\xff\xfe{", headers={"content-type": "application/json"})
        assert garbled.status_code == 400 and garbled.json()["code"] == "E2001"
        for answer in (missing, wrong, garbled):
            assert set(answer.json()) >= {"code", "message", "messageZh", "traceId"}
            assert answer.headers["x-api-version"] == "v1"


def test_the_admin_door_is_shut_before_any_body_is_read(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        junk = client.put("/admin/capacity/issue", content=b"not json at all")
        assert junk.status_code == 401 and junk.json()["code"] == "E1001"  # not a 400 telling what it expects
        wrong = client.put("/admin/capacity/issue", json={"concurrency": 1}, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401
        good = client.put("/admin/capacity/issue", json={"concurrency": 1}, headers=ADMIN)
        assert good.status_code == 200 and good.headers["x-api-version"] == "v1"


def test_the_rate_table_follows_a_policy_change(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        before = client.get("/api/v1/tax-rates").json()["data"]
        assert "0.13" in {r["rate"] for r in before["rates"]} and before["requiredFields"] == []
        policy = {
            "effective_in_s": 0,
            "tax_rates": [{"rate": "0.10", "name": "new 10%"}],
            "required_fields": ["remarks"],
        }
        assert client.put("/admin/faults/policy", json=policy, headers=ADMIN).status_code == 200
        after = client.get("/api/v1/tax-rates").json()["data"]
        assert [r["rate"] for r in after["rates"]] == ["0.10"] and after["requiredFields"] == ["remarks"]
        assert after["zeroRateMarks"]["1"].startswith("免税")


def line_body(**line: object) -> dict[str, object]:
    body = order("V1").invoice_payload("SV-1")
    body["lines"][0].update(line)
    return body


@pytest.mark.parametrize(
    ("line", "status", "code", "field"),
    [
        ({"quantity": "-2", "unitPrice": "-10.50"}, 422, "E2002", "lines[0].quantity"),
        ({"unitPrice": "10.50000000000000"}, 400, "E2001", "lines[0].unitPrice"),  # 14 decimals
        ({"zeroRateMark": "1"}, 422, "E2004", "lines[0].zeroRateMark"),  # exempt goes with rate 0 only
    ],
)
def test_validation_refuses_what_a_real_platform_refuses(
    ledger: dict[str, object], line: dict[str, object], status: int, code: str, field: str
) -> None:
    with platform_app(ledger) as (client, _):
        answer = client.post("/api/v1/invoices", json=line_body(**line), headers=token(client))
        assert (answer.status_code, answer.json()["code"], answer.json().get("field")) == (status, code, field)


def test_an_exempt_line_is_rate_zero_with_its_mark(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        body = line_body(taxRate="0", taxAmount="0.00", zeroRateMark="1")
        body["totals"] = {"amount": "21.00", "tax": "0.00", "totalWithTax": "21.00"}
        answer = client.post("/api/v1/invoices", json=body, headers=token(client))
        assert answer.status_code == 200 and answer.json()["data"]["status"] == "ISSUED", answer.text
        body["lines"][0]["unitPrice"] = "10.5000000000000"  # type: ignore[index]  # 13 decimals are fine
        body["requestSerialNo"] = "SV-2"
        assert client.post("/api/v1/invoices", json=body, headers=token(client)).status_code == 200


def test_idempotency_key_is_an_alias_of_the_request_serial(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        headers = token(client)
        body = order("K1").invoice_payload("unused")
        del body["requestSerialNo"]
        first = client.post("/api/v1/invoices", json=body, headers={**headers, "Idempotency-Key": "IK-1"})
        assert first.status_code == 200 and first.json()["data"]["requestSerialNo"] == "IK-1", first.text
        again = client.post("/api/v1/invoices", json=body, headers={**headers, "Idempotency-Key": "IK-1"})
        assert again.json()["data"]["replayed"] is True
        assert again.json()["data"]["invoiceNo"] == first.json()["data"]["invoiceNo"]
        clash = client.post(
            "/api/v1/invoices",
            json={**body, "requestSerialNo": "OTHER"},
            headers={**headers, "Idempotency-Key": "IK-1"},
        )
        assert clash.status_code == 400 and clash.json()["field"] == "Idempotency-Key"
        neither = client.post("/api/v1/invoices", json=body, headers=headers)
        assert neither.status_code == 400 and neither.json()["field"] == "requestSerialNo"
