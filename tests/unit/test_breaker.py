"""The concurrent circuit breaker keeps pybreaker's state machine but lets guarded calls overlap."""

from __future__ import annotations

import threading
import time

import pybreaker
import pytest

from taxstorm.clients.breaker import ConcurrentCircuitBreaker


class Transient(Exception):
    pass


class Business(Exception):
    pass


def test_calls_overlap_instead_of_queueing_on_the_lock() -> None:
    breaker = ConcurrentCircuitBreaker(fail_max=5, reset_timeout=60)
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


def test_opens_after_fail_max_then_half_opens_and_closes() -> None:
    breaker = ConcurrentCircuitBreaker(fail_max=2, reset_timeout=0.2, exclude=[Business])

    def fail() -> None:
        raise Transient

    def business() -> None:
        raise Business

    with pytest.raises(Business):
        breaker.call(business)  # excluded: not counted
    with pytest.raises(Transient):
        breaker.call(fail)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(fail)  # the second counted failure trips it
    assert breaker.current_state == pybreaker.STATE_OPEN
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(lambda: "never called")
    time.sleep(0.25)
    assert breaker.call(lambda: "trial") == "trial"  # half-open trial succeeds
    assert breaker.current_state == pybreaker.STATE_CLOSED


def test_an_open_circuit_admits_one_trial_run_once_after_the_reset_timeout() -> None:
    # A client checks open_now() before sending: the circuit must not stay open forever for want of a call.
    breaker = ConcurrentCircuitBreaker(fail_max=1, reset_timeout=0.2)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(lambda: (_ for _ in ()).throw(Transient()))
    assert breaker.open_now()
    time.sleep(0.25)
    assert not breaker.open_now()  # a call now would be a trial
    calls: list[int] = []

    def trial() -> str:
        calls.append(1)
        return "trial"

    assert breaker.call(trial) == "trial"
    assert calls == [1]  # run exactly once (pybreaker's own open state would run it twice through this class)
    assert breaker.current_state == pybreaker.STATE_CLOSED and not breaker.open_now()
