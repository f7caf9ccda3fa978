"""Schemathesis against a running platform's own OpenAPI document: no server error, no undocumented status.

Bounded in examples (``--max-examples``) and time (the subprocess timeout); runs the schemathesis CLI against
a real uvicorn process with a valid token, so generated requests reach the business logic.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from mock_platform.app import create_app
from mock_platform.settings import PlatformSettings
from tests.conftest import RunningPlatform
from tests.helpers import http_token

MAX_EXAMPLES = 30


def test_schemathesis_finds_no_server_error_and_no_undocumented_status(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency: run 'make test'"
    headers = http_token(platform.url)
    result = subprocess.run(
        [
            st,
            "run",
            f"{platform.url}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "20261128",
            "--header",
            f"Authorization:{headers['Authorization']}",
            "--exclude-path-regex",
            "^/admin/(reset|clock)$",  # would wipe or age the token mid-run
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-junit-path",
            str(tmp_path / "schemathesis.xml"),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts is not None, output[-3000:]
    generated, passed = int(counts.group(1)), int(counts.group(2))
    assert generated == passed and generated >= 500, output[-3000:]  # every generated case was checked


def test_every_business_route_declares_throttling_and_unknown_outcomes(tmp_path: Path) -> None:
    spec = create_app(PlatformSettings(ledger_path=tmp_path / "l.sqlite3", admin_token="admin-secret")).openapi()
    checked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "429", "503", "504"} <= statuses, f"{method.upper()} {path} lacks error statuses"
            assert "Retry-After" in operation["responses"]["503"]["headers"]
            assert "X-RateLimit-Remaining" in operation["responses"]["429"]["headers"]
            checked += 1
    assert checked >= 20
