"""``taxstorm run`` in Locust's distributed mode: workers started by the run, and workers and stack started by
someone else (external mode, as docker compose does it), all real processes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taxstorm.chaos.registry import FaultContext
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.toxiproxy.server import free_port
from taxstorm.reset import ResetReport, reset_run
from tests.conftest import REPO, RunningPlatform
from tests.helpers import build_fault
from tests.integration.test_cli_run import assert_no_child_left, only_run, scenario, taxstorm

pytestmark = pytest.mark.integration

LOAD = {"users": 4, "rate_per_s": 16, "seed": 5}
GHOST = [{"type": "ghost_success", "id": "ghost", "at_s": 3, "for_s": 3, "rate": 0.5}]


def worker_of(order_ref: str) -> str:
    """orderRefs are <run id>-w<worker index>-<n> in a distributed run."""
    return order_ref.rsplit("-", 2)[-2]


def orders_by_worker(run_dir: Path) -> Counter[str]:
    """Orders per worker in ``operations.csv``: an order queued under a fault has a second row, its drain."""
    with (run_dir / "operations.csv").open(encoding="utf-8") as handle:
        orders = {row["order_ref"] for row in csv.DictReader(handle)}
    return Counter(worker_of(ref) for ref in orders)


def finished_before(run_dir: Path, t_s: float) -> int:
    """User operations of the run that had finished by run second ``t_s``."""
    with (run_dir / "operations.csv").open(encoding="utf-8") as handle:
        return sum(1 for row in csv.DictReader(handle) if row["operation"] == "issue" and float(row["end_s"]) < t_s)


def test_two_local_workers_share_the_load_and_every_record_reaches_the_master(tmp_path: Path) -> None:
    path = scenario(tmp_path, load=LOAD, faults=GHOST, gates=[{"type": "integrity"}])
    proc = taxstorm("run", str(path), "--workers", "2", "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    result, state = only_run(tmp_path / "reports")
    run_dir = Path(result["reports"]["json"]).parent
    by_worker = orders_by_worker(run_dir)
    assert set(by_worker) == {"w0", "w1"} and min(by_worker.values()) > 10, by_worker  # users split over both
    rec = result["reconciliation"]
    assert rec["orders"] == sum(by_worker.values()) == rec["ledger_invoices"], rec  # nothing lost in shipping
    assert rec["duplicates"] == [] and rec["lost"] == []
    assert result["faults"][0]["applied_s"] is not None and result["cleanup"]["toxics_left"] == []
    assert (run_dir / "clients" / "worker-0").is_dir() and (run_dir / "clients" / "worker-1").is_dir()
    assert_no_child_left(state)
    check = result["steady_state"]  # judged with every record finished by then: the workers shipped them first
    assert check["problem"] is None and check["operations"] == finished_before(run_dir, check["checked_s"]) > 10
    for log in (run_dir / "worker-0.log", run_dir / "worker-1.log"):
        assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture
def compose_like(toxiproxy: ToxiproxyAPI, platform: RunningPlatform) -> Iterator[dict[str, Any]]:
    """A platform and a Toxiproxy populated with a 'platform' proxy, started by someone other than the run."""
    (proxy,) = toxiproxy.populate(
        [{"name": "platform", "listen": "127.0.0.1:0", "upstream": platform.url.removeprefix("http://")}]
    )
    yield {"toxiproxy": toxiproxy, "platform": platform, "proxy": proxy}
    assert toxiproxy.toxics("platform") == {}, "the run left a toxic on the shared proxy"
    assert toxiproxy.proxies()["platform"].enabled


def test_external_mode_uses_the_running_stack_and_workers_started_elsewhere(
    tmp_path: Path, compose_like: dict[str, Any]
) -> None:
    toxiproxy: ToxiproxyAPI = compose_like["toxiproxy"]
    platform: RunningPlatform = compose_like["platform"]
    port = free_port()
    env = {**os.environ, "TAXSTORM_ADMIN_TOKEN": platform.admin_token}
    faults = [{"type": "latency", "id": "slow", "at_s": 3, "for_s": 3, "latency_ms": 300}]
    path = scenario(tmp_path, load=LOAD, faults=faults, gates=[{"type": "integrity"}])
    args = ["run", str(path), "--toxiproxy-url", toxiproxy.base_url, "--toxiproxy-proxy", "platform"]
    args += ["--platform-url", platform.url, "--expect-workers", "2", "--master-bind", f"127.0.0.1:{port}"]
    run = taxstorm(*args, "--report-dir", str(tmp_path / "reports"), env=env)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "taxstorm",
                "worker",
                "--master-port",
                str(port),
                "--state-dir",
                str(tmp_path / "w"),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        output, _ = run.communicate(timeout=180)
        codes = [worker.wait(timeout=30) for worker in workers]  # the master's quit ends them
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert run.returncode == 0, output
    assert codes == [0, 0]
    result, state = only_run(tmp_path / "reports")
    assert state["pids"] == {"platform": None, "toxiproxy": None, "secondary": None}  # it started none
    assert result["endpoints"]["client"] == f"http://{compose_like['proxy'].listen}"
    assert "platform" in toxiproxy.proxies(), "the run deleted a proxy it did not create"
    rec = result["reconciliation"]
    assert rec["orders"] > 40 and rec["ledger_invoices"] == rec["orders"]
    assert set(orders_by_worker(Path(result["reports"]["json"]).parent)) == {"w0", "w1"}
    windows = {w["window"]["name"]: w for w in result["windows"]}
    assert windows["slow"]["latency_ms"]["p50"] >= 300, "the fault on the shared proxy did not reach the workers"


def test_bad_distributed_options_are_usage_errors(tmp_path: Path) -> None:
    path = scenario(tmp_path)
    cases = [
        (["--workers", "2", "--expect-workers", "2"], "give one"),
        (["--toxiproxy-proxy", "platform"], "--toxiproxy-url"),
        (["--master-bind", "nowhere"], "--master-bind"),
        (["--workers", "2", "--master-bind", "0.0.0.0"], "HOST:PORT"),
    ]
    for extra, expected in cases:
        proc = taxstorm("run", str(path), *extra, env={**os.environ, "TAXSTORM_ADMIN_TOKEN": ""})
        output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 2 and expected in output and "Traceback" not in output, (extra, output)
    housekeeping = scenario(tmp_path, load={**LOAD, "housekeeping": {}})
    proc = taxstorm("run", str(housekeeping), "--workers", "2", "--report-dir", str(tmp_path / "r"))
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "load.housekeeping" in output, output


def test_reset_after_a_killed_external_run_cleans_the_shared_proxy_but_keeps_it(
    tmp_path: Path, compose_like: dict[str, Any]
) -> None:
    toxiproxy: ToxiproxyAPI = compose_like["toxiproxy"]
    upstream = toxiproxy.proxies()["platform"].upstream
    stall = build_fault(FaultContext("killed-run", toxiproxy, "platform"), type="handshake_stall", id="stall")
    stall.apply()  # the run is killed while its handshake stall points the shared proxy at a stall proxy
    toxiproxy.add_toxic("platform", "killed-run-latency-1", "latency", {"latency": 500})
    toxiproxy.set_enabled("platform", False)
    run_dir = tmp_path / "killed-run"
    run_dir.mkdir()
    state: dict[str, Any] = {"status": "running", "run_id": "killed-run", "toxiproxy_url": toxiproxy.base_url}
    state |= {"proxy": "platform", "proxy_owned": False, "proxy_upstream": upstream, "pids": {}}
    (run_dir / "state.json").write_text(json.dumps(state))
    report = ResetReport()
    reset_run(run_dir / "state.json", report)
    assert "platform" in toxiproxy.proxies() and toxiproxy.proxies()["platform"].enabled, report
    assert toxiproxy.toxics("platform") == {}  # the fixture checks the same on the way out
    assert toxiproxy.proxies()["platform"].upstream == upstream, report  # pointed back at the platform
    assert not [name for name in toxiproxy.proxies() if name.startswith("taxstorm-killed-run-")], report


def test_a_broken_client_on_workers_is_judged_on_the_master_with_every_defect_counted(tmp_path: Path) -> None:
    """Defects happen on the workers; they reach the master with the records (each once) and fail the run."""
    path = scenario(tmp_path, load=LOAD, duration_s=8, client={"ref": "tests.clients.broken:raising_issue"})
    proc = taxstorm("run", str(path), "--workers", "2", "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 1, output
    result, state = only_run(tmp_path / "reports")
    assert result["steady_state"]["blame"] == "client", result["reason"]
    (defect,) = result["client_defects"]
    assert (defect["method"], defect["kind"], defect["type"]) == ("issue", "exception", "ValueError")
    issue_ops = result["load"]["operations"]["issue"]
    assert defect["count"] == issue_ops["failed"] == sum(issue_ops.values()) > 0  # every one, each once
    assert_no_child_left(state)
