"""The ``resilient`` reference client: what DOMAIN.md §D recommends, on tenacity and pybreaker.

- the serial is persisted with the order before the first send (outbox), never re-minted;
- after an unknown outcome (timeout, reset, 5xx) it queries by serial before resubmitting the same serial;
- exponential backoff with full jitter, honouring ``Retry-After``; validation errors are never retried;
- a circuit breaker on the issue feature; while it is open, orders are accepted as ``queued``;
- the outbox is drained later at a bounded, jittered rate.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pybreaker
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_random_exponential

from clients.orders import Order
from clients.outbox import Outbox, OutboxEntry
from clients.protocol import ClientConfig, Outcome
from clients.transport import InvoiceAnswer, PlatformHTTP, RejectedError, TransientError


@dataclass(frozen=True)
class ResilientOptions:
    """Tunables; defaults follow DOMAIN.md §D scaled to a test run."""

    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    issue_budget_s: float = 8.0
    max_attempts: int = 4
    backoff_base_s: float = 0.2
    backoff_max_s: float = 2.0
    breaker_fail_max: int = 5
    breaker_reset_s: float = 5.0
    drain_rate_per_s: float = 5.0

    @classmethod
    def from_mapping(cls, options: dict[str, Any]) -> ResilientOptions:
        unknown = set(options) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"unknown resilient client options {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**options)


class _WaitJitterOrRetryAfter:
    """Full-jitter exponential backoff, unless the platform said how long to wait."""

    def __init__(self, base_s: float, max_s: float) -> None:
        self._jitter = wait_random_exponential(multiplier=base_s, max=max_s)
        self._max_s = max_s

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            return min(error.retry_after_s + random.uniform(0, 0.1), self._max_s * 4)
        return float(self._jitter(state))


class ResilientClient:
    """One seller's resilient integration: outbox + retries + breaker over :class:`PlatformHTTP`."""

    def __init__(
        self,
        config: ClientConfig,
        options: ResilientOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.options = options or ResilientOptions()
        self._sleep = sleep
        self._http = PlatformHTTP(config.base_url, self.options.connect_timeout_s, self.options.read_timeout_s)
        self._outbox = Outbox(config.state_dir / f"outbox-{config.seller_tax_id}.sqlite3")
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=self.options.breaker_fail_max,
            reset_timeout=self.options.breaker_reset_s,
            exclude=[RejectedError],
            name="issue",
        )

    def issue(self, order: Order) -> Outcome:
        entry = self._outbox.record(order)  # persisted before the first send
        if entry.state != "pending":
            return self._settled(entry)
        if self._breaker.current_state == pybreaker.STATE_OPEN:
            return Outcome("queued", order.order_ref, attempts=0, error="circuit open: queued offline")
        return self._process(entry, budget_s=self.options.issue_budget_s)

    def backlog(self) -> int:
        return self._outbox.count_pending()

    def drain(self, budget_s: float) -> list[Outcome]:
        deadline = time.monotonic() + budget_s
        outcomes: list[Outcome] = []
        while time.monotonic() < deadline:
            batch = self._outbox.pending(limit=20)
            if not batch:
                break
            for entry in batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._breaker.current_state == pybreaker.STATE_OPEN:
                    return outcomes
                outcome = self._process(entry, budget_s=min(remaining, self.options.issue_budget_s))
                if outcome.status != "queued":
                    outcomes.append(outcome)
                # bounded, jittered pace so a recovering platform is not flattened by our backlog
                self._sleep(random.uniform(0, 2.0 / self.options.drain_rate_per_s))
            if self._outbox.count_pending() and self._breaker.current_state == pybreaker.STATE_OPEN:
                break
        return outcomes

    def close(self) -> None:
        self._http.close()
        self._outbox.close()

    def _process(self, entry: OutboxEntry, budget_s: float) -> Outcome:
        attempts = 0
        unknown = entry.attempts > 0  # an earlier session may have sent it already

        def attempt() -> InvoiceAnswer:
            nonlocal attempts, unknown
            attempts += 1
            self._outbox.count_attempt(entry.order_ref)
            try:
                result: InvoiceAnswer = self._breaker.call(self._send_once, entry, unknown)
                return result
            except TransientError as exc:
                unknown = unknown or exc.unknown_outcome
                raise

        retrying = Retrying(
            stop=stop_after_attempt(self.options.max_attempts) | stop_after_delay(budget_s),
            wait=_WaitJitterOrRetryAfter(self.options.backoff_base_s, self.options.backoff_max_s),
            retry=retry_if_exception_type(TransientError),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            answer = retrying(attempt)
        except RejectedError as exc:
            self._outbox.settle(entry.order_ref, "rejected", None, str(exc))
            return Outcome("rejected", entry.order_ref, attempts=attempts, error=str(exc))
        except (TransientError, pybreaker.CircuitBreakerError) as exc:
            return Outcome("queued", entry.order_ref, attempts=attempts, error=f"queued offline: {exc}")
        return self._accept(entry, answer, attempts)

    def _send_once(self, entry: OutboxEntry, unknown: bool) -> InvoiceAnswer:
        if unknown:  # never resubmit blindly: the last try may have been committed
            found = self._http.lookup(self.config.seller_tax_id, entry.serial)
            if found is not None:
                return found
        return self._http.submit(entry.payload)

    def _accept(self, entry: OutboxEntry, answer: InvoiceAnswer, attempts: int) -> Outcome:
        expected = Decimal(entry.payload["totals"]["totalWithTax"])
        if Decimal(answer.total_with_tax) != expected:
            error = f"platform total {answer.total_with_tax} != order total {expected}"
            self._outbox.settle(entry.order_ref, "mismatch", answer.invoice_no, error)
            return Outcome("failed", entry.order_ref, answer.invoice_no, attempts, error)
        self._outbox.settle(entry.order_ref, "issued", answer.invoice_no)
        return Outcome("issued", entry.order_ref, answer.invoice_no, attempts)

    @staticmethod
    def _settled(entry: OutboxEntry) -> Outcome:
        status = {"issued": "issued", "rejected": "rejected", "mismatch": "failed"}[entry.state]
        return Outcome(status, entry.order_ref, entry.invoice_no, attempts=0)  # type: ignore[arg-type]


def create_client(config: ClientConfig) -> ResilientClient:
    """Factory for ``--client resilient``."""
    return ResilientClient(config, ResilientOptions.from_mapping(config.options))
