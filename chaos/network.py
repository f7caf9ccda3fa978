"""Network faults through the real Toxiproxy server.

Toxiproxy decides toxicity per *connection*, not per request: with keep-alive, a client that reuses one
connection sees a toxic of toxicity 0.5 on all or none of its requests.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Literal

from pydantic import Field

from chaos.registry import Fault
from chaos.spec import FaultSpec
from chaos.toxiproxy.api import NotFound

Stream = Literal["upstream", "downstream"]


class ToxicSpec(FaultSpec):
    """Fields every toxic shares."""

    stream: Stream = Field("downstream", description="downstream = platform → client")
    toxicity: float = Field(1.0, ge=0, le=1, description="share of connections affected")


class LatencySpec(ToxicSpec):
    """Delay data by ``latency_ms`` ± ``jitter_ms``."""

    type: Literal["latency"] = "latency"
    latency_ms: int = Field(ge=0, le=600_000)
    jitter_ms: int = Field(0, ge=0, le=600_000)


class DownSpec(FaultSpec):
    """Disable the proxy: existing connections drop, new ones are refused."""

    type: Literal["down"] = "down"


class ToxicFault(Fault[Any]):
    """A fault that is one Toxiproxy toxic named ``<run id>-<label>`` on the run's proxy."""

    toxic_type: ClassVar[str]

    def attributes(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def toxic_name(self) -> str:
        return f"{self.context.run_id}-{self.label}"

    def apply(self) -> None:
        spec = self.spec
        self.context.toxiproxy.add_toxic(
            self.context.proxy_name,
            self.toxic_name,
            self.toxic_type,
            self.attributes(),
            stream=spec.stream,
            toxicity=spec.toxicity,
        )

    def revert(self) -> None:
        with contextlib.suppress(NotFound):  # never applied, or already reverted
            self.context.toxiproxy.remove_toxic(self.context.proxy_name, self.toxic_name)


class LatencyFault(ToxicFault):
    spec_type = LatencySpec
    summary = "add latency (with jitter) to every byte on the stream"
    toxic_type = "latency"

    def attributes(self) -> dict[str, Any]:
        return {"latency": self.spec.latency_ms, "jitter": self.spec.jitter_ms}


class DownFault(Fault[DownSpec]):
    spec_type = DownSpec
    summary = "take the proxy down: connection refused until reverted"

    def apply(self) -> None:
        self.context.toxiproxy.set_enabled(self.context.proxy_name, False)

    def revert(self) -> None:
        with contextlib.suppress(NotFound):  # the proxy itself is gone: nothing left to re-enable
            self.context.toxiproxy.set_enabled(self.context.proxy_name, True)


FAULTS: tuple[type[Fault[Any]], ...] = (LatencyFault, DownFault)
