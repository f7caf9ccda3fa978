"""docker-compose.yml, parsed by the real compose tool and brought up on a real dockerd: the CI profile runs the
smoke scenario in external mode (the harness as Locust master, two locust-worker containers, the platform behind
the Toxiproxy image with the proxies of compose/toxiproxy.json), then the stack is torn down."""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taxstorm.chaos.waiting import wait_until
from tests.docker_engine import REPO, project_image

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]  # a first image build takes minutes

COMPOSE_FILE = REPO / "docker-compose.yml"
WEB_TOKEN = secrets.token_hex(16)


def compose_command() -> list[str]:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI: scripts/ensure-docker.sh installs Debian's docker.io")
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        pytest.skip("docker compose v2 is missing: scripts/ensure-compose.sh builds it from the Go module proxy")
    return ["docker", "compose", "--file", str(COMPOSE_FILE)]


def test_the_compose_file_is_valid_for_the_compose_tool() -> None:
    compose = compose_command()
    env = {**os.environ, "TAXSTORM_ADMIN_TOKEN": secrets.token_hex(16)}
    config = subprocess.run(
        [*compose, "--profile", "ci", "--profile", "metrics", "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env,
    )
    assert config.returncode == 0, config.stderr
    services = json.loads(config.stdout)["services"]
    assert set(services) == {"platform", "toxiproxy", "locust-master", "locust-worker", "harness", "prometheus"}
    assert services["toxiproxy"]["image"] == "ghcr.io/shopify/toxiproxy:2.12.0"
    assert "-host=0.0.0.0" in services["toxiproxy"]["command"]
    assert "test" not in services["platform"]["healthcheck"]  # the image's HEALTHCHECK, with compose's timing
    assert services["harness"]["depends_on"]["platform"]["condition"] == "service_healthy"
    assert services["locust-worker"]["command"][:2] == ["taxstorm", "worker"]
    default = subprocess.run(
        [*compose, "config", "--services"], capture_output=True, text=True, check=True, cwd=REPO, env=env
    )
    assert set(default.stdout.split()) == {"platform", "toxiproxy", "locust-master", "locust-worker"}  # profiles
    without = {k: v for k, v in os.environ.items() if k != "TAXSTORM_ADMIN_TOKEN"}
    refused = subprocess.run([*compose, "config"], capture_output=True, text=True, check=False, cwd=REPO, env=without)
    assert refused.returncode != 0 and "set TAXSTORM_ADMIN_TOKEN to a secret of your own" in refused.stderr


@dataclass
class ComposeProject:
    """One compose project of a test: its own name, free host ports, reports in a temporary folder."""

    command: list[str]
    env: dict[str, str]
    reports: Path
    name: str

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, "--project-name", self.name, *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def port(self, service: str, port: int) -> int:
        return int(self.run("port", service, str(port)).stdout.strip().rsplit(":", 1)[1])


@pytest.fixture
def project(docker_client: Any, tmp_path: Path) -> Iterator[ComposeProject]:
    """A project on this working tree's image; everything it created is gone afterwards (checked)."""
    compose = compose_command()
    tag = project_image(docker_client)
    reports = tmp_path / "reports"
    reports.mkdir()
    env = {
        **os.environ,
        "TAXSTORM_TAG": tag.split(":", 1)[1],
        "TAXSTORM_REPORTS": str(reports),
        "TAXSTORM_ADMIN_TOKEN": secrets.token_urlsafe(16),
        "TAXSTORM_WEB_TOKEN": WEB_TOKEN,
        **{f"TAXSTORM_{name}_PORT": "0" for name in ("PLATFORM", "TOXIPROXY", "WEB", "PROMETHEUS")},
    }
    made = ComposeProject(compose, env, reports, f"taxstorm-test-{secrets.token_hex(3)}")
    try:
        yield made
    finally:
        down = made.run("--profile", "ci", "down", "--volumes", "--remove-orphans", "--timeout", "5")
        label = f"com.docker.compose.project={made.name}"
        left = docker_client.containers.list(all=True, filters={"label": label})
        assert down.returncode == 0 and left == [], (down.stderr, left)


def test_the_ci_profile_runs_smoke_against_the_stack_with_two_workers(
    docker_client: Any, project: ComposeProject
) -> None:
    project.env.update({"TAXSTORM_MASTER": "harness", "TAXSTORM_WORKERS": "2", "TAXSTORM_SCALE": "0.3"})
    up = project.run(
        "--profile", "ci", "up", "--detach", "--no-build", "--scale", "locust-worker=2", "harness", "locust-worker"
    )
    assert up.returncode == 0, up.stderr
    waited = project.run("--profile", "ci", "wait", "harness", timeout=600)  # exits with the harness's exit code
    logs = project.run("--profile", "ci", "logs", "--no-color", "harness", "locust-worker").stdout
    assert waited.returncode == 0, (waited.stdout, waited.stderr, logs[-3000:])
    (run_dir,) = project.reports.iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "passed", result["reason"]
    assert result["endpoints"]["client"] == "http://toxiproxy:8666"  # the populated proxy, by service name
    assert result["endpoints"]["platform"] == "http://platform:8080"
    rec = result["reconciliation"]
    assert rec["orders"] > 20 and rec["ledger_invoices"] >= rec["orders"] and not rec["lost"], rec
    with (run_dir / "operations.csv").open(encoding="utf-8") as rows:
        by_worker = Counter(row["order_ref"].rsplit("-", 2)[-2] for row in csv.DictReader(rows))
    assert set(by_worker) == {"w0", "w1"}, by_worker  # both worker containers carried load
    assert [f["applied_s"] is not None for f in result["faults"]] == [True, True]
    assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True}
    running = docker_client.containers.list(filters={"label": f"com.docker.compose.project={project.name}"})
    assert any(c.labels["com.docker.compose.service"] == "platform" for c in running)  # the stack outlives the run


def test_the_default_stack_is_a_game_day_with_the_chaos_tab(docker_client: Any, project: ComposeProject) -> None:
    """`docker compose up`: locust-master serves the Chaos tab; a worker container carries the load; faults
    applied through the API reach the stack (Toxiproxy, and the platform container through the docker SDK);
    SIGTERM (`compose stop`) ends the session with its report."""
    up = project.run("up", "--detach", "--no-build", "--wait", "platform", "toxiproxy", "locust-master")
    assert up.returncode == 0, (up.stderr, project.run("logs", "--no-color").stdout[-3000:])
    (platform,) = docker_client.containers.list(
        filters={"label": [f"com.docker.compose.project={project.name}", "com.docker.compose.service=platform"]}
    )
    assert platform.attrs["State"]["Health"]["Status"] == "healthy"  # the image's HEALTHCHECK ran
    assert project.run("up", "--detach", "--no-build", "locust-worker").returncode == 0
    url = f"http://127.0.0.1:{project.port('locust-master', 8089)}"
    web = httpx.Client(headers={"Authorization": f"Bearer {WEB_TOKEN}"})  # the session token compose was given
    assert httpx.get(f"{url}/chaos/api/state").status_code == 401  # nobody else drives the game day
    toxiproxy = f"http://127.0.0.1:{project.port('toxiproxy', 8474)}"

    def now_s() -> float:
        return float(web.get(f"{url}/chaos/api/state").json()["now_s"])

    def wait_seconds(seconds: float, what: str) -> None:
        until = now_s() + seconds
        wait_until(lambda: now_s() > until, seconds + 30, what)

    wait_until(lambda: web.get(f"{url}/stats/requests").json()["workers"] != [], 60, "the worker to connect")
    started = web.post(f"{url}/swarm", data={"user_count": "4", "spawn_rate": "4"}).json()
    assert started["success"], started
    wait_until(lambda: web.get(f"{url}/stats/requests").json()["user_count"] == 4, 30, "the users to start")
    wait_seconds(4, "a baseline")
    applied = web.post(f"{url}/chaos/api/apply", json={"type": "latency", "params": {"latency_ms": 200}})
    assert applied.status_code == 200, applied.text
    assert [t["type"] for t in httpx.get(f"{toxiproxy}/proxies/platform/toxics").json()] == ["latency"]
    platform_url = f"http://127.0.0.1:{project.port('platform', 8080)}"
    for target in (toxiproxy, platform_url):  # what the metrics profile's Prometheus scrapes
        metrics = httpx.get(f"{target}/metrics")
        assert metrics.status_code == 200 and "# TYPE" in metrics.text, target
    wait_seconds(4, "load under the fault")
    assert web.post(f"{url}/chaos/api/revert", json={"label": "latency-1"}).status_code == 200
    wait_seconds(4, "recovery")
    pause = {"type": "container_pause", "params": {"service": "platform"}, "for_s": 3}
    paused = web.post(f"{url}/chaos/api/apply", json=pause)  # the docker SDK, from inside locust-master
    assert paused.status_code == 200, paused.text
    labels = [f"com.docker.compose.project={project.name}", "com.docker.compose.service=platform"]
    (platform,) = docker_client.containers.list(all=True, filters={"label": labels})
    assert platform.status == "paused"
    wait_until(lambda: platform.reload() or platform.status == "running", 30, "the platform to be unpaused")
    wait_seconds(5, "recovery")
    assert web.post(f"{url}/chaos/api/note", json={"text": "from the compose test"}).status_code == 200
    stopped = project.run("stop", "--timeout", "120", "locust-master", timeout=180)  # SIGTERM ends the session
    assert stopped.returncode == 0, stopped.stderr
    assert httpx.get(f"{toxiproxy}/proxies/platform/toxics").json() == []  # reverted on the way out
    (run_dir,) = project.reports.iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    assert [f["label"] for f in result["faults"]] == ["latency-1", "container_pause-2"]
    assert all(f["applied_s"] and f["reverted_s"] for f in result["faults"]), result["faults"]
    assert "from the compose test" in [n["text"] for n in result["notes"]]
    logs = project.run("logs", "--no-color", "locust-master").stdout[-3000:]
    assert result["status"] == "passed", (result["reason"], logs)
    assert result["reconciliation"]["orders"] > 10
