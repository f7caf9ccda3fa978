"""A Locust worker of a distributed taxstorm run (``taxstorm worker``): it learns the run from its master.

The master hands every worker the run's plan (the scenario's load, the client, the platform address as
clients see it, and the wall-clock time of run second 0) with Locust's spawn message. The worker builds the
same user classes as a local run, tags its orderRefs and numbers its sellers by its worker index, ships its
records with Locust's worker reports, and drains its clients when the master asks.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import WorkerRunner

from taxstorm.abandon import blocked
from taxstorm.chaos.tls import trust_from
from taxstorm.clients.protocol import load_factory
from taxstorm.load_driver import BLOCKED_SUFFIX, DRAIN_MESSAGE, PLAN_OPTION, STOP_MESSAGE
from taxstorm.load_plan import user_classes
from taxstorm.loadtests.context import LoadContext
from taxstorm.loadtests.distributed import FLUSH_MESSAGE, WorkerShipper
from taxstorm.loadtests.drain import drain_clients
from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.loadtests.records import Recorder
from taxstorm.mock_platform.dialects import REGIMES
from taxstorm.scenario import LoadSpec
from taxstorm.watchdog import STUCK_GRACE_S, Watchdog, WatchdogLimits

SELLERS_PER_WORKER = 100_000  # worker i numbers its sellers from i * this: no two workers share a seller


class ScenarioWorker:
    """Builds the run's users when the master's first spawn message arrives; drains on request."""

    def __init__(self, environment: Environment, state_dir: Path) -> None:
        self.environment = environment
        self.state_dir = state_dir
        self.recorder = Recorder()
        self.context: LoadContext | None = None
        self.drained = 0  # the number of the last drain the master asked for that has ended here
        self._draining: gevent.Greenlet[Any] | None = None
        environment.events.test_start.add_listener(self.on_test_start)  # type: ignore[no-untyped-call]
        self.shipper = WorkerShipper(environment, self.recorder, self.status)

    def on_test_start(self, environment: Environment, **_: Any) -> None:
        if self.context is not None:
            return
        options = environment.parsed_options
        text = getattr(options, PLAN_OPTION, None)
        if not text:
            raise RuntimeError("the master sent no taxstorm plan: connect this worker to 'taxstorm run --workers'")
        plan = json.loads(text)
        load = LoadSpec.model_validate(plan["load"])
        runner = environment.runner
        index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        started = time.monotonic() - (time.time() - float(plan["epoch"]))  # run second 0, as the master's clock
        self.context = LoadContext(
            client_factory=load_factory(plan["client"]),
            base_url=plan["base_url"],
            state_dir=self.state_dir / f"worker-{index}",
            generator=OrderGenerator(
                load.seed + index, f"{plan['run_id']}-w{index}", REGIMES[plan.get("dialect", "native")]
            ),
            recorder=self.recorder,
            clock=lambda: time.monotonic() - started,
            client_options=dict(plan["client_options"]),
            answer_budget_s=float(plan["answer_budget_s"]),
            credential_key=str(plan["credential_key"]),
            secondary_url=plan.get("secondary_url"),
            ca_file=Path(plan["ca_file"]) if plan.get("ca_file") else None,
            dialect=plan.get("dialect", "native"),
            platform_public_key=plan.get("platform_public_key"),
            first_seller=index * SELLERS_PER_WORKER,
        )
        if self.context.ca_file is not None:  # this process serves one run: its clients trust the run's CA too
            trust_from(self.context.ca_file)
        environment.user_classes = user_classes(self.context, load, dict(plan["platform_settings"]))
        environment.stop_timeout = self.context.stop_timeout_s  # in flight: at least one answer budget
        self._watch(index, float(plan["answer_budget_s"]), self.context.clock)

    def _watch(self, index: int, answer_budget_s: float, clock: Callable[[], float]) -> None:
        """A watchdog beside this worker's loop (taxstorm.watchdog): a client blocking the whole process in a
        system call is written down beside the clients' folders, where the master reads it, and the worker
        exits; the master goes on without it (it stops waiting for a worker that no longer reports)."""

        def abandon(why: str, thread_id: int) -> None:
            reason, defect = blocked(why, thread_id, clock())
            path = self.state_dir / f"worker-{index}{BLOCKED_SUFFIX}"
            try:
                if defect is not None:
                    path.write_text(json.dumps(defect.as_dict()), encoding="utf-8")
                print(f"taxstorm worker {index}: abandoned: {reason}", file=sys.stderr, flush=True)
            finally:
                os._exit(1)

        watchdog = Watchdog(WatchdogLimits(answer_budget_s + STUCK_GRACE_S), lambda: math.inf, lambda: None, abandon)
        watchdog.beat_from_loop()  # for the worker's life
        watchdog.start()

    def on_stop(self, environment: Environment, **_: Any) -> None:
        """Stop the users gracefully (Locust's own stop message would hold the worker's inbox for stop_timeout)."""
        runner = environment.runner
        if runner is not None and runner.state not in ("stopped", "ready"):
            runner.stop()  # the master learns it from the next report's "done"

    def on_drain(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Drain every client until the run second asked for, after the drain still running (if any) ends;
        then report the drain's number as done."""
        number, until_s = int(msg.data["number"]), float(msg.data["until_s"])
        context, previous = self.context, self._draining
        if context is None:  # no users were ever built here: nothing to drain
            self.drained = max(self.drained, number)
            return

        def drain() -> None:
            if previous is not None:
                previous.join()
            drain_clients(context, until_s)
            self.drained = max(self.drained, number)

        self._draining = gevent.spawn(drain)

    def status(self) -> dict[str, Any]:
        backlog = self.context.backlog() if self.context else 0
        return {"backlog": backlog, "drained": self.drained}

    def close(self) -> None:
        if self._draining is not None:
            self._draining.kill()
        if self.context is not None:
            self.context.close()


def run_worker(master_host: str, master_port: int, state_dir: Path) -> int:
    """Serve one master until it quits (in a gevent-patched process)."""
    environment = Environment(user_classes=[], stop_timeout=30.0)
    worker = ScenarioWorker(environment, state_dir)
    runner = environment.create_worker_runner(master_host, master_port)
    runner.register_message(STOP_MESSAGE, lambda **_: worker.on_stop(environment), concurrent=True)
    runner.register_message(DRAIN_MESSAGE, lambda msg, **_: worker.on_drain(environment, msg), concurrent=True)
    runner.register_message(FLUSH_MESSAGE, worker.shipper.on_flush)
    try:
        runner.greenlet.join()
    finally:
        worker.close()
    return 0
