"""The run's watchdog: an OS thread that keeps the run's promises when the run's event loop stops turning.

A run's load, fault timeline, signal handling and deadline share one gevent loop in one OS thread. A client
under test that blocks in a real system call (a C driver, ``os.read`` on a pipe) stops that loop: nothing else
runs until the call returns. The watchdog runs beside it in its own OS thread (never a greenlet), learns of
SIGINT/SIGTERM the moment they arrive (through the interpreter's C-level wakeup fd, not the Python handler a
stuck loop cannot run), asks the run to stop when ``limits.max_run_s`` passes, and abandons the run when its loop
shows no sign of life: after a signal or the deadline for ``grace_s``, or for ``stuck_s`` at any time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gevent
from gevent import monkey

_start_thread = monkey.get_original("_thread", "start_new_thread")
_thread_ident = monkey.get_original("_thread", "get_ident")  # gevent's would name the greenlet, not the thread
_select = monkey.get_original("select", "select")

BEAT_S = 0.5  # the loop's sign of life
STUCK_GRACE_S = 10.0  # a loop still this much longer than the answer budget: the process is blocked
POLL_S = 0.25  # how often the watchdog looks
LIBRARY_DIRS = tuple({os.path.dirname(os.__file__), os.path.dirname(threading.__file__)})


@dataclass(frozen=True)
class WatchdogLimits:
    """When a run whose loop does not turn is abandoned."""

    stuck_s: float  # no sign of life this long, whatever happens: a call blocks the whole process
    grace_s: float = 3.0  # after a signal or the deadline, the loop must show life within this


def stall_reason(
    limits: WatchdogLimits, now: float, last_beat: float, deadline: float, signal_at: float | None, name: str
) -> str | None:
    """Why a run whose loop last showed life at ``last_beat`` must be abandoned at ``now`` (None: not yet).

    ``deadline``: when limits.max_run_s passes; ``signal_at``: when a signal (``name``) came, if one did. All on
    one monotonic clock."""
    still = now - last_beat
    if signal_at is not None and last_beat <= signal_at and now - signal_at >= limits.grace_s:
        return f"{name} came {now - signal_at:.1f} s ago and the run's event loop has not turned since"
    if now >= deadline + limits.grace_s and still >= limits.grace_s:
        late = now - deadline
        return f"limits.max_run_s passed {late:.1f} s ago and the run's event loop has not turned for {still:.1f} s"
    if still >= limits.stuck_s:
        return f"the run's event loop has not turned for {still:.1f} s (the limit is {limits.stuck_s:g} s)"
    return None


def stuck_frames(thread_id: int, keep: int = 6) -> list[str]:
    """The innermost frames of a thread, as ``file:line in function: code``."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return []
    return [
        f"{f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()}" for f in traceback.extract_stack(frame)[-keep:]
    ]


def client_method(thread_id: int) -> str | None:
    """The client method a thread is stuck in (the frame the guard called), or None when it is not in a client."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return None
    stack = traceback.extract_stack(frame)
    guard = [i for i, f in enumerate(stack) if Path(f.filename).parts[-2:] == ("loadtests", "guard.py")]
    if not guard or guard[-1] + 1 >= len(stack):
        return None
    return stack[guard[-1] + 1].name


class Watchdog:
    """Watches one run's loop from its own OS thread; see the module's docstring."""

    def __init__(
        self,
        limits: WatchdogLimits,
        deadline: Callable[[], float],
        on_deadline: Callable[[], None],
        abandon: Callable[[str, int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._deadline = deadline  # on ``clock``: it may move (a run's deadline counts from the load's start)
        self._clock = clock
        self._on_deadline = on_deadline
        self._abandon = abandon
        self._last_beat = clock()
        self._signal_at: float | None = None
        self._signal_name = ""
        self._deadline_told = False
        self._stopping = False
        self._paused = False
        self._loop_thread = _thread_ident()
        self._pipe: tuple[int, int] | None = None
        self._old_wakeup_fd = -1

    def beat(self) -> None:
        """The loop turns (called from a greenlet every BEAT_S)."""
        self._last_beat = self._clock()

    def beat_from_loop(self) -> gevent.Greenlet[None]:
        """A greenlet that beats every BEAT_S for as long as the loop turns (kill it when done)."""

        def beat() -> None:
            while True:
                self.beat()
                gevent.sleep(BEAT_S)

        return gevent.spawn(beat)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The harness's own CPU work (the verdict over every record) may hold the loop: not a stuck client."""
        self._paused = True
        try:
            yield
        finally:
            self.beat()
            self._paused = False

    def start(self) -> None:
        """Hear signals at the C level (call from the main thread), then watch from a new OS thread."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._pipe = (read_fd, write_fd)
        with contextlib.suppress(ValueError):  # not the main thread (an embedding caller): no early signals
            self._old_wakeup_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        self._last_beat = self._clock()
        _start_thread(self._watch, ())

    def stop(self) -> None:
        """Stop watching (the thread closes the pipe when it sees this)."""
        if self._pipe is None:
            return
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(self._old_wakeup_fd)
        self._stopping = True

    def _watch(self) -> None:
        assert self._pipe is not None
        read_fd, write_fd = self._pipe
        try:
            while not self._stopping:
                ready, _, _ = _select([read_fd], [], [], POLL_S)
                if ready:
                    self._heard(os.read(read_fd, 64))
                if self._stopping:
                    return
                now, deadline = self._clock(), self._deadline()
                if now >= deadline and not self._deadline_told:
                    self._deadline_told = True
                    self._on_deadline()
                reason = stall_reason(self.limits, now, self._last_beat, deadline, self._signal_at, self._signal_name)
                if reason is not None and not self._paused:
                    self._stopping = True
                    self._abandon(reason, self._loop_thread)
        finally:
            os.close(read_fd)
            os.close(write_fd)

    def _heard(self, data: bytes) -> None:
        for number in data:
            if number in (signal.SIGINT, signal.SIGTERM) and self._signal_at is None:
                self._signal_at = self._clock()
                self._signal_name = signal.Signals(number).name
