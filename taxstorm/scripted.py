"""A scenario's own session: the load from second 0, its fault timeline on the run clock, the steady-state
check before the first fault and its halt conditions throughout (the game day's is ``taxstorm.gameday.run``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from taxstorm.chaos import container as container_faults
from taxstorm.chaos.container import DockerTargets
from taxstorm.chaos.registry import default_registry
from taxstorm.chaos.timeline import FaultApplyError, FaultScheduler
from taxstorm.errors import EnvironmentError_, ExitCode
from taxstorm.halt import blame_baseline, check_steady_state
from taxstorm.load_driver import LoadDriver
from taxstorm.loadtests.records import Recorder
from taxstorm.scenario import Scenario
from taxstorm.stack import Stack
from taxstorm.timeseries import USER_OPERATION

if TYPE_CHECKING:
    from taxstorm.runner import Runner

CONTAINER = frozenset(f.spec_type.model_fields["type"].default for f in container_faults.FAULTS)


class ScriptedSession:
    """Plays the scenario's fault timeline while its load runs (``Runner``'s default session)."""

    wait_for_workers = True  # the load starts once every expected worker is connected

    def deadline_s(self, scenario: Scenario) -> float:
        return scenario.limits.max_run_s

    def steady_state_check(self) -> bool:
        """Whether the users' baseline is checked before the first fault (the scenario's ``steady_state``)."""
        return True

    def docker_targets(self, project: str | None, scenario: Scenario) -> DockerTargets | None:
        """The compose project's containers, when the scenario has container faults."""
        if not any(step.type in CONTAINER for step in scenario.faults):
            return None
        try:
            import docker
        except ImportError:
            raise EnvironmentError_("container faults need the Docker SDK: pip install 'taxstorm[docker]'") from None

        try:
            return DockerTargets(docker.from_env(timeout=10), project)
        except docker.errors.DockerException as exc:
            raise EnvironmentError_(f"container faults need a Docker engine: {exc}") from None

    def play(self, run: Runner, driver: LoadDriver, stack: Stack) -> tuple[float, list[str]]:
        scenario = run.scenario
        registry = default_registry()
        contexts = {"primary": run.fault_context(stack)}
        if stack.secondary is not None:
            contexts["secondary"] = run.fault_context(stack, "secondary")
        faults = [
            (registry.create(step, contexts[step.target], step.label(i)), step.at_s, step.for_s)
            for i, step in enumerate(scenario.faults)
        ]
        scheduler = FaultScheduler(faults, run.clock, run.loop.sleep, run.on_fault_event)
        run.result.faults = scheduler.events
        sampler = run.make_sampler(driver, stack, scenario.duration_s, scheduler.active)
        run.restart_clock()
        epoch = run.loop.wall()
        try:
            run.observe(
                "phase", {"phase": "load", "users": scenario.load.users, "rate_per_s": scenario.load.rate_per_s}
            )
            sampler.start(run.loop)
            driver.start(epoch)
            self._timeline(run, scheduler, driver, stack)
        except FaultApplyError as exc:
            run.result.errors.append(str(exc))
            run.finish("errored", ExitCode.ENVIRONMENT_ERROR, str(exc))
        finally:
            revert_errors = scheduler.revert_all() + run.verify_clean(stack)
            driver.stop()  # graceful: in-flight operations finish and are recorded
            run.result.errors.extend(f"fault event hook failed: {e}" for e in scheduler.executor.hook_errors)
        return run.clock(), revert_errors

    def _timeline(self, run: Runner, scheduler: FaultScheduler, driver: LoadDriver, stack: Stack) -> None:
        """The fault timeline, with the steady-state check before the first fault and halt conditions throughout.
        Both judge "now", so the workers of a distributed run ship their records first (``collect``)."""
        scenario = run.scenario
        recorder = driver.recorder
        halted: list[str] = []

        def should_stop() -> bool:
            return run.stop.requested or bool(halted)

        def watch() -> bool:
            reason = run.halt_condition(driver)
            if reason is not None:
                halted.append(reason)
                run.observe("halt", {"reason": reason})
            return reason is not None

        watcher = run.loop.every(1.0, watch) if scenario.halt else None
        try:
            first_fault_s = min((step.at_s for step in scenario.faults), default=None)
            checked = scenario.steady_state.enabled and self.steady_state_check()
            if checked and first_fault_s is not None and first_fault_s > 0:
                scheduler.run(first_fault_s - 0.02, should_stop)  # up to just before the first fault is due
                if not should_stop():
                    before_s = run.clock()
                    driver.collect()  # everything finished before_s is in now
                    baseline = recorder.ended_before(before_s, USER_OPERATION)
                    check = check_steady_state(scenario.steady_state, baseline, before_s)
                    run.result.steady_state = dataclasses.asdict(check)
                    if check.problem is not None:
                        self._unhealthy_baseline(run, stack, check.problem, recorder, before_s)
                        return
            scheduler.run(scenario.duration_s, should_stop)
        finally:
            if watcher is not None:
                watcher.kill()
        if halted:
            run.result.halted = halted[0]
            run.finish("failed", ExitCode.GATES_FAILED, halted[0])

    @staticmethod
    def _unhealthy_baseline(run: Runner, stack: Stack, problem: str, recorder: Recorder, before_s: float) -> None:
        """Stop the run: as the client's failure (exit 1) when the environment was healthy, else as errored."""
        assert stack.admin is not None
        try:
            stats: dict[str, Any] | None = stack.admin.stats()
        except Exception:
            stats = None
        limit = run.scenario.steady_state.max_p95_ms
        baseline = recorder.ended_before(before_s, USER_OPERATION)
        blame = blame_baseline(baseline, before_s, stats, stack.round_trip_ms(), limit)
        assert run.result.steady_state is not None
        run.result.steady_state["blame"] = "client" if blame.client else "environment"
        if blame.client:
            reason = f"the client under test failed before the first fault: {problem}; {blame.reason}"
            run.finish("failed", ExitCode.GATES_FAILED, reason)
        else:
            reason = f"environment not healthy before the first fault: {problem}; {blame.reason}"
            run.result.errors.append(reason)
            run.finish("errored", ExitCode.ENVIRONMENT_ERROR, reason)
