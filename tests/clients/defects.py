"""One-defect clients: the outsider's careful client (examples/outsider_client.py, written from the guide alone)
with exactly one rule of docs/writing-a-client.md broken, the way real integrations break it. Each must fail the
library story that exposes it, on the gate or finding that names its defect (tests/integration/
test_scenario_library.py); the careful client itself passes every story.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable

import httpx

from examples.outsider_client import OutsiderClient, Record, Reply
from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome


class DropsQueue(OutsiderClient):
    """Tells its users "queued" during an outage, then silently discards the offline queue."""

    def drain(self, budget_s: float) -> list[Outcome]:
        with self._lock:
            self._queue.clear()
        return []


class NeverDrains(OutsiderClient):
    """Queues honestly (its backlog() is right) but never works the queue."""

    def drain(self, budget_s: float) -> list[Outcome]:
        return []


class QueuesEverything(OutsiderClient):
    """Tells every user "queued" without ever sending, and never drains (passed peak_season_filing once)."""

    def issue(self, order: Order) -> Outcome:
        with self._lock:
            self._queue[order.order_ref] = Record(order, self._serial_for(order), state="queued")
        return Outcome("queued", order.order_ref, attempts=0, error="issued tonight")

    def drain(self, budget_s: float) -> list[Outcome]:
        return []


class QueuesWhatItCouldIssue(QueuesEverything):
    """A store-and-forward POS: every order is "queued" at the till and issued later by drain(), which works
    the queue properly. Nothing is lost or duplicated, but no user ever leaves with an invoice, however healthy
    the platform is."""

    def drain(self, budget_s: float) -> list[Outcome]:
        return OutsiderClient.drain(self, budget_s)


class UnknownStatus(OutsiderClient):
    """An adapter that reports the platform's word for success instead of the protocol's ("done")."""

    def issue(self, order: Order) -> Outcome:
        outcome = super().issue(order)
        if outcome.status == "issued":
            return Outcome("done", outcome.order_ref, outcome.invoice_no, outcome.attempts)  # type: ignore[arg-type]
        return outcome


class AcksOn202(OutsiderClient):
    """Reports "issued" as soon as the platform accepts the request (202 PROCESSING), without a number."""

    def _send(self, record: Record, deadline: float) -> Reply:
        reply = super()._send(record, deadline)
        return Reply("issued") if reply.kind == "processing" else reply


class FabricatesNumber(OutsiderClient):
    """Gives the user a locally made invoice number while the order waits in the offline queue."""

    def _queued_outcome(self, record: Record) -> Outcome:
        queued = super()._queued_outcome(record)
        return Outcome("issued", queued.order_ref, f"LOCAL{uuid.uuid4().int % 10**15:015d}", queued.attempts)


class NewSerialPerRetry(OutsiderClient):
    """After an unknown outcome, resubmits under a fresh request serial instead of looking the first one up."""

    def _lookup(self, record: Record, deadline: float) -> Reply:
        record.serial = f"NS{uuid.uuid4().hex[:24]}"
        return self._send(record, deadline)


class NoBackoff(OutsiderClient):
    """Retries a busy platform (503 E9003, 429) at once, ignoring Retry-After, many times per order."""

    max_busy_tries = 20

    def _busy_pause(self, retry_after: float | None, tries: int) -> float:
        return 0.0

    def _note_health(self, reply: Reply) -> None:
        if reply.kind != "busy":  # no shared wait either
            super()._note_health(reply)


class IgnoresRetryAfter(OutsiderClient):
    """Backs off on its own short schedule (50 ms, doubling) and ignores the platform's Retry-After."""

    max_busy_tries = 6

    def _busy_pause(self, retry_after: float | None, tries: int) -> float:
        return 0.05 * 2.0 ** (tries - 1)

    def _note_health(self, reply: Reply) -> None:
        if reply.kind == "busy":
            reply = Reply("busy", reply.code, reply.message, retry_after=0.05)
        super()._note_health(reply)


class NoTimeout(OutsiderClient):
    """Waits for the platform as long as it takes: no read timeout, no deadline (a black hole holds it forever)."""

    def issue(self, order: Order) -> Outcome:
        return self._issue(order, time.monotonic() + 10**6)

    def _timeout(self, read_timeout: float, remaining: float) -> httpx.Timeout:
        return httpx.Timeout(None, connect=2.0)


class RetriesRefusals(OutsiderClient):
    """Treats a business refusal (a 4xx of the data) as a hiccup and sends the order again, and again."""

    def _send(self, record: Record, deadline: float) -> Reply:
        reply = super()._send(record, deadline)
        if reply.kind == "refused":
            record.sent = False  # "maybe it works this time"
            return Reply("absent", reply.code, reply.message)
        return reply


class SwallowsRefusals(OutsiderClient):
    """Tells the user "issued" whatever the platform said about the data."""

    def _send(self, record: Record, deadline: float) -> Reply:
        reply = super()._send(record, deadline)
        return Reply("issued") if reply.kind == "refused" else reply


class SharesInvoiceNumber(OutsiderClient):
    """Keeps "the invoice number" in one attribute of the client, shared by concurrent calls, and notifies the
    ERP's document store before answering (a network call: another call's number lands in between)."""

    current_invoice_no: str | None = None

    def _settle(self, record: Record, reply: Reply, from_queue: bool) -> Outcome | None:
        if reply.kind == "issued":
            self.current_invoice_no = reply.invoice_no
        return super()._settle(record, reply, from_queue)

    def issue(self, order: Order) -> Outcome:
        outcome = super().issue(order)
        if outcome.status != "issued":
            return outcome
        time.sleep(0.2)  # POST to the document store (cooperative under gevent)
        return Outcome("issued", order.order_ref, self.current_invoice_no, outcome.attempts)


class NeverReauthenticates(OutsiderClient):
    """Fetches its token once and keeps using it whatever the platform says (401 E1003 included)."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(config)
        self._tokens.invalidate = lambda generation: None  # type: ignore[method-assign]


class NoFailover(OutsiderClient):
    """Knows only the primary address: when its region is lost it queues everything until the primary is back."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(dataclasses.replace(config, secondary_url=None))


class NeverReuploads(OutsiderClient):
    """Reads the invoice number and ignores ``uploadState``: an upload that FAILED is never repeated."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(config)
        self._uploads.note = lambda *args, **kwargs: None  # type: ignore[method-assign]


def _factory(kind: type[OutsiderClient]) -> Callable[[ClientConfig], OutsiderClient]:
    def create(config: ClientConfig) -> OutsiderClient:
        return kind(config)

    create.__doc__ = kind.__doc__
    return create


drops_queue = _factory(DropsQueue)
never_drains = _factory(NeverDrains)
queues_everything = _factory(QueuesEverything)
queues_what_it_could_issue = _factory(QueuesWhatItCouldIssue)
unknown_status = _factory(UnknownStatus)
acks_on_202 = _factory(AcksOn202)
fabricates_number = _factory(FabricatesNumber)
new_serial_per_retry = _factory(NewSerialPerRetry)
no_backoff = _factory(NoBackoff)
ignores_retry_after = _factory(IgnoresRetryAfter)
no_timeout = _factory(NoTimeout)
retries_refusals = _factory(RetriesRefusals)
swallows_refusals = _factory(SwallowsRefusals)
shares_invoice_number = _factory(SharesInvoiceNumber)
never_reauthenticates = _factory(NeverReauthenticates)
no_failover = _factory(NoFailover)
never_reuploads = _factory(NeverReuploads)
