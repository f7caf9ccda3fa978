"""The capacity report: latency and failures against the offered rate, the knee marked, the step table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from taxstorm.report.charts import Line, Span, line_chart
from taxstorm.report.html import report_style, templates


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
    axis = "offered operations / s"
    charts = [
        Markup(line_chart("Latency against offered rate", "ms", latency, beyond, x_max, axis)),
        Markup(line_chart("Issued against offered", "operations / s", served, beyond, x_max, axis)),
        Markup(line_chart("Failures against offered rate", "% failed", errors, beyond, x_max, axis)),
    ]
    return (
        templates()
        .get_template("capacity.html")
        .render(
            style=report_style(),
            scenario=report["scenario"],
            verdict=f"{knee:g} operations/s" if knee is not None else "none (the first step already fails)",
            criteria=str(report["criteria"]),
            charts=charts,
            steps=steps,
        )
    )


def write_capacity_html(report: dict[str, Any], path: Path) -> None:
    path.write_text(render_capacity_html(report), encoding="utf-8")
