"""Red-letter returns: a customer returns goods, the seller reverses the invoice (红字确认单 + red invoice)."""

from __future__ import annotations

import time
import uuid

import gevent
from locust import User

from taxstorm.loadtests.arrival_user import ArrivalUser
from taxstorm.loadtests.context import IssuedInvoice, LoadContext, fire
from taxstorm.loadtests.platform_session import CallResult, PlatformSession
from taxstorm.loadtests.shapes import Shape

RED_TRIES = 4
POLL_S = 0.1


def make_returns_user(context: LoadContext, shape: Shape, users: int, max_in_flight: int) -> type[User]:
    """A returns desk: reverses invoices clients reported issued, oldest first, each at most once.

    The flow of DOMAIN.md §A: the seller enters a confirmation; a business buyer confirms it (B2C needs no
    confirmation); the seller issues the red invoice under its own serial, retried under the same serial,
    and follows it to ISSUED. Outcomes: ``issued`` (with the red invoice number), ``failed`` or ``error``.
    """

    class ReturnsUser(ArrivalUser):
        def operation(self) -> None:
            if not context.issued:
                return
            invoice = context.issued.popleft()  # each invoice is returned at most once
            start_s, started = context.clock(), time.perf_counter()
            outcome, red_no, error = reverse(context.session(), invoice)
            ref = f"{invoice.order_ref}-R"
            context.record("red", start_s, outcome, ref, invoice_no=red_no, error=error)
            fire(self.environment, "red", outcome, started, error, ref)

    ReturnsUser.load, ReturnsUser.shape, ReturnsUser.users = context, shape, users
    ReturnsUser.max_in_flight = max_in_flight
    return ReturnsUser


def reverse(session: PlatformSession, invoice: IssuedInvoice) -> tuple[str, str | None, str | None]:
    """Reverse ``invoice`` in full: (outcome, red invoice number, error)."""
    seller, blue = invoice.seller_tax_id, invoice.invoice_no
    entered = session.call(
        seller, "POST", "/api/v1/red-confirmations", {"blueInvoiceNo": blue, "reasonCode": "02", "applicant": "0"}
    )
    if not entered.ok:
        return _failure(entered)
    confirmation = entered.data
    if confirmation["status"] == "02":  # a business buyer confirms before the red invoice
        confirmed = session.call(
            str(confirmation["buyerTaxId"]),
            "POST",
            f"/api/v1/red-confirmations/{confirmation['uuid']}/confirm",
            {"accept": True},
        )
        if not confirmed.ok:
            return _failure(confirmed)
    serial = f"RD{uuid.uuid4().hex[:24]}"
    body = {"confirmationUuid": confirmation["uuid"], "requestSerialNo": serial, "orderRef": f"{invoice.order_ref}-R"}
    answer = CallResult(False, 0, {}, "NOT_SENT")
    for _ in range(RED_TRIES):  # the same serial every time: the platform answers a replay, never a second red
        answer = session.call(seller, "POST", f"/api/v1/invoices/{blue}/red", body)
        if answer.ok or (answer.status and answer.status < 500 and answer.status != 429):
            break
        gevent.sleep(POLL_S)
    if not answer.ok and answer.code != "E3003":  # E3003: an earlier try is in progress; follow it
        return _failure(answer)
    for _ in range(50):  # follow PROCESSING to the final status
        status = str(answer.data.get("status"))
        if status == "ISSUED":
            return "issued", str(answer.data["invoiceNo"]), None
        if status == "FAILED":
            return "failed", None, str(answer.data.get("failReason"))
        gevent.sleep(POLL_S)
        answer = session.call(seller, "GET", f"/api/v1/invoices/by-serial/{serial}")
        if not answer.ok and answer.status not in (0, 429, 503):
            return _failure(answer)
    return "error", None, f"red invoice {serial} still {answer.data.get('status')} after polling"


def _failure(result: CallResult) -> tuple[str, None, str]:
    return ("error" if result.status in (0, 429) or result.status >= 500 else "failed"), None, result.error
