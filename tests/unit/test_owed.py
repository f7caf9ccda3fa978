"""The harness's own count of orders still owed, and its comparison with the client's backlog()."""

from __future__ import annotations

from taxstorm.loadtests.records import OperationRecord, Recorder
from taxstorm.owed import OwedInvoices, backlog_check


def record(ref: str, outcome: str, operation: str = "issue") -> OperationRecord:
    return OperationRecord(0.0, 0.1, operation, outcome, ref, 1)  # type: ignore[arg-type]


def test_an_order_told_queued_is_owed_until_the_ledger_has_it_or_a_later_answer_settles_it() -> None:
    recorder = Recorder()
    ledger: set[str] = set()
    owed = OwedInvoices(recorder, lambda refs: ledger & set(refs), lambda: {"u"})
    for ref, outcome in [("a", "queued"), ("b", "queued"), ("c", "issued"), ("u", "issued")]:
        recorder.add(record(ref, outcome))
    assert owed.refresh() == 3  # a, b, and u's upload to repeat
    ledger.add("a")
    recorder.add(record("b", "rejected", "drain"))
    assert owed.refresh() == 1 and owed.owed() == {"u"}


def test_a_failed_look_up_keeps_the_count_and_is_counted() -> None:
    recorder = Recorder()
    recorder.add(record("a", "queued"))

    def down(refs: list[str]) -> set[str]:
        raise ConnectionError("platform down")

    owed = OwedInvoices(recorder, down)
    assert owed.refresh() == 1 and owed.lookup_errors == 1


def test_the_check_names_the_direction_of_a_disagreement_and_the_last_drain() -> None:
    assert backlog_check(2, 2, drained=True)["agrees"]
    dropped = backlog_check(3, 0, drained=True)
    assert not dropped["agrees"] and "a dropped queue" in dropped["message"]
    assert backlog_check(3, 0, drained=False) == {
        "owed": 3,
        "client": 0,
        "agrees": True,
        "message": "no drain: not compared",
    }
    settled = backlog_check(0, 0, drained=True, settled={"client_before": 4, "took_s": 1.25})
    assert settled["agrees"] and settled["settled"] == {"client_before": 4, "took_s": 1.25}
    assert "it said 4 with nothing owed, and a last drain of 1.2 s" in settled["message"]
    stuck = backlog_check(0, 4, drained=True, settled={"client_before": 4, "took_s": 5.0})
    assert not stuck["agrees"] and stuck["message"].startswith("the client's backlog() says 4, but only 0")
