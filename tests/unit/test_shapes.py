"""Load shapes are pure functions of elapsed time: checked at chosen instants, no Locust, no clock."""

from __future__ import annotations

import pytest

from taxstorm.loadtests.shapes import (
    B2B_DAY,
    Diurnal,
    FlashSale,
    PeakSeason,
    RecoverySurge,
    Spike,
    Steady,
    Step,
    YearEnd,
    interpolate,
)


def test_interpolation_between_profile_points() -> None:
    assert interpolate(B2B_DAY, 9) == 1.0
    assert interpolate(B2B_DAY, 10) == pytest.approx(1.1)
    assert interpolate(B2B_DAY, 3) == pytest.approx(0.02)
    assert interpolate(((0, 1.0), (10, 3.0)), 50) == 3.0


def test_steady_step_spike() -> None:
    assert Steady(rate_per_s=5).rate_at(1234) == 5
    step = Step(start_per_s=2, step_per_s=3, every_s=10, max_per_s=10)
    assert [step.rate_at(t) for t in (0, 9.9, 10, 25, 100)] == [2, 2, 5, 8, 10]
    spike = Spike(base_per_s=1, peak_per_s=20, at_s=5, for_s=2)
    assert [spike.rate_at(t) for t in (4.9, 5, 6.9, 7)] == [1, 20, 20, 1]


def test_diurnal_compresses_a_day_with_the_time_scale() -> None:
    day = Diurnal(base_per_s=10, time_scale=720, start_hour=0)  # one simulated day in 120 s
    assert day.rate_at(0) == pytest.approx(0.2)  # midnight: 2 %
    assert day.rate_at(15 * 3600 / 720) == pytest.approx(13.0)  # 15:00, the daily peak (130 %)
    assert day.rate_at(120 + 15 * 3600 / 720) == pytest.approx(13.0)  # the next day, same hour
    evening = Diurnal(base_per_s=10, time_scale=720, start_hour=0, profile="b2c")
    assert evening.rate_at(21 * 3600 / 720) == pytest.approx(15.0)  # B2C evening peak


def test_peak_season_month_end_factors() -> None:
    shape = PeakSeason(base_per_s=10, time_scale=3600, start_day=27, start_hour=10, month_days=30)  # 1 h per s
    hour_10 = interpolate(B2B_DAY, 10)
    assert shape.rate_at(0) == pytest.approx(10 * 1.0 * hour_10)  # the 27th: an ordinary day
    assert shape.rate_at(24) == pytest.approx(10 * 1.5 * hour_10)  # the 28th: three days from the end
    assert shape.rate_at(48) == pytest.approx(10 * 2.0 * hour_10)  # the 29th
    assert shape.rate_at(72) == pytest.approx(10 * 3.0 * hour_10)  # the 30th, morning
    assert shape.rate_at(77) == pytest.approx(10 * 5.0 * interpolate(B2B_DAY, 15))  # last afternoon: 5x
    assert shape.rate_at(96) == pytest.approx(10 * 1.0 * hour_10)  # the 1st of the next month


def test_year_end_and_new_year_refill_burst() -> None:
    shape = YearEnd(base_per_s=10, time_scale=3600, start_day=30, start_hour=10)
    hour_10 = interpolate(B2B_DAY, 10)
    assert shape.rate_at(0) == pytest.approx(10 * 2.5 * hour_10)  # 30 December
    assert shape.rate_at(24) == pytest.approx(10 * 3.5 * hour_10)  # 31 December
    assert shape.rate_at(38.2) == pytest.approx(40)  # 1 January 00:12: segment refills from every tenant
    assert shape.rate_at(40) == pytest.approx(2)  # then quiet


def test_flash_sale_then_back_to_normal() -> None:
    sale = FlashSale(base_per_s=10, multiplier=7, sale_hours=24, time_scale=3600, start_hour=20)
    assert sale.rate_at(1) == pytest.approx(10 * 7 * 1.5)  # 21:00 on the day: 7x the evening peak
    assert sale.rate_at(25) == pytest.approx(10 * 1.5)  # the next evening: over


def test_recovery_surge_adds_the_backlog() -> None:
    surge = RecoverySurge(base_per_s=5, at_s=10, backlog_ops=100, for_s=4)
    assert [surge.rate_at(t) for t in (9, 10, 13.9, 14)] == [5, 30, 30, 5]
    assert sum(surge.rate_at(10 + i / 100) for i in range(400)) / 100 == pytest.approx(5 * 4 + 100)
