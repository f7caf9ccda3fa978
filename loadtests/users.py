"""The point-of-sale user: many small B2C invoices through the client under test, open-model arrivals.

The harness builds a user class per run with :func:`make_issuing_user`, binding it to a
:class:`LoadContext` (no module globals), and runs it with Locust in library mode or from the locustfile.
"""

from __future__ import annotations

import time

from locust import User

from taxstorm.loadtests.arrival_user import ArrivalUser
from taxstorm.loadtests.context import LoadContext, SellerSeat
from taxstorm.loadtests.shapes import Shape


def make_issuing_user(context: LoadContext, shape: Shape, users: int, max_in_flight: int) -> type[User]:
    """A point-of-sale user: one seller and its client, fed by an open arrival process.

    Arrivals are Poisson at this user's share of ``shape.rate_at(t)``, each operation in its own greenlet;
    arrivals beyond ``max_in_flight`` concurrent operations are counted as dropped by the load generator.
    """

    class IssuingUser(ArrivalUser):
        def on_start(self) -> None:
            context.wait_for_period()
            self.seat = SellerSeat(context, self.environment)
            super().on_start()

        def operation(self) -> None:
            order = context.generator.order(self.seat.seller)
            context.recorder.order_created(order.order_ref, order.total_with_tax)
            start_s, started = context.clock(), time.perf_counter()
            self.seat.report("issue", start_s, started, self.seat.client.issue(order))

    IssuingUser.load, IssuingUser.shape, IssuingUser.users = context, shape, users
    IssuingUser.max_in_flight = max_in_flight
    return IssuingUser
