"""The run's records on disk: what the recorder gives back, and the streaming judge against a plain in-memory one.

The reference functions here are the judge as it was when every record stayed in memory (a list sorted for
each percentile); the streaming judge must agree with them on every count, and on every percentile up to the
digest's 0.1 % (never below the exact value).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.digest import RELATIVE_WIDTH, Digest
from taxstorm.loadtests.records import OperationRecord, Recorder
from taxstorm.reconcile import reconcile
from taxstorm.timeseries import per_second
from taxstorm.windows import DEFINED_OUTCOMES, Window, build_windows, invoice_times, judge_windows, percentile

OUTCOMES = ["issued", "issued", "issued", "queued", "failed", "rejected", "weird"]


def story(seed: int, count: int = 3000, span_s: float = 120.0) -> list[OperationRecord]:
    """Issues, drains after queued answers, verifications and returns, in end order (as a run records them)."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        start = rng.uniform(0, span_s)
        latency = rng.lognormvariate(4.0, 1.0) / 1000.0
        outcome = rng.choice(OUTCOMES)
        ref = f"o-{i:05d}"
        number = None if outcome != "issued" or rng.random() < 0.02 else f"N{i}"
        defect = "issue:no_answer" if rng.random() < 0.01 else ("issue:exception" if rng.random() < 0.01 else None)
        records.append(OperationRecord(start, start + latency, "issue", outcome, ref, 1, number, None, defect))
        if outcome == "queued" and rng.random() < 0.7:
            later = start + latency + rng.uniform(0.5, 30)
            records.append(OperationRecord(later, later + 0.05, "drain", "issued", ref, 1, f"N{i}"))
        if number and rng.random() < 0.05:
            records.append(OperationRecord(start + 2, start + 2.1, "verify", "not_found", ref, 1, number))
        if number and rng.random() < 0.03:
            records.append(OperationRecord(start + 3, start + 3.2, "red", "issued", f"{ref}-R", 1, f"R{i}"))
    return sorted(records, key=lambda r: r.end_s)


def reference_window(window: Window, records: list[OperationRecord], pcts: list[float]) -> dict[str, object]:
    inside = [r for r in records if r.operation == "issue" and window.includes(r.start_s, r.end_s)]
    latencies = sorted(r.latency_ms for r in inside)
    invoiced = invoice_times(records)
    waits = sorted((invoiced[r.order_ref] - r.start_s) * 1000 for r in inside if r.order_ref in invoiced)
    return {
        "operations": len(inside),
        "outcomes": dict(Counter(r.outcome for r in inside)),
        "undefined": sum(
            1 for r in inside if r.outcome not in DEFINED_OUTCOMES or (r.outcome == "issued" and not r.invoice_no)
        ),
        "defects": sum(1 for r in inside if r.defect),
        "abandoned": sum(1 for r in inside if r.defect and r.defect.endswith(":no_answer")),
        "invoiced": len(waits),
        "latency": {f"p{p:g}": percentile(latencies, p) for p in pcts} | {"max": latencies[-1] if latencies else 0},
        "invoice": {f"p{p:g}": percentile(waits, p) for p in pcts} | {"max": waits[-1] if waits else 0},
    }


def close_above(streamed: float, exact: float) -> bool:
    """The digest's promise: never below the exact value (rounded to 3 decimals), at most 0.1 % above it."""
    return round(exact, 3) - 0.001 <= streamed <= exact * (1 + RELATIVE_WIDTH) + 0.001


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_streaming_judge_agrees_with_the_in_memory_one(seed: int) -> None:
    records = story(seed)
    faults = [
        FaultEvent("slow", "latency", {}, 30.0, 60.0, 30.0, 60.0),
        FaultEvent("down", "outage", {}, 80.0, 95.0, 80.0, 95.0),
    ]
    windows = build_windows(faults, 120.0)
    pcts = [50.0, 90.0, 95.0, 99.0, 99.9]
    recorder = Recorder.from_records(records)
    streamed = judge_windows(windows, recorder.issues_with_invoice_time(), pcts)
    assert [s.window for s in streamed] == windows
    for stats in streamed:
        expected = reference_window(stats.window, records, pcts)
        assert stats.operations == expected["operations"]
        assert stats.outcomes == expected["outcomes"]
        assert (stats.undefined, stats.defects, stats.abandoned) == (
            expected["undefined"],
            expected["defects"],
            expected["abandoned"],
        )
        assert stats.invoiced == expected["invoiced"]
        for name, exact in expected["latency"].items():  # type: ignore[attr-defined]
            assert close_above(stats.latency_ms[name], exact), (stats.window.name, name, stats.latency_ms[name], exact)
        for name, exact in expected["invoice"].items():  # type: ignore[attr-defined]
            assert close_above(stats.invoice_ms[name], exact), (stats.window.name, name, stats.invoice_ms[name], exact)


def test_the_per_second_series_from_disk_is_the_in_memory_series() -> None:
    records = story(4)
    recorder = Recorder.from_records(records)
    from_disk = per_second(recorder.stream_by_start("issue"), 120.0)
    at_hand = per_second(sorted(records, key=lambda r: r.start_s), 120.0)
    assert from_disk == at_hand
    issues = [r for r in records if r.operation == "issue"]
    second = 37
    inside = sorted(r.latency_ms for r in issues if int(r.start_s) == second)
    assert from_disk[second].operations == len(inside)
    assert from_disk[second].p95_ms == round(percentile(inside, 95), 3)
    with pytest.raises(ValueError, match="start order"):
        per_second(records, 120.0)  # end order: a second would be summed up before all of it came


def test_reconciliation_does_not_depend_on_the_order_records_come_in() -> None:
    records = story(5, count=800)
    orders = {r.order_ref: Decimal("11.30") for r in records if r.operation == "issue"}
    ledger = [
        {"orderRef": r.order_ref, "invoiceNo": r.invoice_no, "status": "ISSUED", "totals": {"totalWithTax": "11.30"}}
        for r in records
        if r.operation == "issue" and r.invoice_no and int(r.order_ref[2:]) % 7
    ]
    shuffled = list(records)
    random.Random(9).shuffle(shuffled)
    first, second = reconcile(orders, records, ledger), reconcile(dict(reversed(orders.items())), shuffled, ledger)
    assert first == second
    assert first.orders == len(orders)
    assert first.lost and first.never_issued and first.contradicted  # the story has every kind of trouble


def test_the_recorder_gives_back_what_was_added_in_every_shape(tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.FLUSH_EVERY = 7  # several flushes, and a buffer left at the end
    records = story(6, count=200)
    for i, record in enumerate(records):
        recorder.add(record)
        if record.operation == "issue":
            recorder.order_created(record.order_ref, Decimal(i))
    recorder.order_created(records[0].order_ref, Decimal("999"))  # a repeated order keeps its first total
    assert len(recorder) == len(records)
    assert list(recorder.stream()) == records
    assert recorder.since(len(records) - 3) == records[-3:]
    assert recorder.ended_between(60.0, 70.0) == [r for r in records if 60.0 <= r.end_s <= 70.0]
    assert recorder.ended_before(30.0, "issue") == [r for r in records if r.operation == "issue" and r.end_s < 30.0]
    assert list(recorder.stream(["drain"])) == [r for r in records if r.operation == "drain"]
    assert list(recorder.stream_by_start("issue")) == sorted(
        (r for r in records if r.operation == "issue"), key=lambda r: r.start_s
    )
    issues = [r for r in records if r.operation == "issue"]
    assert recorder.orders() == len(issues)
    assert [ref for ref, _ in recorder.orders_since(len(issues) - 2)] == [r.order_ref for r in issues[-2:]]
    assert [ref for ref, _ in recorder.orders_by_ref()] == sorted(r.order_ref for r in issues)
    counts = Counter((r.operation, r.outcome) for r in records)
    assert {(op, out): n for op, by in recorder.outcome_counts().items() for out, n in by.items()} == counts
    drained = {r.order_ref for r in records if r.operation == "drain"}
    asked = [*sorted(drained)[:3], "nobody"]
    assert recorder.claimed(asked) == set(asked) - {"nobody"}
    grouped = dict(recorder.about_orders())
    returned = next(r for r in records if r.operation == "red")
    about = returned.order_ref.removesuffix("-R")
    assert returned in grouped[about]  # a return is about the order it reverses
    assert grouped[about] == sorted((r for r in records if r.about == about), key=lambda r: r.end_s)
    invoiced = invoice_times(records)
    assert [(r, at) for r, at in recorder.issues_with_invoice_time()] == [
        (r, invoiced.get(r.order_ref)) for r in records if r.operation == "issue"
    ]
    recorder.write_csv(tmp_path / "operations.csv")
    back = list(Recorder.read_csv(tmp_path / "operations.csv"))
    assert [(r.operation, r.outcome, r.order_ref, r.invoice_no, r.defect) for r in back] == [
        (r.operation, r.outcome, r.order_ref, r.invoice_no, r.defect) for r in records
    ]
    recorder.close()


def test_the_digest_never_reports_below_the_exact_percentile_and_is_exact_for_repeated_values() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3.0, 1.5) for _ in range(20_000)] + [0.0, -1.0]
    digest = Digest()
    for value in values:
        digest.add(value)
    ordered = sorted(values)
    wanted = [0.1, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]
    for pct, found in digest.percentiles(wanted).items():
        exact = percentile(ordered, pct)
        assert exact <= found <= exact * (1 + RELATIVE_WIDTH) or found == exact, (pct, found, exact)
    assert digest.count == len(values) and digest.max == ordered[-1]
    assert math.isclose(digest.mean, sum(values) / len(values))
    steps = Digest()
    for value in [100.0] * 95 + [250.0] * 5:
        steps.add(value)
    assert steps.percentiles([50.0, 95.0, 96.0]) == {50.0: 100.0, 95.0: 100.0, 96.0: 250.0}
    assert Digest().percentiles([95.0]) == {95.0: 0.0}
    assert len(digest._buckets) < 15_000  # bounded by the spread of the values, not by their number
