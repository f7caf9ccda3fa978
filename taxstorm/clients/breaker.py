"""A circuit breaker whose guarded calls may overlap, on an injectable clock.

Closed: calls go through; ``fail_max`` consecutive counted failures open it (the call that trips it raises
:class:`CircuitOpenError`). Open: calls are refused without running until ``reset_timeout_s`` has passed;
then calls are trials (half-open): a success closes the circuit, a failure opens it again. Exceptions of the
``exclude`` types are the caller's business (a rejected order, a job still processing): they pass through and
count as a success, as in pybreaker, which this replaces.

Why not pybreaker: its ``call`` holds the breaker's lock for the whole guarded call, so calls through one
breaker run one at a time (with several operations of one seller in flight that turned an 800 ms network
delay into a 5 s median), and an open circuit moves to half-open only inside a call; working around both
meant overriding its private internals. Here the lock is held only around state changes, and
:meth:`open_now` tells a client whether a call would be refused right now.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

T = TypeVar("T")
State = Literal["closed", "open", "half_open"]


class CircuitOpenError(Exception):
    """The circuit is open: the call was refused (or the failure it ended in opened the circuit)."""


class CircuitBreaker:
    """Consecutive-failure breaker with a reset timeout; thread-safe; guarded calls run concurrently."""

    def __init__(
        self,
        fail_max: int,
        reset_timeout_s: float,
        exclude: Iterable[type[BaseException]] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if fail_max < 1 or reset_timeout_s < 0:
            raise ValueError(f"fail_max must be >= 1 and reset_timeout_s >= 0 (got {fail_max}, {reset_timeout_s})")
        self.fail_max = fail_max
        self.reset_timeout_s = reset_timeout_s
        self._exclude = tuple(exclude)
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> State:
        """closed, open (refusing) or half_open (the reset timeout passed: the next calls are trials)."""
        with self._lock:
            if self._state == "open" and not self._refusing():
                return "half_open"
            return self._state

    @property
    def failures(self) -> int:
        """Counted failures in a row."""
        return self._failures

    def _refusing(self) -> bool:
        return self._state == "open" and self._clock() < self._opened_at + self.reset_timeout_s

    def open_now(self) -> bool:
        """True while the circuit is open and its reset timeout has not passed: a call would be refused."""
        with self._lock:
            return self._refusing()

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``func`` through the breaker (refused with :class:`CircuitOpenError` while open)."""
        with self._lock:
            if self._refusing():
                raise CircuitOpenError("circuit open: the reset timeout has not passed yet")
            if self._state == "open":
                self._state = "half_open"  # the reset timeout passed: this call is a trial
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            if isinstance(exc, self._exclude):
                self._succeeded()
                raise
            if self._failed():
                raise CircuitOpenError(f"circuit opened by {type(exc).__name__}: {exc}") from exc
            raise
        self._succeeded()
        return result

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._state = "closed"

    def _failed(self) -> bool:
        """Count one failure; True when it opened the circuit."""
        with self._lock:
            self._failures += 1
            if self._state == "half_open" or self._failures >= self.fail_max:
                self._state, self._opened_at = "open", self._clock()
                return True
            return False
