"""The red-letter flow: confirmations, their state machine, the 72 h void on a moved clock, red invoices."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from taxstorm.loadtests.orders import OrderGenerator
from tests.conftest import Ledger
from tests.helpers import order
from tests.platform_helpers import platform_app, token

BUYER = OrderGenerator(seed=7, run_tag="t").seller(2)


def blue(client: TestClient, seller_headers: dict[str, str], with_buyer: bool, serial: str = "B-1") -> str:
    body = order("ORD-B").invoice_payload(serial)
    if with_buyer:
        body["buyer"]["taxId"] = BUYER.tax_id
    answer = client.post("/api/v1/invoices", json=body, headers=seller_headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["invoiceNo"])


def red_invoice(client: TestClient, number: str, confirmation: str, serial: str, headers: dict[str, str]) -> Any:
    return client.post(
        f"/api/v1/invoices/{number}/red",
        json={"confirmationUuid": confirmation, "requestSerialNo": serial},
        headers=headers,
    )


def test_natural_person_buyer_needs_no_confirmation(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        seller = token(client)
        number = blue(client, seller, with_buyer=False)
        created = client.post(
            "/api/v1/red-confirmations", json={"blueInvoiceNo": number, "reasonCode": "02"}, headers=seller
        ).json()["data"]
        assert created["status"] == "01" and created["amount"] == "-21.00" and created["tax"] == "-2.73"
        red = red_invoice(client, number, created["uuid"], "R-1", seller)
        assert red.status_code == 200
        data = red.json()["data"]
        assert data["kind"] == "red" and data["blueInvoiceNo"] == number and data["totals"]["totalWithTax"] == "-23.73"
        again = red_invoice(client, number, created["uuid"], "R-1", seller)
        assert again.json()["data"]["replayed"] is True and again.json()["data"]["invoiceNo"] == data["invoiceNo"]
        # the blue invoice is fully reversed: nothing remains for another confirmation
        more = client.post(
            "/api/v1/red-confirmations", json={"blueInvoiceNo": number, "reasonCode": "01"}, headers=seller
        )
        assert more.status_code == 422 and more.json()["code"] == "E5003"
        # and a used confirmation cannot be used by another serial
        reuse = red_invoice(client, number, created["uuid"], "R-2", seller)
        assert reuse.json()["code"] in ("E5002", "E5003")


def test_buyer_must_confirm_and_confirmation_voids_after_72h(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, clock):
        seller, buyer = token(client), token(client, BUYER.tax_id)
        number = blue(client, seller, with_buyer=True)
        created = client.post(
            "/api/v1/red-confirmations",
            json={"blueInvoiceNo": number, "reasonCode": "04", "amount": "-10.00"},
            headers=seller,
        ).json()["data"]
        assert created["status"] == "02" and created["tax"] == "-1.30" and created["voidAt"]
        early = red_invoice(client, number, created["uuid"], "R-1", seller)
        assert early.status_code == 409 and early.json()["code"] == "E5001"
        seen_by_buyer = client.get(f"/api/v1/red-confirmations/{created['uuid']}", headers=buyer).json()["data"]
        assert seen_by_buyer["status"] == "02"
        stranger = token(client, OrderGenerator(seed=9, run_tag="x").seller(5).tax_id)
        assert client.get(f"/api/v1/red-confirmations/{created['uuid']}", headers=stranger).status_code == 404

        clock.advance(72 * 3600)
        seller, buyer = token(client), token(client, BUYER.tax_id)
        voided = client.get(f"/api/v1/red-confirmations/{created['uuid']}", headers=seller).json()["data"]
        assert voided["status"] == "07"
        late = client.post(f"/api/v1/red-confirmations/{created['uuid']}/confirm", json={"accept": True}, headers=buyer)
        assert late.status_code == 422 and late.json()["code"] == "E5002"
        assert red_invoice(client, number, created["uuid"], "R-1", seller).json()["code"] == "E5002"


def test_confirm_then_issue_partial_red_and_limits(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        seller, buyer = token(client), token(client, BUYER.tax_id)
        number = blue(client, seller, with_buyer=True)
        created = client.post(
            "/api/v1/red-confirmations",
            json={"blueInvoiceNo": number, "reasonCode": "02", "amount": "-10.00", "tax": "-1.30"},
            headers=seller,
        ).json()["data"]
        own = client.post(f"/api/v1/red-confirmations/{created['uuid']}/confirm", json={"accept": True}, headers=seller)
        assert own.status_code == 403  # the applicant cannot confirm its own request
        done = client.post(f"/api/v1/red-confirmations/{created['uuid']}/confirm", json={"accept": True}, headers=buyer)
        assert done.json()["data"]["status"] == "04"
        assert red_invoice(client, number, created["uuid"], "R-1", buyer).status_code == 403  # seller issues
        red = red_invoice(client, number, created["uuid"], "R-1", seller)
        assert red.json()["data"]["totals"]["amount"] == "-10.00"
        too_much = client.post(
            "/api/v1/red-confirmations",
            json={"blueInvoiceNo": number, "reasonCode": "02", "amount": "-11.01", "tax": "-1.43"},
            headers=seller,
        )
        assert too_much.json()["code"] == "E5003"


def test_buyer_applies_seller_rejects_and_withdrawal(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        seller, buyer = token(client), token(client, BUYER.tax_id)
        number = blue(client, seller, with_buyer=True)
        applied = client.post(
            "/api/v1/red-confirmations",
            json={"blueInvoiceNo": number, "reasonCode": "02", "applicant": "1"},
            headers=buyer,
        ).json()["data"]
        assert applied["status"] == "03"
        rejected = client.post(
            f"/api/v1/red-confirmations/{applied['uuid']}/confirm", json={"accept": False}, headers=seller
        ).json()["data"]
        assert rejected["status"] == "06"
        second = client.post(
            "/api/v1/red-confirmations",
            json={"blueInvoiceNo": number, "reasonCode": "02", "applicant": "1"},
            headers=buyer,
        ).json()["data"]
        assert client.post(f"/api/v1/red-confirmations/{second['uuid']}/revoke", headers=seller).status_code == 403
        withdrawn = client.post(f"/api/v1/red-confirmations/{second['uuid']}/revoke", headers=buyer).json()["data"]
        assert withdrawn["status"] == "09"
        wrong_party = client.post(
            "/api/v1/red-confirmations",
            json={"blueInvoiceNo": number, "reasonCode": "02", "applicant": "1"},
            headers=seller,
        )
        assert wrong_party.status_code == 403


def test_unknown_blue_invoice(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        seller = token(client)
        missing = "26421999999999999999"
        answer = client.post(
            "/api/v1/red-confirmations", json={"blueInvoiceNo": missing, "reasonCode": "01"}, headers=seller
        )
        assert answer.status_code == 422 and answer.json()["code"] == "E5004"
        red = red_invoice(client, missing, "nope", "R-9", seller)
        assert red.json()["code"] == "E5004"


def test_a_partial_red_amount_is_money_in_cents_and_answered_with_two_decimals(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        seller = token(client)
        number = blue(client, seller, with_buyer=False)
        body = {"blueInvoiceNo": number, "reasonCode": "04", "amount": "-1.005", "tax": "-0.1234"}
        refused = client.post("/api/v1/red-confirmations", json=body, headers=seller)
        assert refused.status_code == 400 and refused.json()["code"] == "E2001", refused.text
        assert refused.json()["field"].endswith("amount")
        body = {"blueInvoiceNo": number, "reasonCode": "04", "amount": "-1E+1", "tax": "-1.3"}
        created = client.post("/api/v1/red-confirmations", json=body, headers=seller).json()["data"]
        assert created["amount"] == "-10.00" and created["tax"] == "-1.30"
        red = red_invoice(client, number, created["uuid"], "R-1", seller).json()["data"]
        assert red["totals"] == {"amount": "-10.00", "tax": "-1.30", "totalWithTax": "-11.30"}
