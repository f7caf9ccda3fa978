"""Schemathesis against a running platform's own OpenAPI document: no server error, no undocumented status, and
every answer's body, content type and headers as the document describes them.

Bounded in examples (``--max-examples``) and time (the subprocess timeout); runs the schemathesis CLI against
a real uvicorn process with a valid token and an invoice and a red-letter confirmation of its seller, so generated
requests reach the business logic and the look-ups answer what they hold.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from taxstorm.mock_platform.app import create_app
from taxstorm.mock_platform.settings import PlatformSettings
from tests.conftest import RunningPlatform
from tests.helpers import http_token, order

MAX_EXAMPLES = 30
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)


def seeded_config(url: str, headers: dict[str, str], path: Path) -> Path:
    """A schemathesis config naming an issued invoice and a red-letter confirmation of the token's seller, so the
    look-ups by number, serial and uuid (and the documents) answer 200 and are checked, not only 404."""
    issued = httpx.post(f"{url}/api/v1/invoices", json=order("SEED").invoice_payload("SEED-1"), headers=headers)
    assert issued.status_code == 200, issued.text
    number = issued.json()["data"]["invoiceNo"]
    body = {"blueInvoiceNo": number, "reasonCode": "01"}
    confirmation = httpx.post(f"{url}/api/v1/red-confirmations", json=body, headers=headers)
    assert confirmation.status_code == 200, confirmation.text
    uuid = confirmation.json()["data"]["uuid"]
    path.write_text(f'[parameters]\n"path.invoiceNo" = "{number}"\n"path.serial" = "SEED-1"\n"path.uuid" = "{uuid}"\n')
    return path


def answered_ok(har: Path) -> set[str]:
    """The paths (invoice numbers as ``{no}``) that answered 2xx during the run."""
    entries = json.loads(har.read_text())["log"]["entries"]
    return {
        re.sub(r"/\d{20}", "/{no}", urlsplit(entry["request"]["url"]).path)
        for entry in entries
        if 200 <= entry["response"]["status"] < 300
    }


def test_schemathesis_finds_no_server_error_and_every_answer_as_documented(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is a dev dependency: run 'make test'"
    headers = http_token(platform.url)
    config = seeded_config(platform.url, headers, tmp_path / "schemathesis.toml")
    result = subprocess.run(
        [
            st,
            "--config-file",
            str(config),
            "run",
            f"{platform.url}/openapi.json",
            "--checks",
            ",".join(CHECKS),
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
            "junit,har",
            "--report-junit-path",
            str(tmp_path / "schemathesis.xml"),
            "--report-har-path",
            str(tmp_path / "schemathesis.har"),
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
    answered = answered_ok(tmp_path / "schemathesis.har")
    seeded = ("/api/v1/invoices/by-serial/SEED-1", "/api/v1/invoices/{no}", "/api/v1/invoices/{no}/documents/pdf")
    assert set(seeded) <= answered, sorted(answered)  # the look-ups were checked on what they hold, not only 404


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
