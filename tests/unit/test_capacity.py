"""The capacity model's gates and limiter, driven directly (asyncio, fake clock)."""

from __future__ import annotations

import asyncio
import random

import pytest

from mock_platform.capacity import FamilyGate, FixedWindowLimiter, family_of
from mock_platform.settings import FamilyCapacity, ServiceTime


@pytest.mark.parametrize(
    ("method", "path", "family"),
    [
        ("POST", "/api/v1/auth/token", "auth"),
        ("POST", "/api/v1/invoices", "issue"),
        ("POST", "/api/v1/invoices/batch", "issue"),
        ("GET", "/api/v1/invoices/by-serial/X", "query"),
        ("POST", "/api/v1/invoices/26421000000000000001/red", "red"),
        ("GET", "/api/v1/red-confirmations/u", "red"),
        ("POST", "/api/v1/verify", "verify"),
        ("GET", "/api/v1/quota", "quota"),
        ("POST", "/api/v1/number-segments", "quota"),
        ("GET", "/health", None),
        ("GET", "/api/v1/status", None),
        ("GET", "/api/v1/notices", None),
        ("GET", "/admin/stats", None),
    ],
)
def test_families(method: str, path: str, family: str | None) -> None:
    assert family_of(method, path) == family


def test_shed_policy_refuses_beyond_concurrency() -> None:
    async def scenario() -> list[bool]:
        gate = FamilyGate(FamilyCapacity(concurrency=2, policy="shed"))
        results = [await gate.acquire() for _ in range(3)]
        gate.release()
        results.append(await gate.acquire())
        assert gate.shed == 1 and gate.in_service == 2
        return results

    assert asyncio.run(scenario()) == [True, True, False, True]


def test_queue_policy_waits_fifo_and_sheds_when_the_queue_is_full() -> None:
    async def scenario() -> None:
        gate = FamilyGate(FamilyCapacity(concurrency=1, queue=2, policy="queue"))
        assert await gate.acquire()
        order: list[int] = []

        async def waiter(n: int) -> None:
            assert await gate.acquire()
            order.append(n)

        tasks = [asyncio.create_task(waiter(n)) for n in (1, 2)]
        await asyncio.sleep(0)
        assert gate.waiting == 2 and gate.saturated
        assert not await gate.acquire()  # queue full
        gate.release()
        await asyncio.sleep(0)
        gate.release()
        await asyncio.gather(*tasks)
        assert order == [1, 2] and gate.in_service == 1 and gate.waiting == 0

    asyncio.run(scenario())


def test_cancelled_waiter_leaves_the_queue() -> None:
    async def scenario() -> None:
        gate = FamilyGate(FamilyCapacity(concurrency=1, queue=5))
        await gate.acquire()
        task = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gate.waiting == 0
        gate.release()
        assert gate.in_service == 0

    asyncio.run(scenario())


def test_collapse_stretches_service_time_with_the_queue() -> None:
    config = FamilyCapacity(
        concurrency=2,
        queue=10,
        policy="collapse",
        collapse_factor=1.0,
        service_time=ServiceTime(median_ms=100, p99_ms=100),
    )
    gate = FamilyGate(config)
    rng = random.Random(0)
    assert gate.service_time_s(rng) == pytest.approx(0.1)
    loop = asyncio.new_event_loop()
    try:
        gate.waiters.extend(loop.create_future() for _ in range(4))  # 4 waiting on 2 slots: overload 2
        assert gate.service_time_s(rng) == pytest.approx(0.1 * (1 + 1.0 * 2 * 2))
    finally:
        loop.close()


def test_fixed_window_limiter() -> None:
    now = [120.0]
    limiter = FixedWindowLimiter(clock=lambda: now[0])
    assert limiter.check("a", "issue", 2) == (True, 1, 60)
    assert limiter.check("a", "issue", 2) == (True, 0, 60)
    assert limiter.check("a", "issue", 2) == (False, 0, 60)
    assert limiter.check("b", "issue", 2)[0] is True  # per client
    assert limiter.check("a", "query", 2)[0] is True  # per family
    now[0] = 180.0
    assert limiter.check("a", "issue", 2) == (True, 1, 60)
