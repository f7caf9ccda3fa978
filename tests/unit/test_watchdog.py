"""The run's watchdog: when a stuck loop is abandoned (a pure rule), and the OS thread applying it, on a clock
the test moves: a beating loop is left alone, a still one is abandoned, the deadline is told once, and a
SIGTERM is heard through the wakeup fd even though nobody runs its Python handler in time."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from taxstorm.watchdog import Watchdog, WatchdogLimits, stall_reason

LIMITS = WatchdogLimits(stuck_s=12.0, grace_s=3.0)
FAR = 1e9  # a deadline that never comes


def test_a_beating_loop_is_never_abandoned() -> None:
    assert stall_reason(LIMITS, now=100.0, last_beat=99.5, deadline=FAR, signal_at=None, name="") is None
    assert stall_reason(LIMITS, now=100.0, last_beat=99.5, deadline=50.0, signal_at=90.0, name="SIGTERM") is None


def test_a_still_loop_is_abandoned_after_stuck_s() -> None:
    assert stall_reason(LIMITS, now=111.9, last_beat=100.0, deadline=FAR, signal_at=None, name="") is None
    why = stall_reason(LIMITS, now=112.0, last_beat=100.0, deadline=FAR, signal_at=None, name="")
    assert why == "the run's event loop has not turned for 12.0 s (the limit is 12 s)"


def test_after_a_signal_the_loop_has_grace_s_to_show_life() -> None:
    assert stall_reason(LIMITS, now=102.9, last_beat=100.0, deadline=FAR, signal_at=100.0, name="SIGTERM") is None
    why = stall_reason(LIMITS, now=103.0, last_beat=99.9, deadline=FAR, signal_at=100.0, name="SIGTERM")
    assert why == "SIGTERM came 3.0 s ago and the run's event loop has not turned since"
    assert stall_reason(LIMITS, now=103.0, last_beat=100.5, deadline=FAR, signal_at=100.0, name="SIGTERM") is None


def test_past_the_deadline_a_still_loop_is_abandoned_after_grace_s() -> None:
    assert stall_reason(LIMITS, now=52.9, last_beat=45.0, deadline=50.0, signal_at=None, name="") is None
    why = stall_reason(LIMITS, now=53.0, last_beat=45.0, deadline=50.0, signal_at=None, name="")
    assert why == "limits.max_run_s passed 3.0 s ago and the run's event loop has not turned for 8.0 s"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def watched() -> Iterator[tuple[Watchdog, Clock, list[str], list[str]]]:
    clock, told, abandoned = Clock(), [], []
    dog = Watchdog(LIMITS, lambda: 1030.0, lambda: told.append("deadline"), lambda why, _: abandoned.append(why), clock)
    dog.start()
    try:
        yield dog, clock, told, abandoned
    finally:
        dog.stop()


def settle() -> None:
    time.sleep(0.6)  # two of the watchdog's looks


def test_the_thread_abandons_a_still_loop_once_and_tells_the_deadline_once(
    watched: tuple[Watchdog, Clock, list[str], list[str]],
) -> None:
    dog, clock, told, abandoned = watched
    for _ in range(3):
        clock.now += 5.0
        dog.beat()
        settle()
    assert abandoned == [] and told == []
    clock.now = 1031.0  # past the deadline; the loop beat at 1015
    settle()
    assert told == ["deadline"] and abandoned == ["the run's event loop has not turned for 16.0 s (the limit is 12 s)"]
    clock.now += 100.0
    settle()
    assert len(abandoned) == 1 and told == ["deadline"]


def test_the_thread_hears_a_sigterm_the_loop_has_not_handled(
    watched: tuple[Watchdog, Clock, list[str], list[str]],
) -> None:
    dog, clock, _, abandoned = watched
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        dog.beat()
        os.kill(os.getpid(), signal.SIGTERM)
        settle()
        clock.now += 3.0
        settle()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert abandoned == ["SIGTERM came 3.0 s ago and the run's event loop has not turned since"]


def test_a_paused_watchdog_leaves_the_harness_own_work_alone(
    watched: tuple[Watchdog, Clock, list[str], list[str]],
) -> None:
    dog, clock, _, abandoned = watched
    with dog.paused():
        clock.now += 20.0  # the verdict over a long run's records, holding the loop
        settle()
    settle()
    assert abandoned == []
