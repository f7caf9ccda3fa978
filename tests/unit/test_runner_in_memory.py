"""The whole verdict path of ``Runner`` on in-memory parts and virtual time (``tests/simulated.py``): the real
fault classes and scheduler, sampler, steady-state check, halt conditions, windows, gates, reconciliation and
reports, in milliseconds. Each story is judged for a careful client and for a broken one: every gate shown
passing here is also shown failing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from taxstorm.chaos.executor import FaultEvent, FaultExecutor
from taxstorm.errors import ExitCode
from taxstorm.load_driver import LoadDriver
from taxstorm.result import RunResult
from taxstorm.runner import Runner, RunOptions
from taxstorm.scenario import Scenario, parse_scenario
from taxstorm.stack import Stack
from tests.helpers import build_fault
from tests.simulated import ClientModel, Simulation

BASE: dict[str, Any] = {
    "name": "in-memory",
    "duration_s": 60,
    "drain_s": 15,
    "load": {"users": 2, "rate_per_s": 10, "seed": 1},
    "client": {"ref": "resilient"},
    "faults": [
        {"type": "latency", "id": "slow", "at_s": 15, "for_s": 10, "latency_ms": 800},
        {"type": "down", "id": "outage", "at_s": 35, "for_s": 10},
    ],
    "gates": [
        {"type": "latency", "window": "baseline", "percentile": 95, "max_ms": 500},
        {"type": "latency", "window": "slow", "percentile": 95, "max_ms": 2000},
        {"type": "graceful", "window": "outage", "budget_ms": 1000},
        {"type": "integrity"},
        {"type": "drain", "within_s": 10},
    ],
}


def run(tmp_path: Path, simulation: Simulation, **changes: Any) -> RunResult:
    scenario = parse_scenario({**BASE, **changes})
    return Runner(scenario, RunOptions(report_dir=tmp_path), parts=simulation.parts()).run()


def gates(result: RunResult) -> dict[str, bool]:
    return {f"{g.kind} [{g.window}]": g.passed for g in result.gates}


def test_a_careful_client_passes_every_gate_and_the_faults_are_reverted(tmp_path: Path) -> None:
    simulation = Simulation()
    result = run(tmp_path, simulation)
    assert result.status == "passed", (result.reason, gates(result), result.errors)
    assert (
        result.exit_code == ExitCode.PASSED and all(gates(result).values()) and len(result.gates) == 6
    )  # and the contract, always judged
    windows = [(e.label, e.applied_s, e.reverted_s) for e in result.faults]
    assert windows == [("slow", 15.0, 25.0), ("outage", 35.0, 45.0)]  # on time: virtual time never runs late
    assert result.cleanup == {"toxics_left": [], "proxy_enabled": True}
    assert simulation.toxiproxy.proxies_ == {} and simulation.stacks[0].stopped  # the run's proxy is deleted
    reconciliation = result.reconciliation
    assert reconciliation is not None and reconciliation.orders == result.load["arrivals"] == 601  # 0 s to 60 s
    assert reconciliation.claims == {"issued": 601} and reconciliation.ledger_invoices == 601
    operations = result.load["operations"]
    assert operations["issue"]["queued"] == 100 == operations["drain"]["issued"]  # the outage's 10 s at 10/s
    assert result.backlog_after_drain == 0 and result.client_backlog_after_drain == 0
    assert result.steady_state is not None and result.steady_state["problem"] is None
    written = json.loads((tmp_path / result.run_id / "result.json").read_text())
    assert written["status"] == "passed"
    assert {"report.html", "junit.xml", "operations.csv", "per_second.csv"} <= {
        p.name for p in (tmp_path / result.run_id).iterdir()
    }


def test_a_client_that_forgets_its_queue_fails_integrity_and_the_drain(tmp_path: Path) -> None:
    result = run(tmp_path, Simulation(ClientModel(drains=False, reports=False)))
    assert result.status == "failed" and result.exit_code == ExitCode.GATES_FAILED
    failed = {name for name, passed in gates(result).items() if not passed}
    assert failed == {"integrity [all]", "drain [drain]"}, gates(result)
    assert result.reconciliation is not None and len(result.reconciliation.never_issued) == 100


def test_a_client_that_blocks_its_users_fails_the_graceful_gate(tmp_path: Path) -> None:
    result = run(tmp_path, Simulation(ClientModel(offline="block")))
    failed = {name for name, passed in gates(result).items() if not passed}
    assert result.status == "failed" and failed == {"graceful [outage]", "contract [all]"}, gates(result)


def test_latency_beyond_the_window_s_limit_fails_that_window_only(tmp_path: Path) -> None:
    slow = {**BASE["faults"][0], "latency_ms": 3000}
    result = run(tmp_path, Simulation(), faults=[slow, BASE["faults"][1]])
    failed = {name for name, passed in gates(result).items() if not passed}
    assert failed == {"latency [slow]"}, gates(result)


def test_a_sick_baseline_stops_the_run_before_the_first_fault(tmp_path: Path) -> None:
    simulation = Simulation(ClientModel(base_ms=9_000))
    result = run(tmp_path, simulation)
    assert result.steady_state is not None and result.steady_state["problem"] is not None
    # the platform answers /health through the proxy at once: the client is to blame (exit 1), not the environment
    assert result.status == "failed" and result.steady_state["blame"] == "client", result.reason
    assert (result.reason or "").startswith("the client under test failed before the first fault")
    assert all(e.applied_s is None for e in result.faults)  # no fault was ever applied
    assert simulation.toxiproxy.calls.count(("POST", f"/proxies/{simulation.stacks[0].proxy_name}/toxics")) == 0


def test_a_halt_condition_stops_the_run_and_reverts_the_fault(tmp_path: Path) -> None:
    halt = [{"type": "error_rate", "above": 0.2, "for_s": 5}]
    simulation = Simulation(ClientModel(offline="fail"))
    result = run(tmp_path, simulation, halt=halt)
    assert result.status == "failed" and (result.halted or "").startswith("halted at")
    halted_at = float((result.halted or "").split()[2])
    assert 35 < halted_at < 45  # within the outage, once five seconds of it failed
    outage = result.faults[1]
    assert outage.reverted_s is not None and outage.reverted_s <= halted_at + 1.5  # reverted by the halt
    assert result.cleanup == {"toxics_left": [], "proxy_enabled": True}


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_platform_error_injection_goes_through_the_admin_api(tmp_path: Path, rate: float) -> None:
    errors = {"type": "error_injection", "id": "errors", "at_s": 35, "for_s": 10, "rate": rate, "code": "E9003"}
    simulation = Simulation()
    result = run(tmp_path, simulation, faults=[BASE["faults"][0], errors], gates=[{"type": "integrity"}])
    assert result.status == "passed" and simulation.platform.modes == {}  # reverted through DELETE
    assert simulation.platform.switched == [("PUT", "errors"), ("DELETE", "errors")]
    assert result.load["operations"]["issue"].get("queued", 0) == (100 if rate else 0)


def test_tls_in_external_mode_needs_the_ca_of_ones_platform_before_anything_starts(tmp_path: Path) -> None:
    from taxstorm.errors import InvalidInputError
    from taxstorm.runner import check_options

    tls = parse_scenario({**BASE, "platform": {"tls": True}})
    plain = parse_scenario(BASE)
    ca = tmp_path / "ca.pem"
    token = "a-token-of-yours"
    with pytest.raises(InvalidInputError, match=r"platform\.tls: .* give its https:// --platform-url"):
        check_options(tls, RunOptions(platform_url="http://127.0.0.1:8080", admin_token=token))
    check_options(tls, RunOptions(platform_url="https://invoices.example:443", admin_token=token))  # publicly trusted
    with pytest.raises(InvalidInputError, match=r"--ca-file: .* https:// --platform-url"):
        check_options(plain, RunOptions(platform_url="http://127.0.0.1:8080", admin_token=token, ca_file=ca))
    with pytest.raises(InvalidInputError, match=r"--ca-file: .* https:// --platform-url"):
        check_options(plain, RunOptions(ca_file=ca))  # taxstorm's own platform makes its own CA
    for scenario in (tls, plain):  # a platform of one's own over HTTPS, with its CA: accepted
        check_options(scenario, RunOptions(platform_url="https://platform:8443", admin_token=token, ca_file=ca))


def test_a_passive_run_refuses_what_it_cannot_judge_before_anything_starts() -> None:
    from taxstorm.errors import InvalidInputError
    from taxstorm.load_driver import WorkerOptions
    from taxstorm.runner import check_options

    scenario = parse_scenario(BASE)
    with pytest.raises(InvalidInputError, match=r"--passive: .* drop --platform-url"):
        check_options(scenario, RunOptions(platform_url="http://p:8080", admin_token="t", passive=True))
    with pytest.raises(InvalidInputError, match=r"--passive: .* drop --workers"):
        check_options(scenario, RunOptions(workers=WorkerOptions(2), passive=True))


class OneOutage:
    """A session of one's own, on the runner's public methods only: the load for 30 s with the proxy down from
    10 s to 20 s, its one fault applied and reverted by hand through the one executor."""

    wait_for_workers = True

    def deadline_s(self, scenario: Scenario) -> float:
        return 600.0

    def docker_targets(self, project: str | None, scenario: Scenario) -> None:
        return None

    def play(self, run: Runner, driver: LoadDriver, stack: Stack) -> tuple[float, list[str]]:
        executor = FaultExecutor(run.clock, run.on_fault_event)
        run.result.faults = executor.events
        down = build_fault(run.fault_context(stack), type="down", id="outage", at_s=10, for_s=10)
        sampler = run.make_sampler(driver, stack, 30.0, lambda: [a.event.label for a in executor.applied])
        run.restart_clock()
        sampler.start(run.loop)
        driver.start(run.loop.wall())
        run.loop.sleep(10.0)
        executor.apply(down, FaultEvent("outage", "down", {}, 10.0, 20.0), expires_s=20.0)
        run.loop.sleep(10.0)
        errors = executor.expire()
        run.loop.sleep(10.0)
        driver.stop()
        return run.clock(), errors + executor.revert_all() + run.verify_clean(stack)


def test_a_session_of_ones_own_is_judged_like_any_run(tmp_path: Path) -> None:
    simulation = Simulation()
    scenario = parse_scenario(
        {**BASE, "faults": [], "gates": [{"type": "integrity"}, {"type": "drain", "within_s": 5}]}
    )
    result = Runner(scenario, RunOptions(report_dir=tmp_path), parts=simulation.parts(), session=OneOutage()).run()
    assert result.status == "passed", (result.reason, gates(result))
    assert [(e.label, e.applied_s, e.reverted_s) for e in result.faults] == [("outage", 10.0, 20.0)]
    assert result.load["operations"]["issue"]["queued"] == 100 and result.cleanup["proxy_enabled"] is True


def test_a_killed_runs_clean_up_resets_containers_only_when_faults_could_reach_them(tmp_path: Path) -> None:
    class Containers(OneOutage):
        def docker_targets(self, project: str | None, scenario: Scenario) -> Any:
            return object()  # a game day's engine, offered to the operators

    scenario = parse_scenario({**BASE, "faults": [], "gates": [{"type": "integrity"}]})
    for session, expected in ((OneOutage(), False), (Containers(), True)):
        runner = Runner(scenario, RunOptions(report_dir=tmp_path), parts=Simulation().parts(), session=session)
        runner.run()
        assert runner.containers_in_play is expected


def test_a_handshake_stall_left_behind_fails_the_clean_up_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taxstorm.chaos.handshake import HandshakeStallFault

    stall = [{"type": "handshake_stall", "id": "stall", "at_s": 20, "for_s": 10}]
    reverted = run(tmp_path / "a", Simulation(), platform={"tls": True}, faults=stall, gates=[{"type": "integrity"}])
    assert reverted.status == "passed" and not reverted.errors, (reverted.reason, reverted.errors)
    monkeypatch.setattr(HandshakeStallFault, "revert", lambda self: None)  # a revert that does nothing
    left = run(tmp_path / "b", Simulation(), platform={"tls": True}, faults=stall, gates=[{"type": "integrity"}])
    assert left.exit_code == ExitCode.REVERT_FAILED, (left.reason, left.errors)
    assert any("still leads to" in e for e in left.errors) and any("fault proxies left" in e for e in left.errors)
