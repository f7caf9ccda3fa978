"""The run's one versioned record; renderers only read it, the runner never prints."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chaos.timeline import FaultEvent
from harness.gates import GateResult
from harness.reconcile import Reconciliation
from harness.windows import WindowStats

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
    duration_s: float = 0.0
    endpoints: dict[str, str] = field(default_factory=dict)
    faults: list[FaultEvent] = field(default_factory=list)
    windows: list[WindowStats] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    platform_stats: dict[str, Any] = field(default_factory=dict)
    backlog_after_drain: int = 0
    cleanup: dict[str, Any] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        return {"schema_version": SCHEMA_VERSION, "kind": "taxstorm.run", **body}

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
