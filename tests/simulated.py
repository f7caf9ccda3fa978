"""A whole run in memory, on virtual time: the stack, the platform's ledger and admin API, Toxiproxy and a
client under load, each a small model of the real one, for ``Runner``'s seams (``RunParts``).

The runner, the fault classes, the scheduler, the sampler, the recorder, reconciliation, windows, gates and
reports are the real ones; only what they talk to is simulated. Toxiproxy is simulated at its HTTP API (the
real ``ToxiproxyAPI`` adapter and the real network faults drive it); the platform at its admin API.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import requests

from taxstorm.chaos.platform_admin import PlatformAdmin
from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.toxiproxy.lease import Lease
from taxstorm.load_driver import COLLECT_TIMEOUT_S
from taxstorm.loadtests.context import LoadContext
from taxstorm.loadtests.defects import Defect
from taxstorm.loadtests.records import OperationRecord, Recorder
from taxstorm.mock_platform.fault_modes import MODES
from taxstorm.run_loop import Repeating, VirtualLoop
from taxstorm.runner import RunParts
from taxstorm.scenario import PlatformSpec
from taxstorm.stack import Secondary, StackOptions

UNREACHABLE_TOXICS = frozenset({"timeout", "reset_peer"})


def _answer(status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


class MemoryToxiproxy(ToxiproxyAPI):
    """Toxiproxy's HTTP API over an in-memory table of proxies and toxics (the adapter above it is the real one)."""

    def __init__(self) -> None:
        super().__init__("http://toxiproxy.invalid")
        self.proxies_: dict[str, dict[str, Any]] = {}
        self.toxics_: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []

    def _call(self, method: str, path: str, json: Any = None) -> requests.Response:
        self.calls.append((method, path))
        parts = path.strip("/").split("/")
        if parts == ["proxies"] and method == "GET":
            return _answer(200, self.proxies_)
        if parts == ["proxies"] and method == "POST":
            self.proxies_[json["name"]] = {**json, "listen": "127.0.0.1:1"}
            self.toxics_[json["name"]] = {}
            return _answer(201, self.proxies_[json["name"]])
        name = parts[1]
        if name not in self.proxies_:
            return _answer(404, {"error": "proxy not found"})
        if len(parts) == 2 and method == "POST":
            self.proxies_[name].update(json)
            return _answer(200, self.proxies_[name])
        if len(parts) == 2 and method == "DELETE":
            del self.proxies_[name], self.toxics_[name]
            return _answer(204, {})
        toxics = self.toxics_[name]
        if len(parts) == 3 and method == "GET":
            return _answer(200, list(toxics.values()))
        if len(parts) == 3 and method == "POST":
            toxics[json["name"]] = json
            return _answer(200, json)
        if parts[3] not in toxics:
            return _answer(404, {"error": "toxic not found"})
        if method == "PATCH":
            toxics[parts[3]]["attributes"].update(json["attributes"])
            return _answer(200, toxics[parts[3]])
        del toxics[parts[3]]
        return _answer(204, {})

    def path_to(self, proxy: str) -> tuple[bool, float]:
        """(reachable, latency added in ms) through ``proxy`` now."""
        if not self.proxies_.get(proxy, {}).get("enabled", False):
            return False, 0.0
        toxics = self.toxics_[proxy].values()
        if any(toxic["type"] in UNREACHABLE_TOXICS for toxic in toxics):
            return False, 0.0
        return True, sum(float(t["attributes"].get("latency", 0)) for t in toxics if t["type"] == "latency")


class SimulatedPlatform(PlatformAdmin):
    """The platform's ledger, request counters and runtime fault modes, behind its admin API's methods."""

    def __init__(self) -> None:
        super().__init__("http://platform.invalid", "admin-token")
        self.rows: list[dict[str, Any]] = []
        self.modes: dict[str, dict[str, Any]] = {}
        self.switched: list[tuple[str, str]] = []  # (method, route) of every mode switched
        self.submissions = 0
        self.lookups = 0

    def issue(self, order_ref: str, total: Decimal) -> str:
        self.submissions += 1
        number = f"{len(self.rows) + 1:020d}"
        totals = {"totalWithTax": str(total)}
        self.rows.append({"orderRef": order_ref, "invoiceNo": number, "status": "ISSUED", "totals": totals})
        return number

    def refuses(self, rng: random.Random) -> bool:
        """Whether an injected error answers this request instead of the platform."""
        errors = self.modes.get("errors")
        return errors is not None and rng.random() < float(errors["rate"])

    def healthy(self) -> bool:
        return True

    def stats(self) -> dict[str, Any]:
        requests_ = [
            {"route": "/api/v1/invoices", "method": "POST", "status": 200, "count": self.submissions},
            {"route": "/api/v1/invoices/by-serial", "method": "GET", "status": 200, "count": self.lookups},
        ]
        return {"requests": requests_, "inFlight": 0, "capacity": {}, "ledgerSize": len(self.rows)}

    def ledger(self, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
        yield from self.rows

    def landed(self, order_refs: list[str]) -> set[str]:
        wanted = set(order_refs)
        return {row["orderRef"] for row in self.rows if row["orderRef"] in wanted}

    def upload_failed(self) -> set[str]:
        return set()

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        route = path.removeprefix("/admin/faults/")
        if route == path:
            raise AssertionError(f"the simulated platform has no {method} {path}")
        self.switched.append((method, route))
        if method == "PUT":
            MODES[route].model_validate(body)  # the body the real platform would take, or a test failure
            self.modes[route] = dict(body or {})
        else:
            self.modes.pop(route, None)
        return {"mode": route}

    def reset(self) -> None:
        self.modes.clear()

    def close(self) -> None:
        """Nothing to release."""


class MemoryStack:
    """The ``Stack`` of a simulated run: a platform and a Toxiproxy proxy, both in memory."""

    def __init__(self, options: StackOptions, platform: SimulatedPlatform, toxiproxy: MemoryToxiproxy) -> None:
        self.options = options
        self.credential_key = "simulated-credential-key"
        self.proxy_name = f"taxstorm-{options.run_id}"
        self.proxy_upstream = "platform.invalid:80"
        self.toxiproxy: ToxiproxyAPI | None = toxiproxy
        self.memory_proxy = toxiproxy
        self.admin: PlatformAdmin | None = platform
        self.platform_url = "http://platform.invalid"
        self.client_url = "http://proxy.invalid"
        self.platform: PlatformProcess | None = None
        self.secondary: Secondary | None = None
        self.lease: Lease | None = None
        self.stopped = False

    @property
    def state_path(self) -> Path:
        return self.options.run_dir / "state.json"

    @property
    def ca_file(self) -> Path | None:
        return None  # plain HTTP

    def start(self) -> None:
        self.memory_proxy.create_proxy(self.proxy_name, self.proxy_upstream)

    def stop(self) -> list[str]:
        self.stopped = True
        if self.proxy_name in self.memory_proxy.proxies_:
            self.memory_proxy.delete_proxy(self.proxy_name)
        return []

    def keep_lease(self) -> str | None:
        return None

    def round_trip_ms(self) -> float | None:
        reachable, latency_ms = self.memory_proxy.path_to(self.proxy_name)
        return latency_ms + 1.0 if reachable else None

    def admins(self) -> list[PlatformAdmin]:
        return [self.admin] if self.admin is not None else []


@dataclass(frozen=True)
class ClientModel:
    """How the simulated client under test behaves when the platform cannot be reached (or refuses with a 5xx):
    ``queue`` answers at once and issues later, ``fail`` answers at once that it gave up, ``block`` waits out the
    user's whole answer budget; ``drains``: whether it issues its queue once the platform is back; ``reports``:
    whether ``backlog()`` tells its queue (a client that forgets it says 0)."""

    offline: Literal["queue", "fail", "block"] = "queue"
    drains: bool = True
    reports: bool = True
    base_ms: float = 40.0


class SimulatedLoad:
    """A ``LoadDriver``: orders at a steady rate, each sent by the client model through the simulated proxy."""

    def __init__(
        self, context: LoadContext, stack: MemoryStack, loop: VirtualLoop, client: ClientModel, rate_per_s: float
    ) -> None:
        self.context = context
        self.recorder: Recorder = context.recorder
        self.environment: Any = None  # no Locust here (a game day's web UI would attach to it)
        self.stack = stack
        self.loop = loop
        self.client = client
        self.rate_per_s = rate_per_s
        self.queue: list[tuple[str, Decimal]] = []
        self.rng = random.Random(7)
        self._seller = context.generator.seller(0)
        self._task: Repeating | None = None

    @property
    def platform(self) -> SimulatedPlatform:
        assert isinstance(self.stack.admin, SimulatedPlatform)
        return self.stack.admin

    def publish(self, epoch: float) -> None:
        """The simulated users share the loop's clock."""

    def start(self, epoch: float) -> None:
        self._task = self.loop.every(1.0 / self.rate_per_s, self._one_order, first_s=0.0)

    def stop(self) -> None:
        if self._task is not None:
            self._task.kill()
            self._task = None

    def collect(self, timeout_s: float = COLLECT_TIMEOUT_S) -> None:
        """Records go straight into the recorder."""

    def backlog(self) -> int:
        return len(self.queue) if self.client.reports else 0

    def drain(self, until_s: float, forced: Any) -> int:
        if not self.client.drains:
            self.queue.clear()  # forgotten: the orders told "queued" are never issued
        while self.queue and self.context.clock() < until_s and not forced():
            reachable, latency_ms = self._path()
            if reachable:
                ref, total = self.queue.pop(0)
                self._record("drain", ref, "issued", latency_ms, self.platform.issue(ref, total))
            else:
                self.loop.sleep(1.0)
        return self.backlog()

    def started(self) -> bool:
        return self._task is not None

    def blocked_clients(self) -> list[tuple[Defect, float]]:
        return []

    def close(self) -> None:
        self.stop()

    def _path(self) -> tuple[bool, float]:
        reachable, latency_ms = self.stack.memory_proxy.path_to(self.stack.proxy_name)
        if reachable and self.platform.refuses(self.rng):
            return False, latency_ms
        return reachable, self.client.base_ms + latency_ms

    def _one_order(self) -> None:
        order = self.context.generator.order(self._seller)
        self.recorder.order_created(order.order_ref, order.total_with_tax)
        self.recorder.arrivals += 1
        reachable, latency_ms = self._path()
        if reachable:
            number = self.platform.issue(order.order_ref, order.total_with_tax)
            self._record("issue", order.order_ref, "issued", latency_ms, number)
        elif self.client.offline == "queue":
            self.queue.append((order.order_ref, order.total_with_tax))
            self._record("issue", order.order_ref, "queued", 2.0, None, "platform unreachable: queued offline")
        elif self.client.offline == "fail":
            self._record("issue", order.order_ref, "failed", 2.0, None, "platform unreachable")
        else:  # the user waits out the answer budget and the harness abandons the call, as its guard does
            budget_s = self.context.answer_budget_s
            no_answer = Defect("issue", "no_answer", "timeout", f"no answer within {budget_s:g} s")
            self.recorder.defects.add(no_answer, self.context.clock())
            self._record("issue", order.order_ref, "failed", budget_s * 1000.0, None, "timed out", no_answer.tag)

    def _record(
        self,
        operation: Literal["issue", "drain"],
        ref: str,
        outcome: str,
        ms: float,
        number: str | None,
        error: str | None = None,
        defect: str | None = None,
    ) -> None:
        start = self.context.clock()
        end = start + ms / 1000.0
        self.recorder.add(OperationRecord(start, end, operation, outcome, ref, 1, number, error, defect))


@dataclass
class Simulation:
    """One simulated system: its loop, platform, Toxiproxy and client model; ``parts()`` hands them to a Runner."""

    client: ClientModel = field(default_factory=ClientModel)
    rate_per_s: float = 10.0
    loop: VirtualLoop = field(default_factory=VirtualLoop)
    platform: SimulatedPlatform = field(default_factory=SimulatedPlatform)
    toxiproxy: MemoryToxiproxy = field(default_factory=MemoryToxiproxy)
    stacks: list[MemoryStack] = field(default_factory=list)

    def parts(self) -> RunParts:
        def stack(options: StackOptions, spec: PlatformSpec) -> MemoryStack:
            self.stacks.append(MemoryStack(options, self.platform, self.toxiproxy))
            return self.stacks[-1]

        def load(context: LoadContext, on: Any) -> SimulatedLoad:
            assert isinstance(on, MemoryStack)
            return SimulatedLoad(context, on, self.loop, self.client, self.rate_per_s)

        return RunParts(stack=stack, load=load, loop=self.loop)
