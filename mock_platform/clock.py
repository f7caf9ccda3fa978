"""Platform time: an injectable epoch-seconds clock, read in China Standard Time for business dates."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
Clock = Callable[[], float]


def system_clock() -> float:
    """Wall-clock epoch seconds: the default platform clock."""
    return time.time()


def local(epoch: float) -> datetime:
    """The moment in China Standard Time."""
    return datetime.fromtimestamp(epoch, CST)


def iso(epoch: float) -> str:
    """ISO-8601 with the +08:00 offset, millisecond precision."""
    return local(epoch).isoformat(timespec="milliseconds")


def period(epoch: float) -> str:
    """The tax period ``yyyyMM`` of a moment."""
    return local(epoch).strftime("%Y%m")


def day(epoch: float) -> str:
    """The business day ``yyyy-mm-dd`` of a moment."""
    return local(epoch).strftime("%Y-%m-%d")


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


class OffsetClock:
    """A clock that tests (and the admin API) can move forward: system time plus an offset."""

    def __init__(self, base: Clock = system_clock) -> None:
        self._base = base
        self.offset_s = 0.0

    def __call__(self) -> float:
        return self._base() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds

    def set_to(self, epoch: float) -> None:
        """Make it ``epoch`` now (either way: a run may start on the last minute of a month)."""
        self.offset_s = epoch - self._base()
