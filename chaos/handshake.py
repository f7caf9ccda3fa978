"""A TLS handshake that stalls, on the real Toxiproxy: the platform's TLS terminator accepts connections and then
never answers a ClientHello (an overloaded or wedged terminator, an HSM that stopped signing).

Toxiproxy's toxics act on every connection of a proxy, open or new, so the stall is a second proxy: the run's
proxy is pointed at a *stall proxy* (``taxstorm-<run id>-stall-<label>``, upstream the platform) whose ``timeout`` toxic
drops everything clients send. Pointing a Toxiproxy proxy elsewhere restarts it, which cuts the connections open
at that moment (as a terminator's restart does); every connection after that is accepted and hears nothing: the
client's handshake waits until its own timeout. The revert points the run's proxy back at the platform (cutting
the stalled connections) and deletes the stall proxy.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from taxstorm.chaos.registry import Fault
from taxstorm.chaos.spec import FaultSpec
from taxstorm.chaos.toxiproxy.api import NotFound
from taxstorm.chaos.toxiproxy.lease import PREFIX


class HandshakeStallSpec(FaultSpec):
    """Open connections are cut; new ones connect and their TLS handshake is never answered (HTTPS runs)."""

    type: Literal["handshake_stall"] = "handshake_stall"

    def slot(self) -> str | None:
        return "proxy upstream"


def stall_proxy_name(run_id: str, label: str = "") -> str:
    """The stall proxy of a run's fault (``label`` empty: the prefix of them all): ``taxstorm-<run id>-stall-…``,
    so ``taxstorm reset`` knows it as the run's."""
    return f"{PREFIX}{run_id}-stall-{label}"


class HandshakeStallFault(Fault[HandshakeStallSpec]):
    spec_type = HandshakeStallSpec
    summary = "TLS handshakes stall: open connections cut, new ones accepted and never answered; revert: answered"

    _upstream: str | None = None  # the run's proxy's upstream before the fault (the platform)

    @property
    def stall_name(self) -> str:
        return stall_proxy_name(self.context.run_id, self.label)

    def apply(self) -> None:
        api, proxy = self.context.toxiproxy, self.context.proxy_name
        self._upstream = api.proxies()[proxy].upstream
        stall = api.create_proxy(self.stall_name, upstream=self._upstream)
        api.add_toxic(self.stall_name, f"{self.context.run_id}-{self.label}", "timeout", {"timeout": 0}, "upstream")
        api.set_upstream(proxy, stall.listen)

    def revert(self) -> None:
        api = self.context.toxiproxy
        if self._upstream is not None:
            with contextlib.suppress(NotFound):  # the run's proxy is gone: nothing to point back
                api.set_upstream(self.context.proxy_name, self._upstream)
        with contextlib.suppress(NotFound):  # never created, or already deleted
            api.delete_proxy(self.stall_name)


FAULTS: tuple[type[Fault[Any]], ...] = (HandshakeStallFault,)
