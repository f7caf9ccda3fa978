"""A client that blocks in a real system call freezes the run's event loop: the watchdog's OS thread still hears
SIGTERM, still enforces limits.max_run_s, notices a loop stuck past the answer budget, and abandons the run:
faults reverted and the run's children stopped (as ``taxstorm reset`` does), the reports written with the
client's defect and where it was stuck, exit 1. Real processes: taxstorm, the platform, toxiproxy-server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.waiting import wait_until
from tests.integration.test_cli_run import NO_STEADY_STATE, scenario, taxstorm

pytestmark = pytest.mark.integration

CLIENT = "tests.clients.blocking:create"
AT_ONCE = {"settings": {"processing_ms": {"median_ms": 0, "p99_ms": 0}}}  # fast answers until the fault
SLOW = [{"type": "latency", "id": "slow", "at_s": 2, "for_s": 6, "latency_ms": 400}]


def start(tmp_path: Path, toxiproxy: ToxiproxyAPI, budget_s: float, **changes: Any) -> subprocess.Popen[str]:
    load = {"users": 1, "rate_per_s": 4, "seed": 2}
    data = {"duration_s": 10, "drain_s": 4, "load": load, "faults": SLOW, "gates": [{"type": "integrity"}]}
    data |= {"platform": AT_ONCE, "steady_state": NO_STEADY_STATE}
    path = scenario(tmp_path, client={"answer_budget_s": budget_s}, **(data | changes))
    args = ["run", str(path), "--client", CLIENT, "--toxiproxy-url", toxiproxy.base_url]
    return taxstorm(*args, "--report-dir", str(tmp_path / "reports"), start_new_session=True)


def blocked_marker(tmp_path: Path) -> Path | None:
    return next((tmp_path / "reports").glob("*/clients/**/blocked"), None)


def run_dir(tmp_path: Path) -> Path:
    (found,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    return found


def assert_abandoned_cleanly(tmp_path: Path, toxiproxy: ToxiproxyAPI, output: str, code: int | None) -> dict[str, Any]:
    assert code == 1, output[-3000:]
    result: dict[str, Any] = json.loads((run_dir(tmp_path) / "result.json").read_text())
    assert result["status"] == "failed" and "blocked the whole run in issue()" in result["reason"], result["reason"]
    (defect,) = result["client_defects"]
    assert defect["kind"] == "blocked" and defect["method"] == "issue", defect
    assert any("tests/clients/blocking.py" in frame and "os.read" in frame for frame in defect["frames"]), defect
    assert not [name for name in toxiproxy.proxies() if name.startswith("taxstorm-")], "the run's proxy is left"
    state = json.loads((run_dir(tmp_path) / "state.json").read_text())
    assert state["status"] == "reset", state
    for name, pid in state["pids"].items():
        if pid is not None:  # the platform it started is gone (toxiproxy was not its own)
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
                raise AssertionError(f"{name} (pid {pid}) still runs")
    assert "Traceback" not in output, output[-3000:]
    return result


def test_sigterm_reaches_a_run_frozen_by_a_blocked_client(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    proc = start(tmp_path, toxiproxy, budget_s=20)
    try:
        wait_until(lambda: blocked_marker(tmp_path) is not None, 60, "the client to block")
        (proxy,) = [name for name in toxiproxy.proxies() if name.startswith("taxstorm-") and "-lease-" not in name]
        assert toxiproxy.toxics(proxy), "the latency fault should be on while the client is blocked"
        time.sleep(1.0)  # frozen: nothing reverts the fault, nothing ends the run
        assert proc.poll() is None and toxiproxy.toxics(proxy)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
        took_s = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    result = assert_abandoned_cleanly(tmp_path, toxiproxy, output, proc.returncode)
    assert "SIGTERM came" in result["reason"] and took_s < 20, (took_s, result["reason"])


def test_a_run_frozen_by_a_blocked_client_is_abandoned_at_its_deadline(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    # a long answer budget (stuck only after 50 s): limits.max_run_s ends it; the stuck rule ends the workers of
    # the distributed test below (and both rules are unit-tested in tests/unit/test_watchdog.py)
    faults = [{**SLOW[0], "for_s": 4}]
    proc = start(tmp_path, toxiproxy, 40, duration_s=6, drain_s=2, faults=faults, limits={"max_run_s": 8})
    try:
        output, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    result = assert_abandoned_cleanly(tmp_path, toxiproxy, output, proc.returncode)
    assert "limits.max_run_s passed" in result["reason"], result["reason"]
    assert result["duration_s"] < 20, result["duration_s"]


def test_a_worker_frozen_by_a_blocked_client_is_abandoned_and_the_master_reports_it(
    tmp_path: Path, toxiproxy: ToxiproxyAPI
) -> None:
    load = {"users": 2, "rate_per_s": 4, "seed": 2}
    data = {"duration_s": 10, "drain_s": 4, "load": load, "faults": SLOW, "gates": [{"type": "integrity"}]}
    data["steady_state"] = NO_STEADY_STATE
    path = scenario(tmp_path, client={"answer_budget_s": 2}, platform=AT_ONCE, **data)
    args = ["run", str(path), "--client", CLIENT, "--workers", "2", "--toxiproxy-url", toxiproxy.base_url]
    proc = taxstorm(*args, "--report-dir", str(tmp_path / "reports"), start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, output[-3000:]
    result = json.loads((run_dir(tmp_path) / "result.json").read_text())
    blocked = [d for d in result["client_defects"] if d["kind"] == "blocked"]
    assert blocked and blocked[0]["method"] == "issue", result["client_defects"]
    assert any("tests/clients/blocking.py" in frame for frame in blocked[0]["frames"]), blocked
    contract = [g for g in result["gates"] if g["kind"] == "contract"]
    assert contract and not contract[0]["passed"], result["gates"]
    assert result["faults"][0]["reverted_s"] is not None and result["cleanup"]["toxics_left"] == []
    assert [name for name in toxiproxy.proxies()] == [], "the run left its proxy or lease"
    assert result["duration_s"] < 45, "the master should stop waiting for workers that are gone"
