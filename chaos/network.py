"""Network faults through the real Toxiproxy server, one toxic each (the down fault disables the proxy).

Toxiproxy decides toxicity per *connection*, not per request: with keep-alive, a client that reuses one
connection sees a toxic of toxicity 0.5 on all or none of its requests. The resilient client's
``keep_alive`` option chooses connection reuse.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Literal

from pydantic import Field

from taxstorm.chaos.registry import Fault
from taxstorm.chaos.spec import FaultSpec
from taxstorm.chaos.toxiproxy.api import NotFound

Stream = Literal["upstream", "downstream"]


class ToxicSpec(FaultSpec):
    """Fields every toxic shares."""

    stream: Stream = Field("downstream", description="downstream = platform → client")
    toxicity: float = Field(1.0, ge=0, le=1, description="share of connections affected")


class LatencySpec(ToxicSpec):
    """Delay data by ``latency_ms`` ± ``jitter_ms``."""

    type: Literal["latency"] = "latency"
    latency_ms: int = Field(ge=0, le=600_000, description="ms added to data on the stream")
    jitter_ms: int = Field(0, ge=0, le=600_000, description="± ms of random variation")


class BandwidthSpec(ToxicSpec):
    """Limit the stream to ``rate_kbps`` kilobytes per second."""

    type: Literal["bandwidth"] = "bandwidth"
    rate_kbps: int = Field(ge=0, le=10_000_000, description="KB/s")


class SlowCloseSpec(ToxicSpec):
    """Delay the TCP close by ``delay_ms`` after the platform hangs up."""

    type: Literal["slow_close"] = "slow_close"
    delay_ms: int = Field(ge=0, le=600_000, description="ms the close is held back")


class TimeoutSpec(ToxicSpec):
    """Black hole: data is swallowed; the connection closes after ``timeout_ms`` (0 = never)."""

    type: Literal["timeout"] = "timeout"
    timeout_ms: int = Field(0, ge=0, le=3_600_000, description="ms until the connection closes; 0 = never")


class ResetPeerSpec(ToxicSpec):
    """Reset the connection (TCP RST) ``timeout_ms`` after it opens or after data (0 = at once)."""

    type: Literal["reset_peer"] = "reset_peer"
    timeout_ms: int = Field(0, ge=0, le=3_600_000, description="ms until the reset; 0 = at once")


class SlicerSpec(ToxicSpec):
    """Cut data into slices of ``average_size_bytes`` ± ``size_variation_bytes`` sent ``delay_us`` apart."""

    type: Literal["slicer"] = "slicer"
    average_size_bytes: int = Field(ge=1, le=1_000_000, description="bytes per slice")
    size_variation_bytes: int = Field(0, ge=0, le=1_000_000, description="± bytes per slice")
    delay_us: int = Field(0, ge=0, le=60_000_000, description="µs between slices")


class LimitDataSpec(ToxicSpec):
    """Close the connection once ``bytes`` bytes have passed."""

    type: Literal["limit_data"] = "limit_data"
    bytes: int = Field(ge=0, le=1 << 40, description="bytes allowed through before the close")


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


class BandwidthFault(ToxicFault):
    spec_type = BandwidthSpec
    summary = "limit throughput to rate_kbps KB/s"
    toxic_type = "bandwidth"

    def attributes(self) -> dict[str, Any]:
        return {"rate": self.spec.rate_kbps}


class SlowCloseFault(ToxicFault):
    spec_type = SlowCloseSpec
    summary = "delay the TCP close"
    toxic_type = "slow_close"

    def attributes(self) -> dict[str, Any]:
        return {"delay": self.spec.delay_ms}


class TimeoutFault(ToxicFault):
    spec_type = TimeoutSpec
    summary = "black hole: swallow data, close after timeout_ms (0 = hang for ever)"
    toxic_type = "timeout"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": self.spec.timeout_ms}


class ResetPeerFault(ToxicFault):
    spec_type = ResetPeerSpec
    summary = "reset connections (TCP RST) after timeout_ms"
    toxic_type = "reset_peer"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": self.spec.timeout_ms}


class SlicerFault(ToxicFault):
    spec_type = SlicerSpec
    summary = "slice data into small, delayed packets"
    toxic_type = "slicer"

    def attributes(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "average_size": spec.average_size_bytes,
            "size_variation": spec.size_variation_bytes,
            "delay": spec.delay_us,
        }


class LimitDataFault(ToxicFault):
    spec_type = LimitDataSpec
    summary = "close connections after a number of bytes"
    toxic_type = "limit_data"

    def attributes(self) -> dict[str, Any]:
        return {"bytes": self.spec.bytes}


class DownFault(Fault[DownSpec]):
    spec_type = DownSpec
    summary = "take the proxy down: connection refused until reverted"

    def apply(self) -> None:
        self.context.toxiproxy.set_enabled(self.context.proxy_name, False)

    def revert(self) -> None:
        with contextlib.suppress(NotFound):  # the proxy itself is gone: nothing left to re-enable
            self.context.toxiproxy.set_enabled(self.context.proxy_name, True)


FAULTS: tuple[type[Fault[Any]], ...] = (
    LatencyFault,
    BandwidthFault,
    SlowCloseFault,
    TimeoutFault,
    ResetPeerFault,
    SlicerFault,
    LimitDataFault,
    DownFault,
)
NETWORK_SPECS = (
    LatencySpec | BandwidthSpec | SlowCloseSpec | TimeoutSpec | ResetPeerSpec | SlicerSpec | LimitDataSpec | DownSpec
)
