"""Once-a-second samples of what records do not show: the clients' backlog and the platform's request count."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import gevent

ISSUE_FAMILY = "/api/v1/invoices"  # issue, look-ups by serial, batches: what a retry storm multiplies


def issue_family_requests(stats: dict[str, Any]) -> int:
    """Requests the platform counted on its issue family (every method and status)."""
    return sum(int(r["count"]) for r in stats.get("requests", []) if str(r["route"]).startswith(ISSUE_FAMILY))


class Sampler:
    """Takes (run second, value) samples of the backlog and the platform's issue-family request count."""

    def __init__(
        self,
        clock: Callable[[], float],
        backlog: Callable[[], int],
        platform_stats: Callable[[], dict[str, Any]],
        on_sample: Callable[[float], None] | None = None,
    ) -> None:
        self._on_sample = on_sample or (lambda now: None)
        self._clock = clock
        self._backlog = backlog
        self._platform_stats = platform_stats
        self.backlog: list[tuple[float, int]] = []
        self.platform_requests: list[tuple[float, int]] = []
        self.errors = 0  # samples that could not be taken (the platform may be down: that is a fault, not a bug)
        self._loop: gevent.Greenlet[Any] | None = None

    def sample(self) -> None:
        """One sample of each, stamped with the time it was asked for (kept in time order: samples may overlap)."""
        now = self._clock()
        bisect.insort(self.backlog, (now, self._backlog()))
        try:
            bisect.insort(self.platform_requests, (now, issue_family_requests(self._platform_stats())))
        except Exception:
            self.errors += 1

    def start(self, every_s: float = 1.0) -> None:
        def loop() -> None:
            while True:
                self.sample()
                self._on_sample(self._clock())
                gevent.sleep(every_s)

        self._loop = gevent.spawn(loop)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill()
            self._loop = None
        self.sample()


def last_value(samples: Sequence[tuple[float, int]]) -> int | None:
    return samples[-1][1] if samples else None
