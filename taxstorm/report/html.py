"""The HTML report: one self-contained file (inline CSS and SVG) that opens offline.

Built from the run's JSON, so ``taxstorm report RUN_DIR`` can rebuild it: the verdict, charts over time
(throughput by outcome, latency percentiles, offline backlog) with fault windows shaded, the fault timeline
with time-to-recover, the per-window table, the gates (observed against threshold) and reconciliation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from taxstorm.reconcile import FINDINGS
from taxstorm.report import steady_state_summary
from taxstorm.report.charts import Line, Span, line_chart

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:960px;color:#1d2733}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dee4}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:600}
.passed{background:#2a9d8f}.failed{background:#e63946}.errored,.interrupted{background:#e9c46a;color:#1d2733}
table{border-collapse:collapse;width:100%;margin:6px 0} th,td{border-bottom:1px solid #e5e9ee;padding:4px 6px;
text-align:left;vertical-align:top} td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#2a9d8f;font-weight:600}.fail{color:#e63946;font-weight:600} .muted{color:#66737f}
svg.chart{width:100%;height:auto;margin:8px 0;font-size:11px} .chart-title{font-size:13px;font-weight:600}
.grid{stroke:#e5e9ee} .tick,.legend,.axis,.span-label{fill:#444} .span-label{font-size:10px}
code{background:#f3f5f7;padding:1px 4px;border-radius:3px}
"""


def render_html(result: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    scenario = result["scenario"]
    status = str(result.get("status", "errored"))
    body = [
        f"<h1>taxstorm · {escape(str(scenario['name']))}</h1>",
        f'<p class="muted">{escape(str(scenario.get("description", "")))}</p>',
        f'<p><span class="verdict {escape(status)}">{escape(status.upper())}</span> exit {result.get("exit_code")}'
        f" — {escape(str(result.get('reason', '')))}</p>",
        f'<p class="muted">run <code>{escape(str(result["run_id"]))}</code>'
        f" · started {escape(str(result['started_at']))} · {float(result.get('duration_s', 0)):.1f} s"
        f" · client <code>{escape(str(scenario['client']['ref']))}</code></p>",
    ]
    if result.get("halted"):
        body.append(f'<p class="fail">Stopped early: {escape(str(result["halted"]))}</p>')
    body += _charts(result)
    body += _faults(result)
    body += _notes(result)
    body += _gates(result)
    body += _windows(result)
    body += _reconciliation(result)
    body += _defects(result)
    body += _load(result)
    errors = result.get("errors") or []
    if errors:
        body.append("<h2>Errors</h2><ul>" + "".join(f"<li>{escape(str(e))}</li>" for e in errors) + "</ul>")
    title = f"taxstorm {escape(str(scenario['name']))} {escape(status)}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def write_html(result: dict[str, Any], path: Path) -> None:
    path.write_text(render_html(result), encoding="utf-8")


def _spans(result: dict[str, Any], end_s: float) -> list[Span]:
    spans = []
    for fault in result.get("faults", []):
        if fault.get("applied_s") is None:
            continue
        end = fault["reverted_s"] if fault.get("reverted_s") is not None else end_s
        spans.append(Span(str(fault["label"]), float(fault["applied_s"]), float(end)))
    return spans


def _charts(result: dict[str, Any]) -> list[str]:
    series = result.get("series") or []
    if not series:
        return ["<h2>Over time</h2><p class='muted'>No per-second data (the run ended before load).</p>"]
    end_s = float(len(series))
    spans = _spans(result, end_s)
    x = [float(s["t"]) + 0.5 for s in series]

    def line(label: str, color: str, key: str, skip_idle: bool = False) -> Line:
        points = [
            (xi, None if skip_idle and not s["operations"] else float(s[key])) for xi, s in zip(x, series, strict=True)
        ]
        return Line(label, color, points)

    outcomes = [
        line("issued/s", "#2a9d8f", "issued"),
        line("queued/s", "#e9c46a", "queued"),
        line("rejected/s", "#8d99ae", "rejected"),
        line("failed/s", "#e63946", "failed"),
    ]
    latency = [
        line("p50", "#457b9d", "p50_ms", True),
        line("p95", "#f4a261", "p95_ms", True),
        line("p99", "#e63946", "p99_ms", True),
    ]
    charts = [
        "<h2>Over time</h2>",
        line_chart("Operations by outcome (by start second)", "operations / s", outcomes, spans, end_s),
        line_chart("Latency percentiles incl. retries", "ms", latency, spans, end_s),
    ]
    backlog_points = [
        (xi, None if s.get("backlog") is None else float(s["backlog"])) for xi, s in zip(x, series, strict=True)
    ]
    if any(y is not None for _, y in backlog_points):
        backlog = [Line("offline backlog", "#6d597a", _carry_forward(backlog_points))]
        charts.append(line_chart("Clients' offline backlog", "orders", backlog, spans, end_s))
    return charts


def _carry_forward(points: Iterable[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    last: float | None = None
    out = []
    for x, y in points:
        last = y if y is not None else last
        out.append((x, last))
    return out


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(value: Any, digits: int = 1) -> str:
    return "" if value is None else f"{float(value):.{digits}f}"


def _faults(result: dict[str, Any]) -> list[str]:
    faults = result.get("faults") or []
    if not faults:
        return []
    recovery = result.get("recovery_s") or {}
    rows = []
    for fault in faults:
        label = str(fault["label"])
        ttr = ""
        if fault.get("reverted_s") is not None:
            ttr = "not recovered" if recovery.get(label) is None else f"{recovery[label]:.1f}"
        planned_end = fault.get("planned_revert_s")
        rows.append(
            [
                escape(label),
                escape(str(fault["type"])),
                f"{fault['planned_apply_s']:g}–{'end' if planned_end is None else f'{planned_end:g}'}",
                _num(fault.get("applied_s"), 2),
                _num(fault.get("reverted_s"), 2),
                ttr,
                escape(str(fault.get("error") or "")),
            ]
        )
    headers = ["fault", "type", "planned s", "applied s", "reverted s", "time to recover s", "error"]
    return ["<h2>Fault timeline</h2>", _table(headers, rows, (3, 4, 5))]


def _notes(result: dict[str, Any]) -> list[str]:
    """A game day's operator notes, on the run's clock."""
    notes = result.get("notes") or []
    if not notes:
        return []
    rows = [[_num(note.get("at_s"), 1), escape(str(note.get("text", "")))] for note in notes]
    return ["<h2>Operator notes</h2>", _table(["at s", "note"], rows, (0,))]


def _gates(result: dict[str, Any]) -> list[str]:
    gates = result.get("gates") or []
    if not gates:
        return ["<h2>Gates</h2><p class='muted'>No gate was evaluated.</p>"]
    rows = [
        [
            escape(str(g["name"])),
            escape(str(g["window"])),
            _verdict(g),
            _num(g.get("observed"), 3),
            _num(g.get("threshold"), 3),
            escape(str(g["message"])),
        ]
        for g in gates
    ]
    return ["<h2>Gates</h2>", _table(["gate", "window", "verdict", "observed", "threshold", "why"], rows, (3, 4))]


def _verdict(gate: dict[str, Any]) -> str:
    if not gate.get("judged", True):
        return '<span class="muted">NOT JUDGED</span>'
    return '<span class="pass">PASS</span>' if gate["passed"] else '<span class="fail">FAIL</span>'


def _defects(result: dict[str, Any]) -> list[str]:
    """What the client under test did against the protocol, with the first occurrence's evidence."""
    defects = result.get("client_defects") or []
    if not defects:
        return []
    rows = [
        [
            escape(f"{d['method']}()"),
            escape(str(d["kind"])),
            escape(str(d["type"])),
            str(d["count"]),
            _num(d.get("first_s"), 1),
            escape(str(d["message"])) + (f"<pre>{escape(chr(10).join(d['frames']))}</pre>" if d.get("frames") else ""),
        ]
        for d in defects
    ]
    intro = "<p>Each broke the client protocol; the guard answered the user <code>failed</code> in its place.</p>"
    headers = ["method", "defect", "type", "count", "first at s", "message and where"]
    return ["<h2>Client defects</h2>", intro, _table(headers, rows, (3, 4))]


def _windows(result: dict[str, Any]) -> list[str]:
    rows = []
    for stats in result.get("windows") or []:
        window, outcomes, latency = stats["window"], stats["outcomes"], stats["latency_ms"]
        rows.append(
            [
                escape(str(window["name"])),
                f"{window['start_s']:.1f}–{window['end_s']:.1f}",
                str(stats["operations"]),
                *(str(outcomes.get(k, 0)) for k in ("issued", "queued", "rejected", "failed")),
                *(_num(latency.get(k), 0) for k in ("p50", "p95", "p99", "max")),
            ]
        )
    headers = ["window", "span s", "ops", "issued", "queued", "rejected", "failed", "p50", "p95", "p99", "max ms"]
    section = ["<h2>Windows</h2>", _table(headers, rows, tuple(range(2, 11)))]
    check = result.get("steady_state")
    if check:
        css = "muted" if check["problem"] is None else "fail"
        section.append(f'<p class="{css}">{escape(steady_state_summary(check))}</p>')
    return section


def _reconciliation(result: dict[str, Any]) -> list[str]:
    rec = result.get("reconciliation")
    if not rec:
        return []
    summary = (
        f"<p>{rec['orders']} orders handed to clients, {rec['ledger_invoices']} live invoices in the ledger"
        f" ({rec.get('returned', 0)} orders returned on purpose); final claims {escape(str(rec['claims']))}.</p>"
    )
    check = result.get("backlog_check") or {}
    if check:
        summary += (
            f'<p class="{"muted" if check.get("agrees") else "fail"}">Backlog: {escape(str(check["message"]))}</p>'
        )
    found = [kind for kind in FINDINGS if rec.get(kind)]
    if found:
        summary += (
            "<ul>"
            + "".join(f"<li><b>{escape(kind)}</b> ({len(rec[kind])}): {escape(FINDINGS[kind])}</li>" for kind in found)
            + "</ul>"
        )
    rows = []
    for kind in found:
        for finding in rec.get(kind, [])[:200]:
            rows.append(
                [
                    kind,
                    escape(str(finding["order_ref"])),
                    escape(str(finding["claim"])),
                    escape(str(finding.get("client_invoice_no") or "")),
                    escape(", ".join(finding.get("ledger_invoice_nos", []))),
                    escape(str(finding["detail"])),
                ]
            )
    if not rows:
        return [
            "<h2>Reconciliation</h2>",
            summary,
            "<p class='pass'>Every claim matches the ledger: nothing lost, never issued, duplicated, mismatched, "
            "unknown, unnumbered, unanswered or contradicted.</p>",
        ]
    headers = ["finding", "orderRef", "client said", "client invoice", "ledger invoices", "detail"]
    return ["<h2>Reconciliation</h2>", summary, _table(headers, rows)]


def _load(result: dict[str, Any]) -> list[str]:
    load = result.get("load") or {}
    if not load:
        return []
    operations = load.get("operations", {})
    rows = [
        [escape(op), escape(", ".join(f"{k} {v}" for k, v in sorted(counts.items())))]
        for op, counts in operations.items()
    ]
    intro = (
        f"<p>{load.get('arrivals', 0)} arrivals offered, {load.get('dropped', 0)} dropped by the load generator.</p>"
    )
    return ["<h2>Load</h2>", intro, _table(["operation", "outcomes"], rows)]
