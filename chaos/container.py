"""Container faults through the Docker engine (the ``docker`` SDK), addressed by compose service name.

kill (SIGKILL; revert starts it again), pause/unpause, restart, and an image swap (recreate the service's
container from another tag of its image, already on the engine, with the same name, labels, environment, ports,
volumes and networks; revert recreates it from the old tag: the rollback).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from taxstorm.chaos.registry import Fault
from taxstorm.chaos.spec import FaultSpec

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
        """Replace the service's container by one from ``image``, keeping what compose gave it."""
        old = self.container(service)
        attrs = old.attrs
        config, host = attrs["Config"], attrs["HostConfig"]
        image_env = set(self.client.images.get(config["Image"]).attrs["Config"].get("Env") or [])
        environment = [e for e in config.get("Env") or [] if e not in image_env]  # only what was set on top
        bindings = {
            int(port.split("/")[0]): [(b.get("HostIp") or "", int(b["HostPort"])) for b in binds]
            for port, binds in (host.get("PortBindings") or {}).items()
            if binds
        }
        networks = attrs["NetworkSettings"]["Networks"]
        first = next(iter(networks))
        aliases = [a for a in (networks[first].get("Aliases") or []) if a != old.id[:12]]
        api = self.client.api
        name = old.name
        old.stop(timeout=10)
        old.remove()
        created = api.create_container(
            image,
            name=name,
            environment=environment,
            labels=config.get("Labels") or {},
            ports=list(bindings),
            host_config=api.create_host_config(
                port_bindings={p: b[0] for p, b in bindings.items()},
                binds=host.get("Binds") or [],
                restart_policy=host.get("RestartPolicy"),
            ),
            networking_config=api.create_networking_config(
                {first: api.create_endpoint_config(aliases=aliases or None)}
            ),
        )
        for network in list(networks)[1:]:
            self.client.networks.get(network).connect(created["Id"], aliases=networks[network].get("Aliases"))
        api.start(created["Id"])
        return self.client.containers.get(created["Id"])


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
    grace_s: int = Field(5, ge=0, description="s between SIGTERM and SIGKILL")


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
