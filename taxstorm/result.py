"""The run's one versioned record; renderers only read it, the runner never prints."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from taxstorm.chaos.timeline import FaultEvent
from taxstorm.gates import GateResult
from taxstorm.reconcile import Reconciliation
from taxstorm.timeseries import Second
from taxstorm.windows import WindowStats

SCHEMA_VERSION = 1
RunStatus = Literal["passed", "failed", "errored", "interrupted"]


@dataclass
class RunResult:
    """Everything a report needs: the resolved scenario, versions, faults, windows, gates, reconciliation."""

    run_id: str
    scenario: dict[str, Any]
    versions: dict[str, str]
    started_at: str
    status: RunStatus = "errored"
    exit_code: int = 3
    reason: str = ""
    halted: str | None = None  # the halt condition that stopped the run early
    steady_state: dict[str, Any] | None = None  # the baseline check before the first fault (SteadyStateCheck)
    notes: list[dict[str, Any]] = field(default_factory=list)  # game day: the operators' notes (at_s, text)
    duration_s: float = 0.0
    endpoints: dict[str, str] = field(default_factory=dict)
    faults: list[FaultEvent] = field(default_factory=list)
    windows: list[WindowStats] = field(default_factory=list)
    series: list[Second] = field(default_factory=list)  # per second of the run
    recovery_s: dict[str, float | None] = field(default_factory=dict)  # time-to-recover per reverted fault
    gates: list[GateResult] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    platform_stats: dict[str, Any] = field(default_factory=dict)
    backlog_after_drain: int = 0  # orders told queued that still had no invoice (the harness's own count)
    client_backlog_after_drain: int = 0  # what the clients' backlog() said then
    backlog_check: dict[str, Any] = field(default_factory=dict)  # the two compared (taxstorm.owed.backlog_check)
    client_defects: list[dict[str, Any]] = field(default_factory=list)  # taxstorm.loadtests.defects.DefectRow rows
    cleanup: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    platform_side: dict[str, Any] | None = None  # a passive run: the ledger by business key (PlatformSideVerdict)
    errors: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        return {"schema_version": SCHEMA_VERSION, "kind": "taxstorm.run", **body}

    def json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False, default=str)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.json_text(), encoding="utf-8")


def load_result(path: Path) -> dict[str, Any]:
    """A run's result.json (a run directory or the file itself), checked for kind and schema version."""
    file = path / "result.json" if path.is_dir() else path
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file}: not a readable taxstorm result ({exc})") from None
    if data.get("kind") != "taxstorm.run":
        raise ValueError(f"{file}: not a taxstorm run result (kind {data.get('kind')!r})")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{file}: schema_version {data.get('schema_version')} (this taxstorm reads {SCHEMA_VERSION})")
    return data
