"""Clients that crash, raise or return junk end with exit 1 and their defect in every report — the system under
test is what is broken, so it is never exit 3 ("environment"), and the evidence is never only on stderr."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.test_cli_run import only_run, scenario, taxstorm

BROKEN = {
    "tests.clients.broken:raising_factory": ("create", "create", "RuntimeError", "cannot read erp.ini"),
    "tests.clients.broken:raising_issue": ("issue", "exception", "ValueError", "cannot map order"),
    "tests.clients.broken:dict_issue": ("issue", "bad_return", "dict", "expected taxstorm.clients.protocol.Outcome"),
    "tests.clients.broken:none_issue": ("issue", "bad_return", "NoneType", "returned None"),
}


def test_a_broken_client_fails_its_run_with_the_defect_in_every_report(tmp_path: Path) -> None:
    runs = {}
    for ref in BROKEN:
        folder = tmp_path / ref.rsplit(":", 1)[1]
        folder.mkdir()
        path = scenario(folder, duration_s=8, client={"ref": ref})
        runs[ref] = (folder, taxstorm("run", str(path), "--report-dir", str(folder / "reports")))
    for ref, (folder, proc) in runs.items():
        output, _ = proc.communicate(timeout=120)
        method, kind, type_, message = BROKEN[ref]
        assert proc.returncode == 1, f"{ref}: {output[-2000:]}"
        result, _ = only_run(folder / "reports")
        assert result["status"] == "failed"
        assert result["reason"].startswith("the client under test failed before the first fault"), result["reason"]
        assert result["steady_state"]["blame"] == "client"
        (defect,) = [d for d in result["client_defects"] if d["method"] == method]
        assert (defect["kind"], defect["type"]) == (kind, type_) and message in defect["message"], defect
        if kind in ("create", "exception"):
            assert any("tests/clients/broken.py" in frame for frame in defect["frames"]), defect["frames"]
        contract = next(g for g in result["gates"] if g["kind"] == "contract")
        assert not contract["passed"] and message in contract["message"]
        junit = ET.parse(next((folder / "reports").glob("*/junit.xml"))).getroot()
        failure = next(c for c in junit.iter("testcase") if c.get("name", "").startswith("contract")).find("failure")
        assert failure is not None and message in (failure.text or "")
        html = next((folder / "reports").glob("*/report.html")).read_text()
        assert "Client defects" in html and type_ in html
        assert "Client defects" in output  # the terminal summary shows them too


@pytest.mark.parametrize("ref", ["tests.clients.broken:none_issue"])
def test_a_fault_free_run_judges_the_defect_too(tmp_path: Path, ref: str) -> None:
    """Without faults there is no steady-state check: the contract gate still fails the run."""
    path = scenario(
        tmp_path, duration_s=4, faults=[], gates=[{"type": "error_rate", "max_rate": 1.0}], client={"ref": ref}
    )
    proc = taxstorm("run", str(path), "--report-dir", str(tmp_path / "reports"))
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, output
    result, _ = only_run(tmp_path / "reports")
    kinds = {g["kind"]: g["passed"] for g in result["gates"]}
    assert kinds == {"error_rate": True, "integrity": True, "contract": False}, result["gates"]
