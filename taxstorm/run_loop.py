"""A run's time and concurrency: its clock, its sleeps and the tasks it repeats in the background.

A real run turns on gevent's loop (Locust's), watched by an OS-thread watchdog. ``VirtualLoop`` is virtual
time for tests: a sleep moves the clock at once and runs, in time order, the background tasks that fall due on
the way, so a scenario of minutes is judged in milliseconds, the same way every time.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from taxstorm.watchdog import Watchdog

log = logging.getLogger(__name__)
Task = Callable[[], bool | None]  # a repeated task returns True when it is done for good


class Repeating(Protocol):
    """A task repeated in the background until killed (or until it says it is done)."""

    def kill(self) -> None: ...


class RunLoop(Protocol):
    """What a run asks of time: the clocks, sleeping, background tasks, and the watchdog over the loop. A
    background task that raises is logged and counted in ``errors`` (the runner reports them) and goes on."""

    errors: list[str]

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""

    def wall(self) -> float:
        """Epoch seconds now (what Locust workers share the run's start by)."""

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (other tasks run meanwhile)."""

    def every(self, period_s: float, task: Task, first_s: float | None = None) -> Repeating:
        """Run ``task`` every ``period_s`` (the first time after ``first_s``, default one period)."""

    def soon(self, task: Callable[[], object]) -> None:
        """Run ``task`` once in the background, as soon as the loop can."""

    def guarded(self, watchdog: Watchdog) -> contextlib.AbstractContextManager[None]:
        """Keep ``watchdog`` over the loop for the duration (see ``taxstorm.watchdog``)."""


def _guarded(task: Callable[[], object], errors: list[str]) -> object:
    """Run a background task; one that raises is logged and counted, never fatal to its loop."""
    try:
        return task()
    except Exception as exc:
        log.exception("background task %s failed", getattr(task, "__name__", task))
        errors.append(f"{getattr(task, '__name__', 'task')}: {type(exc).__name__}: {exc}")
        return None


class GeventLoop:
    """The real loop: gevent's (a run lives in a gevent-patched process, Locust's)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        import gevent

        gevent.sleep(seconds)

    def every(self, period_s: float, task: Task, first_s: float | None = None) -> Repeating:
        import gevent

        def repeat() -> None:
            gevent.sleep(period_s if first_s is None else first_s)
            while not _guarded(task, self.errors):
                gevent.sleep(period_s)

        greenlet: Repeating = gevent.spawn(repeat)
        return greenlet

    def soon(self, task: Callable[[], object]) -> None:
        import gevent

        gevent.spawn(_guarded, task, self.errors)

    @contextlib.contextmanager
    def guarded(self, watchdog: Watchdog) -> Iterator[None]:
        beating = watchdog.beat_from_loop()
        watchdog.start()
        try:
            yield
        finally:
            watchdog.stop()
            beating.kill()


class _Scheduled:
    """One repeated task of a virtual loop."""

    def __init__(self, period_s: float, task: Task) -> None:
        self.period_s = period_s
        self.task = task
        self.killed = False

    def kill(self) -> None:
        self.killed = True


class VirtualLoop:
    """Virtual time: ``sleep`` jumps the clock, running each background task due before the wake-up in time
    order (at the time it was due, or later if a task held the clock; the next run is one period after). Tasks
    run to completion; a task that sleeps only moves the clock."""

    def __init__(self, start_s: float = 1_000.0, wall_at_start: float = 1_800_000_000.0) -> None:
        self.now = start_s
        self._wall_offset = wall_at_start - start_s
        self._due: list[tuple[float, int, _Scheduled]] = []
        self._order = itertools.count()
        self._soon: list[Callable[[], object]] = []
        self._in_task = False
        self.errors: list[str] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self._wall_offset

    def sleep(self, seconds: float) -> None:
        wake = self.now + max(0.0, seconds)
        if self._in_task:
            self.now = wake
            return
        self._run_soon()
        while self._due and self._due[0][0] <= wake:
            due, _, scheduled = heapq.heappop(self._due)
            if scheduled.killed:
                continue
            self.now = max(self.now, due)
            if not self._run(scheduled.task):
                heapq.heappush(self._due, (self.now + scheduled.period_s, next(self._order), scheduled))
            self._run_soon()
        self.now = max(self.now, wake)

    def every(self, period_s: float, task: Task, first_s: float | None = None) -> Repeating:
        scheduled = _Scheduled(period_s, task)
        first = period_s if first_s is None else first_s
        heapq.heappush(self._due, (self.now + first, next(self._order), scheduled))
        return scheduled

    def soon(self, task: Callable[[], object]) -> None:
        self._soon.append(task)

    @contextlib.contextmanager
    def guarded(self, watchdog: Watchdog) -> Iterator[None]:
        yield  # nothing blocks in virtual time: there is no loop to watch

    def _run(self, task: Callable[[], Any]) -> bool:
        self._in_task = True
        try:
            return bool(_guarded(task, self.errors))
        finally:
            self._in_task = False

    def _run_soon(self) -> None:
        while self._soon:
            self._run(self._soon.pop(0))
