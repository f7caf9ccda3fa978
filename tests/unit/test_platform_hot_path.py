"""The issue path's helpers: business dates by arithmetic agree with the calendar on both sides of every boundary
that matters, and trace ids without a random draw per request are still unique."""

from __future__ import annotations

import random
import re
from datetime import datetime

from taxstorm.mock_platform.api.responses import TraceIds
from taxstorm.mock_platform.clock import CST, day, local, local_date, period


def test_business_dates_agree_with_the_calendar_everywhere() -> None:
    rng = random.Random(3)
    for _ in range(20_000):
        moment = rng.uniform(-2e9, 4.2e9)  # 1906 .. 2103
        assert local_date(moment) == local(moment).date()
        assert period(moment) == local(moment).strftime("%Y%m")
        assert day(moment) == local(moment).strftime("%Y-%m-%d")


def test_midnight_month_end_and_new_year_in_beijing_time() -> None:
    for year, month, expected_before, expected_after in (
        (2027, 1, "202612", "202701"),  # New Year: numbers and segments change year
        (2026, 12, "202611", "202612"),  # month rollover: the quota period changes
        (2024, 3, "202402", "202403"),  # after a leap day
    ):
        midnight = datetime(year, month, 1, tzinfo=CST).timestamp()
        assert period(midnight - 0.001) == expected_before and period(midnight) == expected_after
        assert local_date(midnight).day == 1 and local_date(midnight - 0.001).day >= 28


def test_trace_ids_are_32_hex_digits_and_never_repeat_within_or_across_processes() -> None:
    one, other = TraceIds(), TraceIds()  # as two platform processes would draw them
    ids = [one() for _ in range(10_000)] + [other() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", trace) for trace in ids)
