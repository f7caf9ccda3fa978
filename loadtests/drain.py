"""The end-of-run drain: every client empties its offline backlog before a deadline, each drained order recorded."""

from __future__ import annotations

from collections.abc import Callable

import gevent

from taxstorm.loadtests.context import LoadContext
from taxstorm.loadtests.guard import Answer, GuardedClient

PAUSE_S = 0.2


def drain_clients(context: LoadContext, until_s: float, forced: Callable[[], bool] = lambda: False) -> int:
    """Drain every client of ``context`` concurrently until ``until_s``; return the backlog the clients report.

    Each client gets ``drain()`` at least once (a client that misreports its backlog as 0 still gets its
    chance), then again while it reports a backlog. What it settles after an abandoned drain still counts.
    """

    def record(client: GuardedClient, start_s: float, answers: list[Answer]) -> None:
        for answer in answers:
            context.record_answer("drain", start_s, answer, client.config.seller_tax_id)

    def drain_one(client: GuardedClient) -> None:
        first = True
        while (first or client.backlog()) and not forced():
            first = False
            left = until_s - context.clock()
            if left <= 0:
                return
            start_s = context.clock()
            record(client, start_s, client.drain(min(left, 5.0), lambda late: record(client, context.clock(), late)))
            gevent.sleep(PAUSE_S)

    gevent.joinall([gevent.spawn(drain_one, client) for client in context.clients])
    return context.backlog()
