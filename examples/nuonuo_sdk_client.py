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
- A user waits at most half of ``answer_budget_s``; the SDK's own timeouts (2 s to connect, 4 s to read) fit
  inside it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from nuonuo import Nuonuo, NuonuoError, TransportError

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome, OutcomeStatus

DONE = frozenset({"2", "21", "24"})  # the invoice exists (24: its signature failed, the number stands)
IN_PROGRESS = "20"
TROUBLE = frozenset({"070202", "070203", "040102", "070201", "0203", "-1"})  # try later; 0203/-1 may have issued
POLL_S = 0.4


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


class Journal:
    """Orders owed to their users, on disk: ``new`` (never reached the platform as far as we know) or ``sent``."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("CREATE TABLE IF NOT EXISTS orders (ref TEXT PRIMARY KEY, body TEXT, state TEXT, at REAL)")
        self._lock = threading.Lock()

    def record(self, order: Order) -> None:
        body = json.dumps(nuonuo_order(order), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO orders VALUES (?, ?, 'new', ?)", (order.order_ref, body, time.time())
            )

    def state(self, ref: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT state, body FROM orders WHERE ref = ?", (ref,)).fetchone()
        return (str(row[0]), json.loads(row[1])) if row else None

    def mark(self, ref: str, state: str) -> None:
        with self._lock:
            self._db.execute("UPDATE orders SET state = ? WHERE ref = ?", (state, ref))

    def done(self, ref: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM orders WHERE ref = ?", (ref,))

    def owed(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self._db.execute("SELECT ref FROM orders ORDER BY at")]

    def close(self) -> None:
        self._db.close()


class NuonuoSdkClient:
    """One seller's integration: the SDK, a journal and a retry policy."""

    def __init__(self, config: ClientConfig, clock: Callable[[], float] = time.monotonic) -> None:
        base = config.base_url.rstrip("/")
        self._sdk = Nuonuo(
            config.client_id,
            config.client_secret,
            tax_number=config.seller_tax_id,
            base_url=f"{base}/open/v1/services",
            token_url=f"{base}/accessToken",
            timeout=(2, 4),
        )
        self._budget_s = config.answer_budget_s / 2
        self._clock = clock
        self._journal = Journal(str(config.state_dir / "nuonuo-journal.sqlite3"))
        self._token_lock = threading.Lock()
        self._has_token = False
        self._busy: set[str] = set()  # orders an issue() or a drain is working on

    def _token(self, stale: bool = False) -> None:
        with self._token_lock:
            if stale or not self._has_token:
                self._sdk.get_merchant_token()
                self._has_token = True

    def _call(self, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """An SDK call with the token: refreshed once on 070301."""
        try:
            self._token()
            answer = work()
            if str(answer.get("code")) == "070301":
                self._token(stale=True)
                answer = work()
        except TransportError as exc:
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
                answer = self._call(partial(self._sdk.nst.issue, body))
                code = str(answer.get("code"))
                if code in TROUBLE:
                    if code not in ("0203", "-1"):
                        self._journal.mark(ref, "new")  # refused before any work: safe to send again
                    raise Trouble(f"{code} {answer.get('describe')}")
                if code not in ("E0000", "E9106"):  # E9106: the platform already has this order number
                    self._journal.done(ref)
                    return Settled("rejected", error=f"{code} {answer.get('describe')}")
            found = self._call(lambda: self._sdk.nst.query(order_nos=[ref]))
            code = str(found.get("code"))
            if code == "E9500":  # the platform never got it: sending again is safe
                self._journal.mark(ref, "new")
                continue
            if code != "E0000":
                raise Trouble(f"{code} {found.get('describe')}")
            item = (found.get("result") or [{}])[0]
            status = str(item.get("status"))
            if status in DONE:
                self._journal.done(ref)
                return Settled("issued", str(item.get("allElectronicInvoiceNumber") or item.get("invoiceNo")))
            if status != IN_PROGRESS:
                self._journal.done(ref)
                return Settled("failed", error=f"status {status}: {item.get('failCause') or item.get('statusMsg')}")
            if self._clock() + POLL_S > deadline:
                raise Trouble("still being issued")
            time.sleep(POLL_S)

    def issue(self, order: Order) -> Outcome:
        self._journal.record(order)
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
        outcomes = []
        for ref in self._journal.owed():
            if self._clock() >= deadline:
                break
            if ref in self._busy:
                continue
            self._busy.add(ref)
            try:
                settled = self._settle(ref, deadline)
            except Trouble:
                break  # the platform is struggling: the next drain tries again
            finally:
                self._busy.discard(ref)
            outcomes.append(Outcome(settled.status, ref, settled.invoice_no, error=settled.error))
        return outcomes

    def close(self) -> None:
        self._sdk.close()
        self._journal.close()


def create(config: ClientConfig) -> NuonuoSdkClient:
    """Factory for ``--client examples.nuonuo_sdk_client:create``."""
    if config.dialect != "nuonuo" or not config.base_url.startswith("https://"):
        raise ValueError("the Nuonuo SDK speaks the nuonuo dialect over HTTPS: run with --dialect nuonuo --tls")
    return NuonuoSdkClient(config)
