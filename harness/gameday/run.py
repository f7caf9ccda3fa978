"""A game day: the scenario's stack and load, Locust's web UI with the Chaos tab, and the operators as the fault
timeline. The scenario's halt conditions apply live; the session ends on SIGINT/SIGTERM or ``max_s`` and is then
drained, reconciled, gated and reported like any run (operator faults are its fault windows, notes go in too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gevent

from chaos.container import DockerTargets
from chaos.registry import default_registry
from chaos.timeline import FaultEvent
from chaos.waiting import wait_until
from harness.gameday.control import ChaosControl
from harness.gameday.export import export_scenario
from harness.gameday.web import chaos_blueprint, install
from harness.halt import halt_reason
from harness.load_driver import LoadDriver
from harness.runner import Observer, Runner, RunOptions
from harness.scenario import WINDOW_KINDS, Scenario
from harness.stack import LocalStack


@dataclass(frozen=True)
class GamedayOptions:
    """Where the web UI listens and how long the session may last at most."""

    web_host: str = "127.0.0.1"
    web_port: int = 8089  # 0: any free port (the URL is announced as a "gameday" phase)
    max_s: float = 4 * 3600.0
    autostart: bool = False  # start the load at once instead of waiting for Locust's start button


class GamedayRun(Runner):
    """One game day; :meth:`run` returns the RunResult once the session has ended."""

    wait_for_workers = False  # the web UI comes up at once; workers join when they are ready

    def __init__(
        self, scenario: Scenario, options: RunOptions, gameday: GamedayOptions, observer: Observer | None = None
    ) -> None:
        self.original = scenario
        kept = [g for g in scenario.gates if getattr(g, "window", "all") in WINDOW_KINDS]
        self.dropped_gates = [g for g in scenario.gates if g not in kept]
        super().__init__(scenario.model_copy(update={"faults": [], "gates": kept}), options, observer)
        self.gameday = gameday
        self.control: ChaosControl | None = None
        self.url = ""
        self._driver: LoadDriver | None = None

    def _run_on(self, stack: LocalStack) -> None:
        context = self._fault_context(stack)
        control = self.control = ChaosControl(default_registry(), context, self.clock, self._on_operator_event)
        self.result.faults = control.events
        load = self._load_context(stack)
        driver = self._driver = self._load_driver(load, stack)
        try:
            self._session(driver, control, stack)
        finally:
            driver.close()

    def _docker_targets(self) -> DockerTargets | None:
        """Operators may reach for container faults at any time: offer them whenever a Docker engine answers."""
        import docker

        try:
            client = docker.from_env(timeout=10)
            client.ping()
        except docker.errors.DockerException:
            return None  # the Chaos tab shows container faults as unavailable, with the reason
        return DockerTargets(client, self.options.docker_project)

    def _session(self, driver: LoadDriver, control: ChaosControl, stack: LocalStack) -> None:
        assert stack.admin is not None

        def active() -> list[str]:
            return [fault.label for fault in control.active()]

        self.sampler = self._sampler(driver, stack.admin, self.gameday.max_s, active)
        web_ui = driver.environment.create_web_ui(self.gameday.web_host, self.gameday.web_port, delayed_start=True)
        install(web_ui, chaos_blueprint(control, self._halt, self._export, self._finish_session))
        web_ui.start()  # type: ignore[no-untyped-call]
        revert_errors: list[str] = []
        try:
            wait_until(lambda: web_ui.server is not None and web_ui.server.started, 10.0, "Locust web UI")
            self._t0 = time.monotonic()
            driver.publish(time.time())
            for gate in self.dropped_gates:
                window = getattr(gate, "window", "")
                control.note(f"gate {gate.type} on window {window!r} left out: a game day plays no scenario faults")
            self.sampler.start()
            port = web_ui.server.server_port if web_ui.server else self.gameday.web_port  # the bound one
            self.url = f"http://{self.gameday.web_host}:{port}"
            self.observe("phase", {"phase": "gameday", "url": self.url, "chaos": f"{self.url}/chaos"})
            if self.gameday.autostart:
                driver.start(time.time() - self.clock())
            self._watch(control, driver)
            if self.stop.requested and not self.stop.forced:  # the operators' way to end a game day: judged as usual
                control.note(f"session ended by {self.stop.signals[0]}")
                self.stop.signals.clear()
        finally:
            revert_errors = control.revert_all() + self._verify_clean(stack)
            driver.stop()
            web_ui.stop()  # type: ignore[no-untyped-call]
        load_end_s = self.clock()
        self.result.notes = [{"at_s": note.at_s, "text": note.text} for note in control.notes]
        self.result.errors.extend(control.hook_errors)
        self._wind_down(driver, stack, load_end_s, revert_errors)

    def _watch(self, control: ChaosControl, driver: LoadDriver) -> None:
        """Expire faults and check the halt conditions every second until the session ends."""
        while not self.stop.requested and self.clock() < self.gameday.max_s:
            for error in control.tick():
                self.result.errors.append(f"fault would not revert: {error}")
            if control.halted is None and self.scenario.halt:
                now = self.clock()
                driver.collect()  # the workers' records up to now
                for spec in self.scenario.halt:
                    reason = halt_reason(spec, driver.recorder.records, now)
                    if reason is not None:
                        self._halt(f"halted at {now:.0f} s: {reason}")
                        break
            gevent.sleep(1.0)

    def _halt(self, reason: str) -> None:
        """Revert everything and stop the load; the session stays open for notes and the export."""
        assert self.control is not None
        self.control.halt(reason)  # idempotent: the Chaos tab's halt has reverted everything already
        self.result.halted = self.control.halted or reason
        self.observe("halt", {"reason": self.result.halted})
        if self._driver is not None:
            gevent.spawn(self._driver.stop)  # a distributed stop waits for the workers' reports

    def _finish_session(self) -> str:
        """The Finish button: end the session as Ctrl-C does; the report goes to the run's folder."""
        self.stop.signals.append("the Finish button")
        return str(self.run_dir)

    def _export(self) -> str:
        assert self.control is not None
        base = self.original.model_dump(mode="json")
        return export_scenario(base, self.control.events, self.control.notes, self.clock())

    def _on_operator_event(self, kind: str, event: FaultEvent | None) -> None:
        if event is not None:
            self._on_fault_event(kind, event)
