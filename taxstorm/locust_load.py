"""Where the load runs on Locust: in this process (its local runner) or on Locust workers (its master runner).

Both drivers give the runner the moves of ``taxstorm.load_driver.LoadDriver``: start the users, stop them
gracefully, drain the clients' offline backlogs, and report the backlog. Records always end up in the runner's
recorder: written there directly in local mode, shipped with Locust's worker reports in distributed mode.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust import User, argument_parser
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.waiting import NotReadyError, wait_until
from taxstorm.errors import EnvironmentError_
from taxstorm.load_driver import (
    BLOCKED_SUFFIX,
    COLLECT_TIMEOUT_S,
    DRAIN_MESSAGE,
    PLAN_OPTION,
    STOP_MESSAGE,
    WorkerOptions,
)
from taxstorm.loadtests.context import STOP_MARGIN_S, LoadContext
from taxstorm.loadtests.defects import Defect
from taxstorm.loadtests.distributed import FLUSH_MESSAGE, SHIPMENT_MESSAGE, MasterCollector
from taxstorm.loadtests.drain import drain_clients
from taxstorm.loadtests.records import Recorder

STOP_TIMEOUT_S = 30.0
REPORT_GRACE_S = 10.0  # a worker reports every 3 s


def locust_defaults(classes: list[type[User]]) -> Namespace:
    """Locust's own option defaults (its master and web UI read several), with the run's user count filled in."""
    parser = argument_parser.get_empty_argument_parser()
    argument_parser.setup_parser_arguments(parser)  # type: ignore[no-untyped-call]
    options: Namespace = parser.parse_args(args=[])
    options.num_users = _total_users(classes)
    options.spawn_rate = float(options.num_users)
    return options


def _total_users(classes: list[type[User]]) -> int:
    return sum(user.fixed_count for user in classes)


def _spawned(environment: Environment) -> bool:
    """Whether Locust's users are spawning or running (the start button, --autostart, or a run's start)."""
    runner = environment.runner
    return runner is not None and runner.state in ("spawning", "running")


class LocalLoad:
    """The users run here, in Locust's local runner."""

    def __init__(self, context: LoadContext, classes: list[type[User]]) -> None:
        self.context = context
        self.recorder = context.recorder
        self.classes = classes
        self.environment = Environment(
            user_classes=classes, stop_timeout=context.stop_timeout_s, parsed_options=locust_defaults(classes)
        )
        self._runner: LocalRunner | None = self.environment.create_local_runner()

    def publish(self, epoch: float) -> None:
        """The users share this process's clock already."""

    def start(self, epoch: float) -> None:
        assert self._runner is not None
        total = _total_users(self.classes)
        self._runner.start(total, spawn_rate=float(total))

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
            self._runner.quit()
            self._runner = None

    def started(self) -> bool:
        return _spawned(self.environment)

    def collect(self, timeout_s: float = COLLECT_TIMEOUT_S) -> None:
        """Records go straight into the recorder here."""

    def backlog(self) -> int:
        return self.context.backlog()

    def drain(self, until_s: float, forced: Callable[[], bool]) -> int:
        return drain_clients(self.context, until_s, forced)

    def blocked_clients(self) -> list[tuple[Defect, float]]:
        return []  # here a blocked client stops the whole run: the runner's watchdog abandons it

    def close(self) -> None:
        self.stop()
        self.context.close()


class DistributedLoad:
    """The users run on Locust workers (``taxstorm worker``); this process is their master."""

    def __init__(
        self,
        plan: dict[str, Any],
        classes: list[type[User]],
        recorder: Recorder,
        clock: Callable[[], float],
        options: WorkerOptions,
        state_dir: Path,
    ) -> None:
        self.plan = plan
        self.classes = classes
        self.recorder = recorder
        self.clock = clock
        self.options = options
        self.state_dir = state_dir
        self._processes: list[ManagedProcess] = []
        self.stop_timeout_s = max(STOP_TIMEOUT_S, float(plan.get("answer_budget_s", 0)) + STOP_MARGIN_S)
        self.environment = Environment(
            user_classes=classes, stop_timeout=self.stop_timeout_s, parsed_options=locust_defaults(classes)
        )
        self.runner: MasterRunner = self.environment.create_master_runner(options.bind_host, options.bind_port)
        self.collector = MasterCollector(self.environment, recorder)
        self.runner.register_message(SHIPMENT_MESSAGE, self.collector.on_shipment)
        self._flushes = 0
        self._drains = 0

    @property
    def port(self) -> int:
        return int(self.runner.server.port)

    def connect_workers(self, wait: bool = True) -> None:
        """Start local workers (unless they come from elsewhere); with ``wait``, until all are connected."""
        if self.options.spawn_local:
            for index in range(self.options.workers):
                self._processes.append(self._spawn(index))
        if not wait:  # a game day's web UI shows who connected; its start button needs one worker
            return
        try:
            wait_until(self.workers_connected, self.options.connect_timeout_s, "workers")
        except NotReadyError:
            raise self.workers_missing() from None

    def workers_connected(self) -> bool:
        """Every expected worker is connected (and ready for users)."""
        return len(self.runner.clients.ready) >= self.options.workers

    def workers_missing(self) -> EnvironmentError_:
        """The error of a run whose workers did not all come within ``connect_timeout_s``."""
        return EnvironmentError_(
            f"{len(self.runner.clients.ready)} of {self.options.workers} Locust workers connected to "
            f"{self.options.bind_host}:{self.port} within {self.options.connect_timeout_s:.0f} s; start them "
            "(taxstorm worker --master-host …) or expect fewer"
        )

    def _spawn(self, index: int) -> ManagedProcess:
        command = [sys.executable, "-m", "taxstorm", "worker", "--master-host", "127.0.0.1"]
        command += ["--master-port", str(self.port), "--state-dir", str(self.state_dir)]
        log = self.state_dir.parent / f"worker-{index}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        process = ManagedProcess(f"worker-{index}", command, log)
        process.start()
        return process

    def publish(self, epoch: float) -> None:
        """Workers get the plan with the master's next spawn message (from start, or a web UI's start button)."""
        vars(self.environment.parsed_options)[PLAN_OPTION] = json.dumps({**self.plan, "epoch": epoch})

    def start(self, epoch: float) -> None:
        self.publish(epoch)
        total = _total_users(self.classes)
        self.runner.start(total, spawn_rate=float(total))

    def stop(self) -> None:
        """Workers stop their users themselves: Locust's stop message makes a worker ignore its master (and so
        our drain request) for ``stop_timeout`` seconds afterwards."""
        self.runner.send_message(STOP_MESSAGE)
        workers = min(self.options.workers, len(self.runner.clients.all))  # those that came: others cannot report

        def complete() -> bool:
            return self.collector.complete(workers, self._gone())

        self._wait_until(complete, self.clock() + self.stop_timeout_s + REPORT_GRACE_S)
        if self.runner.state not in ("stopped", "ready"):
            self.runner.update_state("stopped")  # what the web UI shows (its start button works again)

    def started(self) -> bool:
        return _spawned(self.environment)

    def collect(self, timeout_s: float = COLLECT_TIMEOUT_S) -> None:
        """Ask every connected worker to ship now; wait (up to ``timeout_s``) until each has answered."""
        self._flushes += 1
        number = self._flushes
        asked = [c.id for c in self.runner.clients.all if c.state != "missing"]
        self.runner.send_message(FLUSH_MESSAGE, number)  # type: ignore[arg-type]  # any msgpack value will do
        flushed = self.collector.flushed
        with contextlib.suppress(NotReadyError):  # a worker held by Locust's stop, or gone: judge with what came
            wait_until(lambda: all(flushed.get(w, 0) >= number for w in asked), timeout_s, "flush", interval_s=0.005)

    def backlog(self) -> int:
        return sum(int(status.get("backlog", 0)) for status in self.collector.status.values())

    def drain(self, until_s: float, forced: Callable[[], bool]) -> int:
        """Ask every worker to drain until ``until_s``; wait for their reports saying they did (plus a report).

        Drains are numbered: a worker reports the number of the last drain it finished, so a second drain (the
        backlog check's settling drain, a game day's next stop) waits for its own end, not the first one's."""
        self._drains += 1
        number = self._drains
        self.runner.send_message(DRAIN_MESSAGE, {"until_s": until_s, "number": number})
        # a worker stopped by Locust's own stop message (the web UI's Stop) reads its inbox stop_timeout s later
        latest = max(until_s, self.clock() + self.stop_timeout_s) + REPORT_GRACE_S
        self._wait_until(lambda: self._all_drained(number), latest, forced)
        return self.backlog()

    def blocked_clients(self) -> list[tuple[Defect, float]]:
        """What the watchdogs of abandoned workers wrote (workers sharing this machine's state dir)."""
        found = []
        for path in self._blocked_files().values():
            try:
                row = json.loads(path.read_text(encoding="utf-8"))
                defect = Defect(row["method"], "blocked", row["type"], row["message"], tuple(row["frames"]))
                found.append((defect, float(row["first_s"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # half written as the worker died: its missing reports still show
        return found

    def _blocked_files(self) -> dict[str, Path]:
        """worker index → the file its watchdog left when it abandoned the worker."""
        paths = sorted(self.state_dir.glob(f"worker-*{BLOCKED_SUFFIX}"))
        return {p.name.removeprefix("worker-").removesuffix(BLOCKED_SUFFIX): p for p in paths}

    def _all_drained(self, number: int) -> bool:
        statuses, gone = self.collector.status, self._gone()
        finished = (int(s.get("drained", 0)) >= number for worker, s in statuses.items() if worker not in gone)
        return len(statuses) >= self.options.workers and all(finished)

    def _gone(self) -> set[str]:
        """Workers their watchdog abandoned (they left a blocked file): no report will ever come from them."""
        indices = self._blocked_files()
        return {worker for worker, index in self.runner.worker_indexes.items() if str(index) in indices}

    def _wait_until(
        self, condition: Callable[[], bool], until_s: float, forced: Callable[[], bool] = lambda: False
    ) -> None:
        """Until ``condition`` holds on the workers' latest reports (their records up to then are in)."""
        while not forced() and self.clock() < until_s and not condition():
            gevent.sleep(0.2)

    def close(self) -> None:
        deadline = time.monotonic() + 15.0
        self.runner.quit()
        for process in self._processes:
            process.wait_or_stop(max(1.0, deadline - time.monotonic()))
        self._processes.clear()
