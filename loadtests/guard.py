"""The client under test, behind a guard: every answer it gives is checked against the protocol.

The load never calls a client directly. Whatever the client does — raise, return a dict or ``None``, invent a
status, answer for another order, or never return — the guard turns it into a defined :class:`Outcome` (a
``failed`` one) plus a :class:`Defect` that the run records and judges. So a broken client fails its run
(exit 1) on the evidence instead of crashing the load or passing silently.

Each call runs in its own greenlet and is waited for at most its budget: ``issue`` and ``issue_batch`` the
run's answer budget (the longest a user waits), ``drain(budget_s)`` its budget plus one answer budget (it
may finish the order it is working on), ``backlog`` and ``close`` a few seconds. A call past its budget is
abandoned, not killed: the user was answered "failed", the client's work goes on in the background.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.lock import Semaphore

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, ClientFactory, InvoiceClient, Outcome
from taxstorm.loadtests.defects import Defect, DefectKind, DefectLog

DEFINED_STATUSES = ("issued", "queued", "rejected", "failed")
BACKLOG_BUDGET_S = 2.0  # backlog() is a count of local state: it has no business taking longer
CLOSE_BUDGET_S = 10.0
METHODS = ("issue", "backlog", "drain", "close")


@dataclass(frozen=True)
class Answer:
    """A defined outcome for one order, and the defect the client committed on the way (if any)."""

    outcome: Outcome
    defect: Defect | None = None


@dataclass
class _Call:
    """One guarded call: what it returned or raised, or nothing yet (still running: abandoned)."""

    greenlet: gevent.Greenlet[Any]
    value: Any = None
    error: BaseException | None = None
    done: bool = False


class GuardedClient:
    """One seller's client under test; every method answers within its budget with a defined result."""

    def __init__(
        self,
        factory: ClientFactory,
        config: ClientConfig,
        answer_budget_s: float,
        clock: Callable[[], float],
        defects: DefectLog,
    ) -> None:
        self.config = config
        self.answer_budget_s = answer_budget_s
        self._clock = clock
        self._defects = defects
        self._orders: set[str] = set()  # the orders handed to this client: drain may only answer for these
        self._draining = Semaphore()
        self.client: InvoiceClient | None = None
        self.broken: Defect | None = None
        call = self._run(factory, (config,), answer_budget_s)
        if not call.done:
            self.broken = Defect(
                "create", "create", "timeout", f"the factory did not return within {answer_budget_s:g} s"
            )
        elif call.error is not None:
            self.broken = Defect.from_exception("create", call.error, "create")
        else:
            missing = [m for m in METHODS if not callable(getattr(call.value, m, None))]
            if missing:
                kind = type(call.value).__name__
                self.broken = Defect("create", "create", kind, f"the factory returned a {kind} without {missing}")
            else:
                self.client = call.value
        if self.broken is not None:
            self._note(self.broken)

    @property
    def draining(self) -> bool:
        """A drain of this client is in progress."""
        return bool(self._draining.locked())

    @property
    def batches(self) -> bool:
        """Whether the client issues ERP batches itself (``issue_batch``)."""
        return callable(getattr(self.client, "issue_batch", None))

    def issue(self, order: Order) -> Answer:
        self._orders.add(order.order_ref)
        if self.client is None:
            return self._unbuilt(order.order_ref)
        call = self._run(self.client.issue, (order,), self.answer_budget_s)
        if not call.done:
            return self._abandoned("issue", order.order_ref, self.answer_budget_s)
        if call.error is not None:
            return self._failed(order.order_ref, Defect.from_exception("issue", call.error))
        return self._checked("issue", call.value, order.order_ref)

    def issue_batch(self, orders: Sequence[Order]) -> list[Answer]:
        """The batch through ``issue_batch``: one defined answer per order, matched by order ref."""
        refs = [o.order_ref for o in orders]
        self._orders.update(refs)
        if self.client is None:
            return [self._unbuilt(ref) for ref in refs]
        call = self._run(getattr(self.client, "issue_batch"), (list(orders),), self.answer_budget_s)  # noqa: B009
        if not call.done:
            return [self._abandoned("issue_batch", ref, self.answer_budget_s) for ref in refs]
        if call.error is not None:
            defect = Defect.from_exception("issue_batch", call.error)
            return [self._failed(ref, defect) for ref in refs]
        if not isinstance(call.value, list | tuple):
            defect = self._wrong_type("issue_batch", call.value, "a list of Outcome, one per order")
            return [self._failed(ref, defect) for ref in refs]
        wanted = set(refs)
        by_ref: dict[str, Answer] = {}
        for value in call.value:
            ref = getattr(value, "order_ref", None)
            if isinstance(ref, str) and ref in wanted and ref not in by_ref:
                by_ref[ref] = self._checked("issue_batch", value, ref)
            else:
                self._note(self._bad("issue_batch", "wrong_order", value, f"an outcome for {ref!r}, not in the batch"))
        missing = Defect("issue_batch", "bad_return", "list", "no outcome for this order of the batch")
        return [by_ref.get(ref) or self._failed(ref, missing) for ref in refs]

    def backlog(self) -> int | None:
        """The client's own count of its backlog, or None when it cannot tell (a defect, or no client)."""
        if self.client is None:
            return None
        call = self._run(self.client.backlog, (), BACKLOG_BUDGET_S)
        if not call.done:
            self._note(
                Defect("backlog", "no_answer", "timeout", f"backlog() did not return within {BACKLOG_BUDGET_S:g} s")
            )
            return None
        if call.error is not None:
            self._note(Defect.from_exception("backlog", call.error))
            return None
        if isinstance(call.value, bool) or not isinstance(call.value, int) or call.value < 0:
            self._note(self._wrong_type("backlog", call.value, "an int >= 0"))
            return None
        return int(call.value)

    def drain(self, budget_s: float, on_late: Callable[[list[Answer]], None] | None = None) -> list[Answer]:
        """What ``drain(budget_s)`` settled; a drain still running after its budget plus one answer budget is
        abandoned, and what it settles later goes to ``on_late``. Never two drains of one client at once."""
        if self.client is None:
            return []
        with self._draining:
            return self._drain(self.client, budget_s, on_late)

    def _drain(
        self, client: InvoiceClient, budget_s: float, on_late: Callable[[list[Answer]], None] | None
    ) -> list[Answer]:
        limit_s = budget_s + self.answer_budget_s
        call = self._run(client.drain, (budget_s,), limit_s)
        if call.done:
            return self._drained(call)
        self._note(
            Defect("drain", "no_answer", "timeout", f"drain(budget_s={budget_s:g}) still running after {limit_s:g} s")
        )
        if on_late is not None:
            call.greenlet.link(lambda _: on_late(self._drained(call)) if call.done else None)
        return []

    def close(self) -> None:
        if self.client is None:
            return
        call = self._run(self.client.close, (), CLOSE_BUDGET_S)
        if not call.done:
            self._note(Defect("close", "no_answer", "timeout", f"close() did not return within {CLOSE_BUDGET_S:g} s"))
        elif call.error is not None:
            self._note(Defect.from_exception("close", call.error))

    def _drained(self, call: _Call) -> list[Answer]:
        if call.error is not None:
            self._note(Defect.from_exception("drain", call.error))
            return []
        if not isinstance(call.value, list | tuple):
            self._note(self._wrong_type("drain", call.value, "a list of Outcome"))
            return []
        answers = []
        for value in call.value:
            ref = getattr(value, "order_ref", None)
            if isinstance(ref, str) and ref in self._orders:
                answers.append(self._checked("drain", value, ref))
            else:
                self._note(
                    self._bad("drain", "wrong_order", value, f"an outcome for {ref!r}, never handed to this client")
                )
        return answers

    def _checked(self, method: str, value: Any, order_ref: str) -> Answer:
        """``value`` as a defined outcome for ``order_ref``, or a failed one with the defect."""
        if not isinstance(value, Outcome):
            return self._failed(order_ref, self._wrong_type(method, value, "taxstorm.clients.protocol.Outcome"))
        if value.order_ref != order_ref:
            return self._failed(
                order_ref,
                self._bad(method, "wrong_order", value, f"asked about {order_ref!r}, answered for {value.order_ref!r}"),
            )
        if value.status not in DEFINED_STATUSES:
            message = f"status {value.status!r} is not one of {', '.join(DEFINED_STATUSES)}"
            return self._failed(order_ref, Defect(method, "unknown_status", str(value.status), message))
        if value.invoice_no is not None and not isinstance(value.invoice_no, str):
            return self._failed(
                order_ref, self._bad(method, "bad_return", value.invoice_no, "invoice_no must be a str or None")
            )
        return Answer(value)

    def _failed(self, order_ref: str, defect: Defect) -> Answer:
        self._note(defect)
        return Answer(Outcome("failed", order_ref, error=f"client defect: {defect.summary()}"), defect)

    def _unbuilt(self, order_ref: str) -> Answer:
        assert self.broken is not None
        error = f"client defect: no client (the factory failed: {self.broken.type}: {self.broken.message})"
        return Answer(Outcome("failed", order_ref, attempts=0, error=error), self.broken)

    def _abandoned(self, method: str, order_ref: str, budget_s: float) -> Answer:
        defect = Defect(method, "no_answer", "timeout", f"no answer within {budget_s:g} s: the user gave up waiting")
        return self._failed(order_ref, defect)

    def _note(self, defect: Defect) -> None:
        self._defects.add(defect, self._clock())

    @staticmethod
    def _wrong_type(method: str, value: Any, wanted: str) -> Defect:
        return Defect(
            method, "bad_return", type(value).__name__, f"{method}() returned {value!r:.120}; expected {wanted}"
        )

    @staticmethod
    def _bad(method: str, kind: DefectKind, value: Any, message: str) -> Defect:
        return Defect(method, kind, type(value).__name__, message)

    @staticmethod
    def _run(function: Callable[..., Any], args: tuple[Any, ...], budget_s: float) -> _Call:
        """Call ``function`` in its own greenlet; wait at most ``budget_s`` (exceptions are caught in there, so
        gevent never prints them as crashes)."""

        def target() -> None:
            try:
                call.value = function(*args)
            except Exception as exc:
                call.error = exc
            call.done = True

        call = _Call(gevent.spawn(target))
        call.greenlet.join(timeout=budget_s)
        return call
