"""The backlog check after the drain, on real runs: a client still reading outcomes the platform had decided
when the drain's time ran out gets one last drain and agrees; a client whose backlog() never goes down still
disagrees after it. The first runs with Locust workers: the last drain is a second drain they must tell apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli_run import only_run, scenario, taxstorm

pytestmark = pytest.mark.integration

AT_ONCE = {"settings": {"processing_ms": {"median_ms": 0, "p99_ms": 0}}}  # answers the moment it is asked


def run(tmp_path: Path, client: str, *extra: str) -> dict[str, Any]:
    load = {"users": 1, "rate_per_s": 3, "seed": 7}
    path = scenario(
        tmp_path, duration_s=4, drain_s=3, load=load, faults=[], gates=[{"type": "integrity"}], platform=AT_ONCE
    )
    proc = taxstorm("run", str(path), "--client", client, "--report-dir", str(tmp_path / "reports"), *extra)
    output, _ = proc.communicate(timeout=120)
    result, _ = only_run(tmp_path / "reports")
    assert result["status"] == "passed", output[-3000:]  # every order issued: the integrity gate holds
    return result


def test_a_client_still_reading_outcomes_at_the_deadline_gets_a_last_drain(tmp_path: Path) -> None:
    # in distributed mode: the last drain is a second, numbered drain the workers must tell apart from the first
    result = run(tmp_path, "tests.clients.late_readers:late_reader", "--workers", "2")
    check = result["backlog_check"]
    assert check["agrees"] and check["owed"] == 0 and check["client"] == 0, check
    assert check["settled"]["client_before"] > 0 and check["settled"]["took_s"] < 5.0, check
    assert "a last drain" in check["message"], check


def test_a_backlog_that_never_goes_down_still_disagrees_after_the_last_drain(tmp_path: Path) -> None:
    check = run(tmp_path, "tests.clients.late_readers:never_forgets")["backlog_check"]
    assert not check["agrees"] and check["owed"] == 0 and check["client"] > 0, check
    assert check["settled"]["client_before"] > 0, check
    assert f"says {check['client']}, but only 0 orders are still owed" in check["message"], check
