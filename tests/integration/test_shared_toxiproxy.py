"""Runs sharing one Toxiproxy: each holds a lease beside its proxies while it runs; `taxstorm reset
--toxiproxy-url` deletes only what provably belongs to no live run, and a run whose proxy is deleted under it
says so (exit 3, the cause named) instead of blaming a revert. Real toxiproxy-server, real runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.toxiproxy.lease import LEASE_PREFIX, SKEW_S, lease_upstream
from taxstorm.chaos.waiting import wait_until
from taxstorm.reset import reset_all
from tests.integration.test_cli_run import assert_no_child_left, only_run, scenario, taxstorm

pytestmark = pytest.mark.integration


def run_proxies(toxiproxy: ToxiproxyAPI) -> list[str]:
    return [name for name in toxiproxy.proxies() if name.startswith("taxstorm-") and LEASE_PREFIX not in name]


def test_reset_leaves_a_live_run_alone_and_the_run_passes(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    path = scenario(tmp_path, duration_s=5, drain_s=2, faults=[], gates=[{"type": "integrity"}])
    reports = tmp_path / "reports"
    proc = taxstorm("run", str(path), "--report-dir", str(reports), "--toxiproxy-url", toxiproxy.base_url)
    try:
        wait_until(lambda: bool(run_proxies(toxiproxy)) and any(reports.glob("*/state.json")), 60, "the run's proxy")
        (proxy,) = run_proxies(toxiproxy)
        report = reset_all(reports, toxiproxy.base_url)  # an operator's reset, on the same machine, mid-run
        assert report.actions == [] and report.problems == [], report
        assert any("still running (its process" in kept for kept in report.kept), report.kept
        other = reset_all(tmp_path / "elsewhere", toxiproxy.base_url)  # another machine: only the lease tells
        assert other.actions == [] and any(f"kept proxy {proxy}" in kept for kept in other.kept), other
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert toxiproxy.proxies() == {}, "the run left its proxy or its lease"
    assert_no_child_left(only_run(reports)[1])


def test_reset_deletes_the_proxies_of_runs_without_a_live_lease(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    now = time.time()
    for run, until in [("dead", now - SKEW_S - 5), ("late", now - 5), ("alive", now + 30), ("none", None)]:
        toxiproxy.create_proxy(f"taxstorm-{run}", "127.0.0.1:9")
        toxiproxy.create_proxy(f"taxstorm-{run}-secondary", "127.0.0.1:9")
        if until is not None:
            toxiproxy.create_proxy(f"{LEASE_PREFIX}{run}", lease_upstream(until), enabled=False)
    toxiproxy.create_proxy("someone-else", "127.0.0.1:9")
    report = reset_all(tmp_path / "reports", toxiproxy.base_url)
    left = sorted(toxiproxy.proxies())
    # a lease that ended less than SKEW_S ago may be another machine's clock: still alive
    kept = [
        "someone-else",
        *[
            f"{prefix}{run}{suffix}"
            for run in ("alive", "late")
            for prefix, suffix in [("taxstorm-", ""), ("taxstorm-", "-secondary"), (LEASE_PREFIX, "")]
        ],
    ]
    assert left == sorted(kept), (left, report)
    assert len(report.kept) == 4 and report.problems == [], report


def test_a_run_whose_proxy_is_deleted_under_it_says_so(tmp_path: Path, toxiproxy: ToxiproxyAPI) -> None:
    faults = [{"type": "latency", "id": "slow", "at_s": 3, "for_s": 20, "latency_ms": 100}]
    path = scenario(tmp_path, duration_s=30, faults=faults, gates=[{"type": "integrity"}])
    reports = tmp_path / "reports"
    proc = taxstorm("run", str(path), "--report-dir", str(reports), "--toxiproxy-url", toxiproxy.base_url)
    try:
        wait_until(lambda: any(toxiproxy.toxics(name) for name in run_proxies(toxiproxy)), 60, "the run's fault")
        (proxy,) = run_proxies(toxiproxy)
        toxiproxy.delete_proxy(proxy)  # what an older taxstorm's reset did to runs in progress
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, output
    result, state = only_run(reports)
    assert result["status"] == "errored" and f"the run's proxy {proxy} was deleted" in result["reason"], result
    assert result["duration_s"] < 20, "the run should stop when it loses its proxy, not play on"
    assert toxiproxy.proxies() == {}, "the run left its lease"
    assert_no_child_left(state)
