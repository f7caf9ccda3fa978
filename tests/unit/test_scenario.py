"""Scenario files: valid data loads; every mistake is named with its field and a fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from taxstorm.chaos.network import LatencySpec
from taxstorm.errors import InvalidInputError
from taxstorm.gates import GateSpec
from taxstorm.scenario import load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[2]


def base(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "duration_s": 30,
        "faults": [{"type": "latency", "id": "slow", "at_s": 10, "for_s": 10, "latency_ms": 500}],
        "gates": [{"type": "latency", "window": "baseline", "max_ms": 100}, {"type": "integrity"}],
    }
    data.update(changes)
    return data


def error_of(data: Any) -> str:
    with pytest.raises(InvalidInputError) as caught:
        parse_scenario(data, "s.yaml")
    return str(caught.value)


def test_every_library_scenario_is_valid() -> None:
    files = sorted((REPO / "scenarios").glob("*.yaml"))
    assert files, "the scenario library is empty"
    for path in files:
        assert load_scenario(path).name == path.stem


def test_defaults_are_filled_in() -> None:
    scenario = parse_scenario(base())
    assert scenario.client.ref == "resilient"
    assert scenario.load.users == 4
    fault = scenario.faults[0]
    assert isinstance(fault, LatencySpec) and fault.stream == "downstream"


def test_unknown_key_is_named() -> None:
    message = error_of(base(duraton_s=5))
    assert "s.yaml: duraton_s: " in message and "unknown key" in message


def test_misspelt_fault_type_gets_a_suggestion() -> None:
    message = error_of(base(faults=[{"type": "latncy", "at_s": 1, "latency_ms": 5}]))
    assert "faults[0]: " in message and "did you mean 'latency'" in message


def test_missing_fault_parameter_is_named() -> None:
    message = error_of(base(faults=[{"type": "latency", "at_s": 1}]))
    assert "faults[0].latency_ms: Field required" in message


def test_fault_past_the_end_of_the_run() -> None:
    message = error_of(base(faults=[{"type": "latency", "at_s": 25, "for_s": 10, "latency_ms": 5}]))
    assert "after duration_s=30" in message and "shorten for_s" in message


def test_gate_window_typo_gets_a_suggestion() -> None:
    message = error_of(base(gates=[{"type": "latency", "window": "basline", "max_ms": 5}]))
    assert "did you mean 'baseline'" in message


def test_gate_can_name_a_fault_window() -> None:
    scenario = parse_scenario(base(gates=[{"type": "latency", "window": "slow", "max_ms": 5}]))
    assert scenario.gates[0].type == "latency"


def test_not_a_mapping_and_bad_yaml(tmp_path: Path) -> None:
    assert "a scenario is a mapping" in error_of(["x"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_scenario(broken)
    with pytest.raises(InvalidInputError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")


def test_platform_settings_are_checked_against_the_platform() -> None:
    ok = parse_scenario(
        base(platform={"settings": {"capacity": {"issue": {"concurrency": 4, "policy": "shed"}}, "max_lines": 5}})
    )
    assert ok.platform.settings["max_lines"] == 5
    message = error_of(base(platform={"settings": {"capacity": {"issue": {"policy": "drop"}}}}))
    assert "platform.settings" in message and "capacity.issue.policy" in message
    assert "set by the harness" in error_of(base(platform={"settings": {"admin_token": "x" * 10}}))
    assert "Extra inputs" in error_of(base(platform={"settings": {"max_linez": 5}}))


def test_load_takes_a_shape_or_a_steady_rate_not_both() -> None:
    shaped = parse_scenario(
        base(load={"shape": {"type": "spike", "base_per_s": 1, "peak_per_s": 9, "at_s": 2, "for_s": 1}})
    )
    assert shaped.load.resolved_shape().rate_at(2.5) == 9
    assert parse_scenario(base(load={"rate_per_s": 3})).load.resolved_shape().rate_at(0) == 3
    both = error_of(base(load={"rate_per_s": 3, "shape": {"type": "steady", "rate_per_s": 4}}))
    assert "either rate_per_s" in both
    assert "did you mean 'steady'" in error_of(base(load={"shape": {"type": "stedy", "rate_per_s": 4}}))


def test_run_limit_covers_duration_and_drain() -> None:
    message = error_of(base(duration_s=100, drain_s=50, limits={"max_run_s": 120}, faults=[]))
    assert "exceeds limits.max_run_s" in message


def test_errors_carry_the_yaml_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: t\nduration_s: 30\nfaults:\n  - type: latency\n    at_s: 1\n    latency_ms: -5\n"
        "gates:\n  - type: integrity\n    colour: red\n"
    )
    with pytest.raises(InvalidInputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "2 problems" in message
    assert f"{path}:6: faults[0].latency_ms: Input should be greater than or equal to 0" in message
    assert f"{path}:9: gates[0].colour: Extra inputs are not permitted" in message


def test_round_trip_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(base()))
    assert load_scenario(path).faults[0].label(0) == "slow"


def test_a_scenario_without_gates_gets_integrity_contract_and_graceful_and_none_escapes_the_first_two() -> None:
    from taxstorm.gates import ContractGateSpec, GracefulGateSpec, IntegrityGateSpec, LatencyGateSpec, judged_gates
    from taxstorm.scenario import Scenario

    default = Scenario.model_validate({"name": "g", "duration_s": 10})
    assert default.gates == [IntegrityGateSpec(), ContractGateSpec(), GracefulGateSpec(budget_ms=30_000)]
    assert default.answer_budget_s == 30.0
    empty = Scenario.model_validate({"name": "g", "duration_s": 10, "gates": []})
    assert empty.gates == [] and judged_gates(empty.gates) == [IntegrityGateSpec(), ContractGateSpec()]
    latency_only: list[GateSpec] = [LatencyGateSpec(max_ms=100)]
    assert judged_gates(latency_only) == [LatencyGateSpec(max_ms=100), IntegrityGateSpec(), ContractGateSpec()]


def test_the_answer_budget_is_the_clients_own_or_the_largest_graceful_budget() -> None:
    from taxstorm.scenario import Scenario

    gates = [{"type": "graceful", "budget_ms": 15000}, {"type": "graceful", "window": "baseline", "budget_ms": 2000}]
    assert Scenario.model_validate({"name": "g", "duration_s": 10, "gates": gates}).answer_budget_s == 15.0
    own = {"name": "g", "duration_s": 10, "gates": gates, "client": {"answer_budget_s": 8}}
    assert Scenario.model_validate(own).answer_budget_s == 8.0


def test_a_bad_certificate_fault_needs_a_tls_platform() -> None:
    faults = [{"type": "bad_certificate", "id": "cert", "at_s": 2, "for_s": 2, "problem": "wrong_host"}]
    message = error_of(base(faults=faults))
    assert "faults[0] (bad_certificate) needs an HTTPS platform: add platform.tls: true" in message
    assert parse_scenario(base(faults=faults, platform={"tls": True})).platform.tls
