"""docker-compose.yml, parsed by the real compose tool and brought up on a real dockerd: the CI profile runs the
smoke scenario in external mode (the harness as Locust master, two locust-worker containers, the platform behind
the Toxiproxy image with the proxies of compose/toxiproxy.json), then the stack is torn down."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.docker_engine import REPO, project_image

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]  # a first image build takes minutes

COMPOSE_FILE = REPO / "docker-compose.yml"


def compose_command() -> list[str]:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI: scripts/ensure-docker.sh installs Debian's docker.io")
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.skip("docker compose v2 is missing: scripts/ensure-compose.sh builds it from the Go module proxy")
    return ["docker", "compose", "--file", str(COMPOSE_FILE)]


def test_the_compose_file_is_valid_for_the_compose_tool() -> None:
    compose = compose_command()
    config = subprocess.run(
        [*compose, "--profile", "ci", "--profile", "metrics", "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert config.returncode == 0, config.stderr
    services = json.loads(config.stdout)["services"]
    assert set(services) == {"platform", "toxiproxy", "locust-master", "locust-worker", "harness", "prometheus"}
    assert services["toxiproxy"]["image"] == "ghcr.io/shopify/toxiproxy:2.12.0"
    assert "-host=0.0.0.0" in services["toxiproxy"]["command"]
    assert services["platform"]["healthcheck"]["test"][0] == "CMD"
    assert services["harness"]["depends_on"]["platform"]["condition"] == "service_healthy"
    assert services["locust-worker"]["command"][:2] == ["taxstorm", "worker"]
    default = subprocess.run([*compose, "config", "--services"], capture_output=True, text=True, check=True, cwd=REPO)
    assert set(default.stdout.split()) == {"platform", "toxiproxy", "locust-master", "locust-worker"}  # profiles


def test_the_ci_profile_runs_smoke_against_the_stack_with_two_workers(docker_client: Any, tmp_path: Path) -> None:
    compose = compose_command()
    tag = project_image(docker_client)
    project = f"taxstorm-test-{secrets.token_hex(3)}"
    reports = tmp_path / "reports"
    reports.mkdir()
    env = {
        **os.environ,
        "TAXSTORM_TAG": tag.split(":", 1)[1],
        "TAXSTORM_MASTER": "harness",
        "TAXSTORM_WORKERS": "2",
        "TAXSTORM_SCALE": "0.3",
        "TAXSTORM_REPORTS": str(reports),
        "TAXSTORM_ADMIN_TOKEN": secrets.token_urlsafe(16),
        **{f"TAXSTORM_{name}_PORT": "0" for name in ("PLATFORM", "TOXIPROXY", "WEB", "PROMETHEUS")},
    }
    base = [*compose, "--project-name", project, "--profile", "ci"]

    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)

    try:
        up = run("up", "--detach", "--no-build", "--scale", "locust-worker=2", "harness", "locust-worker")
        assert up.returncode == 0, up.stderr
        waited = run("wait", "harness", timeout=600)  # exits with the harness's exit code
        logs = run("logs", "--no-color", "harness", "locust-worker").stdout
        assert waited.returncode == 0, (waited.stdout, waited.stderr, logs[-3000:])
        (run_dir,) = reports.iterdir()
        result = json.loads((run_dir / "result.json").read_text())
        assert result["status"] == "passed", result["reason"]
        assert result["endpoints"]["client"] == "http://toxiproxy:8666"  # the populated proxy, by service name
        assert result["endpoints"]["platform"] == "http://platform:8080"
        rec = result["reconciliation"]
        assert rec["orders"] > 20 and rec["ledger_invoices"] >= rec["orders"] and not rec["lost"], rec
        by_worker = Counter(
            row.split(",")[4].rsplit("-", 2)[-2]
            for row in (run_dir / "operations.csv").open()
            if not row.startswith("start_s")
        )
        assert set(by_worker) == {"w0", "w1"}, by_worker  # both worker containers carried load
        assert [f["applied_s"] is not None for f in result["faults"]] == [True, True]
        assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True}
        states = {
            c.name: c.status
            for c in docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
        }
        assert any("platform" in name and status == "running" for name, status in states.items()), states
    finally:
        down = run("down", "--volumes", "--remove-orphans", "--timeout", "5")
        left = docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
        assert down.returncode == 0 and left == [], (down.stderr, left)
