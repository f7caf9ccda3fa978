"""Leases on a shared Toxiproxy: which ``taxstorm-*`` proxies belong to a run that is still alive.

Toxiproxy keeps no owner and no time on a proxy, so a run using a shared server holds a lease beside its
proxies: a disabled proxy (it listens nowhere and carries nothing) named ``taxstorm-lease-<run id>``, whose
upstream spells when the lease ends (``until-<epoch seconds>.lease.invalid:9``), renewed every RENEW_S.
``taxstorm reset --toxiproxy-url`` deletes a run's proxies only when its lease ended more than SKEW_S ago
(two machines' clocks may differ), or when it has none (a run of an older version, or one killed before it took
its lease): those are provably abandoned.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping

from toxiproxy.proxy import Proxy

from taxstorm.chaos.toxiproxy.api import NotFound, ToxiproxyAPI

PREFIX = "taxstorm-"
LEASE_PREFIX = "taxstorm-lease-"
TTL_S = 30.0  # a lease ends this long after its last renewal
RENEW_S = 5.0
SKEW_S = 30.0  # a lease counts as ended only this long after its end: the reset may run on another machine
_UNTIL = re.compile(r"^until-(\d+)\.lease\.invalid:9$")


def lease_name(run_id: str) -> str:
    return f"{LEASE_PREFIX}{run_id}"


def lease_upstream(until: float) -> str:
    return f"until-{int(until)}.lease.invalid:9"


def lease_until(proxy: Proxy) -> float | None:
    """When a lease proxy's lease ends (epoch seconds); None if the proxy is not a lease."""
    found = _UNTIL.match(str(proxy.upstream))
    return float(found.group(1)) if found and str(proxy.name).startswith(LEASE_PREFIX) else None


def owner(proxy_name: str, leases: Mapping[str, float | None]) -> str | None:
    """The run id (a key of ``leases``) whose proxy this is: ``taxstorm-<run id>`` or ``taxstorm-<run id>-…``."""
    for run_id in leases:
        mine = f"{PREFIX}{run_id}"
        if proxy_name == mine or proxy_name.startswith(f"{mine}-"):
            return run_id
    return None


def live_runs(proxies: Mapping[str, Proxy], now: float) -> dict[str, float]:
    """Runs whose lease has not provably ended, with its end (epoch seconds)."""
    leases = {name.removeprefix(LEASE_PREFIX): lease_until(p) for name, p in proxies.items()}
    return {run: until for run, until in leases.items() if until is not None and now <= until + SKEW_S}


class Lease:
    """One run's lease on a shared Toxiproxy: taken at the start, renewed by :meth:`renew`, released at the end."""

    def __init__(self, api: ToxiproxyAPI, run_id: str, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.name = lease_name(run_id)
        self._clock = clock

    def take(self) -> None:
        self.api.create_proxy(self.name, lease_upstream(self._clock() + TTL_S), enabled=False)

    def renew(self) -> bool:
        """Push the lease's end TTL_S ahead; False when the lease is gone (someone deleted it)."""
        try:
            self.api.set_upstream(self.name, lease_upstream(self._clock() + TTL_S))
        except NotFound:
            return False
        return True

    def release(self) -> None:
        with contextlib.suppress(NotFound):
            self.api.delete_proxy(self.name)
