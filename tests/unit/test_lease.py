"""Leases on a shared Toxiproxy, read from proxies alone: whose proxy is whose, and which runs are alive."""

from __future__ import annotations

import os

from toxiproxy.proxy import Proxy

from taxstorm.chaos.toxiproxy.lease import SKEW_S, lease_until, lease_upstream, live_runs, owner
from taxstorm.reset import process_started


def proxy(name: str, upstream: str = "127.0.0.1:9") -> Proxy:
    return Proxy(name=name, upstream=upstream, listen="127.0.0.1:0", enabled=False)


def test_a_lease_spells_its_end_in_its_upstream_and_only_a_lease_proxy_has_one() -> None:
    assert lease_until(proxy("taxstorm-lease-r1", lease_upstream(1765000000.9))) == 1765000000.0
    assert lease_until(proxy("taxstorm-r1", lease_upstream(1765000000))) is None  # not named as a lease
    assert lease_until(proxy("taxstorm-lease-r1", "until-soon.lease.invalid:9")) is None


def test_a_run_is_alive_until_skew_s_after_its_lease_ends() -> None:
    proxies = {
        "taxstorm-lease-a": proxy("taxstorm-lease-a", lease_upstream(1000)),
        "taxstorm-lease-b": proxy("taxstorm-lease-b", lease_upstream(2000)),
        "taxstorm-a": proxy("taxstorm-a"),
    }
    assert live_runs(proxies, now=1000 + SKEW_S) == {"a": 1000.0, "b": 2000.0}
    assert live_runs(proxies, now=1001 + SKEW_S) == {"b": 2000.0}


def test_a_proxy_belongs_to_the_run_it_is_named_after_and_to_no_run_whose_id_merely_starts_it() -> None:
    leases = {"smoke-20261206T010000-ab12": 1.0}
    assert owner("taxstorm-smoke-20261206T010000-ab12", leases) == "smoke-20261206T010000-ab12"
    assert owner("taxstorm-smoke-20261206T010000-ab12-secondary", leases) == "smoke-20261206T010000-ab12"
    assert owner("taxstorm-smoke-20261206T010000-ab123", leases) is None
    assert owner("platform", leases) is None


def test_a_process_is_named_by_its_start_time_beside_its_pid() -> None:
    started = process_started(os.getpid())
    assert started is not None and started.isdigit() and process_started(os.getpid()) == started
    assert process_started(2**22 + 1) is None  # beyond pid_max: no such process
