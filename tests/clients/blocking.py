"""A client with a driver that hangs in a real system call when the network turns slow (as a C driver without a
timeout does): it issues through the resilient reference client until one answer takes longer than 250 ms, then
reads a pipe nobody writes to, which blocks its whole OS thread (no greenlet switch can happen inside os.read).
It leaves a file named ``blocked`` in its folder first, so a test knows when the run is frozen."""

from __future__ import annotations

import os
import time

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome
from taxstorm.clients.resilient import ResilientClient, create_client

SLOW_S = 0.25


class HangsWhenSlow:
    """The resilient client's answers, until the first slow one: then os.read on an empty pipe, forever."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._inner: ResilientClient = create_client(config)

    def issue(self, order: Order) -> Outcome:
        started = time.monotonic()
        outcome = self._inner.issue(order)
        if time.monotonic() - started > SLOW_S:
            read_end, _write_end = os.pipe()  # the write end stays open: the read never ends
            (self.config.state_dir / "blocked").write_text(str(os.getpid()))
            os.read(read_end, 1)
        return outcome

    def backlog(self) -> int:
        return self._inner.backlog()

    def drain(self, budget_s: float) -> list[Outcome]:
        return self._inner.drain(budget_s)

    def close(self) -> None:
        self._inner.close()


def create(config: ClientConfig) -> HangsWhenSlow:
    return HangsWhenSlow(config)
