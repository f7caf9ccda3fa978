"""Open-model arrivals: Poisson at a time-varying rate, each operation in its own greenlet.

A slow platform does not slow the offered load (that is what peak season is); arrivals beyond the in-flight
cap are counted as dropped by the load generator, never silently delayed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from gevent.pool import Pool
from locust import User, task

from loadtests.context import LoadContext
from loadtests.records import Recorder
from loadtests.shapes import Shape


class Arrivals:
    """One user's arrival process: its ``wait`` is the user's ``wait_time``, its ``arrive`` the user's task.

    Waiting in ``wait_time`` (not inside the task) keeps a stopping Locust from waiting out a long gap.
    """

    def __init__(self, recorder: Recorder, seed: str, max_in_flight: int) -> None:
        self._recorder = recorder
        self._rng = random.Random(seed)
        self._pool = Pool(max_in_flight)
        self._due = False  # the first task call comes before any wait: no arrival yet

    def wait(self, rate_per_s: float) -> float:
        """Seconds to the next arrival at ``rate_per_s`` (re-checked every 0.1 s while the rate is zero)."""
        if rate_per_s <= 0:
            self._due = False
            return 0.1
        self._due = True
        return self._rng.expovariate(rate_per_s)

    def arrive(self, operation: Callable[[], None]) -> None:
        """Start ``operation`` for the arrival that is due, or count it dropped when the in-flight cap is reached."""
        if not self._due:
            return
        self._due = False
        self._recorder.arrivals += 1
        if self._pool.full():
            self._recorder.dropped += 1
            return
        self._pool.spawn(self._run, operation)

    def _run(self, operation: Callable[[], None]) -> None:
        self._recorder.in_flight += 1
        try:
            operation()
        finally:
            self._recorder.in_flight -= 1

    def join(self, timeout_s: float) -> None:
        """Let the operations in flight finish (and be recorded), for at most ``timeout_s``."""
        self._pool.join(timeout=timeout_s)


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

    def operation(self) -> None:
        raise NotImplementedError
