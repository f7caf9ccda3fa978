"""What the runner asks of whatever runs the load: the ``LoadDriver`` protocol, and the options of a distributed run.

The drivers on Locust (this process, or Locust workers) are in ``taxstorm.locust_load``; importing this module
does not import Locust (which patches the interpreter with gevent), so the verdict path can run in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from taxstorm.loadtests.defects import Defect
from taxstorm.loadtests.records import Recorder

if TYPE_CHECKING:
    from locust.env import Environment

PLAN_OPTION = "taxstorm_plan"  # the parsed option the master hands every worker with its spawn message
STOP_MESSAGE = "taxstorm_stop"
DRAIN_MESSAGE = "taxstorm_drain"
BLOCKED_SUFFIX = ".blocked.json"  # a worker abandoned by its watchdog leaves worker-<index><this> in its state dir
COLLECT_TIMEOUT_S = 1.0  # how long a flush waits for the workers' answers before judging with what came


class LoadDriver(Protocol):
    """Starts, stops and drains the load of one run."""

    recorder: Recorder

    @property
    def environment(self) -> Environment:
        """The Locust environment a web UI can attach to (game days)."""

    def publish(self, epoch: float) -> None:
        """Make the run known to whoever runs the users; ``epoch`` is the wall-clock time of run second 0."""

    def start(self, epoch: float) -> None:
        """Start every user; ``epoch`` is the wall-clock time of run second 0."""

    def stop(self) -> None:
        """Stop the users gracefully: operations in flight finish and are recorded."""

    def started(self) -> bool:
        """Whether the load has begun (Locust's users spawning or running; a passive run's system submitting)."""

    def collect(self, timeout_s: float = COLLECT_TIMEOUT_S) -> None:
        """Bring every record completed so far into ``recorder`` (before judging "now": steady state, halts)."""

    def backlog(self) -> int:
        """Orders queued offline in the clients right now."""

    def drain(self, until_s: float, forced: Callable[[], bool]) -> int:
        """Let the clients empty their backlogs until run second ``until_s``; return the backlog left."""

    def blocked_clients(self) -> list[tuple[Defect, float]]:
        """Clients that blocked a whole worker process (each with its run second); the worker is gone."""

    def close(self) -> None:
        """Release clients, processes and sockets (safe on every path)."""


@dataclass(frozen=True)
class WorkerOptions:
    """How many Locust workers, whether this run starts them, and where the master listens."""

    workers: int
    spawn_local: bool = True  # False: they are started elsewhere (docker compose) and connect to us
    bind_host: str = "127.0.0.1"
    bind_port: int = 0  # 0: any free port (local workers are told which)
    connect_timeout_s: float = 60.0
