"""A run's report files, written in one place: result.json, and the JUnit XML and HTML rendered from that JSON
(``taxstorm report`` re-renders the last two from a result.json alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from taxstorm.report.html import write_html
from taxstorm.report.junit import write_junit
from taxstorm.result import RunResult

REPORT_FILES = {"json": "result.json", "junit": "junit.xml", "html": "report.html"}


def render_reports(data: dict[str, Any], folder: Path) -> dict[str, Path]:
    """junit.xml and report.html from a result's JSON data; their paths by kind."""
    paths = {name: folder / REPORT_FILES[name] for name in ("junit", "html")}
    write_junit(data, paths["junit"])
    write_html(data, paths["html"])
    return paths


def write_reports(result: RunResult, folder: Path) -> dict[str, str]:
    """result.json, then the other reports rendered from exactly that JSON; every path by kind (also recorded in
    ``result.reports``, so result.json names its siblings)."""
    paths = {name: str(folder / file) for name, file in REPORT_FILES.items()}
    result.reports.update(paths)
    text = result.json_text()
    (folder / REPORT_FILES["json"]).write_text(text, encoding="utf-8")
    render_reports(json.loads(text), folder)
    return paths
