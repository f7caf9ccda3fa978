"""The ERP user: B2B batches of large invoices through the client under test, via the batch endpoint."""

from __future__ import annotations

import time

from locust import User

from taxstorm.loadtests.arrival_user import ArrivalUser
from taxstorm.loadtests.context import LoadContext, SellerSeat
from taxstorm.loadtests.shapes import Shape


def make_erp_user(
    context: LoadContext, shape: Shape, users: int, batch_size: int, buyers: int, max_in_flight: int
) -> type[User]:
    """An ERP tenant: ``shape`` gives orders per second; they arrive in batches of ``batch_size``.

    Clients with ``issue_batch`` (:class:`taxstorm.clients.protocol.BatchIssuingClient`) get the whole batch at once;
    others get its orders one by one, as an ERP without batch support would send them.
    """

    class ErpBatchUser(ArrivalUser):
        def on_start(self) -> None:
            context.wait_for_period()
            self.seat = SellerSeat(context, self.environment)
            super().on_start()

        def operation(self) -> None:
            orders = [context.generator.b2b_order(self.seat.seller, buyers) for _ in range(batch_size)]
            for order in orders:
                context.recorder.order_created(order.order_ref, order.total_with_tax)
            start_s, started = context.clock(), time.perf_counter()
            client = self.seat.client
            answers = client.issue_batch(orders) if client.batches else [client.issue(order) for order in orders]
            for answer in answers:
                self.seat.report("batch", start_s, started, answer)

    ErpBatchUser.load, ErpBatchUser.shape, ErpBatchUser.users = context, shape, users
    ErpBatchUser.per_arrival, ErpBatchUser.max_in_flight = batch_size, max_in_flight
    return ErpBatchUser
