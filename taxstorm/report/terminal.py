"""The terminal summary of a run (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from taxstorm.report import platform_summary, steady_state_summary
from taxstorm.result import RunResult

_STATUS_STYLE = {
    "passed": "bold green",
    "failed": "bold red",
    "errored": "bold yellow",
    "interrupted": "yellow",
}


def render(result: RunResult, console: Console) -> None:
    """Print faults, windows, gates, reconciliation and the verdict."""
    console.rule(f"taxstorm run {result.run_id}")
    console.print(f"Platform: {platform_summary(result.scenario)}")
    if result.faults:
        faults = Table(title="Fault timeline (s since start; TTR: time to recover after the revert)")
        for column in ("fault", "type", "planned", "applied", "reverted", "TTR s", "error"):
            faults.add_column(column)
        for event in result.faults:
            planned = (
                f"{event.planned_apply_s:g}–{event.planned_revert_s if event.planned_revert_s is not None else 'end'}"
            )
            faults.add_row(
                event.label,
                event.type,
                planned,
                _fmt(event.applied_s),
                _fmt(event.reverted_s),
                _ttr(result, event.label, event.reverted_s),
                event.error or "",
            )
        console.print(faults)
    passive = result.platform_side is not None
    title = "Windows (issue operations; an operation touched by a fault counts in its fault window)"
    if passive:
        title = "Windows, platform side (your system's submissions: issued 2xx, rejected 4xx, failed 429/5xx)"
    windows = Table(title=title)
    for column in (
        "window",
        "span s",
        "ops",
        "issued",
        "queued",
        "rejected",
        "failed",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ):
        windows.add_column(column, justify="right" if column not in ("window",) else "left")
    for stats in result.windows:
        o = stats.outcomes
        windows.add_row(
            stats.window.name,
            f"{stats.window.start_s:.1f}–{stats.window.end_s:.1f}",
            str(stats.operations),
            *(str(o.get(k, 0)) for k in ("issued", "queued", "rejected", "failed")),
            *("-" if passive else f"{stats.latency_ms.get(k, 0):.0f}" for k in ("p50", "p95", "p99")),
        )
    console.print(windows)
    if result.platform_side is not None:
        side = result.platform_side
        console.print(
            f"Platform side (passive run: the load was your system's): {side['invoices']} invoices for "
            f"{side['orders']} orders, {len(side['duplicated_orders'])} duplicated; {side['submissions']} submissions"
        )
        for what in side["not_judged"]:
            console.print(f"[dim]not judged:[/] {what}", highlight=False)
    if result.steady_state is not None:
        healthy = result.steady_state["problem"] is None
        console.print(steady_state_summary(result.steady_state), style=None if healthy else "yellow")
    rec = result.reconciliation
    if rec is not None:
        findings = ", ".join(f"{kind.replace('_', ' ')} {len(items)}" for kind, items in rec.findings().items())
        console.print(
            f"Reconciliation: {rec.orders} orders, {rec.ledger_invoices} live invoices, {rec.returned} returned; "
            f"claims {rec.claims}; {findings}"
        )
    if result.backlog_check:
        console.print(
            f"Backlog: {result.backlog_check['message']}", style=None if result.backlog_check["agrees"] else "yellow"
        )
    if result.client_defects:
        defects = Table(title="Client defects (each answered 'failed' by the guard in the client's place)")
        for column in ("method", "defect", "type", "count", "first at s", "message"):
            defects.add_column(column)
        for d in result.client_defects:
            where = f"\n{d['frames'][-1]}" if d["frames"] else ""
            defects.add_row(
                f"{d['method']}()", d["kind"], d["type"], str(d["count"]), f"{d['first_s']:.1f}", d["message"] + where
            )
        console.print(defects)
    if result.gates:
        gates = Table(title="Gates")
        for column in ("gate", "window", "verdict", "observed", "threshold", "why"):
            gates.add_column(column)
        for gate in result.gates:
            verdict = "[dim]NOT JUDGED[/]" if not gate.judged else "[green]PASS[/]" if gate.passed else "[red]FAIL[/]"
            gates.add_row(gate.name, gate.window, verdict, _fmt(gate.observed), _fmt(gate.threshold), gate.message)
        console.print(gates)
    for error in result.errors:
        console.print(f"[yellow]error:[/] {error}")
    style = _STATUS_STYLE.get(result.status, "bold")
    console.print(f"[{style}]{result.status.upper()}[/] (exit {result.exit_code}) {result.reason}")
    for kind, path in result.reports.items():
        console.print(f"{kind} report: {path}")


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _ttr(result: RunResult, label: str, reverted_s: float | None) -> str:
    if reverted_s is None or label not in result.recovery_s:
        return ""
    ttr = result.recovery_s[label]
    return "not recovered" if ttr is None else f"{ttr:.1f}"
