"""The ``taxstorm_run`` fixture, used from a test suite of its own (pytester, a separate pytest process)."""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.conftest import REPO

pytest_plugins = ["pytester"]

INNER = """
def scenario(**changes):
    data = {"name": "plugin", "duration_s": 4, "drain_s": 2, "load": {"users": 2, "rate_per_s": 6}}
    data.update(changes)
    return data


def test_a_passing_run(taxstorm_run):
    outcome = taxstorm_run(scenario(gates=[{"type": "integrity"}]))
    outcome.assert_passed()
    assert outcome.gate("integrity")[0]["passed"] and (outcome.run_dir / "report.html").exists()


def test_a_failing_gate_fails_the_test_with_its_reason(taxstorm_run):
    outcome = taxstorm_run(scenario(gates=[{"type": "latency", "max_ms": 0.001}]))
    assert not outcome.passed and outcome.exit_code == 1
    try:
        outcome.assert_passed()
    except AssertionError as exc:
        assert "latency p95 <= 0.001 ms [all]" in str(exc)
    else:
        raise AssertionError("assert_passed let a failed run through")
"""


def test_the_fixture_runs_scenarios_for_another_suite(
    pytester: pytest.Pytester, toxiproxy_binary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOXIPROXY_SERVER", str(toxiproxy_binary))  # the other suite runs in another folder
    pytester.makepyfile(test_inner=INNER)
    installed = any(e.name == "taxstorm" for e in entry_points(group="pytest11"))  # else load it by name
    plugin = [] if installed else ["-p", "taxstorm.pytest_plugin"]
    result = pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_plugin_is_registered_for_pytest() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["pytest11"] == {"taxstorm": "taxstorm.pytest_plugin"}
