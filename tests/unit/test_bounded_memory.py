"""A long run keeps a bounded amount in the runner's memory: four times the operations, not four times the memory.

The whole path a record takes in a run is driven here without servers: the users' records and orders into the
recorder, the live view's ticks, the harness's own backlog count, the halt look-back, and at the end the
judge (reconciliation against a streamed ledger, windows, the per-second series, the CSV). Python's own
allocations are traced (``tracemalloc``); SQLite's page cache is outside them and bounded by its setting.
"""

from __future__ import annotations

import multiprocessing
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.halt import halt_reason
from taxstorm.loadtests.records import OperationRecord, Recorder
from taxstorm.owed import OwedInvoices
from taxstorm.progress import Progress
from taxstorm.reconcile import reconcile_run
from taxstorm.scenario import ErrorRateHaltSpec
from taxstorm.timeseries import per_second
from taxstorm.windows import build_windows, judge_windows

RATE_PER_S = 100
HALT = ErrorRateHaltSpec(above=0.5, for_s=10)


def ledger(recorder: Recorder) -> Iterator[dict[str, Any]]:
    for record in recorder.stream(["issue", "drain"]):
        if record.invoice_no:
            totals = {"totalWithTax": "11.30"}
            yield {"orderRef": record.order_ref, "invoiceNo": record.invoice_no, "status": "ISSUED", "totals": totals}


def run(operations: int, folder: Path) -> tuple[int, int]:
    """Peak traced bytes of one simulated run, and the number of findings (0: a clean run)."""
    tracemalloc.start()
    recorder = Recorder()
    owed = OwedInvoices(recorder, lookup=lambda refs: set(refs))  # the ledger has every queued order at once
    progress = Progress(operations / RATE_PER_S, recorder, lambda: [])
    for i in range(operations):
        start = i / RATE_PER_S
        ref = f"soak-{i:07d}"
        recorder.order_created(ref, Decimal("11.30"))
        queued = i % 10 == 0  # a tenth queued, issued by a drain a second later
        outcome, number = ("queued", None) if queued else ("issued", f"N{i:08d}")
        recorder.add(OperationRecord(start, start + 0.05, "issue", outcome, ref, 1, number))
        if queued:
            recorder.add(OperationRecord(start + 1, start + 1.1, "drain", "issued", ref, 1, f"N{i:08d}"))
        if i % RATE_PER_S == 0:  # once a second of run time: what the runner does while the load runs
            progress.tick(start, [(start, 0)])
            owed.refresh()
            halt_reason(HALT, recorder.ended_between(start - HALT.for_s, start), start)
    end_s = operations / RATE_PER_S + 2
    faults = [FaultEvent("slow", "latency", {}, end_s / 3, end_s / 2, end_s / 3, end_s / 2)]
    reconciliation = reconcile_run(recorder, ledger(recorder))
    judge_windows(build_windows(faults, end_s), recorder.issues_with_invoice_time())
    per_second(recorder.stream_by_start("issue"), end_s)
    recorder.write_csv(folder / f"operations-{operations}.csv")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    recorder.close()
    assert reconciliation.orders == operations
    return peak, reconciliation.total_findings()


def both_runs(folder: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    return run(3_000, folder), run(12_000, folder)


def test_four_times_the_operations_keep_about_the_same_memory(tmp_path: Path) -> None:
    # in a fresh interpreter: tracemalloc counts every thread's allocations, and a test process may still run
    # threads of earlier tests (a pytest-xdist worker its own too), which once added half a megabyte to one run
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        (short, short_findings), (long, long_findings) = pool.submit(both_runs, tmp_path).result(timeout=120)
    assert short_findings == 0 and long_findings == 0
    # all in memory, the long run would keep ~9,000 × 1.8 kB more than the short one (~16 MB); bounded, it keeps
    # about what the short one does (the per-second series grows with run time: ~200 bytes a second)
    assert long < short * 1.3 + 200 * (12_000 - 3_000) / RATE_PER_S, (short, long)
