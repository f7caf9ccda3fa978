"""Reconciliation on hand-built claims and ledgers: every finding has a case that must produce it and, next to
it, the nearest honest story that must not (so no finding can pass or fail vacuously)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from taxstorm.gates import IntegrityGateSpec, Snapshot, evaluate
from taxstorm.loadtests.records import OperationRecord
from taxstorm.reconcile import FINDINGS, reconcile

TOTAL = Decimal("11.30")


def claim(
    ref: str, outcome: str = "issued", inv: str | None = "N1", at: float = 1.0, op: str = "issue"
) -> OperationRecord:
    return OperationRecord(at, at + 0.01, op, outcome, ref, 1, inv)  # type: ignore[arg-type]


def blue(ref: str, number: str | None, total: str = "11.30", status: str = "ISSUED") -> dict[str, Any]:
    shown = number if status == "ISSUED" else None
    return {
        "orderRef": ref,
        "kind": "blue",
        "invoiceNo": shown,
        "status": status,
        "finalStatus": status,
        "totals": {"totalWithTax": total},
    }


def red(ref: str, number: str, blue_no: str, total: str = "-11.30") -> dict[str, Any]:
    return {**blue(ref, number, total), "kind": "red", "blueInvoiceNo": blue_no}


@dataclass(frozen=True)
class Story:
    """Claims and a ledger for one order ``A`` (plus whatever else the story needs)."""

    records: list[OperationRecord]
    ledger: list[dict[str, Any]]
    orders: dict[str, Decimal] = field(default_factory=lambda: {"A": TOTAL})


# finding -> (the story that must produce it, the nearest honest story that must not)
CASES: dict[str, tuple[Story, Story]] = {
    "lost": (
        Story([claim("A", inv="N9")], []),  # told issued N9; the ledger has nothing
        Story([claim("A", inv="N1")], [blue("A", "N1")]),
    ),
    "never_issued": (
        Story([claim("A", "queued", None)], []),  # told queued, and the queue was dropped
        Story([claim("A", "queued", None)], [blue("A", "N1")]),  # the promise kept: issued later, no drain claim
    ),
    "duplicates": (
        Story([claim("A", inv="N1")], [blue("A", "N1"), blue("A", "N2")]),
        Story(
            [claim("A", inv="N1")], [blue("A", "N1"), blue("A", None, status="FAILED")]
        ),  # a failed try is no invoice
    ),
    "mismatched": (
        Story([claim("A", inv="N1")], [blue("A", "N1", total="99.99")]),
        Story([claim("A", inv="N1")], [blue("A", "N1")]),
    ),
    "unknown": (
        Story([claim("A", "failed", None)], [blue("A", "N1")]),  # told failed, yet issued: a hand re-issue duplicates
        Story([claim("A", "failed", None)], [blue("A", None, status="FAILED")]),
    ),
    "no_number": (
        Story([claim("A", inv=None)], [blue("A", "N1")]),
        Story([claim("A", "queued", None), claim("A", "issued", "N1", at=5, op="drain")], [blue("A", "N1")]),
    ),
    "no_answer": (
        Story([], []),  # handed to the client, never answered
        Story([claim("A", "rejected", None)], []),  # a business refusal is an answer
    ),
    "not_uploaded": (
        Story([claim("A", inv="N1")], [{**blue("A", "N1"), "uploadState": "FAILED"}]),
        Story([claim("A", inv="N1")], [{**blue("A", "N1"), "uploadState": "UPLOADING"}]),  # on its way: fine
    ),
    "contradicted": (
        Story([claim("A", inv="N1"), claim("A", "not_found", "N1", at=3, op="verify")], [blue("A", "N1")]),
        Story([claim("A", inv="N1"), claim("A", "consistent", "N1", at=3, op="verify")], [blue("A", "N1")]),
    ),
}


def test_every_finding_has_a_failing_and_a_passing_case() -> None:
    assert sorted(CASES) == sorted(FINDINGS)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_story_produces_its_finding_and_fails_integrity(kind: str) -> None:
    story = CASES[kind][0]
    result = reconcile(story.orders, story.records, story.ledger)
    found = {k for k, items in result.findings().items() if items}
    assert found == {kind}, f"expected only {kind}, found {found}"
    gate = evaluate([IntegrityGateSpec()], Snapshot([], result))[0]
    assert not gate.passed and gate.observed == 1 and kind.replace("_", " ") in gate.message


@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_honest_neighbour_passes_integrity(kind: str) -> None:
    story = CASES[kind][1]
    result = reconcile(story.orders, story.records, story.ledger)
    assert result.total_findings() == 0, result.findings()
    assert evaluate([IntegrityGateSpec()], Snapshot([], result))[0].passed


def test_an_issued_claim_must_name_this_orders_live_invoice() -> None:
    orders = {"A": TOTAL, "B": TOTAL}
    # A's user holds B's number (a number shared across concurrent calls); A has its own invoice N1
    wrong = reconcile(orders, [claim("A", inv="N2"), claim("B", inv="N2")], [blue("A", "N1"), blue("B", "N2")])
    assert [f.order_ref for f in wrong.mismatched] == ["A"] and "belongs to order B" in wrong.mismatched[0].detail
    # a number made up locally, while the order really has N1
    local = reconcile({"A": TOTAL}, [claim("A", inv="LOCAL-1")], [blue("A", "N1")])
    assert "is not in the ledger" in local.mismatched[0].detail
    # a number made up locally, and no invoice at all
    assert reconcile({"A": TOTAL}, [claim("A", inv="LOCAL-1")], []).lost


def test_every_issued_answer_is_final_even_when_a_later_drain_corrects_it() -> None:
    """A number handed to a buyer cannot be taken back: a locally made one, later replaced by the real invoice
    from a drain, is still a wrong number given to a user."""
    told = [claim("A", inv="LOCAL-7"), claim("A", "issued", "N1", at=9, op="drain")]
    result = reconcile({"A": TOTAL}, told, [blue("A", "N1")])
    assert [f.order_ref for f in result.mismatched] == ["A"]
    assert result.mismatched[0].client_invoice_no == "LOCAL-7" and "is not in the ledger" in result.mismatched[0].detail
    numberless = [claim("A", inv=None), claim("A", "issued", "N1", at=9, op="drain")]
    assert reconcile({"A": TOTAL}, numberless, [blue("A", "N1")]).no_number


def test_a_reversal_nobody_asked_for_loses_the_invoice_a_return_does_not() -> None:
    ledger = [blue("A", "N1"), red("A-R", "R1", "N1")]
    unasked = reconcile({"A": TOTAL}, [claim("A", inv="N1")], ledger)
    assert [f.order_ref for f in unasked.lost] == ["A"] and "nobody in the run asked for" in unasked.lost[0].detail
    returned = reconcile({"A": TOTAL}, [claim("A", inv="N1"), claim("A-R", "issued", "R1", at=4, op="red")], ledger)
    assert returned.total_findings() == 0 and returned.returned == 1


def test_a_duplicate_corrected_with_a_red_invoice_is_not_a_duplicate() -> None:
    ledger = [blue("A", "N1"), blue("A", "N2"), red("A", "R2", "N2")]
    assert reconcile({"A": TOTAL}, [claim("A", inv="N1")], ledger).total_findings() == 0
    partly = [blue("A", "N1"), blue("A", "N2"), red("A", "R2", "N2", total="-5.00")]  # still live in part
    assert reconcile({"A": TOTAL}, [claim("A", inv="N1")], partly).duplicates


def test_the_last_claim_counts_and_the_ledger_is_judged_on_final_outcomes() -> None:
    # queued at first, issued by a drain later: judged on the drain's claim
    records = [claim("A", "queued", None), claim("A", "issued", "N1", at=9, op="drain")]
    assert reconcile({"A": TOTAL}, records, [blue("A", "N1")]).total_findings() == 0
    # a row still PROCESSING at the export that will be ISSUED keeps a "queued" promise
    processing = {**blue("A", "N1"), "status": "PROCESSING"}
    assert reconcile({"A": TOTAL}, [claim("A", "queued", None)], [processing]).total_findings() == 0


def test_orders_outside_the_run_and_counts() -> None:
    records = [claim("A", inv="N1"), claim("B", "queued", None), claim("C", "rejected", None)]
    ledger = [blue("A", "N1"), blue("B", "N2"), blue("someone-else", "N8")]
    result = reconcile({"A": TOTAL, "B": TOTAL, "C": TOTAL}, records, ledger)
    assert result.total_findings() == 0
    assert result.claims == {"issued": 1, "queued": 1, "rejected": 1}
    assert result.orders == 3 and result.ledger_invoices == 2
