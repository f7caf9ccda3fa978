"""The guard between the load and the client under test: whatever a client does, the user gets a defined answer
and the run gets the defect with its evidence (no servers; cooperative fakes on gevent)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import pytest

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome
from taxstorm.loadtests.defects import DefectLog
from taxstorm.loadtests.guard import Answer, GuardedClient
from tests.helpers import order

CONFIG = ClientConfig("http://127.0.0.1:1", "91350100M000100Y43", "seller", Path("/nonexistent"))


class Fake:
    """A client whose every method is given by the test."""

    def __init__(self, **methods: Callable[..., Any]) -> None:
        self.issue = methods.get("issue", lambda o: Outcome("issued", o.order_ref, "N1"))
        self.backlog = methods.get("backlog", lambda: 0)
        self.drain = methods.get("drain", lambda budget_s: [])
        self.close = methods.get("close", lambda: None)


def guarded(client: Any = None, budget_s: float = 1.0, factory: Any = None) -> tuple[GuardedClient, DefectLog]:
    log = DefectLog()
    ticks = itertools.count()
    build = factory or (lambda config: client)
    return GuardedClient(build, CONFIG, budget_s, lambda: float(next(ticks)), log), log


def only(answer: Answer) -> tuple[str, str | None]:
    return answer.outcome.status, answer.defect.tag if answer.defect else None


def fail_deep(o: Order) -> Outcome:
    raise ConnectionError("platform said no and I did not catch it")


def test_a_well_behaved_answer_passes_through_untouched() -> None:
    guard, log = guarded(Fake())
    answer = guard.issue(order("A"))
    assert answer == Answer(Outcome("issued", "A", "N1")) and log.total() == 0


@pytest.mark.parametrize(
    ("issue", "tag", "evidence"),
    [
        (fail_deep, "issue:exception", "ConnectionError"),
        (lambda o: {"status": "issued"}, "issue:bad_return", "dict"),
        (lambda o: None, "issue:bad_return", "NoneType"),
        (lambda o: Outcome("done", o.order_ref, "N1"), "issue:unknown_status", "done"),  # type: ignore[arg-type]
        (lambda o: Outcome("issued", "someone-else", "N1"), "issue:wrong_order", "Outcome"),
        (lambda o: Outcome("issued", o.order_ref, 12345), "issue:bad_return", "int"),  # type: ignore[arg-type]
    ],
)
def test_every_broken_answer_is_a_failed_outcome_and_a_recorded_defect(
    issue: Callable[[Order], Any], tag: str, evidence: str
) -> None:
    guard, log = guarded(Fake(issue=issue))
    answer = guard.issue(order("A"))
    assert only(answer) == ("failed", tag) and answer.outcome.order_ref == "A"
    assert answer.outcome.error is not None and answer.outcome.error.startswith("client defect:")
    (row,) = log.rows()
    assert (row.method, row.kind, row.count) == (*tag.split(":"), 1) and row.type == evidence


def test_an_exception_keeps_its_type_message_and_the_frames_where_it_was_raised() -> None:
    guard, log = guarded(Fake(issue=fail_deep))
    guard.issue(order("A"))
    guard.issue(order("B"))
    (row,) = log.rows()
    assert row.count == 2 and row.message == "platform said no and I did not catch it"
    assert any("in fail_deep" in frame and "test_guard.py" in frame for frame in row.frames)
    assert not any("guard.py:" in frame and "loadtests" in frame for frame in row.frames[-1:])


def test_a_call_that_never_returns_is_abandoned_at_the_answer_budget() -> None:
    guard, log = guarded(Fake(issue=lambda o: gevent.sleep(60)), budget_s=0.05)
    with gevent.Timeout(5):
        answer = guard.issue(order("A"))
    assert only(answer) == ("failed", "issue:no_answer") and "user gave up" in (answer.outcome.error or "")
    assert log.rows()[0].kind == "no_answer"


def test_a_factory_that_fails_gives_a_defect_and_failed_answers_never_a_crash() -> None:
    def explode(config: ClientConfig) -> Any:
        raise RuntimeError("missing setting")

    guard, log = guarded(factory=explode)
    assert guard.broken is not None and guard.broken.tag == "create:create"
    assert only(guard.issue(order("A"))) == ("failed", "create:create")
    assert guard.backlog() is None and guard.drain(1.0) == [] and not guard.batches
    guard.close()
    assert [(r.method, r.type, r.count) for r in log.rows()] == [("create", "RuntimeError", 1)]
    half, log = guarded(object())
    assert half.broken is not None and "without ['issue', 'backlog', 'drain', 'close']" in half.broken.message


@pytest.mark.parametrize("value", ["3", -1, True, None, 2.5])
def test_backlog_must_be_a_non_negative_int(value: Any) -> None:
    guard, log = guarded(Fake(backlog=lambda: value))
    assert guard.backlog() is None and log.rows()[0].kind == "bad_return"


def test_backlog_that_raises_or_hangs_is_unknown_not_fatal() -> None:
    def broken() -> int:
        raise KeyError("outbox")

    guard, log = guarded(Fake(backlog=broken))
    assert guard.backlog() is None and log.rows()[0].kind == "exception"
    assert guarded(Fake(backlog=lambda: 4))[0].backlog() == 4


def test_drain_answers_only_for_orders_handed_to_the_client_and_only_defined_ones() -> None:
    def drain(budget_s: float) -> list[Any]:
        return [
            Outcome("issued", "A", "N1"),
            Outcome("issued", "never-given", "N2"),
            Outcome("ok", "B"),  # type: ignore[arg-type]
            "junk",
        ]

    guard, log = guarded(Fake(drain=drain))
    guard.issue(order("A"))
    guard.issue(order("B"))
    answers = guard.drain(1.0)
    assert [only(a) for a in answers] == [("issued", None), ("failed", "drain:unknown_status")]
    assert sorted(r.kind for r in log.rows()) == ["unknown_status", "wrong_order", "wrong_order"]
    guard, log = guarded(Fake(drain=lambda budget_s: None))
    assert guard.drain(1.0) == [] and log.rows()[0].kind == "bad_return"


def test_a_drain_past_its_budget_is_abandoned_and_what_it_settles_later_still_counts() -> None:
    def slow_drain(budget_s: float) -> list[Outcome]:
        gevent.sleep(0.3)
        return [Outcome("issued", "A", "N1")]

    late: list[list[Answer]] = []
    guard, log = guarded(Fake(drain=slow_drain), budget_s=0.05)
    guard.issue(order("A"))
    assert guard.drain(0.05, late.append) == [] and log.rows()[0].kind == "no_answer"
    with gevent.Timeout(5):
        while not late:
            gevent.sleep(0.02)
    assert [only(a) for a in late[0]] == [("issued", None)]


def test_two_drains_of_one_client_never_overlap() -> None:
    running: list[int] = []
    overlapped: list[bool] = []

    def drain(budget_s: float) -> list[Outcome]:
        running.append(1)
        overlapped.append(len(running) > 1)
        gevent.sleep(0.05)
        running.pop()
        return []

    guard, _ = guarded(Fake(drain=drain))
    gevent.joinall([gevent.spawn(guard.drain, 1.0) for _ in range(3)], timeout=5)
    assert overlapped == [False, False, False]


def test_a_batch_gets_one_defined_answer_per_order() -> None:
    def batch(orders: list[Order]) -> list[Any]:
        return [Outcome("issued", orders[1].order_ref, "N2"), Outcome("issued", "stranger", "N9")]

    fake = Fake()
    fake.issue_batch = batch  # type: ignore[attr-defined]
    guard, log = guarded(fake)
    answers = guard.issue_batch([order("A"), order("B")])
    assert guard.batches and [only(a) for a in answers] == [("failed", "issue_batch:bad_return"), ("issued", None)]
    assert sorted(r.kind for r in log.rows()) == ["bad_return", "wrong_order"]


def test_defect_rows_ship_once_and_merge_on_the_master() -> None:
    worker, master = DefectLog(), DefectLog()
    guard = GuardedClient(lambda c: Fake(issue=fail_deep), CONFIG, 1.0, lambda: 5.0, worker)
    guard.issue(order("A"))
    master.merge(worker.unshipped())
    guard.issue(order("B"))
    guard.issue(order("C"))
    master.merge(worker.unshipped())
    assert worker.unshipped() == []
    assert [(r.kind, r.count, r.first_s) for r in master.rows()] == [("exception", 3, 5.0)]
