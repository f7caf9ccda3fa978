"""Container faults against a real Docker engine and a locally built platform image (no registry)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taxstorm.chaos.container import DockerTargets
from taxstorm.chaos.registry import Fault, FaultContext
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.toxiproxy.server import free_port
from taxstorm.chaos.waiting import wait_until
from tests.docker_engine import ensure_images
from tests.helpers import build_fault, http_token, order

COMMAND = ["python", "-m", "taxstorm.mock_platform", "--host", "0.0.0.0", "--port", "8080", "--port-file", "/tmp/port"]
PROBE = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"
HEALTHCHECK = {"test": ["CMD", "/opt/taxstorm/bin/python", "-c", PROBE], "interval": 3_000_000_000, "retries": 4}


@dataclass
class Service:
    """One 'compose service' container of the platform image."""

    targets: DockerTargets
    url: str
    project: str


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def platform_images(docker_client: Any) -> None:
    ensure_images(docker_client)


@pytest.fixture
def service(docker_client: Any, platform_images: None) -> Iterator[Service]:
    project = f"tstest{secrets.token_hex(4)}"
    port = free_port()
    volume = docker_client.volumes.create(f"{project}_ledger")
    docker_client.containers.run(
        "taxstorm-platform:v1",
        name=f"{project}-platform-1",
        detach=True,
        labels={"com.docker.compose.service": "platform", "com.docker.compose.project": project},
        environment={"TAXSTORM_PLATFORM_ADMIN_TOKEN": "container-admin-token"},
        ports={"8080/tcp": ("127.0.0.1", port)},
        volumes={volume.name: {"bind": "/data", "mode": "rw"}},
        command=COMMAND,  # as compose's command:, user: and healthcheck: would (an image swap must keep them)
        user="10001:0",  # not the image's own 10001:10001
        healthcheck=HEALTHCHECK,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: healthy(url), 60, "the platform container")
    try:
        yield Service(DockerTargets(docker_client, project), url, project)
    finally:
        for container in docker_client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={project}"}
        ):
            container.remove(force=True)
        volume.remove(force=True)


def make(service: Service, **spec: Any) -> Fault[Any]:
    context = FaultContext("run", ToxiproxyAPI("http://127.0.0.1:9"), "unused", docker=service.targets)
    return build_fault(context, service="platform", **spec)


def test_kill_then_start(service: Service) -> None:
    fault = make(service, type="container_kill")
    fault.apply()
    try:
        wait_until(lambda: not healthy(service.url), 20, "the killed container to stop answering")
        assert service.targets.container("platform").status != "running"
    finally:
        fault.revert()
    wait_until(lambda: healthy(service.url), 60, "the container to come back")


def test_pause_freezes_until_unpaused(service: Service) -> None:
    fault = make(service, type="container_pause")
    fault.apply()
    try:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{service.url}/health", timeout=httpx.Timeout(0.5, connect=2))
    finally:
        fault.revert()
    assert service.targets.container("platform").status == "running"
    wait_until(lambda: healthy(service.url), 20, "the unpaused container")


def test_restart_has_real_downtime_and_comes_back(service: Service) -> None:
    started = service.targets.container("platform").attrs["State"]["StartedAt"]
    fault = make(service, type="container_restart", grace_s=1)
    fault.apply()
    fault.revert()
    wait_until(lambda: healthy(service.url), 60, "the restarted container")
    assert service.targets.container("platform").attrs["State"]["StartedAt"] != started


def test_image_swap_upgrades_keeps_the_ledger_and_rolls_back(service: Service) -> None:
    headers = http_token(service.url)
    body = order("D1").invoice_payload("SD1")
    sync = {"mode": "sync"}  # the answer carries the invoice number (the platform is asynchronous by default)
    issued = httpx.post(f"{service.url}/api/v1/invoices", params=sync, json=body, headers=headers, timeout=20).json()
    issued = issued["data"]
    assert issued["status"] == "ISSUED", issued
    fault = make(service, type="container_image_swap", image="taxstorm-platform:v2")
    fault.apply()
    try:
        wait_until(lambda: healthy(service.url), 60, "the upgraded container")
        assert httpx.get(f"{service.url}/health", timeout=5).json()["release"] == "renamed-field"
        found = httpx.get(f"{service.url}/api/v1/invoices/by-serial/SD1", headers=http_token(service.url), timeout=10)
        assert found.json()["data"]["invoiceNumber"] == issued["invoiceNo"]  # same volume, new release's field
        container = service.targets.container("platform")
        assert container.labels["com.docker.compose.project"] == service.project
        config = container.attrs["Config"]
        assert config["Cmd"] == COMMAND and config["User"] == "10001:0"  # compose's settings survived
        assert config["Healthcheck"]["Test"] == HEALTHCHECK["test"] and config["Healthcheck"]["Retries"] == 4
    finally:
        fault.revert()
    wait_until(lambda: healthy(service.url), 60, "the rolled-back container")
    assert httpx.get(f"{service.url}/health", timeout=5).json()["release"] == "stable"
    assert service.targets.container("platform").attrs["Config"]["Image"] == "taxstorm-platform:v1"


def test_reset_restores_a_killed_runs_containers(service: Service, tmp_path: Path) -> None:
    make(service, type="container_pause").apply()  # a run died here: never reverted
    reset = subprocess.run(
        [
            sys.executable,
            "-m",
            "taxstorm",
            "reset",
            "--report-dir",
            str(tmp_path),
            "--compose-project",
            service.project,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "unpaused container" in reset.stdout
    wait_until(lambda: healthy(service.url), 20, "the unpaused container")
