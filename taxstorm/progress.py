"""Once-a-second progress figures of a running scenario, for the live terminal view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from taxstorm.loadtests.records import Recorder
from taxstorm.timeseries import USER_OPERATION
from taxstorm.windows import percentile


class Progress:
    """Turns the recorder's growth since the last tick into offered/achieved rates, p95 and failures."""

    def __init__(self, total_s: float, recorder: Recorder, active_faults: Callable[[], list[str]]) -> None:
        self.total_s = total_s
        self._recorder = recorder
        self._active_faults = active_faults
        self._last_s = 0.0
        self._seen_records = 0
        self._seen_arrivals = 0
        self._failed = 0

    def tick(
        self, now_s: float, backlog: Sequence[tuple[float, int]], client_backlog: Sequence[tuple[float, int]] = ()
    ) -> dict[str, Any]:
        """The figures since the previous tick (rates per second) and totals so far; ``backlog`` is the harness's
        count of orders owed, ``client_backlog`` what the clients say."""
        span = max(1e-6, now_s - self._last_s)
        records = self._recorder.since(self._seen_records)
        arrivals = self._recorder.arrivals - self._seen_arrivals
        self._last_s, self._seen_records = now_s, self._seen_records + len(records)
        self._seen_arrivals = self._recorder.arrivals
        user = [r for r in records if r.operation == USER_OPERATION]
        self._failed += sum(1 for r in user if r.outcome == "failed")
        return {
            "elapsed_s": round(now_s, 1),
            "total_s": self.total_s,
            "phase": "load" if now_s < self.total_s else "drain",
            "offered_per_s": round(arrivals / span, 1),
            "achieved_per_s": round(len(user) / span, 1),
            "p95_ms": round(percentile(sorted(r.latency_ms for r in user), 95), 1),
            "failed": self._failed,
            "dropped": self._recorder.dropped,
            "active_faults": self._active_faults(),
            "backlog": backlog[-1][1] if backlog else 0,
            "client_backlog": client_backlog[-1][1] if client_backlog else None,
        }
