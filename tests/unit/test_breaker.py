"""The circuit breaker: its state machine on a fake clock, and guarded calls that overlap."""

from __future__ import annotations

import threading

import pytest

from taxstorm.clients.breaker import CircuitBreaker, CircuitOpenError


class Transient(Exception):
    pass


class Business(Exception):
    pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fail() -> None:
    raise Transient("platform 503")


def test_calls_overlap_instead_of_queueing_on_the_lock() -> None:
    breaker = CircuitBreaker(fail_max=5, reset_timeout_s=60)
    inside = threading.Barrier(4, timeout=5)

    def guarded() -> str:
        inside.wait()  # only passes if all four calls are inside at the same time
        return "ok"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(breaker.call(guarded))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["ok"] * 4


def test_opens_after_fail_max_in_a_row_refuses_then_a_trial_closes_it() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(fail_max=2, reset_timeout_s=5, exclude=[Business], clock=clock)
    with pytest.raises(Transient):
        breaker.call(fail)
    with pytest.raises(Business):
        breaker.call(lambda: (_ for _ in ()).throw(Business()))  # excluded: passes through, counts as a success
    assert breaker.failures == 0 and breaker.state == "closed"
    with pytest.raises(Transient):
        breaker.call(fail)
    with pytest.raises(CircuitOpenError, match="opened by Transient") as tripped:
        breaker.call(fail)  # the second failure in a row trips it
    assert isinstance(tripped.value.__cause__, Transient)
    assert str(breaker.state) == "open" and breaker.open_now()
    ran: list[int] = []
    with pytest.raises(CircuitOpenError, match="not passed"):
        breaker.call(lambda: ran.append(1))
    assert ran == []  # refused without running
    clock.now += 4.99
    assert breaker.open_now()
    clock.now += 0.02
    assert not breaker.open_now() and str(breaker.state) == "half_open"  # a call now is a trial

    def trial() -> str:
        ran.append(1)
        return "trial"

    assert breaker.call(trial) == "trial"
    assert ran == [1] and str(breaker.state) == "closed" and breaker.failures == 0


def test_a_failed_trial_opens_the_circuit_again_at_once() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(fail_max=3, reset_timeout_s=5, clock=clock)
    for _ in range(2):
        with pytest.raises(Transient):
            breaker.call(fail)
    with pytest.raises(CircuitOpenError):
        breaker.call(fail)
    clock.now += 5
    with pytest.raises(CircuitOpenError):
        breaker.call(fail)  # one failure in half-open is enough (not fail_max)
    assert breaker.open_now()
    clock.now += 5
    assert breaker.call(lambda: "ok") == "ok"


def test_a_success_resets_the_count_of_failures_in_a_row() -> None:
    breaker = CircuitBreaker(fail_max=2, reset_timeout_s=5, clock=FakeClock())
    for _ in range(3):
        with pytest.raises(Transient):
            breaker.call(fail)
        breaker.call(lambda: None)
    assert breaker.state == "closed"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="fail_max"):
        CircuitBreaker(fail_max=0, reset_timeout_s=1)
