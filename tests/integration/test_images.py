"""The project's images, built here without a registry (scripts/build-images.sh), run the way compose runs them:
the platform healthy as uid 10001, the CLI and Locust on PATH, Toxiproxy serving the proxies of its config file."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from taxstorm.chaos.waiting import NotReadyError, wait_until
from tests.docker_engine import TOXIPROXY_IMAGE, project_image
from tests.helpers import http_token, order

TEST_LABEL = "io.taxstorm.test"

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]  # the first image build takes minutes


@pytest.fixture(scope="module")
def images(docker_client: Any) -> str:
    """Build the images (base, wheelhouse, project, Toxiproxy) unless they exist; the project image's tag."""
    return project_image(docker_client)  # the script builds the Toxiproxy image with it when that is missing


# the image's platform listens on 0.0.0.0, where it refuses the repository's public default admin token
SECRET_ADMIN_TOKEN = {"TAXSTORM_PLATFORM_ADMIN_TOKEN": secrets.token_hex(16)}


@dataclass
class Containers:
    """Containers of one test on its own bridge network; everything carrying its label goes at teardown."""

    client: Any
    network: str
    image: str  # the project image of this working tree

    def create(self, image: str, role: str, **options: Any) -> Any:
        return self.client.containers.create(
            image,
            name=f"{self.network}-{role}",
            network=self.network,
            labels={TEST_LABEL: self.network},
            **options,
        )

    def run(self, image: str, role: str, **options: Any) -> Any:
        container = self.create(image, role, **options)
        container.start()
        container.reload()
        return container

    def remove_all(self) -> None:
        for container in self.client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={self.network}"}):
            container.remove(force=True)


@pytest.fixture
def containers(docker_client: Any, images: str) -> Iterator[Containers]:
    name = f"tstest-images-{secrets.token_hex(4)}"
    network = docker_client.networks.create(name, driver="bridge", labels={TEST_LABEL: name})
    made = Containers(docker_client, name, images)
    try:
        yield made
    finally:
        try:
            made.remove_all()
        finally:
            network.remove()


def published(container: Any, port: int) -> str:
    """The loopback URL where the engine published a container port (bound to an ephemeral host port)."""
    container.reload()
    binding = container.ports[f"{port}/tcp"][0]
    return f"http://127.0.0.1:{binding['HostPort']}"


def loopback(*ports: int) -> dict[str, tuple[str, None]]:
    return {f"{port}/tcp": ("127.0.0.1", None) for port in ports}


def health_status(container: Any) -> str:
    container.reload()
    return str(container.attrs["State"].get("Health", {}).get("Status", "none"))


def wait_healthy(container: Any, timeout_s: float = 90) -> None:
    """Poll Docker's health status; on timeout fail with the container's logs and health-check output."""
    try:
        wait_until(lambda: health_status(container) == "healthy", timeout_s, container.name, interval_s=0.5)
    except NotReadyError as exc:
        health = container.attrs["State"].get("Health", {})
        logs = container.logs(tail=30).decode(errors="replace")
        pytest.fail(f"{exc}: status {health.get('Status')}, checks {health.get('Log')}, logs:\n{logs}")


def exec_output(container: Any, *command: str) -> str:
    result = container.exec_run(list(command))
    output = result.output.decode(errors="replace")
    assert result.exit_code == 0, f"{command} exited {result.exit_code}: {output}"
    return str(output)


def tar_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_the_platform_role_refuses_the_public_admin_token(containers: Containers) -> None:
    platform = containers.run(containers.image, "platform")
    wait_until(lambda: _exited(platform), 60, "the platform to refuse its start")
    assert platform.attrs["State"]["ExitCode"] == 2
    assert b"TAXSTORM_PLATFORM_ADMIN_TOKEN" in platform.logs()


def _exited(container: Any) -> bool:
    container.reload()
    return bool(container.status == "exited")


def test_platform_role_is_healthy_as_uid_10001_with_its_ledger_in_data(containers: Containers) -> None:
    platform = containers.run(containers.image, "platform", ports=loopback(8080), environment=SECRET_ADMIN_TOKEN)
    wait_healthy(platform)
    url = published(platform, 8080)

    status = exec_output(platform, "cat", "/proc/1/status")  # PID 1 is the platform itself
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4
    assert platform.attrs["Config"]["User"] == "10001:10001"
    assert platform.attrs["Config"]["WorkingDir"] == "/data"

    health = httpx.get(f"{url}/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "UP"
    issued = httpx.post(
        f"{url}/api/v1/invoices",
        params={"mode": "sync"},  # wait for ISSUED: the ledger row is written for sure
        json=order("IMG-1").invoice_payload("SIMG1"),
        headers=http_token(url),
        timeout=20,
    )
    assert issued.status_code == 200 and issued.json()["data"]["status"] == "ISSUED", issued.text
    owner = exec_output(platform, "python", "-c", "import os; print(os.stat('/data/ledger.sqlite3').st_uid)")
    assert owner.strip() == "10001"


def test_cli_and_locust_roles_run_from_the_image(containers: Containers) -> None:
    script = "taxstorm validate /opt/taxstorm/scenarios/*.yaml && locust --version && id -u"
    role = containers.run(containers.image, "harness", command=["sh", "-c", script])
    exit_code = role.wait(timeout=120)["StatusCode"]
    output = role.logs().decode(errors="replace")
    assert exit_code == 0, output
    assert "locust 2." in output
    assert output.strip().splitlines()[-1] == "10001"


def test_local_toxiproxy_image_proxies_per_its_config_file(containers: Containers) -> None:
    platform = containers.run(containers.image, "platform", environment=SECRET_ADMIN_TOKEN)
    upstream = f"{platform.name}:8080"  # container names resolve on a user-defined network
    config = [{"name": "platform", "listen": "0.0.0.0:18080", "upstream": upstream, "enabled": True}]
    toxiproxy = containers.create(
        TOXIPROXY_IMAGE,
        "toxiproxy",
        command=["-host=0.0.0.0", "-config=/config/toxiproxy.json"],
        ports=loopback(8474, 18080),
    )
    toxiproxy.put_archive("/", tar_of({"config/toxiproxy.json": json.dumps(config)}))
    toxiproxy.start()
    api = published(toxiproxy, 8474)
    wait_until(lambda: httpx.get(f"{api}/version", timeout=1).status_code == 200, 30, "the Toxiproxy API")

    assert toxiproxy.attrs["Config"]["Entrypoint"] == ["/toxiproxy"]  # the upstream image's layout
    assert "8474/tcp" in toxiproxy.attrs["Config"]["ExposedPorts"]
    assert "2.12.0" in httpx.get(f"{api}/version", timeout=5).text
    proxy = httpx.get(f"{api}/proxies", timeout=5).json()["platform"]
    assert proxy["upstream"] == upstream
    assert proxy["enabled"] is True
    assert proxy["listen"].endswith(":18080")
    assert "platform" in exec_output(toxiproxy, "/toxiproxy-cli", "list")

    wait_healthy(platform)
    through = httpx.get(f"{published(toxiproxy, 18080)}/health", timeout=5)  # host → toxiproxy → platform
    assert through.status_code == 200
    assert through.json()["status"] == "UP"
