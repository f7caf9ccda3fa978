"""Once-a-second samples of what records do not show: the backlog (the harness's count and the clients' own)
and the platform's request count."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

import gevent

ISSUE_FAMILY = "/api/v1/invoices"  # issue, look-ups by serial, batches: what a retry storm multiplies
Samples = list[tuple[float, int]]


def issue_family_requests(stats: dict[str, Any]) -> int:
    """Requests the platform counted on its issue family (every method and status)."""
    return sum(int(r["count"]) for r in stats.get("requests", []) if str(r["route"]).startswith(ISSUE_FAMILY))


class Sampler:
    """Takes (run second, value) samples: ``backlog`` (orders owed, the harness's own count), ``client_backlog``
    (what the clients' ``backlog()`` say) and ``platform_requests`` (the platforms' issue-family request count).

    A sample that cannot be taken (a platform that is down, a client that raises) is counted in ``errors``
    and skipped: the loop itself never dies of it.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        owed: Callable[[], int],
        client_backlog: Callable[[], int],
        issue_requests: Callable[[], int],
        on_sample: Callable[[float], None] | None = None,
    ) -> None:
        self._on_sample = on_sample or (lambda now: None)
        self._clock = clock
        self._owed = owed
        self._client_backlog = client_backlog
        self._issue_requests = issue_requests
        self.backlog: Samples = []
        self.client_backlog: Samples = []
        self.platform_requests: Samples = []
        self.errors: dict[str, int] = {}  # samples that could not be taken, by series
        self._loop: gevent.Greenlet[Any] | None = None

    def sample(self) -> None:
        """One sample of each, stamped with the time it was asked for (kept in time order: samples may overlap)."""
        now = self._clock()
        self._take("backlog", self.backlog, now, self._owed)
        self._take("client_backlog", self.client_backlog, now, self._client_backlog)
        self._take("platform_requests", self.platform_requests, now, self._issue_requests)

    def _take(self, name: str, series: Samples, now: float, read: Callable[[], int]) -> None:
        try:
            bisect.insort(series, (now, read()))
        except Exception:
            self.errors[name] = self.errors.get(name, 0) + 1

    def start(self, every_s: float = 1.0) -> None:
        def loop() -> None:
            while True:
                self.sample()
                try:
                    self._on_sample(self._clock())
                except Exception:
                    self.errors["on_sample"] = self.errors.get("on_sample", 0) + 1
                gevent.sleep(every_s)

        self._loop = gevent.spawn(loop)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill()
            self._loop = None
        self.sample()


def last_value(samples: Sequence[tuple[float, int]]) -> int | None:
    return samples[-1][1] if samples else None
