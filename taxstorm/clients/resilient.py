"""The ``resilient`` reference client: what DOMAIN.md §D recommends, on tenacity, a circuit breaker and a pooled HTTP
stack.

- the serial is persisted with the order before the first send (outbox) and reused for every retry;
- after an unknown outcome (timeout, reset, 5xx, 504) it queries by serial before resubmitting the same serial;
- an accepted request (202 PROCESSING) is polled by serial until it is ISSUED or FAILED;
- exponential backoff with full jitter, honouring ``Retry-After``; business errors are never retried;
- one shared token with single-flight refresh, one retry on 401;
- a circuit breaker on the issue feature; while it is open orders are accepted as ``queued``;
- the outbox is drained later at a bounded, jittered rate.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_random_exponential

from taxstorm.clients.breaker import CircuitBreaker, CircuitOpenError
from taxstorm.clients.http_stack import StackKind
from taxstorm.clients.irp_transport import IrpHTTP
from taxstorm.clients.nuonuo_transport import NuonuoHTTP
from taxstorm.clients.orders import Order
from taxstorm.clients.outbox import EntryState, Outbox, OutboxEntry
from taxstorm.clients.platform_status import PlatformStatus
from taxstorm.clients.protocol import ClientConfig, Outcome, parse_options
from taxstorm.clients.transport import (
    ACCOUNT_CODES,
    AccountNotReady,
    InvoiceAnswer,
    PlatformHTTP,
    RejectedError,
    TransientError,
    answer_from,
    transient_code,
)

ACCOUNT_RECHECK_S = 3.0  # after E4001–E4004, orders wait this long before the account is tried again
DRAIN_BATCH = 50  # outbox entries per batch request of a drain (the platform takes up to 100)


class StillProcessing(TransientError):
    """The platform accepted the request and is still working on it: ask again shortly."""

    def __init__(self, retry_after_s: float | None) -> None:
        super().__init__("PROCESSING", unknown_outcome=True, retry_after_s=retry_after_s)


@dataclass(frozen=True)
class ResilientOptions:
    """Tunables; defaults follow DOMAIN.md §D scaled to a test run."""

    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    issue_budget_s: float = 8.0
    max_attempts: int = 4
    backoff_base_s: float = 0.2
    backoff_max_s: float = 2.0
    poll_base_s: float = 0.05
    poll_max_s: float = 1.0
    breaker_fail_max: int = 5
    breaker_reset_s: float = 5.0
    drain_rate_per_s: float = 5.0
    keep_alive: bool = True
    status_refresh_s: float = 2.0
    secondary_url: str | None = None  # a second platform URL sharing tokens and ledger (NIC1/NIC2)
    failback_s: float = 30.0  # how long to stay on the secondary before trying the primary again
    http_stack: StackKind = "auto"  # auto: geventhttpclient inside Locust (gevent-patched), httpx elsewhere
    max_connections: int = 50  # keep-alive connections per platform URL


class _Wait:
    """While PROCESSING, ask again when the platform's Retry-After says (one look-up, mostly); otherwise full-jitter
    backoff unless the platform said how long."""

    def __init__(self, options: ResilientOptions) -> None:
        self._backoff = wait_random_exponential(multiplier=options.backoff_base_s, max=options.backoff_max_s)
        self._poll = wait_random_exponential(multiplier=options.poll_base_s, max=options.poll_max_s)
        self._cap_s = options.backoff_max_s * 4
        self._read_s = options.read_timeout_s

    def __call__(self, state: RetryCallState) -> float:
        """The wait before the next try; a try that could not end within the call's budget is not made."""
        wait = self._wanted(state)
        call: _Call = state.args[0]
        if time.monotonic() + wait + self._read_s > call.deadline:
            call.out_of_time = True  # tenacity asks the stop after the wait: the order is queued now, not later
        return wait

    def _wanted(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, StillProcessing):
            if error.retry_after_s is not None:
                return min(error.retry_after_s + random.uniform(0, 0.1), self._cap_s)
            return float(self._poll(state))
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            return min(error.retry_after_s + random.uniform(0, 0.1), self._cap_s)
        return float(self._backoff(state))


@dataclass
class _Call:
    """One order's way through the retry loop: the entry (its serial may rotate) and what happened so far."""

    current: OutboxEntry
    budget_s: float
    unknown: bool
    deadline: float = float("inf")  # time.monotonic() by which the call answers
    attempts: int = 0
    failures: int = 0
    out_of_time: bool = False  # the next try could not end before the deadline


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
        self._http = make_wire(config, self.options)  # only the wire differs per dialect
        self._outbox = Outbox(config.state_dir / "outbox.sqlite3", config.seller_tax_id)
        self._breaker = CircuitBreaker(
            fail_max=self.options.breaker_fail_max,
            reset_timeout_s=self.options.breaker_reset_s,
            exclude=[RejectedError, StillProcessing, AccountNotReady],
        )
        self._next_batch_at = float("-inf")  # the drain's pace: no batch of the outbox before this
        self._carried = DRAIN_BATCH  # orders the last batch carried (the pace counts those)
        self._in_flight: set[str] = set()  # orders an issue() or a drain is working on: nobody else touches them
        self._account_held: tuple[float, str] | None = None  # (until, why): the seller's account is not ready
        self._claims = threading.Lock()
        self._status = PlatformStatus(self._http.public, self.options.status_refresh_s)
        # one Retrying per client (its state is per greenlet/thread); per-call limits travel in a _Call
        self._retrying = Retrying(
            stop=self._stop,
            wait=_Wait(self.options),
            retry=retry_if_exception_type(TransientError),
            sleep=self._sleep,
            reraise=True,
        )

    def issue(self, order: Order) -> Outcome:
        hold = self._hold_reason()  # decided first, so that a sent order is stored as sent in one write
        entry, fresh = self._outbox.record(order, sending=hold is None)  # persisted before the first send
        if entry.state != "pending":
            return self._settled(entry)
        if hold is not None:
            return Outcome("queued", order.order_ref, attempts=0, error=hold)
        if not self._claim(order.order_ref):  # the same order is being worked on right now (a drain)
            return Outcome("queued", order.order_ref, attempts=0, error="already in progress")
        try:
            # a known entry may have been sent before (maybe by another session): never resubmit it blindly
            unknown = not fresh and entry.attempts > 0
            return self._process(entry, self.options.issue_budget_s, unknown, self._answer_grace_s())
        finally:
            self._in_flight.discard(order.order_ref)

    def _answer_grace_s(self) -> float:
        """How long after its retry budget a user's call may still end: a try started within the budget may take
        its read timeout, as far as nine tenths of the user's answer budget allow."""
        room = 0.9 * self.config.answer_budget_s - self.options.issue_budget_s
        return max(0.0, min(self.options.read_timeout_s, room))

    def _hold_reason(self) -> str | None:
        """Why new orders go to the outbox without a try, or None to send them now."""
        if self._breaker.open_now():
            return "circuit open: queued offline"
        held = self._account_held
        if held is not None and time.monotonic() < held[0]:
            return f"queued until the seller's account is ready: {held[1]}"
        closed = self._status.closed("issue")
        if closed is not None:  # do not send into a maintenance window: queue and drain afterwards
            return f"queued offline: {closed}"
        return None

    def issue_batch(self, orders: Sequence[Order]) -> list[Outcome]:
        """An ERP batch through the batch endpoint: every order stored first, one POST, per-item outcomes.

        Items the platform is still processing are followed through the batch status; items whose outcome is
        unknown (the POST timed out, a platform error) are looked up by serial; whatever the budget leaves
        open stays in the outbox as ``queued``.
        """
        deadline = time.monotonic() + self.options.issue_budget_s
        hold = self._hold_reason()
        outcomes: dict[str, Outcome] = {}
        unknown: list[OutboxEntry] = []
        to_send: list[OutboxEntry] = []
        for order in orders:
            entry, fresh = self._outbox.record(order, sending=hold is None)
            if entry.state != "pending":
                outcomes[entry.order_ref] = self._settled(entry)
            elif hold is not None:
                outcomes[entry.order_ref] = Outcome("queued", entry.order_ref, attempts=0, error=hold)
            else:
                (to_send if fresh or entry.attempts == 0 else unknown).append(entry)
        self._in_flight.update(e.order_ref for e in to_send + unknown)
        try:
            unknown += self._send_batch(to_send, outcomes, deadline - self.options.read_timeout_s)
            for entry in unknown:  # one by one, through the same retry loop as a single order
                left = deadline - time.monotonic()
                if left <= 0:
                    outcomes[entry.order_ref] = Outcome(
                        "queued", entry.order_ref, attempts=1, error="batch budget spent"
                    )
                else:
                    outcomes[entry.order_ref] = self._process(entry, left, unknown=True)
        finally:
            self._in_flight.difference_update(o.order_ref for o in orders)
        return [outcomes[o.order_ref] for o in orders]

    def _send_batch(
        self,
        entries: list[OutboxEntry],
        outcomes: dict[str, Outcome],
        last_start: float,
        failed: list[OutboxEntry] | None = None,
    ) -> list[OutboxEntry]:
        """POST the entries as one batch and settle what the platform decided; return the entries left unknown
        (those whose job ended FAILED go to ``failed`` too, when given). The batch is followed by requests that
        start no later than ``last_start``."""
        if not entries:
            return []
        try:
            answer = self._breaker.call(self._http.submit_batch, [e.body for e in entries], last_start)
            self._carried = len(answer.items)
        except RejectedError:  # the whole batch refused (e.g. too many items): go one by one instead
            return entries
        except (TransientError, CircuitOpenError):
            return entries  # the outcome of every item is unknown: look each up by serial before resubmitting
        by_serial = {e.serial: e for e in entries}
        waiting = self._settle_items(answer.items, by_serial, outcomes, failed)
        while waiting:  # follow the batch, not each item
            pause = random.uniform(self.options.poll_base_s, 2 * self.options.poll_base_s)
            if time.monotonic() + pause > last_start:
                break
            self._sleep(pause)
            try:
                answer = self._http.batch(answer.batch_id)
            except (TransientError, RejectedError):
                break
            waiting = self._settle_items(
                [i for i in answer.items if i["requestSerialNo"] in waiting], by_serial, outcomes, failed
            )
        return [by_serial[serial] for serial in waiting]

    def _settle_items(
        self,
        items: list[dict[str, Any]],
        by_serial: dict[str, OutboxEntry],
        outcomes: dict[str, Outcome],
        failed: list[OutboxEntry] | None = None,
    ) -> set[str]:
        """Settle issued, failed and rejected items; return the serials still processing or unknown (a job that
        ended FAILED goes to ``failed`` when given, instead of waiting)."""
        waiting: set[str] = set()
        for item in items:
            entry = by_serial.get(str(item.get("requestSerialNo")))
            if entry is None:
                continue
            invoice = item.get("invoice")
            code = str(item.get("code", ""))
            if item.get("accepted") and invoice and invoice["status"] == "ISSUED" and invoice.get("invoiceNo"):
                outcomes[entry.order_ref] = self._accept(entry, answer_from(invoice), attempts=1)
            elif item.get("accepted") is False and code in ACCOUNT_CODES:  # the order waits in the outbox
                self._account_held = (time.monotonic() + ACCOUNT_RECHECK_S, code)
                error = f"queued until the seller's account is ready: {code}: {item.get('message', '')}"
                outcomes[entry.order_ref] = Outcome("queued", entry.order_ref, attempts=1, error=error)
            elif item.get("accepted") is False and not transient_code(code):
                error = f"{code}: {item.get('message', '')}"
                self._outbox.settle(entry.order_ref, "rejected", None, error)
                outcomes[entry.order_ref] = Outcome("rejected", entry.order_ref, attempts=1, error=error)
            elif failed is not None and invoice and invoice["status"] == "FAILED":
                failed.append(entry)
            else:  # PROCESSING, FAILED (a new serial is needed) or a transient item error
                waiting.add(entry.serial)
        return waiting

    def backlog(self) -> int:
        return self._outbox.count_pending()

    def drain(self, budget_s: float) -> list[Outcome]:
        """Issue the outbox in batches through the batch endpoint, oldest first, under the same serials (a replay
        of an order that was sent before is answered with its original: safe without a look-up first); follow
        each batch to its final statuses; what the budget leaves open stays queued for the next drain."""
        deadline = time.monotonic() + budget_s
        self._upload_again(deadline)  # issued invoices the tax bureau never received
        outcomes: list[Outcome] = []
        while time.monotonic() < deadline and self._hold_reason() is None:  # the same rule as a new order's
            self._pause(self._next_batch_at - time.monotonic(), deadline)
            if time.monotonic() < self._next_batch_at:
                outcomes += self._follow_up(deadline)  # meanwhile, read what earlier batches left in processing
                break  # the pace of the drains allows no batch yet: the next drain sends it
            entries = [e for e in self._outbox.pending(limit=DRAIN_BATCH) if self._claim(e.order_ref)]
            if not entries:
                break
            try:
                settled = self._drain_batch(entries, deadline)
            finally:
                self._in_flight.difference_update(e.order_ref for e in entries)
            outcomes += settled
            if not settled:
                break  # nothing moved (the platform is busy or down): the next drain tries again
            # a bounded, jittered pace (drain_rate_per_s orders a second, over every drain of this client) so that
            # a recovering platform is not flattened by every client's backlog
            carried = min(len(entries), self._carried)  # a dialect without a batch call may carry only some
            pace_s = max(1, carried) / self.options.drain_rate_per_s * random.uniform(0.5, 1.5)
            self._next_batch_at = time.monotonic() + pace_s
        return outcomes

    def _follow_up(self, deadline: float) -> list[Outcome]:
        """Entries already sent whose final status a drain did not see (its budget ended while the platform was
        still processing them), looked up by serial while the pace holds the next batch back: a look-up submits
        nothing, so the pace still bounds what reaches the platform's issuing."""
        settled: list[Outcome] = []
        for entry in self._outbox.pending(limit=DRAIN_BATCH):
            if time.monotonic() >= deadline:  # one look-up may end a read timeout later: within the drain's grace
                break
            if entry.attempts == 0 or not self._claim(entry.order_ref):
                continue
            try:
                found = self._http.lookup(entry.serial, entry.order_ref)
            except (TransientError, RejectedError):
                break  # the platform is struggling: the next drain tries again
            finally:
                self._in_flight.discard(entry.order_ref)
            if found is None or found.status == "PROCESSING":
                continue  # never seen (the next batch sends it) or not decided yet
            if found.status == "FAILED":  # definitely no invoice under that serial: the next batch uses a new one
                self._outbox.rotate_serial(entry)
            elif found.status == "ISSUED" and found.invoice_no:
                settled.append(self._accept(entry, found, 0))
        return settled

    def _drain_batch(self, entries: list[OutboxEntry], deadline: float) -> list[Outcome]:
        """One batch of the outbox: settled outcomes; a FAILED job gets a new serial for the next drain."""
        for entry in entries:
            if entry.attempts == 0:
                self._outbox.count_attempt(entry.order_ref)  # from now on its outcome may be unknown
        found: dict[str, Outcome] = {}
        failed: list[OutboxEntry] = []
        self._send_batch(entries, found, deadline, failed)
        for entry in failed:  # definitely no invoice under that serial: the next try goes under a new one
            self._outbox.rotate_serial(entry)
        return [outcome for outcome in found.values() if outcome.status != "queued"]

    def _upload_again(self, deadline: float) -> None:
        """Upload the issued invoices whose upload FAILED, until the channel refuses or the budget is spent."""
        for entry in self._outbox.to_upload(limit=50):
            if time.monotonic() >= deadline or entry.invoice_no is None:
                return
            try:
                answer = self._http.reupload(entry.invoice_no)
            except (TransientError, RejectedError, AccountNotReady):
                return  # the upload channel is still down: the next drain tries again
            if answer.upload_state != "FAILED":
                self._outbox.settle(entry.order_ref, "issued", entry.invoice_no)
            self._pause(random.uniform(0, 2.0 / self.options.drain_rate_per_s), deadline)

    def _pause(self, seconds: float, deadline: float) -> None:
        """Sleep, but not past the deadline."""
        self._sleep(max(0.0, min(seconds, deadline - time.monotonic())))

    def _claim(self, order_ref: str) -> bool:
        """Mark an order as worked on, unless someone already is (two drains may overlap)."""
        with self._claims:
            if order_ref in self._in_flight:
                return False
            self._in_flight.add(order_ref)
            return True

    def close(self) -> None:
        self._http.close()
        self._outbox.close()

    def _process(self, entry: OutboxEntry, budget_s: float, unknown: bool, grace_s: float = 0.0) -> Outcome:
        """Retry one order for ``budget_s``; every try must be able to end within ``budget_s + grace_s``."""
        deadline = time.monotonic() + budget_s + grace_s
        call = _Call(current=entry, budget_s=budget_s, unknown=unknown, deadline=deadline)
        try:
            answer = self._retrying(self._attempt, call)
        except RejectedError as exc:
            self._outbox.settle(entry.order_ref, "rejected", None, str(exc))
            return Outcome("rejected", entry.order_ref, attempts=call.attempts, error=str(exc))
        except AccountNotReady as exc:  # nothing wrong with the order: wait for the back office, then issue it
            self._account_held = (time.monotonic() + ACCOUNT_RECHECK_S, str(exc))
            error = f"queued until the seller's account is ready: {exc}"
            return Outcome("queued", entry.order_ref, attempts=call.attempts, error=error)
        except (TransientError, CircuitOpenError) as exc:
            return Outcome("queued", entry.order_ref, attempts=call.attempts, error=f"queued offline: {exc}")
        return self._accept(call.current, answer, call.attempts)

    def _attempt(self, call: _Call) -> InvoiceAnswer:
        """One try through the breaker; a FAILED job rotates the serial and counts as a failure."""
        call.attempts += 1
        if call.current.attempts == 0 and call.attempts == 1:  # a queued entry's first try
            self._outbox.count_attempt(call.current.order_ref)  # from now on the outcome may be unknown
        try:
            answer: InvoiceAnswer = self._breaker.call(self._send_once, call.current, call.unknown)
        except StillProcessing:
            call.unknown = True
            raise
        except TransientError as exc:
            call.failures += 1
            call.unknown = call.unknown or exc.unknown_outcome
            raise
        if answer.status == "ISSUED" and not answer.invoice_no:  # the answer broke the API (a bad release?)
            call.unknown = True
            call.failures += 1
            raise TransientError("ISSUED without invoiceNo: the answer does not match the API", unknown_outcome=True)
        if answer.status == "FAILED":  # definitely no invoice under this serial: a new one is safe
            call.current = self._outbox.rotate_serial(call.current)
            call.unknown = False
            call.failures += 1
            raise TransientError(f"platform FAILED the job: {answer.fail_reason}", unknown_outcome=False)
        return answer

    def _stop(self, state: RetryCallState) -> bool:
        call: _Call = state.args[0]
        spent = (state.seconds_since_start or 0.0) >= call.budget_s
        return call.out_of_time or spent or call.failures >= self.options.max_attempts

    def _send_once(self, entry: OutboxEntry, unknown: bool) -> InvoiceAnswer:
        if unknown:  # never resubmit blindly: the last try may have been committed
            found = self._http.lookup(entry.serial, entry.order_ref)
            if found is not None:
                if found.status == "PROCESSING":
                    raise StillProcessing(found.retry_after_s)
                return found
        answer = self._http.submit(entry.body)
        if answer.status == "PROCESSING":
            raise StillProcessing(answer.retry_after_s)
        return answer

    def _accept(self, entry: OutboxEntry, answer: InvoiceAnswer, attempts: int) -> Outcome:
        expected = Decimal(entry.total_with_tax)
        if Decimal(answer.total_with_tax) != expected:
            error = f"platform total {answer.total_with_tax} != order total {expected}"
            self._outbox.settle(entry.order_ref, "mismatch", answer.invoice_no, error)
            return Outcome("failed", entry.order_ref, answer.invoice_no, attempts, error)
        # an invoice whose upload FAILED is issued (its number is real) and still owes an upload: the drain repeats it
        state: EntryState = "upload" if answer.upload_state == "FAILED" else "issued"
        self._outbox.settle(entry.order_ref, state, answer.invoice_no)
        return Outcome("issued", entry.order_ref, answer.invoice_no, attempts)

    @staticmethod
    def _settled(entry: OutboxEntry) -> Outcome:
        status = {"issued": "issued", "upload": "issued", "rejected": "rejected", "mismatch": "failed"}[entry.state]
        return Outcome(status, entry.order_ref, entry.invoice_no, attempts=0)  # type: ignore[arg-type]


def make_wire(config: ClientConfig, options: ResilientOptions) -> PlatformHTTP:
    """The calls to the platform in the run's dialect (ClientConfig.dialect)."""
    args = (
        config.base_url,
        (config.client_id, config.client_secret, config.seller_tax_id),
        options.connect_timeout_s,
        options.read_timeout_s,
        options.keep_alive,
        options.secondary_url,
        options.failback_s,
    )
    kwargs: dict[str, Any] = {
        "stack": options.http_stack,
        "max_connections": options.max_connections,
        "ca_file": config.ca_file,
    }
    if config.dialect == "nuonuo":
        return NuonuoHTTP(*args, **kwargs)
    if config.dialect == "irp":
        return IrpHTTP(*args, dialect_credentials=config.dialect_credentials, **kwargs)
    return PlatformHTTP(*args, **kwargs)


def create_client(config: ClientConfig) -> ResilientClient:
    """Factory for ``client.ref: resilient``: unless its options say otherwise, every ``issue()`` ends (queued if
    need be) within half the answer budget and each HTTP connect (a TLS handshake included) and read waits at most
    two thirds of that."""
    defaults = ResilientOptions()
    deadline_s = min(defaults.issue_budget_s, config.answer_budget_s / 2)
    budgeted: dict[str, object] = {
        "issue_budget_s": deadline_s,
        "read_timeout_s": min(defaults.read_timeout_s, deadline_s / 3 * 2),
        "connect_timeout_s": min(defaults.connect_timeout_s, deadline_s / 3 * 2),
        "secondary_url": config.secondary_url,  # the failover platform of the run, unless the options name one
    }
    return ResilientClient(config, parse_options(ResilientOptions, {**budgeted, **config.options}, "resilient"))
