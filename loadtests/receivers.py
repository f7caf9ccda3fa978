"""Receivers verifying (查验) the invoices they got: other parties' load on the verification service."""

from __future__ import annotations

import random
import time

from locust import User

from taxstorm.loadtests.arrival_user import ArrivalUser
from taxstorm.loadtests.context import LoadContext, fire
from taxstorm.loadtests.shapes import Shape


def make_receiver_user(context: LoadContext, shape: Shape, users: int, buyers: int, max_in_flight: int) -> type[User]:
    """A receiver: takes an invoice a client reported issued, reads the document, and verifies it.

    Outcomes: ``consistent``; ``mismatch`` or ``not_found`` (the platform disagrees with what the client
    said: evidence of a lost or wrong invoice); ``undelivered`` (not uploaded to the tax bureau yet: a buyer has
    nothing to verify); ``limited`` (the daily verification limit); ``error``.
    """

    class ReceiverUser(ArrivalUser):
        def on_start(self) -> None:
            self.rng = random.Random(f"receiver-{id(self)}")
            super().on_start()

        def operation(self) -> None:
            if not context.issued:
                return  # nothing issued yet to verify
            invoice = context.issued[self.rng.randrange(len(context.issued))]
            verifier = context.generator.buyer(self.rng.randrange(buyers)).tax_id
            session = context.session()
            start_s, started = context.clock(), time.perf_counter()
            # the document the receiver holds: the seller's copy of the invoice (number, date, total)
            document = session.call(invoice.seller_tax_id, "GET", f"/api/v1/invoices/{invoice.invoice_no}")
            if document.ok and document.data.get("uploadState") not in (None, "UPLOADED"):
                # not delivered yet (on its way to the tax bureau, or its upload failed): nothing to verify yet
                outcome, error = "undelivered", f"upload {document.data.get('uploadState')}"
            elif document.ok:
                check = {
                    "invoiceNo": invoice.invoice_no,
                    "issueDate": str(document.data.get("issueTime") or "")[:10],
                    "totalWithTax": document.data["totals"]["totalWithTax"],
                }
                answer = session.call(verifier, "POST", "/api/v1/verify", check)
                if answer.ok:
                    outcome, error = str(answer.data["result"]), None
                else:
                    outcome, error = ("limited" if answer.code == "E6001" else "error"), answer.error
            elif document.status == 404:
                outcome, error = "not_found", f"the seller's copy of {invoice.invoice_no} is not on the platform"
            else:
                outcome, error = "error", document.error
            context.record("verify", start_s, outcome, invoice.order_ref, invoice_no=invoice.invoice_no, error=error)
            fire(self.environment, "verify", outcome, started, error, invoice.order_ref)

    ReceiverUser.load, ReceiverUser.shape, ReceiverUser.users = context, shape, users
    ReceiverUser.max_in_flight = max_in_flight
    return ReceiverUser
