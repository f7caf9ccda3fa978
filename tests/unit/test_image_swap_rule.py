"""The image swap fault moves a service only to another tag of its own image, already on the engine."""

from __future__ import annotations

from typing import Any

import pytest

from taxstorm.chaos.container import DockerTargets, repository
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
