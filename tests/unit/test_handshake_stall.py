"""The handshake stall as Toxiproxy calls (in memory): the run's proxy is pointed at a stall proxy that drops what
clients send, and back (the runner's clean-up check on a stall left behind: test_runner_in_memory)."""

from __future__ import annotations

import contextlib

from taxstorm.chaos.handshake import stall_proxy_name
from taxstorm.chaos.registry import FaultContext
from tests.helpers import build_fault
from tests.simulated import MemoryToxiproxy

STALL = stall_proxy_name("r1", "handshake_stall")  # tests' faults are labelled by their type


def test_the_proxy_leads_to_a_silent_stall_proxy_until_the_revert() -> None:
    api = MemoryToxiproxy()
    api.create_proxy("taxstorm-r1", "platform:8443")
    fault = build_fault(FaultContext("r1", api, "taxstorm-r1"), type="handshake_stall", id="stall")
    fault.apply()
    stall = api.proxies()[STALL]
    assert stall.upstream == "platform:8443" and api.proxies()["taxstorm-r1"].upstream == stall.listen
    (toxic,) = api.toxics(STALL).values()
    assert (toxic.type, toxic.stream, toxic.attributes) == ("timeout", "upstream", {"timeout": 0})
    fault.revert()
    assert api.proxies()["taxstorm-r1"].upstream == "platform:8443" and set(api.proxies()) == {"taxstorm-r1"}
    fault.revert()  # idempotent
    assert set(api.proxies()) == {"taxstorm-r1"}


def test_a_failed_apply_is_reverted_without_a_trace() -> None:
    api = MemoryToxiproxy()  # the run's proxy is missing: the apply fails before it changes anything
    fault = build_fault(FaultContext("r2", api, "taxstorm-r2"), type="handshake_stall", id="stall")
    with contextlib.suppress(KeyError):
        fault.apply()
    fault.revert()
    assert api.proxies() == {}
