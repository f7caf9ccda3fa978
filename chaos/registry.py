"""Faults are small classes registered by name on a registry object (tests make a fresh one)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from taxstorm.chaos.platform_admin import PlatformAdmin

if TYPE_CHECKING:
    from taxstorm.chaos.container import DockerTargets
from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.spec import FaultSpec
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI

SpecT = TypeVar("SpecT", bound=FaultSpec)


@dataclass(frozen=True)
class FaultContext:
    """What faults act on: the run's Toxiproxy proxy and the platform's admin API."""

    run_id: str
    toxiproxy: ToxiproxyAPI
    proxy_name: str
    platform: PlatformAdmin | None = None
    process: PlatformProcess | None = None
    docker: DockerTargets | None = None

    def admin(self) -> PlatformAdmin:
        if self.platform is None:
            raise RuntimeError("this fault needs the platform's admin API, and the run has none")
        return self.platform


class Fault(ABC, Generic[SpecT]):
    """A fault: typed spec + ``apply``/``revert``; ``revert`` is idempotent and safe after a failed apply."""

    spec_type: ClassVar[type[FaultSpec]]
    summary: ClassVar[str]

    def __init__(self, spec: SpecT, context: FaultContext, label: str) -> None:
        self.spec = spec
        self.context = context
        self.label = label

    @abstractmethod
    def apply(self) -> None: ...

    @abstractmethod
    def revert(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """Parameters as reports show them."""
        return self.spec.model_dump(exclude={"at_s", "for_s", "id"})


class UnknownFaultError(KeyError):
    """No fault is registered under that name."""


class FaultRegistry:
    """Fault classes by spec ``type`` name."""

    def __init__(self) -> None:
        self._faults: dict[str, type[Fault[Any]]] = {}

    def register(self, fault_cls: type[Fault[Any]]) -> type[Fault[Any]]:
        name = fault_cls.spec_type.model_fields["type"].default
        if not isinstance(name, str) or not name:
            raise ValueError(f"{fault_cls.__name__}.spec_type needs a Literal 'type' with a default")
        if name in self._faults:
            raise ValueError(f"fault {name!r} is already registered")
        self._faults[name] = fault_cls
        return fault_cls

    def names(self) -> list[str]:
        return sorted(self._faults)

    def get(self, name: str) -> type[Fault[Any]]:
        try:
            return self._faults[name]
        except KeyError:
            raise UnknownFaultError(f"unknown fault {name!r}; known: {', '.join(self.names())}") from None

    def create(self, spec: FaultSpec, context: FaultContext, label: str) -> Fault[Any]:
        return self.get(spec.type)(spec, context, label)


def default_registry() -> FaultRegistry:
    """A registry holding every built-in fault."""
    from taxstorm.chaos import container, handshake, network, platform, process

    registry = FaultRegistry()
    for fault_cls in (*network.FAULTS, *handshake.FAULTS, *platform.FAULTS, *process.FAULTS, *container.FAULTS):
        registry.register(fault_cls)
    return registry
