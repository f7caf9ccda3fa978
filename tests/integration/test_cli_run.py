"""``taxstorm run`` end to end as a real process: real uvicorn, real toxiproxy-server, Locust in library mode."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.waiting import wait_until
from tests.chromium import distinct_colours, dump_dom, screenshot
from tests.conftest import REPO

# For stories whose first fault comes two seconds in: too short a baseline for a steady-state check, which on a
# busy machine (CI, two test workers) once saw nothing finished yet and stopped the run before the story began.
NO_STEADY_STATE = {"enabled": False}


def scenario(tmp_path: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "name": "e2e",
        "duration_s": 9,
        "drain_s": 5,
        "load": {"users": 2, "rate_per_s": 8, "seed": 3},
        "faults": [{"type": "latency", "id": "slow", "at_s": 3, "for_s": 3, "latency_ms": 300}],
        "gates": [
            # asynchronous issuing: submit, wait the 202's Retry-After (whole seconds, so >= 1 s), read the result
            {"type": "latency", "window": "baseline", "max_ms": 1500},
            {"type": "latency", "window": "slow", "max_ms": 3000},
            {"type": "integrity"},
        ],
    }
    data.update(changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def taxstorm(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "taxstorm", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def only_run(report_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    (run_dir,) = [p for p in report_dir.iterdir() if p.is_dir()]
    result = json.loads((run_dir / "result.json").read_text())
    state = json.loads((run_dir / "state.json").read_text())
    return result, state


def assert_no_child_left(state: dict[str, Any]) -> None:
    for name, pid in state["pids"].items():
        if pid is None:
            continue
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
            raise AssertionError(f"{name} (pid {pid}) is still running")


def test_run_passes_and_the_latency_fault_is_seen_by_the_client(tmp_path: Path) -> None:
    platform = {
        "settings": {
            "processing_ms": {"median_ms": 20, "p99_ms": 60},  # async issuing: clients poll by serial
            "capacity": {"issue": {"concurrency": 50, "policy": "shed"}},
        }
    }
    # 6 s after the revert: time-to-recover needs 3 healthy seconds in a row, and a busy CI machine can spoil one
    path = scenario(tmp_path, platform=platform, duration_s=12)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    result, state = only_run(tmp_path / "reports")
    assert result["schema_version"] == 1 and result["status"] == "passed"
    windows = {w["window"]["name"]: w for w in result["windows"]}
    baseline = windows["baseline"]["latency_ms"]
    assert windows["slow"]["latency_ms"]["p50"] >= baseline["p50"] + 250, "the client did not feel the 300 ms latency"
    assert baseline["p95"] < 1500
    assert windows["recovery:slow"]["latency_ms"]["p95"] < baseline["p95"] + 250, "the latency outlived its revert"
    event = result["faults"][0]
    assert abs(event["applied_s"] - 3) < 0.5 and abs(event["reverted_s"] - 6) < 0.5
    rec = result["reconciliation"]
    assert rec["orders"] > 20 and rec["ledger_invoices"] == rec["orders"]
    assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True}  # asked Toxiproxy, not assumed
    assert result["platform_stats"]["capacity"]["issue"]["config"]["policy"] == "shed"  # settings reached it
    polls = [r for r in result["platform_stats"]["requests"] if r["route"].endswith("/by-serial/{serial}")]
    assert sum(r["count"] for r in polls) > 0
    assert "PASSED" in output and "result.json" in output
    assert "offered" in output and "achieved" in output and "faults: slow" in output  # progress lines (no TTY)
    assert "Steady state before the first fault (at 3.0 s)" in output and "healthy" in output
    assert_no_child_left(state)
    assert result["recovery_s"]["slow"] is not None and result["recovery_s"]["slow"] < 3  # time to recover
    check_reports(Path(result["reports"]["html"]).parent, result, tmp_path)


def check_reports(run_dir: Path, result: dict[str, Any], tmp_path: Path) -> None:
    """JUnit, per-second CSV, the HTML report as Chromium draws it, and ``report`` / ``compare`` on the run."""
    suite = ET.parse(run_dir / "junit.xml").getroot()
    assert suite.get("tests") == str(len(result["gates"])) and suite.get("failures") == "0"
    seconds = list(csv.DictReader((run_dir / "per_second.csv").open(encoding="utf-8")))
    assert len(seconds) >= 9 and sum(int(s["operations"]) for s in seconds) == result["windows"][0]["operations"]
    dom = dump_dom(run_dir / "report.html")
    assert dom.count("<svg") >= 2 and "slow" in dom and "PASSED" in dom
    screenshot(run_dir / "report.html", tmp_path / "report.png")
    assert distinct_colours(tmp_path / "report.png") > 20  # charts, shading and text were drawn
    (run_dir / "report.html").unlink()
    proc = taxstorm("report", str(run_dir))
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "PASSED" in output and (run_dir / "report.html").exists(), output
    proc = taxstorm("compare", str(run_dir), str(run_dir), "--fail-on-regression")
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "0 regression(s)" in output, output


def test_a_failed_gate_exits_1_and_says_why(tmp_path: Path) -> None:
    gates = [{"type": "latency", "window": "fault", "max_ms": 100}, {"type": "integrity"}]
    proc = taxstorm("run", str(scenario(tmp_path, gates=gates)), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    result, _ = only_run(tmp_path / "reports")
    assert result["status"] == "failed"
    failed = [g for g in result["gates"] if not g["passed"]]
    assert [g["window"] for g in failed] == ["slow"]
    assert "over 100 ms" in failed[0]["message"]
    assert "gates failed" in output


@pytest.mark.parametrize(
    "signals", [[signal.SIGTERM], [signal.SIGINT], [signal.SIGINT, signal.SIGINT]], ids=["term", "int", "int-int"]
)
def test_signal_mid_fault_reverts_and_leaves_nothing_behind(
    tmp_path: Path, toxiproxy: ToxiproxyAPI, signals: list[signal.Signals]
) -> None:
    slow = [{"type": "latency", "id": "slow", "at_s": 2, "latency_ms": 200}]
    path = scenario(tmp_path, duration_s=60, faults=slow, steady_state=NO_STEADY_STATE)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"), "--toxiproxy-url", toxiproxy.base_url)

    def toxic_applied() -> bool:
        return any(toxiproxy.toxics(name) for name in toxiproxy.proxies())

    wait_until(toxic_applied, 60, "the run's latency toxic")
    proc.send_signal(signals[0])
    seen = ""
    if len(signals) > 1:  # a second Ctrl-C during the drain is respected (the drain stops) but still reverts
        assert proc.stdout is not None
        while "phase drain" not in seen:  # signals of one kind sent at once may arrive as one: wait for the first
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        proc.send_signal(signals[1])
    output, _ = proc.communicate(timeout=60)
    output = seen + output
    assert proc.returncode == 3, output
    assert toxiproxy.proxies() == {}, "the run left its proxy (and toxics) on the shared Toxiproxy"
    result, state = only_run(tmp_path / "reports")
    assert result["status"] == "interrupted" and signals[0].name in result["reason"]
    assert result["faults"][0]["reverted_s"] is not None
    if len(signals) > 1:  # no drain: orders told "queued" never had their chance, so nothing is judged
        assert "before the drain: not judged" in result["reason"] and result["gates"] == []
        assert result["backlog_check"]["message"] == "no drain: not compared"
    assert_no_child_left(state)


def test_external_toxiproxy_keeps_other_proxies(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    toxiproxy.create_proxy("someone-else", "127.0.0.1:9")
    path = scenario(tmp_path, duration_s=4, faults=[], gates=[{"type": "integrity"}])
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"), "--toxiproxy-url", toxiproxy.base_url)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert list(toxiproxy.proxies()) == ["someone-else"]


def test_unreachable_toxiproxy_is_an_environment_error(tmp_path: Path) -> None:
    path = scenario(tmp_path, duration_s=4, faults=[], gates=[{"type": "integrity"}])
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "r"), "--toxiproxy-url", "http://127.0.0.1:9")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, output
    assert "environment not ready" in output and "ERRORED" in output


def test_invalid_scenario_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = scenario(tmp_path, faults=[{"type": "latncy", "at_s": 1}])
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "r"))
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, output
    assert "faults[0]" in output and "did you mean 'latency'" in output
    assert "Traceback" not in output


def process_state(pid: int) -> str | None:
    """The one-letter state of a process (T = stopped), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_sigkill_mid_fault_then_reset_leaves_everything_clean(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    faults = [
        # after a steady state of a few completed issues (each takes a second: submit, Retry-After, read)
        {"type": "latency", "id": "slow", "at_s": 3, "latency_ms": 100},
        {"type": "hang", "id": "frozen", "at_s": 4},
    ]
    reports = tmp_path / "reports"
    path = scenario(tmp_path, duration_s=60, faults=faults, gates=[{"type": "integrity"}])
    proc = taxstorm("run", str(path), "--report-dir", str(reports), "--toxiproxy-url", toxiproxy.base_url)
    wait_until(lambda: any(p.is_dir() for p in reports.glob("*")), 30, "the run folder")
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]

    def platform_frozen() -> bool:
        state = json.loads((run_dir / "state.json").read_text()) if (run_dir / "state.json").exists() else {}
        pid = state.get("pids", {}).get("platform")
        return bool(pid) and process_state(pid) == "T" and any(toxiproxy.toxics(n) for n in toxiproxy.proxies())

    wait_until(platform_frozen, 60, "the latency toxic and the frozen platform")
    proc.kill()  # SIGKILL: no finally, no revert
    proc.communicate(timeout=30)
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "running"
    assert toxiproxy.proxies(), "the killed run's proxy is still there (reset's job)"
    platform_pid = state["pids"]["platform"]
    # stopped by the hang fault, it still dies with its parent (a SIGKILL, which a stopped process cannot defer)
    wait_until(lambda: process_state(platform_pid) in (None, "Z"), 10, "the frozen platform to die with the harness")

    reset = subprocess.run(
        [sys.executable, "-m", "taxstorm", "reset", "--report-dir", str(reports)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert toxiproxy.proxies() == {}, "reset must remove the run's proxy and toxics"
    assert json.loads((run_dir / "state.json").read_text())["status"] == "reset"
    again = subprocess.run(
        [sys.executable, "-m", "taxstorm", "reset", "--report-dir", str(reports)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert "nothing to reset" in again.stdout


def test_platform_faults_run_on_the_timeline(tmp_path: Path) -> None:
    faults = [
        {
            "type": "error_injection",
            "id": "burst",
            "at_s": 2,
            "for_s": 3,
            "code": "E9003",
            "rate": 0.5,
            "families": ["issue"],
            "retry_after_s": 0,
        },
        {"type": "ghost_success", "id": "ghosts", "at_s": 5, "for_s": 2, "rate": 0.5},
    ]
    gates = [{"type": "integrity"}, {"type": "latency", "window": "baseline", "max_ms": 1500}]
    # a circuit opened by the error burst would keep the clients away from the ghosts: not what this tests
    client = {"ref": "resilient", "options": {"breaker_fail_max": 1000}}
    path = scenario(tmp_path, duration_s=9, faults=faults, gates=gates, client=client)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    result, _ = only_run(tmp_path / "reports")
    assert [e["reverted_s"] is not None for e in result["faults"]] == [True, True]
    counts = {(r["route"], r["status"]): r["count"] for r in result["platform_stats"]["requests"]}
    assert counts.get(("/api/v1/invoices", 503), 0) > 0, "the injected errors reached the clients"
    assert counts.get(("/api/v1/invoices", 504), 0) > 0, "ghost successes answered 504"
    rec = result["reconciliation"]
    assert rec["lost"] == [] and rec["duplicates"] == []  # the resilient client looked up by serial


def test_the_integrity_gate_catches_the_naive_client_duplicating(tmp_path: Path) -> None:
    faults = [{"type": "ghost_success", "id": "ghosts", "at_s": 2, "for_s": 4, "rate": 0.5}]
    gates = [{"type": "integrity"}]
    path = scenario(
        tmp_path, duration_s=8, faults=faults, gates=gates, client={"ref": "naive"}, steady_state=NO_STEADY_STATE
    )
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    result, _ = only_run(tmp_path / "reports")
    (gate,) = [g for g in result["gates"] if g["kind"] == "integrity"]
    assert not gate["passed"] and "duplicates" in gate["message"]
    assert [g["kind"] for g in result["gates"]] == ["integrity", "contract"]  # the contract is always judged
    assert result["reconciliation"]["duplicates"], "the duplicated orders are listed with their invoice numbers"
    assert all(len(d["ledger_invoice_nos"]) > 1 for d in result["reconciliation"]["duplicates"])


def test_open_model_keeps_offering_load_while_the_platform_is_slow(tmp_path: Path) -> None:
    # 2 sellers, 10 invoices/s offered, every answer 700 ms late: a closed model would manage about 3/s.
    load = {"users": 2, "shape": {"type": "steady", "rate_per_s": 10}, "seed": 5}
    faults = [{"type": "platform_latency", "id": "slow", "at_s": 0, "median_ms": 700, "p99_ms": 700}]
    platform = {"settings": {"processing_ms": {"median_ms": 0}}}  # issued in the first answer: one slow round trip
    gates = [{"type": "integrity"}]
    path = scenario(tmp_path, duration_s=8, load=load, faults=faults, gates=gates, platform=platform)
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    result, _ = only_run(tmp_path / "reports")
    everything = next(w for w in result["windows"] if w["window"]["name"] == "all")
    assert 50 <= result["load"]["arrivals"] <= 115, result["load"]
    assert everything["operations"] >= 50 and result["load"]["dropped"] == 0
    # concurrent operations of one seller overlap: nothing inside the client serialises them
    assert everything["latency_ms"]["p95"] < 1500, everything["latency_ms"]
    assert result["reconciliation"]["ledger_invoices"] == result["reconciliation"]["orders"]


def test_every_kind_of_traffic_shares_one_platform(tmp_path: Path) -> None:
    # quota downloaded in advance and pre-assigned numbers: nothing can be issued before housekeeping has run
    platform = {
        "settings": {
            "quota_mode": "download",
            "numbering": "segments",
            "processing_ms": {"median_ms": 20, "p99_ms": 60},
        }
    }
    load = {
        "users": 2,
        "rate_per_s": 6,
        "seed": 5,
        "erp": {"users": 1, "rate_per_s": 6, "batch_size": 6},
        "receivers": {"users": 1, "rate_per_s": 3},
        "returns": {"users": 1, "rate_per_s": 1},
        "housekeeping": {"every_s": 4, "segment_size": 200},
    }
    path = scenario(tmp_path, duration_s=10, load=load, platform=platform, faults=[], gates=[{"type": "integrity"}])
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    result, _ = only_run(tmp_path / "reports")
    operations = result["load"]["operations"]
    assert operations["housekeeping"].get("ok", 0) >= 3 and set(operations["housekeeping"]) == {"ok"}, operations
    assert operations["issue"].get("issued", 0) > 20 and set(operations["issue"]) == {"issued"}, operations
    assert operations["batch"].get("issued", 0) >= 6 and operations["batch"]["issued"] % 6 == 0, operations
    assert operations["verify"].get("consistent", 0) > 5, operations
    # undelivered: read while its upload to the tax bureau was still under way (a buyer has nothing to verify yet)
    assert set(operations["verify"]) <= {"consistent", "limited", "undelivered"}, operations
    assert operations["red"].get("issued", 0) >= 3 and set(operations["red"]) == {"issued"}, operations
    reconciliation = result["reconciliation"]
    assert not reconciliation["lost"] and not reconciliation["duplicates"] and not reconciliation["mismatched"]
    assert reconciliation["orders"] == operations["issue"]["issued"] + operations["batch"]["issued"]


def test_a_halt_condition_stops_the_run_early_and_reverts(tmp_path: Path) -> None:
    # the naive client tells its users "failed" once the platform answers every issue with 503
    faults = [
        {"type": "error_injection", "id": "errors", "at_s": 2, "rate": 1.0, "code": "E9003", "families": ["issue"]}
    ]
    path = scenario(
        tmp_path,
        duration_s=60,
        client={"ref": "naive", "options": {"timeout_s": 2, "retries": 1, "retry_pause_s": 0.05}},
        steady_state=NO_STEADY_STATE,
        faults=faults,
        halt=[{"type": "error_rate", "above": 0.5, "for_s": 3, "min_operations": 5}],
        gates=[{"type": "integrity"}],
    )
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    result, state = only_run(tmp_path / "reports")
    assert result["status"] == "failed" and result["halted"].startswith("halted at ")
    assert "error rate" in result["halted"] and result["duration_s"] < 30
    assert result["faults"][0]["reverted_s"] is not None and result["cleanup"]["toxics_left"] == []
    assert_no_child_left(state)


def test_an_unhealthy_baseline_is_an_environment_error_not_a_client_failure(tmp_path: Path) -> None:
    path = scenario(tmp_path, duration_s=20, steady_state={"max_p95_ms": 0.001})
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, output
    result, _ = only_run(tmp_path / "reports")
    assert result["status"] == "errored" and "environment not healthy before the first fault" in result["reason"]
    assert all(f["applied_s"] is None for f in result["faults"])  # no fault was injected into a sick system
    check = result["steady_state"]
    assert check["operations"] > 0 and check["p95_ms"] > 0.001 and check["problem"].startswith("p95 ")
    assert "Steady state before the first fault (at 3.0 s)" in output and "not healthy: p95" in output


def test_capacity_finds_the_knee_of_a_platform_with_known_capacity(tmp_path: Path) -> None:
    # 4 concurrent issues of 100 ms each: about 40 invoices/s, beyond which the queue grows without bound
    path = scenario(
        tmp_path,
        platform={
            "settings": {
                "processing_ms": {"median_ms": 0},  # issued in the first answer: its latency is the queue's
                "capacity": {
                    "issue": {"concurrency": 4, "queue": 1000, "policy": "queue", "service_time": {"median_ms": 100}}
                },
            }
        },
        faults=[],
        gates=[{"type": "latency", "percentile": 95, "max_ms": 1000}],
    )
    command = ["capacity", str(path), "--start", "10", "--step", "10", "--steps", "6", "--step-s", "4"]
    proc = taxstorm(*command, "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, output
    (report_file,) = (tmp_path / "reports").glob("*/capacity.json")
    report = json.loads(report_file.read_text())
    assert report["kind"] == "taxstorm.capacity" and len(report["steps"]) == 6
    assert 20 <= report["knee_per_s"] <= 50, report["steps"]  # the theoretical 40/s, within step noise
    assert not report["steps"][-1]["passed"]  # 60/s is well past it
    html = (report_file.parent / "capacity.html").read_text()
    assert html.count("<svg") == 3 and f"Knee: <b>{report['knee_per_s']:g} operations/s" in html
