"""A passive run: the scenario's fault timeline while a system of the user's own (an ERP, a POS, a vendor SDK's
integration) makes the load instead of Locust; judged from the platform's side alone (``taxstorm.passive_verdict``).

The run starts the platform and Toxiproxy, writes what the system needs to reach them (``platform.json`` in the
run's folder: URL, seller credentials, CA, the dialect's endpoints) and prints it, then waits for the system's first
submission: run second 0 is when the platform sees it. Then the timeline plays as in any run, the drain gives the
system the scenario's drain time to catch up, and the verdict reads the platform's ledger and counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from taxstorm.errors import EnvironmentError_
from taxstorm.loadtests.defects import Defect
from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.loadtests.records import Recorder
from taxstorm.mock_platform.dialects import REGIMES
from taxstorm.run_loop import RunLoop
from taxstorm.sampler import issue_traffic
from taxstorm.scenario import Scenario
from taxstorm.scripted import ScriptedSession
from taxstorm.stack import Stack
from taxstorm.standalone import standby_info, standby_lines, write_info

if TYPE_CHECKING:
    from flask import Flask
    from locust.env import Environment

    from taxstorm.load_driver import LoadDriver
    from taxstorm.runner import Runner

INFO_FILE = "platform.json"
MAX_SELLERS = 20  # seller credentials printed and written for the system (the scenario's sellers, at most this)


class PassiveLoad:
    """The load driver of a passive run: no users here; the clock's sleeps stand in for the load and the drain.
    ``started`` says whether the system has sent anything yet (the platform counted a submission)."""

    def __init__(self, clock: Callable[[], float], loop: RunLoop, started: Callable[[], bool]) -> None:
        self.recorder = Recorder()  # stays empty: what users were told is unknown here
        self._started = started
        self._clock = clock
        self._loop = loop
        self._environment: Environment | None = None

    @property
    def environment(self) -> Environment:
        """A Locust environment without users, for a game day's web UI and its Chaos tab (made when asked)."""
        if self._environment is None:
            from locust.env import Environment

            self._environment = Environment(user_classes=[])
            self._environment.create_local_runner()
        return self._environment

    def started(self) -> bool:
        """Whether the platform has counted a submission yet (a platform that does not answer now: not yet)."""
        try:
            return self._started()
        except Exception:
            return False

    def publish(self, epoch: float) -> None:
        """Nobody to tell."""

    def start(self, epoch: float) -> None:
        """The system runs on its own."""

    def stop(self) -> None:
        """The system goes on: the drain gives it time to catch up."""

    def collect(self, timeout_s: float = 1.0) -> None:
        """No records to collect."""

    def backlog(self) -> int:
        return 0  # the system's backlog is not visible from here

    def drain(self, until_s: float, forced: Callable[[], bool]) -> int:
        """The system drains on its own: wait for ``until_s`` (or a forced stop) and let the sampler watch."""
        while self._clock() < until_s and not forced():
            self._loop.sleep(min(0.5, max(0.0, until_s - self._clock())))
        return 0

    def blocked_clients(self) -> list[tuple[Defect, float]]:
        return []

    def close(self) -> None:
        if self._environment is not None and self._environment.runner is not None:
            self._environment.runner.quit()
        self.recorder.close()


@dataclass(frozen=True)
class PassiveSession(ScriptedSession):
    """The scenario's timeline, started by the outside system's first submission (waited for ``wait_s``)."""

    wait_s: float = 300.0
    poll_s: float = 0.5

    wait_for_workers = False  # no workers: the load is the system's

    def deadline_s(self, scenario: Scenario) -> float:
        return scenario.limits.max_run_s + self.wait_s

    def play(self, run: Runner, driver: LoadDriver, stack: Stack) -> tuple[float, list[str]]:
        self.announce(run, stack)
        waited = self.wait_for_first_submission(run, stack)
        run.result.load = {"source": "outside system", "waited_s": round(waited, 1)}
        run.observe("phase", {"phase": "load", "source": "your system", "waited_s": round(waited, 1)})
        return super().play(run, driver, stack)

    def steady_state_check(self) -> bool:
        return False  # the baseline's users are not visible: the verdict says what the platform saw instead

    @staticmethod
    def announce(run: Runner, stack: Stack) -> Path:
        """Write ``platform.json`` into the run's folder and print its account of the platform."""
        scenario = run.scenario
        regime = REGIMES[scenario.platform.dialect]
        generator = OrderGenerator(scenario.load.seed, run.run_id, regime)
        sellers = [generator.seller(i).tax_id for i in range(min(MAX_SELLERS, scenario.load.sellers))]
        info = standby_info(stack, sellers, run.run_dir, scenario.platform.dialect)
        path = run.run_dir / INFO_FILE
        write_info(info, path)
        lines = [line for line in standby_lines(info) if "Ctrl-C" not in line]
        run.observe("standby", {"lines": [*lines, f"info:      {path}"]})
        return path

    def wait_for_first_submission(self, run: Runner, stack: Stack) -> float:
        """Seconds waited until the platform counted a submission on its issue family (one from before the run
        cannot count: the platform is the run's own)."""
        assert stack.admin is not None
        started = run.loop.monotonic()
        run.observe("phase", {"phase": "waiting", "for": "your system's first submission", "up_to_s": self.wait_s})
        while True:
            try:
                seen = issue_traffic(stack.admin.stats()).submissions
            except Exception as exc:
                raise EnvironmentError_(f"the platform stopped answering its admin API: {exc}") from None
            waited = run.loop.monotonic() - started
            if seen:
                return waited
            if run.stop.requested:
                raise EnvironmentError_(f"stopped by {run.stop.why} while waiting for your system's first submission")
            if waited >= self.wait_s:
                raise EnvironmentError_(
                    f"no submission from your system within {self.wait_s:g} s (--wait-s): point it at the URL in "
                    f"{run.run_dir / INFO_FILE} with one of its seller credentials"
                )
            run.loop.sleep(self.poll_s)


def refuse_swarm(app: Flask) -> None:
    """A passive game day's web UI: Locust's start button has no users to start; say so instead of failing."""
    from flask import request

    @app.before_request
    def no_users() -> tuple[dict[str, object], int] | None:
        if request.path.rstrip("/").endswith("/swarm") and request.method == "POST":
            message = "a passive game day: the load is your system's (see platform.json); Locust has no users to start"
            return {"success": False, "message": message}, 409
        return None
