"""The image swap fault moves a service only to another tag of its own image, already on the engine."""

from __future__ import annotations

from typing import Any

import pytest

from taxstorm.chaos.container import DockerTargets, creation_body, repository
from taxstorm.chaos.registry import FaultContext
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from tests.helpers import build_fault


class NotFound(Exception):
    """What the docker SDK raises for an image the engine does not have."""


class FakeEngine:
    """Just enough of the docker SDK: one container of service 'platform', some local images."""

    def __init__(self, running: str, local: set[str]) -> None:
        self.local = local
        self.container = type("C", (), {"attrs": {"Config": {"Image": running}}})()
        self.images = self
        self.containers = self

    def list(self, **_: Any) -> list[Any]:
        return [self.container]

    def get(self, image: str) -> object:
        if image not in self.local:
            raise NotFound(image)
        return object()


class RecordingTargets(DockerTargets):
    def __init__(self, engine: FakeEngine) -> None:
        super().__init__(engine, "game")
        self.recreated: list[str] = []

    def recreate(self, service: str, image: str) -> Any:
        self.recreated.append(image)
        self.client.container.attrs["Config"]["Image"] = image


def swap(targets: RecordingTargets, image: str) -> Any:
    context = FaultContext("run", ToxiproxyAPI("http://127.0.0.1:9"), "unused", docker=targets)
    return build_fault(context, type="container_image_swap", service="platform", image=image)


def test_another_local_tag_of_the_same_image_is_swapped_and_rolled_back() -> None:
    targets = RecordingTargets(FakeEngine("taxstorm-platform:v1", {"taxstorm-platform:v1", "taxstorm-platform:v2"}))
    fault = swap(targets, "taxstorm-platform:v2")
    fault.apply()
    fault.revert()
    assert targets.recreated == ["taxstorm-platform:v2", "taxstorm-platform:v1"]


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ("alpine:latest", "not a release of 'platform'.*another tag of 'taxstorm-platform'"),
        ("evil/taxstorm-platform:v2", "not a release"),
        ("taxstorm-platform:v9", "not on this Docker engine: build or pull it"),
    ],
)
def test_any_other_image_is_refused_before_the_container_is_touched(image: str, says: str) -> None:
    targets = RecordingTargets(FakeEngine("taxstorm-platform:v1", {"taxstorm-platform:v1", "alpine:latest"}))
    fault = swap(targets, image)
    with pytest.raises(ValueError, match=says):
        fault.apply()
    fault.revert()  # a refused swap leaves nothing to roll back
    assert targets.recreated == []


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("taxstorm-platform:v2", "taxstorm-platform"),
        ("registry:5000/team/app:v2", "registry:5000/team/app"),
        ("registry:5000/team/app", "registry:5000/team/app"),
        ("app@sha256:abc", "app"),
        ("app", "app"),
    ],
)
def test_the_repository_of_an_image_reference(image: str, repo: str) -> None:
    assert repository(image) == repo


IMAGE_V1: dict[str, Any] = {
    "Cmd": ["python", "-m", "taxstorm.mock_platform", "--host", "0.0.0.0", "--port", "8080"],
    "User": "taxstorm",
    "WorkingDir": "/data",
    "Env": ["PATH=/opt/taxstorm/bin:/usr/bin", "TAXSTORM_PLATFORM_RELEASE=stable"],
    "Labels": {"org.opencontainers.image.title": "taxstorm"},
    "ExposedPorts": {"8080/tcp": {}},
    "Healthcheck": {"Test": ["CMD", "python", "-c", "probe"], "Interval": 10_000_000_000},
}


def compose_container(**config: Any) -> dict[str, Any]:
    """What `docker inspect` shows of a compose service's container of image v1, with ``config`` set on top."""
    return {
        "Id": "0123456789abcdef",
        "Config": {
            **IMAGE_V1,
            "Hostname": "0123456789ab",
            "Env": [*IMAGE_V1["Env"], "TAXSTORM_PLATFORM_ADMIN_TOKEN=secret"],
            "Labels": {**IMAGE_V1["Labels"], "com.docker.compose.service": "platform"},
            **config,
        },
        "HostConfig": {"Binds": ["game_ledger:/data:rw"], "PortBindings": {"8080/tcp": [{"HostPort": "18080"}]}},
        "NetworkSettings": {"Networks": {"game_default": {"Aliases": ["platform", "0123456789ab"]}}},
    }


def test_a_swap_keeps_what_compose_set_command_user_healthcheck_and_all() -> None:
    """compose's ``command:``, ``user:``, ``healthcheck:``, ``environment:``, ports, volumes and network alias survive
    an image swap; the old image's own defaults do not (the new release brings its own)."""
    check = {"Test": ["CMD-SHELL", "curl -f localhost:8080/health"], "Interval": 2_000_000_000, "Retries": 5}
    command = ["python", "-m", "taxstorm.mock_platform", "--host", "0.0.0.0", "--port", "9090"]
    inspected = compose_container(Cmd=command, User="10001:10001", Healthcheck=check, StopSignal="SIGINT")
    body = creation_body(inspected, IMAGE_V1, "taxstorm-platform:v2")
    assert body["Image"] == "taxstorm-platform:v2"
    assert body["Cmd"] == command and body["User"] == "10001:10001" and body["Healthcheck"] == check
    assert body["StopSignal"] == "SIGINT"
    assert body["Env"] == ["TAXSTORM_PLATFORM_ADMIN_TOKEN=secret"]  # not v1's RELEASE=stable: v2 sets its own
    assert body["Labels"] == {"com.docker.compose.service": "platform"}
    assert body["HostConfig"] == inspected["HostConfig"]
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"game_default": {"Aliases": ["platform"]}}}
    assert "Hostname" not in body and "WorkingDir" not in body and "ExposedPorts" not in body


def test_a_container_that_set_nothing_gets_the_new_images_defaults() -> None:
    body = creation_body(compose_container(), IMAGE_V1, "taxstorm-platform:v2")
    assert not {"Cmd", "User", "Healthcheck", "WorkingDir"} & set(body)
