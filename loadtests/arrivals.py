"""Open-model arrivals: Poisson at a time-varying rate, each operation in its own greenlet.

A slow platform does not slow the offered load (that is what peak season is); arrivals beyond the in-flight
cap are counted as dropped by the load generator, never silently delayed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from gevent.pool import Pool

from taxstorm.loadtests.records import Recorder

RECHECK_S = 0.5


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
        """Seconds to wait before the next task call: an arrival's gap at ``rate_per_s``, or ``RECHECK_S``.

        The rate varies with time (shapes), so a gap longer than ``RECHECK_S`` is not waited out: after
        ``RECHECK_S`` without an arrival the gap is drawn again at the rate of that moment. Exponential gaps
        are memoryless, so this is exact for a rate that is constant over each ``RECHECK_S``; without it, a
        gap drawn at a night-time rate would sleep through the next morning's peak.
        """
        if rate_per_s <= 0:
            self._due = False
            return RECHECK_S
        gap = self._rng.expovariate(rate_per_s)
        self._due = gap <= RECHECK_S
        return min(gap, RECHECK_S)

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
