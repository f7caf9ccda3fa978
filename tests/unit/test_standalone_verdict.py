"""A standing session judged from the platform's side alone: duplicates by business key, submissions per
invoice, answers by status, and what such a verdict cannot say."""

from __future__ import annotations

from typing import Any

from taxstorm.platform_side import platform_side_verdict, verdict_lines


def blue(ref: str, number: str, status: str = "ISSUED") -> dict[str, Any]:
    return {"orderRef": ref, "invoiceNo": number, "status": status, "finalStatus": status, "kind": "blue"}


STATS = {
    "requests": [
        {"method": "POST", "route": "/api/v1/invoices", "status": 202, "count": 5},
        {"method": "POST", "route": "/api/v1/invoices", "status": 503, "count": 3},
        {"method": "GET", "route": "/api/v1/invoices/by-serial/{serial}", "status": 200, "count": 7},
        {"method": "POST", "route": "/api/v1/auth/token", "status": 200, "count": 2},
    ]
}


def test_duplicates_are_orders_with_more_than_one_live_invoice() -> None:
    ledger = [
        blue("A", "1"),
        blue("A", "2"),  # a resubmission under a new serial: a duplicate
        blue("B", "3"),
        blue("B", "4"),
        {"kind": "red", "status": "ISSUED", "blueInvoiceNo": "3", "orderRef": "B-R", "invoiceNo": "5"},  # reversed
        blue("C", "6", "FAILED"),
        blue("D", "7", "PROCESSING"),
    ]
    verdict = platform_side_verdict(ledger, STATS)
    assert verdict.duplicated_orders == {"A": 2}
    assert (verdict.invoices, verdict.orders) == (4, 3)  # A twice, B's replacement, D on its way
    assert verdict.submissions == 8 and verdict.submissions_per_invoice == 2.0
    assert verdict.answers_by_status == {"200": 9, "202": 5, "503": 3}
    lines = verdict_lines(verdict)
    assert "duplicate: order A has 2 live invoices" in lines
    assert any(line.startswith("not judged: lost invoices") for line in lines)


def test_an_empty_session_has_nothing_per_invoice() -> None:
    verdict = platform_side_verdict([], {"requests": []})
    assert verdict.invoices == 0 and verdict.submissions_per_invoice is None and verdict.duplicated_orders == {}
