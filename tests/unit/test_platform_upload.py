"""乐企 issue-then-upload and delivery, in-process: an issued invoice is UPLOADING, then UPLOADED (and delivered as
PDF/OFD/XML); when the upload channel fails it stays FAILED until the seller re-uploads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import order
from tests.platform_helpers import ADMIN, platform_app, token


@pytest.fixture
def ledger(tmp_path: Path) -> dict[str, object]:
    return {"ledger_path": tmp_path / "ledger.sqlite3"}


def issue(client: TestClient, headers: dict[str, str], ref: str) -> dict[str, Any]:
    answer = client.post("/api/v1/invoices", json=order(ref).invoice_payload(f"S-{ref}"), headers=headers)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def verify(client: TestClient, headers: dict[str, str], invoice: dict[str, Any]) -> str:
    body = {
        "invoiceNo": invoice["invoiceNo"],
        "issueDate": invoice["issueTime"][:10],
        "totalWithTax": invoice["totals"]["totalWithTax"],
    }
    return str(client.post("/api/v1/verify", json=body, headers=headers).json()["data"]["result"])


def test_an_issued_invoice_uploads_then_is_delivered(ledger: dict[str, object]) -> None:
    with platform_app(ledger, upload_ms={"median_ms": 500, "p99_ms": 500}) as (client, clock):
        headers = token(client)
        invoice = issue(client, headers, "A")
        assert invoice["uploadState"] == "UPLOADING" and "pdfUrl" not in invoice
        assert verify(client, headers, invoice) == "not_found"  # the bureau does not have it yet
        clock.advance(1)
        now = client.get("/api/v1/invoices/by-serial/S-A", headers=headers).json()["data"]
        assert now["uploadState"] == "UPLOADED" and verify(client, headers, now) == "consistent"
        pdf = client.get(now["pdfUrl"], headers=headers)
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        assert now["invoiceNo"].encode() in pdf.content
        for kind in ("ofd", "xml"):
            document = client.get(now[f"{kind}Url"], headers=headers)
            assert document.status_code == 200 and now["invoiceNo"].encode() in document.content


def test_a_failed_upload_stays_failed_until_re_uploaded_after_the_outage(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        headers = token(client)
        assert client.put("/admin/faults/upload", json={"rate": 1.0}, headers=ADMIN).status_code == 200
        invoice = issue(client, headers, "B")
        assert invoice["status"] == "ISSUED" and invoice["uploadState"] == "FAILED" and "pdfUrl" not in invoice
        assert verify(client, headers, invoice) == "not_found"  # a buyer cannot verify what never arrived
        status = client.get("/api/v1/status").json()["data"]
        assert {"mode": "upload_failure", "rate": 1.0} in status["faults"]
        again = client.post(f"/api/v1/invoices/{invoice['invoiceNo']}/upload", headers=headers)
        assert again.status_code == 503 and again.json()["code"] == "E9006" and "Retry-After" in again.headers
        assert client.delete("/admin/faults/upload", headers=ADMIN).status_code == 200
        uploaded = client.post(f"/api/v1/invoices/{invoice['invoiceNo']}/upload", headers=headers)
        assert uploaded.status_code == 200 and uploaded.json()["data"]["uploadState"] == "UPLOADED"
        assert verify(client, headers, uploaded.json()["data"]) == "consistent"
        twice = client.post(f"/api/v1/invoices/{invoice['invoiceNo']}/upload", headers=headers)
        assert twice.status_code == 200 and twice.json()["data"]["uploadState"] == "UPLOADED"  # idempotent
        missing = client.post("/api/v1/invoices/26421999999999999999/upload", headers=headers)
        assert missing.status_code == 404 and missing.json()["code"] == "E3004"


def test_delivery_down_refuses_documents_but_not_issuing(ledger: dict[str, object]) -> None:
    with platform_app(ledger) as (client, _):
        headers = token(client)
        invoice = issue(client, headers, "C")
        switched = client.put("/admin/features/delivery", json={"down": True}, headers=ADMIN)
        assert switched.status_code == 200
        refused = client.get(invoice["pdfUrl"], headers=headers)
        assert refused.status_code == 503 and refused.json()["code"] == "E9006"
        assert issue(client, headers, "D")["uploadState"] == "UPLOADED"
