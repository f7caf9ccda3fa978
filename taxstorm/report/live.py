"""The live terminal view of a run: a status line redrawn every second (rich), events printed above it.

Off a terminal (CI logs) the same figures are printed as a plain line every ``log_every_s`` seconds.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text


def status_line(tick: dict[str, Any]) -> Text:
    """One line: phase, elapsed/total, offered vs achieved rate, p95, failures, active faults, backlog."""
    faults = ", ".join(tick["active_faults"]) or "none"
    line = Text()
    line.append(f"{tick['phase']:<5} ", style="bold cyan")
    line.append(f"{tick['elapsed_s']:>6.1f}/{tick['total_s']:g} s  ")
    if "platform_per_s" in tick:  # a passive run: only what the platform saw of the system
        line.append(f"your system {tick['platform_per_s']:>6.1f} submissions/s  ")
        line.append(f"refused {tick['platform_refused']}", style="red" if tick["platform_refused"] else "")
        line.append("  ")
    else:
        line.append(f"offered {tick['offered_per_s']:>6.1f}/s  achieved {tick['achieved_per_s']:>6.1f}/s  ")
        line.append(f"p95 {tick['p95_ms']:>7.0f} ms  ")
        line.append(f"failed {tick['failed']}", style="red" if tick["failed"] else "")
        line.append(f"  backlog {tick['backlog']}")  # orders told queued without an invoice: the harness's count
        client = tick.get("client_backlog")
        if client is not None and client != tick["backlog"]:
            line.append(f" (client says {client})", style="yellow")
        line.append("  ")
    line.append(f"faults: {faults}", style="magenta" if tick["active_faults"] else "dim")
    return line


class LiveView:
    """Receives the runner's observations and shows them."""

    def __init__(self, console: Console, log_every_s: float = 5.0) -> None:
        self.console = console
        self.log_every_s = log_every_s
        self._live: Live | None = None
        self._last_logged_s = float("-inf")

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self._live = Live(Text("starting…"), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def observe(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "tick":
            line = status_line(data)
            if self._live is not None:
                self._live.update(line)
            elif data["elapsed_s"] - self._last_logged_s >= self.log_every_s:
                self._last_logged_s = data["elapsed_s"]
                self.console.print(line)
        elif kind == "phase":
            details = ", ".join(f"{k}={v}" for k, v in data.items() if k != "phase")
            self.console.print(f"[cyan]phase[/] {data['phase']} {details}")
        elif kind == "fault":
            self.console.print(f"[magenta]fault[/] {data['kind']} {data['label']} ({data['type']}) at {data['at_s']}s")
        elif kind == "halt":
            self.console.print(f"[red]halt[/] {data['reason']}")
        elif kind == "standby":
            for line in data["lines"]:
                self.console.print(line, highlight=False, markup=False)
        elif kind == "warning":
            self.console.print(f"[yellow]warning[/] {data['text']}")
