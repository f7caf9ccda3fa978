"""A pytest plugin for teams gating releases in their own suites: the ``taxstorm_run`` fixture.

    def test_our_erp_survives_a_platform_crash(taxstorm_run):
        outcome = taxstorm_run("scenarios/platform_crash.yaml", client="our_erp.taxstorm:create", scale=0.3)
        outcome.assert_passed()

Each run is a separate ``taxstorm run`` process (Locust needs a gevent-patched interpreter; the test process
stays untouched) with its reports under the test's temporary directory. Installed with the package
(entry point ``pytest11``); or load it with ``-p taxstorm.pytest_plugin``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: its exit code, result.json and the command's output."""

    exit_code: int
    result: dict[str, Any]
    output: str
    run_dir: Path

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.result.get("status") == "passed"

    @property
    def failed_gates(self) -> list[dict[str, Any]]:
        return [g for g in self.result.get("gates", []) if not g["passed"]]

    def gate(self, name_prefix: str) -> list[dict[str, Any]]:
        """The gate results whose name starts with ``name_prefix`` (e.g. ``"integrity"``, ``"error_rate"``)."""
        return [g for g in self.result.get("gates", []) if str(g["name"]).startswith(name_prefix)]

    def assert_passed(self) -> None:
        """Fail the test with every failed gate's reason (or the run's error) when the run did not pass."""
        if self.passed:
            return
        reasons = [f"{g['name']} [{g['window']}]: {g['message']}" for g in self.failed_gates]
        detail = "\n  ".join(reasons or [str(self.result.get("reason") or self.output[-2000:])])
        raise AssertionError(
            f"taxstorm run {self.result.get('status', 'errored')}: \n  {detail}\nreport: {self.run_dir}"
        )


RunScenario = Callable[..., RunOutcome]


@pytest.fixture
def taxstorm_run(tmp_path: Path) -> RunScenario:
    """Run a scenario (a YAML path, or the scenario as a dict) and return its :class:`RunOutcome`."""
    counter = iter(range(1_000_000))

    def run(
        scenario: str | Path | dict[str, Any],
        *,
        client: str | None = None,
        scale: float = 1.0,
        toxiproxy_url: str | None = None,
        timeout_s: float = 1800,
    ) -> RunOutcome:
        index = next(counter)
        if isinstance(scenario, dict):
            path = tmp_path / f"taxstorm-scenario-{index}.yaml"
            path.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
        else:
            path = Path(scenario)
        report_dir = tmp_path / f"taxstorm-reports-{index}"
        command = [sys.executable, "-m", "taxstorm", "run", str(path), "--report-dir", str(report_dir)]
        command += ["--scale", str(scale)] + (["--client", client] if client else [])
        command += ["--toxiproxy-url", toxiproxy_url] if toxiproxy_url else []
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        results = sorted(report_dir.glob("*/result.json"))
        result: dict[str, Any] = json.loads(results[-1].read_text(encoding="utf-8")) if results else {}
        run_dir = results[-1].parent if results else report_dir
        return RunOutcome(done.returncode, result, done.stdout + done.stderr, run_dir)

    return run
