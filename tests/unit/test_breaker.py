"""The concurrent circuit breaker keeps pybreaker's state machine but lets guarded calls overlap."""

from __future__ import annotations

import threading
import time

import pybreaker
import pytest

from clients.breaker import ConcurrentCircuitBreaker


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
