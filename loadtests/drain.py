"""The end-of-run drain: every client empties its offline backlog before a deadline, each drained order recorded."""

from __future__ import annotations

from collections.abc import Callable

import gevent

from clients.protocol import InvoiceClient
from loadtests.context import LoadContext


def drain_clients(context: LoadContext, until_s: float, forced: Callable[[], bool] = lambda: False) -> int:
    """Drain every client of ``context`` concurrently until its backlog is empty or ``until_s``; return what is left."""

    def drain_one(client: InvoiceClient) -> None:
        while client.backlog() and not forced():
            left = until_s - context.clock()
            if left <= 0:
                return
            start_s = context.clock()
            for outcome in client.drain(budget_s=min(left, 5.0)):
                context.record_outcome("drain", start_s, outcome)
            gevent.sleep(0.2)

    gevent.joinall([gevent.spawn(drain_one, client) for client in context.clients])
    return context.backlog()
