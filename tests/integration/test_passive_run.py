"""``taxstorm run --passive``: the load comes from a system of one's own (``tests/outside/erp.py``, written from
the API docs and importing nothing of taxstorm), the timeline starts at its first submission, and the verdict is
the platform's side alone — a careful system passes, a sloppy one fails on the gates that side can judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from taxstorm.chaos.waiting import wait_until
from tests.conftest import REPO
from tests.integration.test_cli_run import assert_no_child_left, only_run

TAXSTORM_RUN = [sys.executable, "-m", "taxstorm", "run", "--toxiproxy-bin-dir", str(REPO / ".bin")]
ERP = REPO / "tests" / "outside" / "erp.py"
# maintenance (503 E9002 with Retry-After to its announced end) while the system runs, then answers lost after the
# platform committed (504 E9004: an unknown outcome), then quiet; 14 s from the maintenance's revert to the next
# fault: room to judge recovery_time within 10 s held 3 s (a recovery never seen then fails; sooner, not judged)
SCENARIO = """
name: passive_probe
description: a system of one's own through a maintenance window and lost answers
duration_s: 28
drain_s: 6
load: {users: 1, rate_per_s: 4, seed: 5}
faults:
  - {type: maintenance, id: down, at_s: 4, for_s: 5}
  - {type: ghost_success, id: lost-answers, at_s: 23, for_s: 5, rate: 0.5}
gates:
  - {type: integrity}
  - {type: amplification, window: all, max_ratio: 1.5}
  - {type: recovery_time, fault: down, within_s: 10}
  - {type: graceful, budget_ms: 5000}
"""


def passive_run(
    tmp_path: Path, *erp_flags: str, system: Path = ERP, run_flags: tuple[str, ...] = ()
) -> tuple[int, str, dict[str, Any], dict[str, int]]:
    """Run the scenario passively with an outside system as its load: (exit code, output, result, its account)."""
    scenario = tmp_path / "passive_probe.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    reports = tmp_path / "reports"
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*TAXSTORM_RUN, str(scenario), "--passive", "--wait-s", "60", "--report-dir", str(reports), *run_flags],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until(lambda: any(reports.glob("*/platform.json")) or proc.poll() is not None, 60, "platform.json")
            assert proc.poll() is None, log.read_text()
            (info,) = reports.glob("*/platform.json")
            ca_file = json.loads(info.read_text())["ca_file"]
            trust = {"REQUESTS_CA_BUNDLE": ca_file, "SSL_CERT_FILE": ca_file} if ca_file else {}
            erp = subprocess.run(
                [sys.executable, str(system), str(info), *erp_flags, "--seconds", "30", "--drain-s", "4"],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, **trust},
            )
            assert erp.returncode == 0, erp.stderr
            code = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    result, state = only_run(reports)
    assert_no_child_left(state)
    return code, log.read_text(), result, json.loads(erp.stdout)


def gates_by_kind(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for gate in result["gates"]:
        found.setdefault(gate["kind"], []).append(gate)
    return found


def test_a_careful_system_passes_on_the_platforms_side(tmp_path: Path) -> None:
    code, output, result, erp = passive_run(tmp_path)
    assert code == 0, output
    assert erp["left"] == 0 and erp["rejected"] == 0
    side = result["platform_side"]
    assert side["duplicated_orders"] == {} and side["invoices"] == erp["issued"]
    gates = gates_by_kind(result)
    assert gates["recovery_time"][0]["judged"] and gates["recovery_time"][0]["observed"] is not None
    assert not gates["graceful"][0]["judged"] and not gates["contract"][0]["judged"]  # named, not passed
    assert result["load"]["source"] == "outside system" and result["reconciliation"] is None
    assert "Windows, platform side" in output and "not judged: lost orders" in output
    assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True}


def test_a_sloppy_system_fails_on_duplicates_and_amplification(tmp_path: Path) -> None:
    code, output, result, _ = passive_run(tmp_path, "--sloppy")
    assert code == 1, output
    gates = gates_by_kind(result)
    assert not gates["integrity"][0]["passed"]  # a lost answer retried under a new serial: a second invoice
    assert result["platform_side"]["duplicated_orders"]
    assert not gates["amplification"][0]["passed"]  # it retried into the maintenance window at once
    assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True}


def test_a_system_that_never_comes_back_fails_recovery_time(tmp_path: Path) -> None:
    code, output, result, erp = passive_run(tmp_path, "--stuck")  # its breaker stays open after the maintenance
    assert code == 1, output
    gates = gates_by_kind(result)
    recovery = gates["recovery_time"][0]
    assert recovery["judged"] and not recovery["passed"] and recovery["observed"] is None, recovery
    assert gates["integrity"][0]["passed"] and erp["left"] > 0  # nothing duplicated: its orders just wait forever


def test_an_unmodified_nuonuo_sdk_system_is_judged_on_the_nuonuo_dialect_over_tls(tmp_path: Path) -> None:
    """A POS on the unmodified nuonuo-sdk (tests/outside/nuonuo_pos.py) as the load: the dialect's calls reach the
    core as native ones, so the platform's side counts them and judges them the same way."""
    pos = REPO / "tests" / "outside" / "nuonuo_pos.py"
    code, output, result, sold = passive_run(tmp_path, system=pos, run_flags=("--dialect", "nuonuo", "--tls"))
    assert code == 0, output
    assert sold["left"] == 0 and sold["queued"] > 0, sold  # it met the maintenance window, and caught up
    side = result["platform_side"]
    assert side["invoices"] == sold["issued"] and side["duplicated_orders"] == {}
    assert result["endpoints"]["client"].startswith("https://") and "nuonuo dialect over HTTPS" in output
    recovery = next(g for g in result["gates"] if g["kind"] == "recovery_time")
    assert recovery["judged"] and recovery["passed"], recovery
