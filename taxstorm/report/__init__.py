"""Renderers of a RunResult (terminal, JSON); they only read it."""

from __future__ import annotations

from typing import Any


def steady_state_summary(check: dict[str, Any]) -> str:
    """One line on the baseline check before the first fault (a RunResult's ``steady_state``)."""
    seen = f"{check['operations']} operations"
    if check["success"] is not None:
        seen += f", success {check['success']:.0%}, p95 {check['p95_ms']:.0f} ms"
    verdict = "healthy" if check["problem"] is None else f"not healthy: {check['problem']}"
    return f"Steady state before the first fault (at {check['checked_s']:.1f} s): {seen}; {verdict}"
