"""The HTML report: one self-contained file (inline CSS and SVG) that opens offline.

Built from the run's JSON, so ``taxstorm report RUN_DIR`` can rebuild it: the verdict, charts over time
(throughput by outcome, latency percentiles, offline backlog) with fault windows shaded, the fault timeline
with time-to-recover, the per-window table, the gates (observed against threshold) and reconciliation.
The page is a Jinja2 template (``templates/report.html``, autoescaped); this module turns the result into its
sections: a title, paragraphs and lists, charts (SVG from :mod:`taxstorm.report.charts`) and a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from taxstorm.reconcile import FINDINGS
from taxstorm.report import platform_summary, steady_state_summary
from taxstorm.report.charts import Line, Span, line_chart

Section = dict[str, Any]  # title, before / after (paragraphs and lists), charts (SVG markup), table
Item = dict[str, Any]  # a paragraph (kind p, css, text) or a list (kind ul, entries)


@cache
def templates() -> Environment:
    """The report templates (package data), autoescaped: a value is text unless it is :class:`Markup`."""
    return Environment(loader=PackageLoader("taxstorm.report", "templates"), autoescape=select_autoescape())


@cache
def report_style() -> str:
    """The reports' stylesheet (inlined: a report is one file)."""
    return resources.files("taxstorm.report").joinpath("templates", "report.css").read_text(encoding="utf-8")


def p(text: str | Markup, css: str = "") -> Item:
    return {"kind": "p", "css": css, "text": text}


def ul(entries: Sequence[str | Markup]) -> Item:
    return {"kind": "ul", "entries": list(entries)}


def section(title: str, *before: Item, table: dict[str, Any] | None = None, **parts: Any) -> Section:
    return {"title": title, "before": list(before), "charts": [], "table": table, "after": [], **parts}


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str | Markup]], numeric: Sequence[int] = ()
) -> dict[str, Any]:
    return {"headers": list(headers), "rows": [list(row) for row in rows], "numeric": set(numeric)}


def render_html(result: dict[str, Any]) -> str:
    """The whole report as one HTML document."""
    scenario = result["scenario"]
    sections = [
        _charts(result),
        *_faults(result),
        *_notes(result),
        _gates(result),
        _windows(result),
        *_reconciliation(result),
        *_platform_side(result),
        *_defects(result),
        *_load(result),
    ]
    return (
        templates()
        .get_template("report.html")
        .render(
            style=report_style(),
            name=str(scenario["name"]),
            description=str(scenario.get("description", "")),
            status=str(result.get("status", "errored")),
            exit_code=result.get("exit_code"),
            reason=str(result.get("reason", "")),
            run_id=str(result["run_id"]),
            started_at=str(result["started_at"]),
            duration_s=float(result.get("duration_s", 0)),
            client=str(scenario["client"]["ref"]),
            platform=platform_summary(scenario),
            halted=result.get("halted"),
            sections=sections,
            errors=[str(e) for e in result.get("errors") or []],
        )
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


def _charts(result: dict[str, Any]) -> Section:
    series = result.get("series") or []
    if not series:
        return section("Over time", p("No per-second data (the run ended before load).", "muted"))
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
        Markup(line_chart("Operations by outcome (by start second)", "operations / s", outcomes, spans, end_s)),
        Markup(line_chart("Latency percentiles incl. retries", "ms", latency, spans, end_s)),
    ]
    backlog_points = [
        (xi, None if s.get("backlog") is None else float(s["backlog"])) for xi, s in zip(x, series, strict=True)
    ]
    if any(y is not None for _, y in backlog_points):
        backlog = [Line("offline backlog", "#6d597a", _carry_forward(backlog_points))]
        charts.append(Markup(line_chart("Clients' offline backlog", "orders", backlog, spans, end_s)))
    return section("Over time", charts=charts)


def _carry_forward(points: Iterable[tuple[float, float | None]]) -> list[tuple[float, float | None]]:
    last: float | None = None
    out = []
    for x, y in points:
        last = y if y is not None else last
        out.append((x, last))
    return out


def _num(value: Any, digits: int = 1) -> str:
    return "" if value is None else f"{float(value):.{digits}f}"


def _faults(result: dict[str, Any]) -> list[Section]:
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
                label,
                str(fault["type"]),
                f"{fault['planned_apply_s']:g}–{'end' if planned_end is None else f'{planned_end:g}'}",
                _num(fault.get("applied_s"), 2),
                _num(fault.get("reverted_s"), 2),
                ttr,
                str(fault.get("error") or ""),
            ]
        )
    headers = ["fault", "type", "planned s", "applied s", "reverted s", "time to recover s", "error"]
    return [section("Fault timeline", table=table(headers, rows, (3, 4, 5)))]


def _notes(result: dict[str, Any]) -> list[Section]:
    """A game day's operator notes, on the run's clock."""
    notes = result.get("notes") or []
    if not notes:
        return []
    rows = [[_num(note.get("at_s"), 1), str(note.get("text", ""))] for note in notes]
    return [section("Operator notes", table=table(["at s", "note"], rows, (0,)))]


def _gates(result: dict[str, Any]) -> Section:
    gates = result.get("gates") or []
    if not gates:
        return section("Gates", p("No gate was evaluated.", "muted"))
    rows = [
        [
            str(g["name"]),
            str(g["window"]),
            _verdict(g),
            _num(g.get("observed"), 3),
            _num(g.get("threshold"), 3),
            str(g["message"]),
        ]
        for g in gates
    ]
    return section("Gates", table=table(["gate", "window", "verdict", "observed", "threshold", "why"], rows, (3, 4)))


def _verdict(gate: dict[str, Any]) -> Markup:
    if not gate.get("judged", True):
        return Markup('<span class="muted">NOT JUDGED</span>')
    return Markup('<span class="pass">PASS</span>' if gate["passed"] else '<span class="fail">FAIL</span>')


def _defects(result: dict[str, Any]) -> list[Section]:
    """What the client under test did against the protocol, with the first occurrence's evidence."""
    defects = result.get("client_defects") or []
    if not defects:
        return []
    rows = [
        [
            f"{d['method']}()",
            str(d["kind"]),
            str(d["type"]),
            str(d["count"]),
            _num(d.get("first_s"), 1),
            Markup("{}{}").format(
                str(d["message"]),
                Markup("<pre>{}</pre>").format("\n".join(d["frames"])) if d.get("frames") else "",
            ),
        ]
        for d in defects
    ]
    intro = Markup("Each broke the client protocol; the guard answered the user <code>failed</code> in its place.")
    headers = ["method", "defect", "type", "count", "first at s", "message and where"]
    return [section("Client defects", p(intro), table=table(headers, rows, (3, 4)))]


def _windows(result: dict[str, Any]) -> Section:
    rows = []
    for stats in result.get("windows") or []:
        window, outcomes, latency = stats["window"], stats["outcomes"], stats["latency_ms"]
        rows.append(
            [
                str(window["name"]),
                f"{window['start_s']:.1f}–{window['end_s']:.1f}",
                str(stats["operations"]),
                *(str(outcomes.get(k, 0)) for k in ("issued", "queued", "rejected", "failed")),
                *(_num(latency.get(k), 0) for k in ("p50", "p95", "p99", "max")),
            ]
        )
    headers = ["window", "span s", "ops", "issued", "queued", "rejected", "failed", "p50", "p95", "p99", "max ms"]
    title = "Windows"
    if result.get("platform_side") is not None:  # a passive run: the platform's answers, no latency
        headers[2] = "submissions"
        title = "Windows, platform side (your system's submissions: issued 2xx, rejected 4xx, failed 429/5xx)"
    windows = section(title, table=table(headers, rows, tuple(range(2, 11))))
    check = result.get("steady_state")
    if check:
        windows["after"].append(p(steady_state_summary(check), "muted" if check["problem"] is None else "fail"))
    return windows


def _reconciliation(result: dict[str, Any]) -> list[Section]:
    rec = result.get("reconciliation")
    if not rec:
        return []
    items = [
        p(
            f"{rec['orders']} orders handed to clients, {rec['ledger_invoices']} live invoices in the ledger"
            f" ({rec.get('returned', 0)} orders returned on purpose); final claims {rec['claims']}."
        )
    ]
    check = result.get("backlog_check") or {}
    if check:
        items.append(p(f"Backlog: {check['message']}", "muted" if check.get("agrees") else "fail"))
    found = [kind for kind in FINDINGS if rec.get(kind)]
    if found:
        items.append(ul([Markup("<b>{}</b> ({}): {}").format(kind, len(rec[kind]), FINDINGS[kind]) for kind in found]))
    rows = [
        [
            kind,
            str(finding["order_ref"]),
            str(finding["claim"]),
            str(finding.get("client_invoice_no") or ""),
            ", ".join(finding.get("ledger_invoice_nos", [])),
            str(finding["detail"]),
        ]
        for kind in found
        for finding in rec.get(kind, [])[:200]
    ]
    if not rows:
        clean = (
            "Every claim matches the ledger: nothing lost, never issued, duplicated, mismatched, unknown, "
            "unnumbered, unanswered or contradicted."
        )
        return [section("Reconciliation", *items, p(clean, "pass"))]
    headers = ["finding", "orderRef", "client said", "client invoice", "ledger invoices", "detail"]
    return [section("Reconciliation", *items, table=table(headers, rows))]


def _platform_side(result: dict[str, Any]) -> list[Section]:
    """A passive run: the ledger by business key, and what the platform's side cannot judge."""
    side = result.get("platform_side")
    if side is None:
        return []
    per = side["invoices"] and round(side["submissions"] / side["invoices"], 2)
    intro = (
        f"The load was your system's. The ledger holds {side['invoices']} invoices for {side['orders']} orders; "
        f"{len(side['duplicated_orders'])} orders have more than one live invoice; {side['submissions']} "
        f"submissions ({per or '-'} per invoice)."
    )
    rows = [[ref, str(count)] for ref, count in side["duplicated_orders"].items()]
    return [
        section(
            "Platform side (passive run)",
            p(intro),
            ul([f"not judged: {what}" for what in side["not_judged"]]),
            table=table(["duplicated order", "live invoices"], rows, (1,)) if rows else None,
        )
    ]


def _load(result: dict[str, Any]) -> list[Section]:
    load = result.get("load") or {}
    if not load or "operations" not in load:
        return []
    operations = load.get("operations", {})
    rows = [[op, ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))] for op, counts in operations.items()]
    intro = f"{load.get('arrivals', 0)} arrivals offered, {load.get('dropped', 0)} dropped by the load generator."
    return [section("Load", p(intro), table=table(["operation", "outcomes"], rows))]
