"""What the users of one run share: the client factory, the order generator, the recorder, the clock.

The harness (or the locustfile) builds one :class:`LoadContext` per run and binds user classes to it, so
no user reads module globals.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clients.protocol import ClientConfig, ClientFactory, InvoiceClient, Outcome
from loadtests.orders import OrderGenerator, Seller
from loadtests.platform_session import PlatformSession
from loadtests.records import Operation, OperationRecord, Recorder

FAILED_OUTCOMES = frozenset({"failed", "error", "mismatch", "not_found"})


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    """An invoice a client reported issued: what receivers verify and returns reverse."""

    seller_tax_id: str
    order_ref: str
    invoice_no: str


@dataclass
class LoadContext:
    """Everything the users of one run share."""

    client_factory: ClientFactory
    base_url: str
    state_dir: Path
    generator: OrderGenerator
    recorder: Recorder
    clock: Callable[[], float]
    client_options: dict[str, object] = field(default_factory=dict)
    clients: list[InvoiceClient] = field(default_factory=list)
    drain_every_s: float = 2.0
    first_seller: int = 0  # sellers are numbered from here (distributed workers take disjoint ranges)
    stop_timeout_s: float = 30.0
    issued: deque[IssuedInvoice] = field(default_factory=lambda: deque(maxlen=20_000))
    period_open: threading.Event = field(default_factory=threading.Event)  # set once housekeeping has run
    _seller_index: itertools.count[int] = field(default_factory=itertools.count)
    _session: PlatformSession | None = None

    def __post_init__(self) -> None:
        self._seller_index = itertools.count(self.first_seller)
        self.period_open.set()  # a run with a housekeeping user clears it before any user starts

    def new_client(self) -> tuple[Seller, InvoiceClient]:
        seller = self.generator.seller(next(self._seller_index))
        client = self.client_factory(
            ClientConfig(
                base_url=self.base_url,
                seller_tax_id=seller.tax_id,
                seller_name=seller.name,
                state_dir=self.state_dir,
                options=dict(self.client_options),
            )
        )
        self.clients.append(client)
        return seller, client

    def session(self) -> PlatformSession:
        """The direct platform session of other parties' traffic (receivers, returns, housekeeping)."""
        if self._session is None:
            self._session = PlatformSession(self.base_url)
        return self._session

    def wait_for_period(self, timeout_s: float = 60.0) -> None:
        """Issuing users wait for period-start housekeeping (quota, number segments) when a run has it."""
        self.period_open.wait(timeout_s)

    def record(
        self,
        operation: Operation,
        start_s: float,
        outcome: str,
        order_ref: str,
        attempts: int = 1,
        invoice_no: str | None = None,
        error: str | None = None,
    ) -> OperationRecord:
        record = OperationRecord(
            start_s=start_s,
            end_s=self.clock(),
            operation=operation,
            outcome=outcome,
            order_ref=order_ref,
            attempts=attempts,
            invoice_no=invoice_no,
            error=error,
        )
        self.recorder.add(record)
        return record

    def record_outcome(
        self, operation: Operation, start_s: float, outcome: Outcome, seller_tax_id: str | None = None
    ) -> None:
        """Record what a client told its user; issued invoices of a known seller feed receivers and returns."""
        self.record(
            operation, start_s, outcome.status, outcome.order_ref, outcome.attempts, outcome.invoice_no, outcome.error
        )
        if outcome.status == "issued" and outcome.invoice_no and seller_tax_id:
            self.issued.append(IssuedInvoice(seller_tax_id, outcome.order_ref, outcome.invoice_no))

    def backlog(self) -> int:
        """Orders queued offline in every client of this context."""
        return sum(client.backlog() for client in self.clients)

    def close(self) -> None:
        """Close every client and the direct platform session."""
        for client in self.clients:
            client.close()
        if self._session is not None:
            self._session.close()
            self._session = None


class SellerSeat:
    """One seller at one user: its client, its reports, and a drain of its backlog every ``drain_every_s``."""

    def __init__(self, context: LoadContext, environment: Any) -> None:
        self.context = context
        self.environment = environment
        self.seller, self.client = context.new_client()
        self._next_drain_s = 0.0

    def report(self, operation: Operation, start_s: float, started: float, outcome: Outcome) -> None:
        self.context.record_outcome(operation, start_s, outcome, self.seller.tax_id)
        fire(self.environment, operation, outcome.status, started, outcome.error, outcome.order_ref)

    def drain_if_due(self) -> None:
        context = self.context
        if context.clock() < self._next_drain_s or not self.client.backlog():
            return
        self._next_drain_s = context.clock() + context.drain_every_s
        for drained in self.client.drain(budget_s=1.0):
            self.report("drain", context.clock(), time.perf_counter(), drained)


def fire(environment: Any, operation: str, outcome: str, started: float, error: str | None, ref: str) -> None:
    """Report one operation to Locust's statistics (type = operation, name = outcome)."""
    environment.events.request.fire(
        request_type=operation,
        name=outcome,
        response_time=(time.perf_counter() - started) * 1000.0,
        response_length=0,
        exception=RuntimeError(error or outcome) if outcome in FAILED_OUTCOMES else None,
        context={"ref": ref},
    )
