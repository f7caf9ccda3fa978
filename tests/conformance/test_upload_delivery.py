"""乐企 issue-then-upload (DOMAIN.md §1.1, README): an ISSUED invoice is UPLOADING, then UPLOADED with its
documents (pdfUrl / ofdUrl / xmlUrl); a FAILED upload is repeated by the seller; delivery can be down (E9006)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.conformance.support import Api, Taxpayer, envelope_problems, invoice, wait_for

pytestmark = pytest.mark.integration

DOCUMENTS = ("pdf", "ofd", "xml")


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    """Instant issuing; the upload to the tax bureau takes 0.8 s."""
    return {"upload_ms": '{"median_ms": 800}'}


@pytest.fixture
def failing_uploads(api: Api) -> Iterator[None]:
    api.admin("PUT", "/admin/faults/upload", {"rate": 1})
    yield
    api.admin("DELETE", "/admin/faults/upload")


def uploaded(api: Api, who: Taxpayer, request_serial: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        data = api.by_serial(who, request_serial).data
        return dict(data) if data["uploadState"] == "UPLOADED" else None

    return wait_for(probe, 10, f"{request_serial} to be UPLOADED")


def verify(api: Api, who: Taxpayer, issued: dict[str, Any]) -> str:
    body = {
        "invoiceNo": issued["invoiceNo"],
        "issueDate": datetime.fromisoformat(issued["issueTime"]).strftime("%Y-%m-%d"),
        "totalWithTax": issued["totals"]["totalWithTax"],
    }
    return str(api.call("POST", "/verify", who=who, json=body).data["result"])


def test_an_issued_invoice_is_uploading_before_it_is_uploaded(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    first = api.issue(seller, body)
    assert first.data["status"] == "ISSUED" and first.data["uploadState"] == "UPLOADING"
    assert "pdfUrl" not in first.data or first.data["pdfUrl"] is None
    done = uploaded(api, seller, body["requestSerialNo"])
    assert done["invoiceNo"] == first.data["invoiceNo"]


def test_an_uploaded_invoice_delivers_its_documents(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    api.issue(seller, body)
    done = uploaded(api, seller, body["requestSerialNo"])
    for kind in DOCUMENTS:
        response = api.raw("GET", done[f"{kind}Url"], who=seller)
        assert response.status_code == 200 and response.content, kind


def test_an_invoice_is_verifiable_once_uploaded(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    first = api.issue(seller, body).data
    assert verify(api, seller, first) == "not_found"  # the bureau does not have it yet
    assert verify(api, seller, uploaded(api, seller, body["requestSerialNo"])) == "consistent"


def test_a_failed_upload_is_issued_without_documents(api: Api, seller: Taxpayer, failing_uploads: None) -> None:
    answer = api.issue(seller, invoice(seller.tax_id))
    assert answer.data["status"] == "ISSUED" and len(answer.data["invoiceNo"]) == 20
    assert answer.data["uploadState"] == "FAILED" and answer.data.get("pdfUrl") is None


def test_a_reupload_while_the_channel_is_down_is_e9006(api: Api, seller: Taxpayer, failing_uploads: None) -> None:
    number = api.issue(seller, invoice(seller.tax_id)).data["invoiceNo"]
    assert api.call("POST", f"/invoices/{number}/upload", who=seller).refused("E9006", 503)


def test_the_seller_uploads_a_failed_invoice_again(api: Api, seller: Taxpayer) -> None:
    api.admin("PUT", "/admin/faults/upload", {"rate": 1})
    try:
        body = invoice(seller.tax_id)
        number = api.issue(seller, body).data["invoiceNo"]
    finally:
        api.admin("DELETE", "/admin/faults/upload")
    again = api.call("POST", f"/invoices/{number}/upload", who=seller)
    assert again.status == 200 and again.data["uploadState"] in ("UPLOADING", "UPLOADED")
    assert uploaded(api, seller, body["requestSerialNo"])["invoiceNo"] == number
    assert api.call("POST", f"/invoices/{number}/upload", who=seller).data["uploadState"] == "UPLOADED"


def test_delivery_switched_off_is_e9006(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    api.issue(seller, body)
    url = uploaded(api, seller, body["requestSerialNo"])["pdfUrl"]
    api.admin("PUT", "/admin/features/delivery", {"down": True})
    try:
        response = api.raw("GET", url, who=seller)
    finally:
        api.admin("PUT", "/admin/features/delivery", {"down": False})
    assert response.status_code == 503 and response.json()["code"] == "E9006"
    assert envelope_problems(response) == []


def test_maintenance_of_delivery_answers_e9002_with_its_notice(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    api.issue(seller, body)
    url = uploaded(api, seller, body["requestSerialNo"])["pdfUrl"]
    notice = api.admin("POST", "/admin/maintenance", {"start_in_s": 0, "duration_s": 120, "features": ["delivery"]})
    try:
        response = api.raw("GET", url, who=seller)
    finally:
        api.admin("DELETE", f"/admin/maintenance/{notice['id']}")
    assert envelope_problems(response) == []
    assert response.status_code == 503 and response.json()["code"] == "E9002", response.text
    assert response.json()["data"]["noticeId"] == notice["id"] and response.headers.get("Retry-After")
