"""The Locust user base class of open-model traffic (kept apart: importing Locust monkey-patches)."""

from __future__ import annotations

from locust import User, task

from taxstorm.loadtests.arrivals import Arrivals
from taxstorm.loadtests.context import LoadContext, SellerSeat
from taxstorm.loadtests.shapes import Shape


class ArrivalUser(User):
    """A user driven by :class:`Arrivals`: ``operation`` runs once per arrival at ``shape``'s rate.

    Factories subclass it with the run's ``load`` (the run's context), ``shape``, ``users`` (who share the rate) and
    ``per_arrival`` (units of the rate per arrival: an ERP batch of 20 orders is one arrival).
    """

    abstract = True
    load: LoadContext
    shape: Shape
    users: int = 1
    per_arrival: int = 1
    max_in_flight: int = 100

    def on_start(self) -> None:
        self.arrivals = Arrivals(self.load.recorder, f"{type(self).__name__}-{id(self)}", self.max_in_flight)

    def wait_time(self) -> float:
        return self.arrivals.wait(self.shape.rate_at(self.load.clock()) / self.users / self.per_arrival)

    @task
    def arrive(self) -> None:
        self.arrivals.arrive(self.operation)

    def on_stop(self) -> None:
        self.arrivals.join(self.load.stop_timeout_s)  # operations in flight finish and are recorded
        seat: SellerSeat | None = getattr(self, "seat", None)
        if seat is not None:
            seat.stop()

    def operation(self) -> None:
        raise NotImplementedError
