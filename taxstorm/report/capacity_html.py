"""The capacity report: latency and failures against the offered rate, the knee marked, the step table."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from taxstorm.report.charts import Line, Span, line_chart
from taxstorm.report.html import STYLE


def render_capacity_html(report: dict[str, Any]) -> str:
    steps = report["steps"]
    knee = report.get("knee_per_s")
    top = max((s["offered_per_s"] for s in steps), default=1.0)
    width = steps[1]["offered_per_s"] - steps[0]["offered_per_s"] if len(steps) > 1 else 1.0
    beyond = [Span("beyond the knee", knee + width / 2, top + width / 2)] if knee is not None else []
    latency = [
        Line(
            f"p{report['criteria']['percentile']:g} ms",
            "#f4a261",
            [(s["offered_per_s"], s["latency_ms"]) for s in steps],
        )
    ]
    served = [
        Line("issued/s", "#2a9d8f", [(s["offered_per_s"], s["issued_per_s"]) for s in steps]),
        Line("offered/s", "#8d99ae", [(s["offered_per_s"], s["offered_per_s"]) for s in steps]),
    ]
    errors = [Line("failed %", "#e63946", [(s["offered_per_s"], 100 * s["error_rate"]) for s in steps])]
    x_max = top + width / 2
    rows = "".join(
        f"<tr><td class='n'>{s['offered_per_s']:g}</td><td class='n'>{s['issued_per_s']:g}</td>"
        f"<td class='n'>{s['latency_ms']:.0f}</td><td class='n'>{100 * s['error_rate']:.1f}</td>"
        f"<td>{'<span class=pass>PASS</span>' if s['passed'] else '<span class=fail>FAIL</span>'}</td>"
        f"<td>{escape(s['why'])}</td></tr>"
        for s in steps
    )
    verdict = f"{knee:g} operations/s" if knee is not None else "none (the first step already fails)"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>taxstorm capacity '
        f"{escape(report['scenario'])}</title><style>{STYLE}</style></head><body>"
        f"<h1>Capacity · {escape(report['scenario'])}</h1><p>Knee: <b>{verdict}</b> — the highest offered rate "
        f"that met every criterion ({escape(str(report['criteria']))}).</p>"
        + line_chart("Latency against offered rate", "ms", latency, beyond, x_max, "offered operations / s")
        + line_chart("Issued against offered", "operations / s", served, beyond, x_max, "offered operations / s")
        + line_chart("Failures against offered rate", "% failed", errors, beyond, x_max, "offered operations / s")
        + "<h2>Steps</h2><table><thead><tr><th>offered/s</th><th>issued/s</th><th>latency ms</th><th>failed %</th>"
        f"<th>verdict</th><th>why</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    )


def write_capacity_html(report: dict[str, Any], path: Path) -> None:
    path.write_text(render_capacity_html(report), encoding="utf-8")
