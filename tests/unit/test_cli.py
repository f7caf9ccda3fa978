"""The CLI in-process through ``main(argv)``: exit codes and messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_validate_library_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(REPO / "scenarios" / "smoke.yaml")]) == 0
    assert "smoke.yaml: ok (smoke, 1 faults, 4 gates)" in capsys.readouterr().out


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
    assert "docker engine" in out
    assert code == 0


def test_unknown_command_and_bad_flag_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explode"]) == 2
    assert main(["run"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    assert "taxstorm run scenarios/smoke.yaml" in capsys.readouterr().out
