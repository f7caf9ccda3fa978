"""Readiness by polling with a deadline (never bare sleeps); clock and sleep are injectable."""

from __future__ import annotations

import time
from collections.abc import Callable


class NotReadyError(RuntimeError):
    """A condition did not become true before its deadline."""


def wait_until(
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
    interval_s: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll ``condition`` until it is true; raise NotReadyError naming ``what`` after ``timeout_s``."""
    deadline = clock() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            if condition():
                return
        except Exception as exc:  # a probe that raises simply means "not yet"
            last_error = exc
        if clock() >= deadline:
            reason = f" (last error: {last_error})" if last_error else ""
            raise NotReadyError(f"{what} not ready after {timeout_s:.1f}s{reason}")
        sleep(interval_s)
