"""An ERP's Nuonuo integration built on the third-party SDK ``nuonuo-sdk`` 0.2.0 (imported as ``nuonuo``), used
unmodified: the code an integrator writes around it (orders → the SDK's fields, a journal, a retry policy), as a
taxstorm client.

Run it on the nuonuo dialect over HTTPS (the SDK accepts HTTPS endpoints only)::

    taxstorm run smoke --dialect nuonuo --tls --client examples.nuonuo_sdk_client:create

Written from the SDK's README and Nuonuo's API documentation:

- One token per seller (``get_merchant_token``), shared by every call; the platform limits token requests (50 in
  30 days), so it is fetched again only when a call answers ``070301`` (token not valid), once.
- Every order is written to a journal in ``state_dir`` before it is sent (the SDK's advice: "persist order
  identity BEFORE calling"). The order number is the order's own reference, so a retry can never make a second
  invoice: Nuonuo refuses a known order number (``E9106``).
- Issuing is asynchronous: ``nst.issue`` answers a serial number, ``nst.query`` by order number gives the status
  (2 done, 21 signing, 24 signing failed: the invoice exists; 20 in progress; 22 failed).
- The SDK raises ``TransportError`` when the outcome is unknown (timeout, reset, a gateway's 5xx) and performs no
  retry: the order is then looked up by number before it is ever sent again. ``E9500`` (no such invoice) means
  the platform never got it, so it is sent again; ``E9106`` means it has it, so it is followed.
- Busy or failing platform (``070202`` rate, ``070203`` busy, ``040102`` service, ``0203``/``-1`` unknown
  outcome, any TransportError): the user is told ``queued`` and the journal keeps the order; ``drain()`` works
  the journal oldest first and stops at the first sign of trouble. Anything else Nuonuo refuses is
  ``rejected``.
- A user waits at most half of ``answer_budget_s``; the SDK's timeouts (30 s to read by default) are set to
  two thirds of that, so one call never outlasts the user's patience.
- A failover platform (``secondary_url``): a second SDK instance with the same token; a TransportError on the
  primary moves calls there for 30 s (safe: a resent order number is refused, never invoiced twice).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from nuonuo import Nuonuo, NuonuoError, TransportError

from examples.journal import Journal, work_owed
from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome, OutcomeStatus

DONE = frozenset({"2", "21", "24"})  # the invoice exists (24: its signature failed, the number stands)
IN_PROGRESS = "20"
TROUBLE = frozenset({"070202", "070203", "040102", "070201", "0203", "-1"})  # try later; 0203/-1 may have issued
POLL_S = 0.4
FAILOVER_S = 30.0  # how long calls stay on the secondary platform before the primary is tried again


class Trouble(Exception):
    """The platform cannot settle the order now: queue it."""


@dataclass(frozen=True)
class Settled:
    """What became of an order."""

    status: OutcomeStatus
    invoice_no: str | None = None
    error: str | None = None


def nuonuo_order(order: Order) -> dict[str, Any]:
    """The SDK's ``order`` fields (official spelling) for an ERP order; prices are net of tax."""
    return {
        "orderNo": order.order_ref,
        "invoiceDate": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "invoiceType": "1",
        "invoiceLine": "bs" if order.invoice_type == "01" else "pc",
        "salerTaxNum": order.seller_tax_id,
        "salerTel": "027-86000000",
        "salerAddress": "武汉市",
        "buyerName": order.buyer_name,
        "buyerTaxNum": order.buyer_tax_id or "",
        "clerk": "ERP",
        "pushMode": "-1",
        "invoiceDetail": [
            {
                "goodsName": line.item_name,
                "num": str(line.quantity),
                "price": str(line.unit_price),
                "withTaxFlag": "0",
                "taxRate": str(line.tax_rate),
                "taxExcludedAmount": str(line.amount),
                "tax": str(line.tax),
            }
            for line in order.lines
        ],
    }


def _issue(order: dict[str, Any], sdk: Nuonuo) -> dict[str, Any]:
    answer: dict[str, Any] = sdk.nst.issue(order)
    return answer


class NuonuoSdkClient:
    """One seller's integration: the SDK, a journal and a retry policy."""

    def __init__(self, config: ClientConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._budget_s = config.answer_budget_s / 2
        wait_s = min(4.0, self._budget_s * 2 / 3)  # one SDK call never outlasts what the user waits (the SDK's 30 s)
        self._sdks = [
            Nuonuo(
                config.client_id,
                config.client_secret,
                tax_number=config.seller_tax_id,
                base_url=f"{url.rstrip('/')}/open/v1/services",
                token_url=f"{url.rstrip('/')}/accessToken",
                timeout=(wait_s, wait_s),
            )
            for url in (config.base_url, config.secondary_url)
            if url
        ]
        self._secondary_until = float("-inf")  # while the primary fails, calls go to the secondary (if any)
        self._clock = clock
        self._journal = Journal(str(config.state_dir / "nuonuo-journal.sqlite3"))
        self._token_lock = threading.Lock()
        self._has_token = False
        self._busy: set[str] = set()  # orders an issue() or a drain is working on

    def _token(self, sdk: Nuonuo, stale: bool = False) -> None:
        with self._token_lock:
            if stale or not self._has_token:
                token = sdk.get_merchant_token()["access_token"]
                for other in self._sdks:  # platforms sharing a ledger share its tokens
                    other.set_access_token(token)
                self._has_token = True

    def _call(self, work: Callable[[Nuonuo], dict[str, Any]]) -> dict[str, Any]:
        """An SDK call with the token (refreshed once on 070301); a failing primary is left for the secondary for
        a while (safe: the order number keeps a resent order one invoice on a shared ledger)."""
        on_secondary = len(self._sdks) > 1 and self._clock() < self._secondary_until
        sdk = self._sdks[1 if on_secondary else 0]
        try:
            self._token(sdk)
            answer = work(sdk)
            if str(answer.get("code")) == "070301":
                self._token(sdk, stale=True)
                answer = work(sdk)
        except TransportError as exc:
            if len(self._sdks) > 1 and not on_secondary:
                self._secondary_until = self._clock() + FAILOVER_S
                return self._call(work)
            raise Trouble(f"transport: {exc}") from None
        except NuonuoError as exc:  # no token, or a reply that is not Nuonuo's JSON
            raise Trouble(f"{type(exc).__name__}: {exc}") from None
        return answer

    def _settle(self, ref: str, deadline: float) -> Settled:
        """Work one journaled order until it is settled or the deadline; raise Trouble to leave it owed."""
        while True:
            entry = self._journal.state(ref)
            if entry is None:
                raise Trouble(f"{ref} is no longer in the journal")
            state, body = entry
            if state == "new":
                self._journal.mark(ref, "sent")  # from here on the outcome may be unknown: look before resending
                answer = self._call(partial(_issue, body))
                code = str(answer.get("code"))
                if code in TROUBLE:
                    if code not in ("0203", "-1"):
                        self._journal.mark(ref, "new")  # refused before any work: safe to send again
                    raise Trouble(f"{code} {answer.get('describe')}")
                if code not in ("E0000", "E9106"):  # E9106: the platform already has this order number
                    self._journal.done(ref)
                    return Settled("rejected", error=f"{code} {answer.get('describe')}")
            found = self._call(lambda sdk: sdk.nst.query(order_nos=[ref]))
            code = str(found.get("code"))
            if code == "E9500":  # the platform never got it: sending again is safe
                self._journal.mark(ref, "new")
                continue
            if code != "E0000":
                raise Trouble(f"{code} {found.get('describe')}")
            item = (found.get("result") or [{}])[0]
            status = str(item.get("status"))
            number = item.get("allElectronicInvoiceNumber") or item.get("invoiceNo")
            if status in DONE and not number:  # done without a number: the answer broke the API, ask again later
                raise Trouble(f"status {status} without an invoice number")
            if status in DONE:
                self._journal.done(ref)
                return Settled("issued", str(number))
            if status != IN_PROGRESS:
                self._journal.done(ref)
                return Settled("failed", error=f"status {status}: {item.get('failCause') or item.get('statusMsg')}")
            if self._clock() + POLL_S > deadline:
                raise Trouble("still being issued")
            time.sleep(POLL_S)

    def issue(self, order: Order) -> Outcome:
        self._journal.record(order.order_ref, nuonuo_order(order))
        self._busy.add(order.order_ref)
        try:
            settled = self._settle(order.order_ref, self._clock() + self._budget_s)
        except Trouble as exc:
            return Outcome("queued", order.order_ref, error=f"will issue when the platform can: {exc}")
        finally:
            self._busy.discard(order.order_ref)
        return Outcome(settled.status, order.order_ref, settled.invoice_no, error=settled.error)

    def backlog(self) -> int:
        return len(self._journal.owed())

    def drain(self, budget_s: float) -> list[Outcome]:
        deadline = self._clock() + budget_s

        def settle(ref: str) -> Outcome:
            settled = self._settle(ref, deadline)
            return Outcome(settled.status, ref, settled.invoice_no, error=settled.error)

        return work_owed(self._journal, self._busy, settle, deadline, self._clock, Trouble)

    def close(self) -> None:
        for sdk in self._sdks:
            sdk.close()
        self._journal.close()


def create(config: ClientConfig) -> NuonuoSdkClient:
    """Factory for ``--client examples.nuonuo_sdk_client:create``."""
    if config.dialect != "nuonuo" or not config.base_url.startswith("https://"):
        raise ValueError("the Nuonuo SDK speaks the nuonuo dialect over HTTPS: run with --dialect nuonuo --tls")
    return NuonuoSdkClient(config)
