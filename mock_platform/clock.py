"""Platform time: an injectable epoch-seconds clock, read in China Standard Time for business dates."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

CST_OFFSET_S = 8 * 3600  # China Standard Time: UTC+8 all year (no daylight saving)
CST = timezone(timedelta(seconds=CST_OFFSET_S), "CST")
_DAY_S = 86_400
_EPOCH_DATE = date(1970, 1, 1)
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


def local_date(epoch: float) -> date:
    """The business date of a moment in China Standard Time (by arithmetic: it is read on every issue)."""
    return _date_of_day(int((epoch + CST_OFFSET_S) // _DAY_S))


@functools.lru_cache(maxsize=1024)
def _date_of_day(index: int) -> date:
    return _EPOCH_DATE + timedelta(days=index)


def period(epoch: float) -> str:
    """The tax period ``yyyyMM`` of a moment."""
    today = local_date(epoch)
    return f"{today.year:04d}{today.month:02d}"


def day(epoch: float) -> str:
    """The business day ``yyyy-mm-dd`` of a moment."""
    return local_date(epoch).isoformat()


def utc_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


class OffsetClock:
    """A clock that tests (and the admin API) can move: system time plus an offset.

    With ``store`` (load, save), the offset lives in the ledger: moving the clock saves it, and the clock reads it
    again every ``sync_every_s``, so a restarted process and a second one on the same ledger keep the same time.
    """

    def __init__(self, base: Clock = system_clock, sync_every_s: float = 1.0) -> None:
        self._base = base
        self.offset_s = 0.0
        self._store: tuple[Callable[[], float], Callable[[float], None]] | None = None
        self._sync_every_s = sync_every_s
        self._synced_at = float("-inf")

    def keep_in(self, load: Callable[[], float], save: Callable[[float], None]) -> None:
        """Keep the offset in a store shared by every process of the platform (its ledger)."""
        self._store = (load, save)
        self.offset_s = load()
        self._synced_at = self._base()

    def __call__(self) -> float:
        base = self._base()
        if self._store is not None and base - self._synced_at >= self._sync_every_s:
            self._synced_at = base
            self.offset_s = self._store[0]()
        return base + self.offset_s

    def advance(self, seconds: float) -> None:
        self._move(self.offset_s + seconds)

    def set_to(self, epoch: float) -> None:
        """Make it ``epoch`` now (either way: a run may start on the last minute of a month)."""
        self._move(epoch - self._base())

    def _move(self, offset_s: float) -> None:
        self.offset_s = offset_s
        if self._store is not None:
            self._store[1](offset_s)
            self._synced_at = self._base()
