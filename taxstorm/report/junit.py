"""JUnit XML of a run: one test case per gate result, the reason in the failure message.

A run that errored (or was interrupted) is one ``<error>`` case, so a CI pipeline never mistakes a sick
environment for a passing system. Works from the run's JSON, so ``taxstorm report`` can rewrite it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def junit_xml(result: dict[str, Any]) -> str:
    """The JUnit XML document of one run (result.json as a dict)."""
    scenario = str(result["scenario"]["name"])
    suite = ET.Element("testsuite", name=f"taxstorm.{scenario}", timestamp=str(result.get("started_at", "")))
    suite.set("time", f"{float(result.get('duration_s', 0.0)):.3f}")
    properties = ET.SubElement(suite, "properties")
    for key in ("run_id", "status", "exit_code", "reason"):
        ET.SubElement(properties, "property", name=key, value=str(result.get(key, "")))
    failures = errors = 0
    for gate in result.get("gates", []):
        case = ET.SubElement(
            suite, "testcase", classname=f"taxstorm.{scenario}", name=f"{gate['name']} [{gate['window']}]"
        )
        if not gate.get("judged", True):
            ET.SubElement(case, "skipped", message=str(gate["message"]))
        elif not gate["passed"]:
            failures += 1
            failure = ET.SubElement(case, "failure", message=str(gate["message"]), type="GateFailed")
            failure.text = f"observed {gate['observed']} threshold {gate['threshold']}: {gate['message']}"
            if gate.get("kind") == "contract":
                failure.text += "".join(_defect_text(d) for d in result.get("client_defects", []))
    if result.get("halted"):
        failures += 1
        case = ET.SubElement(suite, "testcase", classname=f"taxstorm.{scenario}", name="halt conditions")
        ET.SubElement(case, "failure", message=str(result["halted"]), type="Halted").text = str(result["halted"])
    if result.get("status") in ("errored", "interrupted"):
        errors += 1
        case = ET.SubElement(suite, "testcase", classname=f"taxstorm.{scenario}", name="run")
        error = ET.SubElement(case, "error", message=str(result.get("reason", "")), type=str(result["status"]))
        error.text = "\n".join([str(result.get("reason", "")), *map(str, result.get("errors", []))])
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("skipped", str(len(suite.findall("testcase/skipped"))))
    suite.set("errors", str(errors))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _defect_text(defect: dict[str, Any]) -> str:
    """One client defect: what, how often, the message and where it was raised."""
    head = f"\n\n{defect['count']}x {defect['method']}() {defect['kind']}: {defect['type']}: {defect['message']}"
    return head + "".join(f"\n  {frame}" for frame in defect.get("frames", []))


def write_junit(result: dict[str, Any], path: Path) -> None:
    path.write_text(junit_xml(result), encoding="utf-8")
