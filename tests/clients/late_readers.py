"""Clients whose ``backlog()`` lags the platform at the end of the drain, for the backlog check.

Both queue every order, then issue the queue from ``drain()`` through the resilient reference client (so the
platform takes each one), but hold the outcomes back: ``backlog()`` still counts them until a later drain hands
them over. ``late_reader`` does hand them over then (a client still waiting for answers when the drain's time
ran out); ``never_forgets`` hands them over and keeps counting them anyway (a backlog() that never goes down).
"""

from __future__ import annotations

import time

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome
from taxstorm.clients.resilient import ResilientClient, create_client


class LateReader:
    """Queues every order; a drain issues the queue, then waits out its budget before reading the answers."""

    def __init__(self, config: ClientConfig, forget: bool = True) -> None:
        self.config = config
        self._inner: ResilientClient = create_client(config)
        self._queue: list[Order] = []
        self._unread: list[Outcome] = []  # sent and issued by the platform; not yet read by this client
        self._read: list[Outcome] = []  # handed over to the user (counted still when not ``forget``)
        self._forget = forget

    def issue(self, order: Order) -> Outcome:
        self._queue.append(order)
        return Outcome("queued", order.order_ref, attempts=0, error="queued: issued from the next drain")

    def backlog(self) -> int:
        held = 0 if self._forget else len(self._read)
        return len(self._queue) + len(self._unread) + held

    def drain(self, budget_s: float) -> list[Outcome]:
        end = time.monotonic() + budget_s
        answers, self._unread = self._unread, []
        self._read += answers
        while self._queue and time.monotonic() < end:
            outcome = self._inner.issue(self._queue[0])
            if outcome.status == "queued":
                break  # the platform is not taking it now: the next drain tries again
            self._queue.pop(0)
            self._unread.append(outcome)
        if self._unread:
            time.sleep(max(0.0, end - time.monotonic()))  # "waiting for the answers" to the end of the budget
        return answers

    def close(self) -> None:
        self._inner.close()


def late_reader(config: ClientConfig) -> LateReader:
    return LateReader(config)


def never_forgets(config: ClientConfig) -> LateReader:
    return LateReader(config, forget=False)
