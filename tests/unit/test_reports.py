"""JUnit XML, the HTML report and ``compare`` from a hand-built run result (no servers)."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

from taxstorm.compare import compare_runs
from taxstorm.gates import (
    GateSpec,
    IntegrityGateSpec,
    LatencyGateSpec,
    RecoveryTimeGateSpec,
    Snapshot,
    evaluate,
    recovery_times,
)
from taxstorm.halt import check_steady_state
from taxstorm.reconcile import reconcile
from taxstorm.report.html import render_html
from taxstorm.report.junit import junit_xml
from taxstorm.result import RunResult
from taxstorm.scenario import Scenario, SteadyStateSpec
from taxstorm.timeseries import per_second
from taxstorm.windows import build_windows, window_stats
from tests.unit.test_gates_and_windows import event, op, row


def run_result(slow_ms: float = 900, recover_at: int = 21, lose: bool = False) -> dict[str, Any]:
    records = [op(t / 2, 10, f"b{t}") for t in range(20)]
    records += [op(10 + t / 2, slow_ms, f"f{t}", "queued", None) for t in range(20)]
    records += [op(20 + t / 2, 10 if 20 + t / 2 >= recover_at else slow_ms, f"r{t}") for t in range(20)]
    faults = [event("slow-network", 10, 20)]
    ledger = [row(r.order_ref, r.invoice_no or f"Q-{r.order_ref}") for r in records]  # the queued ones came later
    if lose:
        ledger = ledger[1:]
    totals = {r.order_ref: Decimal("11.30") for r in records}
    reconciliation = reconcile(totals, records, ledger)
    windows = [window_stats(w, records) for w in build_windows(faults, 30)]
    snapshot = Snapshot(windows, reconciliation, per_second(records, 30, [(5.0, 0), (15.0, 20), (25.0, 0)]), faults)
    gates: list[GateSpec] = [
        LatencyGateSpec(window="baseline", max_ms=100),
        IntegrityGateSpec(),
        RecoveryTimeGateSpec(within_s=5),
    ]
    scenario = Scenario.model_validate({"name": "unit", "duration_s": 30, "description": "hand-built <run>"})
    result = RunResult("unit-1", scenario.model_dump(mode="json"), {"taxstorm": "0"}, "2026-11-28T08:00:00+00:00")
    result.faults, result.windows, result.reconciliation = faults, windows, reconciliation
    result.series, result.recovery_s = list(snapshot.series), recovery_times(snapshot)
    result.gates = evaluate(gates, snapshot)
    result.steady_state = dataclasses.asdict(check_steady_state(SteadyStateSpec(), records, 10.0))
    result.status, result.exit_code = ("passed", 0) if all(g.passed for g in result.gates) else ("failed", 1)
    data: dict[str, Any] = json.loads(result.json_text())
    return data


def test_junit_has_one_case_per_gate_with_the_reason() -> None:
    data = run_result(lose=True)
    suite = ET.fromstring(junit_xml(data))
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(data["gates"])) == str(len(cases)) and suite.get("failures") == "1"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["integrity [all]"]
    message = failed[0].find("failure").get("message")  # type: ignore[union-attr]
    assert message is not None and message.startswith("1 lost (b0)")


def test_junit_marks_an_errored_run_as_an_error_not_a_pass() -> None:
    data = {**run_result(), "status": "errored", "reason": "environment not ready: no toxiproxy", "gates": []}
    suite = ET.fromstring(junit_xml(data))
    assert suite.get("errors") == "1" and suite.get("tests") == "1"
    error = suite.find("testcase/error")
    assert error is not None and error.get("message") == "environment not ready: no toxiproxy"


def test_html_report_is_self_contained_with_charts_faults_and_ttr() -> None:
    html = render_html(run_result())
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<svg") == 3  # outcomes, latency, backlog
    assert "slow-network" in html and "time to recover s" in html
    assert "hand-built &lt;run&gt;" in html  # escaped
    assert '<span class="verdict passed">PASSED</span>' in html
    assert "Every claim matches the ledger" in html and "<td>lost</td>" not in html
    assert "<td>lost</td><td>b0</td><td>issued</td><td>N1</td>" in render_html(run_result(lose=True))
    assert "<li><b>lost</b> (1): told issued, but" in render_html(run_result(lose=True))  # what the finding means
    assert '<p class="muted">Steady state before the first fault (at 10.0 s): ' in html


def test_compare_flags_what_got_worse() -> None:
    a, b = run_result(), run_result(slow_ms=3000, recover_at=28, lose=True)
    changes = {c.metric: c for c in compare_runs(a, b)}
    assert changes["slow-network p95 ms"].regression
    assert not changes["baseline p95 ms"].regression
    assert changes["slow-network time to recover s"].regression
    assert changes["lost orders"].regression and (changes["lost orders"].a, changes["lost orders"].b) == (0, 1)
    assert changes["gate integrity [all]"].note == "pass → fail"
    assert not any(c.regression for c in compare_runs(a, a))
