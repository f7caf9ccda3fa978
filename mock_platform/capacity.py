"""The capacity model: simulated service time, a concurrency limit, a bounded wait queue, an overload policy
(shed / queue / collapse) and per-client rate limits, per endpoint family; all changeable at runtime.

It makes the platform overloadable on purpose, whatever the machine's speed: a family with
``concurrency: 4`` and a 100 ms median service time serves about 40 requests per second, then sheds,
queues or collapses.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from taxstorm.mock_platform.asgi import reject
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.sampling import sample_ms
from taxstorm.mock_platform.settings import Family, FamilyCapacity
from taxstorm.mock_platform.stats import response_headers

PUBLIC = frozenset({"status", "notices", "tax-rates"})  # what a client reads to learn *why* it is refused


def family_of(method: str, path: str) -> Family | None:
    """Which endpoint family a request belongs to (None: health, admin, docs, metrics, public reference data)."""
    if not path.startswith("/api/v1/"):
        return None
    rest = path[len("/api/v1/") :]
    if rest in PUBLIC:
        return None
    if rest.startswith("auth"):
        return "auth"
    if rest.startswith("red-confirmations") or (method == "POST" and rest.endswith("/red")):
        return "red"
    if rest.startswith("verify"):
        return "verify"
    if rest.startswith(("quota", "number-segments")):
        return "quota"
    if method == "POST" and rest.startswith("invoices"):
        return "issue"
    return "query"


@dataclass
class FamilyGate:
    """Slots, waiters and counters of one family."""

    config: FamilyCapacity
    in_service: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    shed: int = 0
    rate_limited: int = 0
    served: int = 0

    @property
    def waiting(self) -> int:
        return len(self.waiters)

    @property
    def saturated(self) -> bool:
        limit = self.config.concurrency
        return limit is not None and self.in_service >= limit

    async def acquire(self) -> bool:
        """Take a slot, waiting if the policy allows; False means shed."""
        limit = self.config.concurrency
        if limit is None or (self.in_service < limit and not self.waiters):
            self.in_service += 1
            return True
        if self.config.policy == "shed" or self.waiting >= self.config.queue:
            self.shed += 1
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter  # release() hands its slot over, so in_service stays counted
        except BaseException:
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self.release()
            raise
        return True

    def release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the next waiter
                return
        self.in_service -= 1

    def service_time_s(self, rng: random.Random) -> float:
        base = sample_ms(self.config.service_time, rng) / 1000.0
        if self.config.policy != "collapse" or not self.config.concurrency:
            return base
        overload = self.waiting / self.config.concurrency
        return base * (1.0 + self.config.collapse_factor * overload * overload)


class FixedWindowLimiter:
    """Requests per client per family in fixed one-minute windows."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, Family], tuple[int, int]] = {}

    def check(self, key: str, family: Family, limit: int) -> tuple[bool, int, int]:
        """(allowed, remaining, seconds until the window resets)."""
        now = self._clock()
        window = int(now // 60)
        seen_window, count = self._counts.get((key, family), (window, 0))
        if seen_window != window:
            count = 0
            if len(self._counts) > 100_000:
                self._counts.clear()
        reset = max(1, int((window + 1) * 60 - now))
        if count >= limit:
            return False, 0, reset
        self._counts[(key, family)] = (window, count + 1)
        return True, limit - count - 1, reset


class CapacityModel:
    """Every family's gate, changeable at runtime."""

    def __init__(
        self, config: dict[Family, FamilyCapacity], seed: int = 0, clock: Callable[[], float] = time.time
    ) -> None:
        self.gates: dict[Family, FamilyGate] = {name: FamilyGate(cfg) for name, cfg in config.items()}
        self.limiter = FixedWindowLimiter(clock)  # windows are the platform clock's minutes
        self.rng = random.Random(seed)

    def configure(self, family: Family, config: FamilyCapacity) -> None:
        self.gates[family].config = config

    def limit(self, key: str, family: Family) -> tuple[ApiError | None, dict[str, str]]:
        """The family's rate limit for ``key``: (the 429 to answer, or None) and the X-RateLimit-* headers."""
        gate = self.gates[family]
        per_min = gate.config.rate_per_min
        if per_min is None:
            return None, {}
        allowed, remaining, reset = self.limiter.check(key, family, per_min)
        headers = {
            "X-RateLimit-Limit": str(per_min),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }
        if allowed:
            return None, headers
        gate.rate_limited += 1
        return ApiError(ErrorCode.RATE_LIMITED, f"{per_min}/min for {family}", retry_after_s=reset), headers

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "inService": gate.in_service,
                "waiting": gate.waiting,
                "served": gate.served,
                "shed": gate.shed,
                "rateLimited": gate.rate_limited,
                "config": gate.config.model_dump(mode="json"),
            }
            for name, gate in self.gates.items()
        }


KeyOf = Callable[[str], str]  # the rate-limit key of an Authorization header: client credential × taxpayer


def _authorization(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return str(value.decode(errors="replace"))
    return ""


class CapacityMiddleware:
    """Applies the capacity model in front of the API (before any handler work). Rate limits count per client
    credential × taxpayer (``key_of`` resolves a token to them), so a fresh token does not reset them; token
    fetches are limited by their handler, which reads the credential from the body."""

    def __init__(self, app: ASGIApp, model: CapacityModel, key_of: KeyOf) -> None:
        self.app = app
        self.model = model
        self.key_of = key_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        family = family_of(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if family is None:
            await self.app(scope, receive, send)
            return
        gate = self.model.gates[family]
        config = gate.config
        extra: dict[str, str] = {}
        if config.rate_per_min is not None and family != "auth":
            limited, extra = self.model.limit(self.key_of(_authorization(scope)), family)
            if limited is not None:
                await reject(send, limited, extra)
                return
        if not await gate.acquire():
            busy = ApiError(ErrorCode.BUSY, f"{family} is at capacity", retry_after_s=config.retry_after_s)
            await reject(send, busy, extra)
            return
        try:
            delay = gate.service_time_s(self.model.rng)
            if delay > 0:
                await asyncio.sleep(delay)
            if extra:
                response_headers(scope).extend((k.lower().encode(), v.encode()) for k, v in extra.items())
            await self.app(scope, receive, send)
            gate.served += 1
        finally:
            gate.release()
