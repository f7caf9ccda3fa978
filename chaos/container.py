"""Container faults through the Docker engine (the ``docker`` SDK), addressed by compose service name.

kill (SIGKILL; revert starts it again), pause/unpause, restart, and an image swap (recreate the service's
container from another tag of its image, already on the engine, with the same name and everything compose set:
command, user, healthcheck, environment, labels, ports, volumes, networks …; revert recreates it from the old
tag: the rollback).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taxstorm.chaos.registry import Fault
from taxstorm.chaos.spec import PHYSICAL, FaultSpec

SERVICE_LABEL = "com.docker.compose.service"
PROJECT_LABEL = "com.docker.compose.project"


def repository(image: str) -> str:
    """``registry:5000/team/app:v2`` → ``registry:5000/team/app`` (the tag or digest dropped)."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


class DockerTargets:
    """Finds and recreates a compose project's containers."""

    def __init__(self, client: Any, project: str | None = None) -> None:
        self.client = client
        self.project = project

    def container(self, service: str) -> Any:
        labels = [f"{SERVICE_LABEL}={service}"] + ([f"{PROJECT_LABEL}={self.project}"] if self.project else [])
        found = self.client.containers.list(all=True, filters={"label": labels})
        if len(found) != 1:
            raise RuntimeError(f"expected one container of service {service!r}, found {len(found)}")
        return found[0]

    def check_swap(self, service: str, current: str, image: str) -> None:
        """An image swap only moves a service to another tag of the image it runs, already on this engine: a
        fault (perhaps applied from the game day's Chaos tab) never starts an arbitrary image next to the
        Docker socket, and never pulls one."""
        if repository(image) != repository(current):
            raise ValueError(
                f"container_image_swap.image {image!r} is not a release of {service!r}, which runs {current!r}: "
                f"name another tag of {repository(current)!r}"
            )
        try:
            self.client.images.get(image)
        except Exception as exc:  # docker.errors.ImageNotFound, without importing the SDK here
            raise ValueError(
                f"container_image_swap.image {image!r} is not on this Docker engine: build or pull it before the run"
            ) from exc

    def recreate(self, service: str, image: str) -> Any:
        """Replace the service's container by one from ``image``, with everything compose gave it
        (:func:`creation_body`)."""
        old = self.container(service)
        attrs = old.attrs
        image_config = self.client.images.get(attrs["Config"]["Image"]).attrs["Config"] or {}
        body = creation_body(attrs, image_config, image)
        networks = attrs["NetworkSettings"]["Networks"]
        api = self.client.api
        name = old.name
        old.stop(timeout=10)
        old.remove()
        created = api.create_container_from_config(body, name)
        for network in list(networks)[1:]:
            self.client.networks.get(network).connect(created["Id"], aliases=networks[network].get("Aliases"))
        api.start(created["Id"])
        return self.client.containers.get(created["Id"])


# What a container's Config holds that compose (or `docker run`) may have set on top of its image: each is kept
# when it differs from the old image's own default, else left to the new image (a release may change it).
CONTAINER_SET = (
    "Cmd",
    "Entrypoint",
    "User",
    "WorkingDir",
    "Healthcheck",
    "StopSignal",
    "StopTimeout",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "AttachStdin",
    "Domainname",
)


def creation_body(attrs: dict[str, Any], image_config: dict[str, Any], image: str) -> dict[str, Any]:
    """The Engine API's create body for a container like the inspected one (``attrs``) from ``image``.

    The whole HostConfig (ports, volumes, restart policy, capabilities, limits, logging: all of it set on the
    container, none by the image) and the first network's aliases carry over; of the Config, what the
    container set on top of its old image (``image_config``): command, entrypoint, user, working dir,
    healthcheck, stop signal, environment, labels, exposed ports. The old image's defaults do not, so the
    new image's own apply (the upgrade's ENV, CMD or HEALTHCHECK)."""
    config = attrs["Config"]
    body: dict[str, Any] = {"Image": image}
    for key in CONTAINER_SET:
        value = config.get(key)
        if value not in (None, "", [], {}, False) and value != image_config.get(key):
            body[key] = value
    if config.get("Hostname") and config["Hostname"] != attrs.get("Id", "")[:12]:
        body["Hostname"] = config["Hostname"]  # set by compose (hostname:); the engine's default is the short id
    image_env = set(image_config.get("Env") or [])
    body["Env"] = [e for e in config.get("Env") or [] if e not in image_env]
    image_labels = image_config.get("Labels") or {}
    body["Labels"] = {k: v for k, v in (config.get("Labels") or {}).items() if image_labels.get(k) != v}
    image_ports = image_config.get("ExposedPorts") or {}
    exposed: dict[str, dict[str, Any]] = {p: {} for p in config.get("ExposedPorts") or {} if p not in image_ports}
    if exposed:
        body["ExposedPorts"] = exposed
    body["HostConfig"] = dict(attrs["HostConfig"])
    networks = attrs["NetworkSettings"]["Networks"]
    if networks:
        first = next(iter(networks))
        short_id = attrs.get("Id", "")[:12]
        aliases = [a for a in (networks[first].get("Aliases") or []) if a != short_id] or None
        body["NetworkingConfig"] = {"EndpointsConfig": {first: {"Aliases": aliases}}}
    return body


class ContainerFault(Fault[Any]):
    """A fault on one compose service's container."""

    def targets(self) -> DockerTargets:
        if self.context.docker is None:
            raise RuntimeError(f"{self.spec.type} needs a Docker engine and the run's compose project")
        return self.context.docker


class ContainerKillSpec(FaultSpec):
    """SIGKILL the service's container; revert starts it again."""

    type: Literal["container_kill"] = "container_kill"
    service: str = Field(description="compose service name")


class ContainerKillFault(ContainerFault):
    spec_type = ContainerKillSpec
    summary = "kill a container (SIGKILL); it is started again when the fault ends"

    def apply(self) -> None:
        self.targets().container(self.spec.service).kill()

    def revert(self) -> None:
        container = self.targets().container(self.spec.service)
        container.reload()
        if container.status != "running":
            container.start()


class ContainerPauseSpec(FaultSpec):
    """Freeze the service's container (cgroup freezer) until revert."""

    type: Literal["container_pause"] = "container_pause"
    service: str = Field(description="compose service name")


class ContainerPauseFault(ContainerFault):
    spec_type = ContainerPauseSpec
    summary = "pause a container; unpause when the fault ends"

    def apply(self) -> None:
        self.targets().container(self.spec.service).pause()

    def revert(self) -> None:
        container = self.targets().container(self.spec.service)
        container.reload()
        if container.status == "paused":
            container.unpause()


class ContainerRestartSpec(FaultSpec):
    """Restart the service's container (stop with a grace period, start)."""

    type: Literal["container_restart"] = "container_restart"
    service: str = Field(description="compose service name")
    grace_s: int = Field(5, ge=0, description="s between SIGTERM and SIGKILL", json_schema_extra=PHYSICAL)


class ContainerRestartFault(ContainerFault):
    spec_type = ContainerRestartSpec
    summary = "restart a container (the downtime is real)"

    def apply(self) -> None:
        self.targets().container(self.spec.service).restart(timeout=self.spec.grace_s)

    def revert(self) -> None:
        container = self.targets().container(self.spec.service)
        container.reload()
        if container.status != "running":
            container.start()


class ContainerImageSwapSpec(FaultSpec):
    """Upgrade the service to another image tag; revert rolls back to the tag it had."""

    type: Literal["container_image_swap"] = "container_image_swap"
    service: str = Field(description="compose service name")
    image: str = Field(description="image:tag to upgrade to")


class ContainerImageSwapFault(ContainerFault):
    spec_type = ContainerImageSwapSpec
    summary = "swap a container's image tag (upgrade) and roll back"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._previous: str | None = None

    def apply(self) -> None:
        targets = self.targets()
        current = str(targets.container(self.spec.service).attrs["Config"]["Image"])
        targets.check_swap(self.spec.service, current, self.spec.image)
        self._previous = current
        targets.recreate(self.spec.service, self.spec.image)

    def revert(self) -> None:
        if self._previous is not None:
            self.targets().recreate(self.spec.service, self._previous)
            self._previous = None


FAULTS: tuple[type[Fault[Any]], ...] = (
    ContainerKillFault,
    ContainerPauseFault,
    ContainerRestartFault,
    ContainerImageSwapFault,
)
CONTAINER_SPECS = ContainerKillSpec | ContainerPauseSpec | ContainerRestartSpec | ContainerImageSwapSpec
