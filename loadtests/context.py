"""What the users of one run share: the client factory, the order generator, the recorder, the clock.

The harness (or the locustfile) builds one :class:`LoadContext` per run and binds user classes to it, so
no user reads module globals.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

from taxstorm.clients.protocol import ClientConfig, ClientFactory
from taxstorm.loadtests.guard import Answer, GuardedClient
from taxstorm.loadtests.orders import OrderGenerator, Seller
from taxstorm.loadtests.platform_session import PlatformSession
from taxstorm.loadtests.records import Operation, OperationRecord, Recorder
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for, irp_password_for, irp_user_for
from taxstorm.mock_platform.dialects import Dialect

DEFAULT_ANSWER_BUDGET_S = 30.0
STOP_MARGIN_S = 5.0
FAILED_OUTCOMES = frozenset({"failed", "error", "mismatch", "not_found"})
DIGITS = re.compile(r"\d+")
ISSUED_KEPT = 5_000  # the most recent invoices receivers and returns pick from (a long run keeps no more)


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
    answer_budget_s: float = DEFAULT_ANSWER_BUDGET_S  # the longest a user waits for issue(): then it is abandoned
    credential_key: str = DEV_CREDENTIAL_KEY  # every seller's own credential derives from the platform's key
    secondary_url: str | None = None  # the failover platform as clients see it (a scenario's platform.secondary)
    ca_file: Path | None = None  # platform.tls: the run's CA, what clients must trust
    dialect: Dialect = "native"  # platform.dialect: the wire protocol clients speak
    platform_public_key: str | None = None  # irp: the platform's RSA key clients seal their credentials with
    clients: list[GuardedClient] = field(default_factory=list)
    drain_every_s: float = 2.0
    first_seller: int = 0  # sellers are numbered from here (distributed workers take disjoint ranges)
    stop_timeout_s: float = 30.0
    issued: deque[IssuedInvoice] = field(default_factory=lambda: deque(maxlen=ISSUED_KEPT))
    period_open: threading.Event = field(default_factory=threading.Event)  # set once housekeeping has run
    _seller_index: itertools.count[int] = field(default_factory=itertools.count)
    _session: PlatformSession | None = None

    def __post_init__(self) -> None:
        self._seller_index = itertools.count(self.first_seller)
        # a stopping load waits for operations in flight: at least one answer budget, or the harness itself would
        # cut a call short that the client still had time for
        self.stop_timeout_s = max(self.stop_timeout_s, self.answer_budget_s + STOP_MARGIN_S)
        self.period_open.set()  # a run with a housekeeping user clears it before any user starts

    def _dialect_credentials(self, tax_id: str) -> dict[str, str]:
        """What a seller's client needs besides its credential to speak the run's dialect."""
        if self.dialect != "irp":
            return {}
        return {
            "user_name": irp_user_for(tax_id),
            "password": irp_password_for(self.credential_key, tax_id),
            "public_key": self.platform_public_key or "",
        }

    def new_client(self) -> tuple[Seller, GuardedClient]:
        """The next seller and its client under test (behind the guard: a factory that fails is a defect)."""
        seller = self.generator.seller(next(self._seller_index))
        state_dir = self.state_dir / seller.tax_id  # a folder of this client's own: no file shared across sellers
        state_dir.mkdir(parents=True, exist_ok=True)
        client_id, secret = credentials_for(self.credential_key, seller.tax_id)
        config = ClientConfig(
            base_url=self.base_url,
            seller_tax_id=seller.tax_id,
            seller_name=seller.name,
            state_dir=state_dir,
            client_id=client_id,
            client_secret=secret,
            secondary_url=self.secondary_url,
            ca_file=self.ca_file,
            dialect=self.dialect,
            dialect_credentials=self._dialect_credentials(seller.tax_id),
            options=dict(self.client_options),
            answer_budget_s=self.answer_budget_s,
        )
        client = GuardedClient(self.client_factory, config, self.answer_budget_s, self.clock, self.recorder.defects)
        self.clients.append(client)
        return seller, client

    def session(self) -> PlatformSession:
        """The direct platform session of other parties' traffic (receivers, returns, housekeeping)."""
        if self._session is None:
            self._session = PlatformSession(self.base_url, self.credential_key, ca_file=self.ca_file)
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
        defect: str | None = None,
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
            defect=defect,
        )
        self.recorder.add(record)
        return record

    def record_answer(self, operation: Operation, start_s: float, answer: Answer, seller_tax_id: str | None) -> None:
        """Record what a client told its user; issued invoices of a known seller feed receivers and returns."""
        outcome = answer.outcome
        tag = answer.defect.tag if answer.defect is not None else None
        self.record(
            operation,
            start_s,
            outcome.status,
            outcome.order_ref,
            outcome.attempts,
            outcome.invoice_no,
            outcome.error,
            tag,
        )
        if outcome.status == "issued" and outcome.invoice_no and seller_tax_id:
            self.issued.append(IssuedInvoice(seller_tax_id, outcome.order_ref, outcome.invoice_no))

    def backlog(self) -> int:
        """Orders queued offline, by the clients' own count (a client that cannot tell counts 0)."""
        return sum(client.backlog() or 0 for client in self.clients)

    def close(self) -> None:
        """Close every client and the direct platform session."""
        for client in self.clients:
            client.close()
        if self._session is not None:
            self._session.close()
            self._session = None


class SellerSeat:
    """One seller at one user: its client, its reports, and a drain of its backlog every ``drain_every_s``.

    The drains run in their own greenlet, beside the user's ``issue()`` calls (never inside one, so a drain
    never delays a user's answer), and only while the client reports a backlog.
    """

    def __init__(self, context: LoadContext, environment: Any) -> None:
        self.context = context
        self.environment = environment
        self.seller, self.client = context.new_client()
        self._stopping = False
        self._drainer = gevent.spawn(self._drain_loop)

    def report(self, operation: Operation, start_s: float, started: float, answer: Answer) -> None:
        self.context.record_answer(operation, start_s, answer, self.seller.tax_id)
        outcome = answer.outcome
        fire(self.environment, operation, outcome.status, started, outcome.error, outcome.order_ref)

    def _drain_loop(self) -> None:
        context = self.context
        while not self._stopping:
            gevent.sleep(context.drain_every_s)
            if self._stopping or not self.client.backlog():
                continue
            start_s, started = context.clock(), time.perf_counter()
            for answer in self.client.drain(budget_s=1.0, on_late=self._late):
                self.report("drain", start_s, started, answer)

    def _late(self, answers: list[Answer]) -> None:
        for answer in answers:
            self.report("drain", self.context.clock(), time.perf_counter(), answer)

    def stop(self) -> None:
        """No further drains; one in progress finishes by itself (the end-of-run drain waits for it)."""
        self._stopping = True
        if not self.client.draining:
            self._drainer.kill(block=False)


def failure_key(error: str) -> str:
    """What Locust's failure table groups by: the message with its numbers blanked (a port, a serial, a count)
    and cut short. Locust keeps one entry per distinct message for the whole run: messages naming an order
    each would grow it with every failure."""
    return DIGITS.sub("#", error)[:160]


def fire(environment: Any, operation: str, outcome: str, started: float, error: str | None, ref: str) -> None:
    """Report one operation to Locust's statistics (type = operation, name = outcome)."""
    environment.events.request.fire(
        request_type=operation,
        name=outcome,
        response_time=(time.perf_counter() - started) * 1000.0,
        response_length=0,
        exception=RuntimeError(failure_key(error or outcome)) if outcome in FAILED_OUTCOMES else None,
        context={"ref": ref},
    )
