"""The CLI in-process through ``main(argv)``: exit codes and messages, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taxstorm.cli import main
from taxstorm.gates import GATES

REPO = Path(__file__).resolve().parents[2]


def test_validate_library_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(REPO / "scenarios" / "smoke.yaml")]) == 0
    assert "smoke.yaml: ok (smoke, 2 faults, 5 gates)" in capsys.readouterr().out


def test_validate_reports_every_bad_file_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration_s: -1\n")
    assert main(["validate", str(bad), str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: duration_s: Input should be greater than 0" in err
    assert "missing.yaml: cannot read scenario" in err


def test_faults_lists_parameters_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faults"]) == 0
    out = capsys.readouterr().out
    assert "latency:" in out and "latency_ms" in out and "jitter_ms" in out and "down:" in out


def test_doctor_finds_the_installed_toxiproxy(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--toxiproxy-bin-dir", str(REPO / ".bin")])
    out = capsys.readouterr().out
    assert "[ok] toxiproxy: 2.12.0" in out and "python" in out and "locust" in out
    assert "docker engine" in out and "docker compose" in out  # reported, optional
    assert code == 0


def test_unknown_command_and_bad_flag_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explode"]) == 2
    assert main(["run"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    assert "taxstorm run scenarios/smoke.yaml" in capsys.readouterr().out


def test_schema_is_json_schema_of_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scenario.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["title"] == "taxstorm scenario" and "duration_s" in schema["properties"]
    gate_types = {d["properties"]["type"]["const"] for n, d in schema["$defs"].items() if n.endswith("GateSpec")}
    assert gate_types == set(GATES)


def test_list_shows_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--dir", str(REPO / "scenarios")]) == 0
    out = capsys.readouterr().out
    for name in ("smoke", "peak_season_filing", "wuhan_outage_gameday", "policy_change"):
        assert name in out
    assert main(["list", "--dir", str(REPO / "nowhere")]) == 2


def test_report_and_compare_refuse_what_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "result.json").write_text('{"kind": "something else"}')
    assert main(["report", str(tmp_path)]) == 2
    assert main(["compare", str(tmp_path / "missing"), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a taxstorm run result" in err and "not a readable taxstorm result" in err and "Traceback" not in err


def test_a_bad_scale_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(REPO / "scenarios" / "smoke.yaml"), "--scale", "0"]) == 2  # refused before any patching
    assert "Invalid value for '--scale': 0.0 is not in the range 0.01<=x<=100" in capsys.readouterr().err


def test_the_readme_scenario_example_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("## Writing a scenario") :].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    assert main(["validate", str(tmp_path / "example.yaml")]) == 0, capsys.readouterr().err
