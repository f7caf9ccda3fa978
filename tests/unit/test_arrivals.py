"""Open-model arrivals follow a time-varying rate (no gap drawn at night sleeps through the morning peak)."""

from __future__ import annotations

from collections.abc import Callable

from taxstorm.loadtests.arrivals import RECHECK_S, Arrivals
from taxstorm.loadtests.records import Recorder


def simulate(rate_at: Callable[[float], float], until_s: float) -> list[float]:
    """Run a user's task/wait_time loop on a simulated clock; return the arrival times."""
    recorder = Recorder()
    arrivals = Arrivals(recorder, "seed", max_in_flight=1_000_000)
    now, times = 0.0, []
    while now < until_s:
        before = recorder.arrivals
        arrivals.arrive(lambda: None)
        if recorder.arrivals > before:
            times.append(now)
        now += arrivals.wait(rate_at(now))
    return times


def test_arrivals_start_when_the_rate_rises_not_a_night_gap_later() -> None:
    times = simulate(lambda t: 0.001 if t < 10 else 50.0, 20)
    assert not [t for t in times if t < 10]
    assert min(times) < 10 + RECHECK_S + 0.2  # picked up within one re-check of the rise
    assert 400 < len(times) < 600  # about 50/s for 10 s


def test_arrivals_keep_the_rate() -> None:
    times = simulate(lambda t: 8.0, 100)
    assert 700 < len(times) < 900
