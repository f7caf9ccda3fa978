"""The scenario library: each story, shortened with ``--scale``, passes with the resilient client and fails
with the naive one on the gate the story is about. Both runs of a story go at once (their own stacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

# scenario → (scale for the test, the gate type the naive client must fail)
STORIES = {
    "smoke": (0.4, "integrity"),
    "peak_season_filing": (0.2, "error_rate"),
    "month_end_overload": (0.25, "amplification"),
    "network_degradation": (0.25, "integrity"),
    "network_partition": (0.2, "error_rate"),
    "bad_upgrade": (0.25, "graceful"),
    "rolling_upgrade": (0.25, "error_rate"),
    "platform_crash": (0.25, "error_rate"),
    "maintenance_window": (0.25, "error_rate"),
    "policy_change": (0.25, "amplification"),
    "token_revocation_storm": (0.25, "error_rate"),
    "ledger_stall": (0.25, "graceful"),
    "wuhan_outage_gameday": (0.2, "error_rate"),
}


def start(scenario: str, scale: float, client: str, report_dir: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "harness", "run", str(REPO / "scenarios" / f"{scenario}.yaml")]
    command += ["--scale", str(scale), "--client", client, "--report-dir", str(report_dir)]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(proc: subprocess.Popen[str], report_dir: Path) -> tuple[int, str, dict[str, Any]]:
    output, _ = proc.communicate(timeout=300)
    (result_file,) = report_dir.glob("*/result.json")
    return proc.returncode, output, json.loads(result_file.read_text())


def test_every_library_scenario_has_a_story_test() -> None:
    assert sorted(STORIES) == sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("scenario", sorted(STORIES))
def test_resilient_passes_and_naive_fails_on_the_story_gate(scenario: str, tmp_path: Path) -> None:
    scale, story_gate = STORIES[scenario]
    resilient = start(scenario, scale, "resilient", tmp_path / "resilient")
    naive = start(scenario, scale, "naive", tmp_path / "naive")
    code, output, result = finished(resilient, tmp_path / "resilient")
    naive_code, naive_output, naive_result = finished(naive, tmp_path / "naive")
    failed = [f"{g['name']} [{g['window']}]: {g['message']}" for g in result["gates"] if not g["passed"]]
    assert code == 0 and result["status"] == "passed", f"resilient failed {failed}\n{output[-3000:]}"
    assert naive_code == 1 and naive_result["status"] == "failed", naive_output[-3000:]
    story = [g for g in naive_result["gates"] if g["kind"] == story_gate]
    assert story and not all(g["passed"] for g in story), f"naive passed {story_gate}: {story}"
