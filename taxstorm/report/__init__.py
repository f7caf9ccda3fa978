"""Renderers of a RunResult (terminal, JSON); they only read it."""

from __future__ import annotations

from typing import Any

from taxstorm.mock_platform.dialects import BUSINESS_KEYS, Dialect


def steady_state_summary(check: dict[str, Any]) -> str:
    """One line on the baseline check before the first fault (a RunResult's ``steady_state``)."""
    seen = f"{check['operations']} operations"
    if check["success"] is not None:
        seen += f", success {check['success']:.0%}, p95 {check['p95_ms']:.0f} ms"
    verdict = "healthy" if check["problem"] is None else f"not healthy: {check['problem']}"
    return f"Steady state before the first fault (at {check['checked_s']:.1f} s): {seen}; {verdict}"


def platform_summary(scenario: dict[str, Any]) -> str:
    """How clients reached the platform: its dialect, over HTTP(S), and the business key orders are judged by."""
    platform = scenario.get("platform") or {}
    dialect: Dialect = platform.get("dialect", "native")
    scheme = "HTTPS" if platform.get("tls") else "HTTP"
    return f"{dialect} dialect over {scheme}; orders keyed by {BUSINESS_KEYS.get(dialect, 'orderRef')}"
