"""An ERP's Indian e-invoicing built on the third-party SDK ``gst-e-invoicing`` 0.9.0 (imported as ``gst_irn``),
used unmodified: the code an integrator writes around it (orders → NIC's schema, a journal, a retry policy), as a
taxstorm client.

Run it on the irp dialect::

    taxstorm run smoke --dialect irp --tls --client examples.gst_irn_client:create

Written from the SDK's README and NIC's API documentation:

- One session per GSTIN (``gst_irn.Session``); its token is generated once (cached by the SDK in ``state_dir``)
  and again, forced, only when a call answers ``1005`` (invalid token).
- Every order is written to a journal before it is sent, as the IRP document it will be (number = the order
  reference, date = the day it was recorded): the IRN is a hash of them, so a resent document can never make a
  second invoice (``2150 Duplicate IRN``, answered with the original's IRN, which is then checked by its look-up).
- The SDK sets **no timeout** on its requests (``requests.post(url, json=..., headers=...)``): a platform that
  stops answering would hold the user forever. Every SDK call is therefore bounded here (``gevent.Timeout``: the
  client runs in taxstorm's gevent process) by two thirds of the user's budget.
- Unknown outcomes (a timeout, a gateway's 5xx, ``2146``/``2147``/``5002``): the user is told ``queued``; the
  journal keeps the order as *sent*, so it is looked up (by document details) before it is ever sent again. A
  document the IRP does not know (``2154``) is sent again. Anything else the IRP refuses is ``rejected``.
- The drain settles up to eight documents at a time (the IRP has no batch call; one at a time, each looked up
  first, left a backlog after an outage under load), starting with one and widening as the IRP settles them (eight
  at once into an overloaded IRP made 1.67 submissions per user operation in month_end_overload).
- A failover IRP (``secondary_url``, as NIC1/NIC2): a second session; an IRP that does not answer is left for
  the other for 30 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from typing import Any

import gevent
import requests
from gst_irn import Session
from gst_irn.session import GenerateTokenError, RequestError

from examples.journal import Journal, work_owed
from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome

IST = timezone(timedelta(hours=5, minutes=30))
TRY_LATER = frozenset({"2146", "2147", "5002"})
DEADLINE: ContextVar[float | None] = ContextVar("deadline", default=None)  # of the greenlet's user call or drain
FAILOVER_S = 30.0  # how long calls stay on the failover IRP before the primary is tried again
DRAIN_PARALLEL = 8  # documents a drain settles at a time: the IRP has no batch call, and each may need a look-up


class Trouble(Exception):
    """The IRP cannot settle the order now: queue it."""


def nic_invoice(order: Order, doc_date: str) -> dict[str, Any]:
    """NIC's e-invoice schema for an ERP order: one inter-state (IGST) B2B invoice, document number = order ref."""
    items = [
        {
            "SlNo": str(number),
            "PrdDesc": line.item_name,
            "IsServc": "N",
            "HsnCd": "998314",
            "Qty": float(line.quantity),
            "Unit": "NOS",
            "UnitPrice": float(line.unit_price),
            "TotAmt": float(line.amount),
            "Discount": 0,
            "AssAmt": float(line.amount),
            "GstRt": float(line.tax_rate * 100),
            "IgstAmt": float(line.tax),
            "CgstAmt": 0,
            "SgstAmt": 0,
            "TotItemVal": float(line.amount + line.tax),
        }
        for number, line in enumerate(order.lines, start=1)
    ]
    return {
        "Version": "1.1",
        "TranDtls": {"TaxSch": "GST", "SupTyp": "B2B"},
        "DocDtls": {"Typ": "INV", "No": order.order_ref, "Dt": doc_date},
        "SellerDtls": {
            "Gstin": order.seller_tax_id,
            "LglNm": order.seller_name,
            "Addr1": "MG Road",
            "Loc": "Bengaluru",
            "Pin": 560001,
            "Stcd": order.seller_tax_id[:2],
        },
        "BuyerDtls": {
            "Gstin": order.buyer_tax_id or "URP",
            "LglNm": order.buyer_name,
            "Pos": "29",
            "Addr1": "Link Road",
            "Loc": "Mumbai",
            "Pin": 400001,
            "Stcd": (order.buyer_tax_id or "29")[:2],
        },
        "ItemList": items,
        "ValDtls": {
            "AssVal": float(order.total_amount),
            "CgstVal": 0,
            "SgstVal": 0,
            "IgstVal": float(order.total_tax),
            "TotInvVal": float(order.total_with_tax),
        },
    }


def _error(exc: RequestError) -> tuple[str, dict[str, Any]]:
    """The IRP's error code of a refusal (``status <n>`` for a non-200 answer) and its body."""
    message, body = exc.args[0], exc.args[1] if len(exc.args) > 1 else None
    if isinstance(body, dict):
        details = body.get("ErrorDetails") or [{}]
        return str(details[0].get("ErrorCode", "")), body
    return str(message), {}


class GstIrnClient:
    """One GSTIN's integration: the SDK's session, a journal and a retry policy."""

    def __init__(
        self, config: ClientConfig, clock: Callable[[], float] = time.monotonic, bound_calls: bool = True
    ) -> None:
        extra = config.dialect_credentials
        self._bound_calls = bound_calls
        self._sessions = [  # the primary IRP, and the failover one when there is one (NIC1/NIC2)
            Session(
                config.seller_tax_id,
                config.client_id,
                config.client_secret,
                extra["user_name"],
                extra["password"],
                extra["public_key"],
                base_url=url.rstrip("/"),
            )
            for url in (config.base_url, config.secondary_url)
            if url
        ]
        self._has_token = [False] * len(self._sessions)
        self._secondary_until = float("-inf")
        self._tokens = str(config.state_dir / "irp-tokens")
        self._budget_s = config.answer_budget_s / 2
        self._call_s = min(10.0, self._budget_s * 2 / 3)  # the SDK waits forever: this is its timeout
        self._clock = clock
        self._journal = Journal(str(config.state_dir / "irp-journal.sqlite3"))
        self._token_lock = threading.Lock()
        self._busy: set[str] = set()

    def _bounded(self, work: Callable[[], Any]) -> Any:
        """One SDK call, given at most ``call_s`` and never past the deadline of the user's call or the drain."""
        limit: float | None = self._call_s if self._bound_calls else None
        deadline = DEADLINE.get()
        if deadline is not None and limit is not None:
            left = deadline - self._clock()
            if left <= 0:
                raise Trouble("out of time")
            limit = min(limit, left)
        try:
            with gevent.Timeout(limit):
                return work()
        except gevent.Timeout:
            raise Trouble(f"no answer within {limit or 0:.1f} s") from None
        except (requests.RequestException, ValueError, KeyError) as exc:  # no answer, or no IRP answer
            raise Trouble(f"{type(exc).__name__}: {exc}") from None

    def _token(self, index: int, force: bool = False) -> None:
        with self._token_lock:
            if force or not self._has_token[index]:
                session, cache = self._sessions[index], f"{self._tokens}-{index}"
                try:
                    self._bounded(lambda: session.generate_token(force, cache_dir=cache))
                except RequestError as exc:
                    raise Trouble(f"token: {_error(exc)[0]}") from None
                self._has_token[index] = True

    def _call(self, work: Callable[[Session], Any]) -> Any:
        """An SDK call with a token (generated again, forced, once on 1005); an IRP that does not answer is left
        for the failover one for a while (safe: a resent document is 2150, never a second IRN)."""
        index = 1 if len(self._sessions) > 1 and self._clock() < self._secondary_until else 0
        session = self._sessions[index]
        try:
            self._token(index)
            try:
                return self._bounded(lambda: work(session))
            except (RequestError, GenerateTokenError) as exc:
                if isinstance(exc, RequestError) and _error(exc)[0] != "1005":
                    raise
                self._token(index, force=True)
                return self._bounded(lambda: work(session))
        except Trouble:
            if len(self._sessions) == 1 or index == 1:
                raise
            self._secondary_until = self._clock() + FAILOVER_S
            return self._call(work)

    def _look_up(self, invoice: dict[str, Any]) -> dict[str, Any] | None:
        """The IRP's record of a document, by its details (None: the IRP does not know it)."""
        doc = invoice["DocDtls"]
        query = f"doctype=INV&docnum={doc['No']}&docdate={doc['Dt']}"
        try:
            found: dict[str, Any] = self._call(
                lambda session: session.get(f"{session.base_url}/eicore/v1.03/Invoice/irnbydocdetails?{query}")
            )
        except RequestError as exc:
            code = _error(exc)[0]
            if code == "2154":
                return None
            raise Trouble(f"look-up: {code}") from None
        return found

    def _settle(self, ref: str) -> Outcome:
        entry = self._journal.state(ref)
        if entry is None:
            raise Trouble(f"{ref} is no longer in the journal")
        state, invoice = entry
        if state == "sent":  # the last try's outcome is unknown: never resend before looking
            found = self._look_up(invoice)
            if found is not None:
                self._journal.done(ref)
                return Outcome("issued", ref, str(found["Irn"]))
        self._journal.mark(ref, "sent")
        try:
            issued: dict[str, Any] = self._call(lambda session: session.generate_e_invoice(invoice))
        except RequestError as exc:
            code, body = _error(exc)
            if code == "2150":  # registered before: the original (NIC's advice: fetch it and compare the value)
                found = self._look_up(invoice)
                if found is None:
                    raise Trouble("2150 for a document the IRP cannot show") from None
                self._journal.done(ref)
                return Outcome("issued", ref, str(found["Irn"]))
            if code in TRY_LATER or code.startswith("status"):
                raise Trouble(code) from None
            self._journal.done(ref)
            messages = body.get("ErrorDetails") or [{}]
            return Outcome("rejected", ref, error=f"{code} {messages[0].get('ErrorMessage', '')}")
        self._journal.done(ref)
        return Outcome("issued", ref, str(issued["Irn"]))

    def issue(self, order: Order) -> Outcome:
        self._journal.record(order.order_ref, nic_invoice(order, datetime.now(IST).strftime("%d/%m/%Y")))
        self._busy.add(order.order_ref)
        deadline = DEADLINE.set(self._clock() + self._budget_s)
        try:
            return self._settle(order.order_ref)
        except Trouble as exc:
            return Outcome("queued", order.order_ref, error=f"will issue when the IRP can: {exc}")
        finally:
            DEADLINE.reset(deadline)
            self._busy.discard(order.order_ref)

    def backlog(self) -> int:
        return len(self._journal.owed())

    def drain(self, budget_s: float) -> list[Outcome]:
        until = self._clock() + budget_s
        deadline = DEADLINE.set(until)
        try:
            return work_owed(self._journal, self._busy, self._settle, until, self._clock, Trouble, DRAIN_PARALLEL)
        finally:
            DEADLINE.reset(deadline)

    def close(self) -> None:
        self._journal.close()


def create(config: ClientConfig) -> GstIrnClient:
    """Factory for ``--client examples.gst_irn_client:create``."""
    if config.dialect != "irp":
        raise ValueError("gst_irn speaks the IRP's protocol: run with --dialect irp")
    return GstIrnClient(config)


def create_unbounded(config: ClientConfig) -> GstIrnClient:
    """The same integration trusting the SDK to return (no bound on its calls): what taxstorm catches
    (``network_partition --dialect irp``: the user waits through the black hole, ``contract: no_answer``)."""
    if config.dialect != "irp":
        raise ValueError("gst_irn speaks the IRP's protocol: run with --dialect irp")
    return GstIrnClient(config, bound_calls=False)
