"""A game day: the scenario's stack and load, Locust's web UI with the Chaos tab, and the operators as the fault
timeline (with ``play_faults``, the scenario's own timeline too, from the moment the load starts). The scenario's
halt conditions apply live; the session ends on SIGINT/SIGTERM or ``max_s`` and is then drained, reconciled,
gated and reported like any run (every fault is a fault window, notes go in too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gevent

from taxstorm.chaos.container import DockerTargets
from taxstorm.chaos.registry import default_registry
from taxstorm.chaos.timeline import FaultApplyError, FaultEvent
from taxstorm.chaos.waiting import wait_until
from taxstorm.errors import TaxstormError
from taxstorm.gameday.control import ChaosControl
from taxstorm.gameday.door import TOKEN_PARAM, guard, is_loopback_bind, new_session_token
from taxstorm.gameday.export import export_scenario, names_only
from taxstorm.gameday.web import chaos_blueprint, install
from taxstorm.load_driver import LoadDriver
from taxstorm.locust_load import DistributedLoad
from taxstorm.passive import PassiveLoad, PassiveSession, refuse_swarm
from taxstorm.result import RunResult
from taxstorm.runner import SETTLE_S, Observer, Runner, RunOptions, RunParts
from taxstorm.scenario import WINDOW_KINDS, Scenario
from taxstorm.stack import Stack

DEADLINE_SLACK_S = 120.0  # past --max-duration and the drain: stopping the load, judging, workers leaving


@dataclass(frozen=True)
class GamedayOptions:
    """Where the web UI listens and how long the session may last at most."""

    web_host: str = "127.0.0.1"
    web_port: int = 8089  # 0: any free port (the URL is announced as a "gameday" phase)
    max_s: float = 4 * 3600.0
    autostart: bool = False  # start the load at once instead of waiting for Locust's start button
    play_faults: bool = False  # also play the scenario's fault timeline, its at_s counted from the load's start
    web_token: str | None = None  # the web door's token (None: a new one for this session)


class GamedaySession:
    """A game day's session: Locust's web UI with the Chaos tab, the operators (and with ``play_faults`` the
    scenario's timeline) as the faults, until the operators end it or ``max_s``; a ``Runner`` does the rest."""

    wait_for_workers = False  # the web UI comes up at once; workers join when they are ready

    def __init__(self, scenario: Scenario, gameday: GamedayOptions) -> None:
        self.original = scenario
        self.gameday = gameday
        self.timeline = (
            [(step.label(i), step) for i, step in enumerate(scenario.faults, 1)] if gameday.play_faults else []
        )
        labels = {label for label, _ in self.timeline}
        self.kept = [
            g for g in scenario.gates if names_only(getattr(g, "window", "all"), getattr(g, "fault", "*"), labels)
        ]
        self.dropped_gates = [g for g in scenario.gates if g not in self.kept]
        self.control: ChaosControl | None = None
        self.url = ""
        self._run: Runner | None = None
        self._driver: LoadDriver | None = None

    def scenario_to_run(self) -> Scenario:
        """The runner plays no timeline here: scripted faults go through the Chaos tab's control (``_play``)."""
        return self.original.model_copy(update={"faults": [], "gates": self.kept})

    def deadline_s(self, scenario: Scenario) -> float:
        """A game day ends at --max-duration and is drained then: its hard deadline leaves room for the drain."""
        return self.gameday.max_s + scenario.drain_s + SETTLE_S + DEADLINE_SLACK_S

    def docker_targets(self, project: str | None, scenario: Scenario) -> DockerTargets | None:
        """Operators may reach for container faults at any time: offer them whenever a Docker engine answers."""
        try:
            import docker
        except ImportError:  # installed without the [docker] extra: no container faults to offer
            return None

        try:
            client = docker.from_env(timeout=10)
            client.ping()
        except docker.errors.DockerException:
            return None  # the Chaos tab shows container faults as unavailable, with the reason
        return DockerTargets(client, project)

    def play(self, run: Runner, driver: LoadDriver, stack: Stack) -> tuple[float, list[str]]:
        self._run, self._driver = run, driver
        if isinstance(driver, PassiveLoad):  # the load is the operators' own system: tell them where to point it
            PassiveSession.announce(run, stack)
            run.result.load = {"source": "outside system"}
        control = self.control = ChaosControl(default_registry(), run.fault_context(stack), run.clock, self._event)
        run.result.faults = control.events

        def active() -> list[str]:
            return [fault.label for fault in control.active()]

        sampler = run.make_sampler(driver, stack, self.gameday.max_s, active)
        web_ui = driver.environment.create_web_ui(self.gameday.web_host, self.gameday.web_port, delayed_start=True)
        install(web_ui, chaos_blueprint(control, self._halt, self._export, self._finish_session))
        token = self.gameday.web_token or new_session_token()
        if web_ui.app is not None:
            guard(web_ui.app, self.gameday.web_host, token)
            if isinstance(driver, PassiveLoad):
                refuse_swarm(web_ui.app)
        if not is_loopback_bind(self.gameday.web_host):
            control.note(
                f"the web UI listens on {self.gameday.web_host}: whoever reaches its port with the session's token "
                "can apply faults and start load, and plain HTTP carries the token in clear on the network; "
                "prefer 127.0.0.1 and an SSH tunnel"
            )
            run.observe("warning", {"text": control.notes[-1].text})
        web_ui.start()  # type: ignore[no-untyped-call]
        player: gevent.Greenlet[Any] | None = None
        try:
            wait_until(lambda: web_ui.server is not None and web_ui.server.started, 10.0, "Locust web UI")
            run.restart_clock()
            driver.publish(run.loop.wall())
            for gate in self.dropped_gates:
                window = getattr(gate, "window", "all")
                named = f"window {window!r}" if window not in WINDOW_KINDS else f"fault {getattr(gate, 'fault', '')!r}"
                why = "no such fault in its timeline" if self.timeline else "--play-faults was not given"
                control.note(f"gate {gate.type} on {named} left out: {why}")
            sampler.start(run.loop)
            port = web_ui.server.server_port if web_ui.server else self.gameday.web_port  # the bound one
            self.url = f"http://{self.gameday.web_host}:{port}"
            login = f"{self.url}/chaos?{TOKEN_PARAM}={token}"  # printed on the terminal only, never in a report
            run.observe("phase", {"phase": "gameday", "url": self.url, "chaos": f"{self.url}/chaos", "login": login})
            if self.timeline:
                player = gevent.spawn(self._play, run, control, driver)
            if self.gameday.autostart:
                driver.start(run.loop.wall() - run.clock())
            self._watch(run, control, driver)
            if run.stop.requested and not run.stop.forced:  # the operators' way to end a game day: judged as usual
                control.note(f"session ended by {run.stop.signals[0]}")
                run.stop.signals.clear()
        finally:
            if player is not None:
                player.kill()
            revert_errors = control.revert_all() + run.verify_clean(stack)
            driver.stop()
            web_ui.stop()  # type: ignore[no-untyped-call]
        run.result.notes = [{"at_s": note.at_s, "text": note.text} for note in control.notes]
        run.result.errors.extend(f"fault event hook failed: {e}" for e in control.hook_errors)
        return run.clock(), revert_errors

    def _play(self, run: Runner, control: ChaosControl, driver: LoadDriver) -> None:
        """The scenario's fault timeline, ``at_s`` counted from the load's start (Locust's button or --autostart).
        Scripted faults are the Chaos tab's like any other: listed, revertable early, reverted by a halt."""
        while not driver.started():
            run.loop.sleep(0.1)
        start_s = run.clock()
        control.note(f"the scenario's fault timeline starts with the load ({len(self.timeline)} faults)")
        for label, step in sorted(self.timeline, key=lambda item: item[1].at_s):
            run.loop.sleep(max(0.0, start_s + step.at_s - run.clock()))
            if control.halted is not None or run.stop.requested:
                return
            params = step.model_dump(mode="json", exclude={"type", "id", "at_s", "for_s", "target"})
            try:
                control.apply(step.type, params, step.for_s, label=label)
            except (TaxstormError, FaultApplyError) as exc:
                run.result.errors.append(f"scripted fault {label} not applied: {exc}")

    def _watch(self, run: Runner, control: ChaosControl, driver: LoadDriver) -> None:
        """Expire faults and check the halt conditions every second until the session ends. Workers that never
        come within --workers-timeout end the session as an environment error (nothing could be judged)."""

        waiting_since = time.monotonic() if isinstance(driver, DistributedLoad) else None
        while not run.stop.requested and run.clock() < self.gameday.max_s:
            if isinstance(driver, DistributedLoad) and waiting_since is not None:
                if driver.workers_connected():
                    waiting_since = None
                elif time.monotonic() - waiting_since > driver.options.connect_timeout_s:
                    raise driver.workers_missing()
            for error in control.tick():
                run.result.errors.append(f"fault would not revert: {error}")
            if control.halted is None and run.scenario.halt:
                reason = run.halt_condition(driver)
                if reason is not None:
                    self._halt(reason)
            run.loop.sleep(1.0)

    def _halt(self, reason: str) -> None:
        """Revert everything and stop the load; the session stays open for notes and the export."""
        assert self.control is not None and self._run is not None
        self.control.halt(reason)  # idempotent: the Chaos tab's halt has reverted everything already
        self._run.result.halted = self.control.halted or reason
        self._run.observe("halt", {"reason": self._run.result.halted})
        if self._driver is not None:
            gevent.spawn(self._driver.stop)  # a distributed stop waits for the workers' reports

    def _finish_session(self) -> str:
        """The Finish button: end the session as Ctrl-C does; the report goes to the run's folder."""
        assert self._run is not None
        self._run.stop.signals.append("the Finish button")
        return str(self._run.run_dir)

    def _export(self) -> str:
        assert self.control is not None and self._run is not None
        base = self.original.model_dump(mode="json")
        return export_scenario(base, self.control.events, self.control.notes, self._run.clock())

    def _event(self, kind: str, event: FaultEvent | None) -> None:
        if event is not None and self._run is not None:
            self._run.on_fault_event(kind, event)


class GamedayRun:
    """One game day: a ``Runner`` whose session is a ``GamedaySession``; :meth:`run` returns the RunResult once
    the session has ended."""

    def __init__(
        self,
        scenario: Scenario,
        options: RunOptions,
        gameday: GamedayOptions,
        observer: Observer | None = None,
        parts: RunParts | None = None,
    ) -> None:
        self.session = GamedaySession(scenario, gameday)
        self.runner = Runner(self.session.scenario_to_run(), options, observer, parts, self.session)

    def run(self) -> RunResult:
        return self.runner.run()
