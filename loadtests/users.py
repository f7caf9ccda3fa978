"""Locust users that drive client systems under test.

The harness builds a user class per run with :func:`make_issuing_user`, binding it to a
:class:`LoadContext` (no module globals), and runs it with Locust in library mode.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gevent
from gevent.pool import Pool
from locust import User, constant, task

from clients.protocol import ClientConfig, ClientFactory, InvoiceClient, Outcome
from loadtests.orders import OrderGenerator, Seller
from loadtests.records import OperationRecord, Recorder
from loadtests.shapes import Shape


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
    stop_timeout_s: float = 30.0
    _seller_index: itertools.count[int] = field(default_factory=itertools.count)

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

    def record(self, operation: str, start_s: float, outcome: Outcome) -> OperationRecord:
        record = OperationRecord(
            start_s=start_s,
            end_s=self.clock(),
            operation=operation,  # type: ignore[arg-type]
            outcome=outcome.status,
            order_ref=outcome.order_ref,
            attempts=outcome.attempts,
            invoice_no=outcome.invoice_no,
            error=outcome.error,
        )
        self.recorder.add(record)
        return record


def make_issuing_user(context: LoadContext, shape: Shape, users: int, max_in_flight: int) -> type[User]:
    """A point-of-sale user: one seller and its client, fed by an open arrival process.

    Arrivals are Poisson at this user's share of ``shape.rate_at(t)``, and each operation runs in its own
    greenlet: a slow platform does not slow the offered load (that is what peak season is). Arrivals beyond
    ``max_in_flight`` concurrent operations are counted as dropped by the load generator.
    """

    class IssuingUser(User):
        wait_time = constant(0)  # the task itself waits the inter-arrival gap

        def on_start(self) -> None:
            self.seller, self.client = context.new_client()
            self.pool = Pool(max_in_flight)
            self.rng = random.Random(self.seller.tax_id)
            self.next_drain_s = 0.0

        @task
        def arrive(self) -> None:
            rate = shape.rate_at(context.clock()) / users
            if rate <= 0:
                gevent.sleep(0.1)
                return
            gevent.sleep(self.rng.expovariate(rate))
            context.recorder.arrivals += 1
            if self.pool.full():
                context.recorder.dropped += 1
                return
            self.pool.spawn(self.issue_one)

        def on_stop(self) -> None:
            self.pool.join(timeout=context.stop_timeout_s)  # operations in flight finish and are recorded

        def issue_one(self) -> None:
            context.recorder.in_flight += 1
            try:
                self._issue_one()
            finally:
                context.recorder.in_flight -= 1

        def _issue_one(self) -> None:
            order = context.generator.order(self.seller)
            context.recorder.order_created(order.order_ref, order.total_with_tax)
            start_s = context.clock()
            started = time.perf_counter()
            outcome = self.client.issue(order)
            self._report("issue", start_s, started, outcome)
            if context.clock() >= self.next_drain_s and self.client.backlog():
                self.next_drain_s = context.clock() + context.drain_every_s
                for drained in self.client.drain(budget_s=1.0):
                    self._report("drain", context.clock(), time.perf_counter(), drained)

        def _report(self, operation: str, start_s: float, started: float, outcome: Outcome) -> None:
            context.record(operation, start_s, outcome)
            failed = outcome.status == "failed"
            self.environment.events.request.fire(
                request_type=operation,
                name=outcome.status,
                response_time=(time.perf_counter() - started) * 1000.0,
                response_length=0,
                exception=RuntimeError(outcome.error) if failed else None,
                context={"orderRef": outcome.order_ref},
            )

    return IssuingUser
