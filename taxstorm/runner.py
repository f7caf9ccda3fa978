"""Run a scenario: stack up, load and fault timeline on one clock, drain, reconcile, gate, report.

Must run in a gevent-patched process (Locust); the CLI patches before importing this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from taxstorm.abandon import abandon_run
from taxstorm.chaos import process as process_faults
from taxstorm.chaos.container import DockerTargets
from taxstorm.chaos.handshake import stall_proxy_name
from taxstorm.chaos.registry import FaultContext
from taxstorm.chaos.timeline import FaultEvent
from taxstorm.chaos.tls import trusted
from taxstorm.chaos.toxiproxy.lease import RENEW_S
from taxstorm.clients.protocol import ClientLoadError, load_factory
from taxstorm.errors import ExitCode, InvalidInputError
from taxstorm.gates import LatencyGateSpec, Snapshot, TimeToInvoiceGateSpec, evaluate, judged_gates, recovery_times
from taxstorm.halt import halt_reason
from taxstorm.load_driver import LoadDriver, WorkerOptions
from taxstorm.loadtests.context import LoadContext
from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.loadtests.records import Recorder
from taxstorm.mock_platform.dialects import REGIMES, held_numbers
from taxstorm.owed import OwedInvoices, backlog_check
from taxstorm.passive_verdict import NOT_JUDGED_PASSIVE, passive_gates, platform_recovery_times, platform_view
from taxstorm.platform_side import platform_side_verdict
from taxstorm.progress import Progress
from taxstorm.reconcile import reconcile_run
from taxstorm.report.files import write_reports
from taxstorm.result import RunResult
from taxstorm.run_loop import GeventLoop, RunLoop
from taxstorm.sampler import CumulativeTraffic, Sampler, issue_traffic
from taxstorm.scenario import Scenario
from taxstorm.scripted import ScriptedSession
from taxstorm.stack import LocalStack, Stack, StackFactory, StackOptions
from taxstorm.timeseries import USER_OPERATION, per_second, write_series_csv
from taxstorm.versions import package_versions
from taxstorm.watchdog import STUCK_GRACE_S, Watchdog, WatchdogLimits
from taxstorm.windows import build_windows, judge_windows

Observer = Callable[[str, dict[str, Any]], None]
SETTLE_S = 5.0  # the longest last drain a client gets to read outcomes the platform had decided (see _settle)
PROCESS = frozenset(f.spec_type.model_fields["type"].default for f in process_faults.FAULTS)


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what: that is the scenario)."""

    report_dir: Path = Path("reports")
    toxiproxy_url: str | None = None
    toxiproxy_bin_dir: Path = Path(".bin")
    workers: WorkerOptions | None = None  # None: the load runs in this process
    platform_url: str | None = None  # external mode (docker compose): a running platform's URL
    admin_token: str | None = None  # external mode: its admin token
    credential_key: str | None = None  # external mode: its credential key (sellers' credentials derive from it)
    proxy: str | None = None  # external mode: an existing Toxiproxy proxy to use
    docker_project: str | None = None  # container faults act on this compose project's services
    ca_file: Path | None = None  # external mode: the CA of the platform's HTTPS certificate
    passive: bool = False  # the load is a system of the user's own, not Locust (taxstorm.passive)
    passive_wait_s: float = 300.0  # a passive run waits this long for the system's first submission


LoadFactory = Callable[[LoadContext, Stack], LoadDriver]


class Session(Protocol):
    """What a run does while its load runs (the scenario's fault timeline, or a game day's operators): start
    the load, play faults and watch until it should end, revert every fault and stop the load; return the run
    second the load ended at and what would not revert. The runner does the rest (stack, drain, verdict)."""

    wait_for_workers: bool  # a distributed run waits for every expected worker before the session starts

    def deadline_s(self, scenario: Scenario) -> float:
        """Seconds after the load's start by which everything, drain and verdict included, must have ended."""
        ...

    def docker_targets(self, project: str | None, scenario: Scenario) -> DockerTargets | None:
        """The compose project's containers its faults may act on (None: none)."""
        ...

    def play(self, run: Runner, driver: LoadDriver, stack: Stack) -> tuple[float, list[str]]:
        """Run the load and the faults; (the load's end in run seconds, the faults that would not revert)."""
        ...


@dataclass(frozen=True)
class RunParts:
    """What a run is made of, each replaceable (tests run the whole verdict path on in-memory parts): the stack
    it stands on, what drives the load (None: Locust, here or on workers), and its loop (clock, sleeps, tasks)."""

    stack: StackFactory = LocalStack
    load: LoadFactory | None = None
    loop: RunLoop = field(default_factory=GeventLoop)


@dataclass
class StopRequest:
    """Set by SIGINT/SIGTERM: the first asks for a clean stop, the second skips the drain (never the revert)."""

    signals: list[str] = field(default_factory=list)

    @property
    def requested(self) -> bool:
        return bool(self.signals)

    @property
    def forced(self) -> bool:
        return len(self.signals) > 1

    @property
    def why(self) -> str:
        """What asked for the stop, each cause once."""
        return ", ".join(dict.fromkeys(self.signals))


@contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into a StopRequest for the duration of the run, then restore the handlers."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.signals.append(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def check_options(scenario: Scenario, options: RunOptions) -> None:
    """Refuse combinations of scenario and options that cannot run, before anything starts."""
    if options.workers is not None and scenario.load.housekeeping is not None:
        raise InvalidInputError(
            "load.housekeeping: period-start housekeeping runs in one process; drop --workers for this scenario"
        )
    external_tls = options.platform_url is not None and options.platform_url.lower().startswith("https://")
    if options.ca_file is not None and not external_tls:
        raise InvalidInputError(
            "--ca-file: the CA of a platform of your own that serves HTTPS; give its https:// --platform-url too "
            "(taxstorm's own platform makes a CA per run: platform.tls or --tls)"
        )
    if options.platform_url is not None and scenario.platform.tls and not external_tls:
        raise InvalidInputError(
            "platform.tls: in external mode your platform serves its own certificate; give its https:// "
            "--platform-url (and --ca-file with the CA it chains to, unless that is publicly trusted), or drop "
            "--tls / platform.tls"
        )
    if options.platform_url is not None and scenario.platform.secondary:
        raise InvalidInputError(
            "platform.secondary: the secondary platform is started by taxstorm on the primary's ledger; "
            "in external mode give it up (or run locally)"
        )
    if options.passive and (options.platform_url is not None or options.workers is not None):
        flag = "--platform-url" if options.platform_url is not None else "--workers/--expect-workers"
        raise InvalidInputError(
            f"--passive: the load is your system's and the verdict reads the run's own ledger; drop {flag}"
        )
    needs_process = [f"faults[{i}] ({step.type})" for i, step in enumerate(scenario.faults) if step.type in PROCESS]
    if options.platform_url is not None and needs_process:
        raise InvalidInputError(
            f"{', '.join(needs_process)}: process faults need the platform started by taxstorm; in external mode "
            "use the container faults (container_kill, container_restart, ...) on the compose service instead"
        )


def _default_session(options: RunOptions) -> Session:
    """The scenario's timeline under Locust's load, or (passive) under the load of a system of the user's own."""
    if not options.passive:
        return ScriptedSession()
    from taxstorm.passive import PassiveSession  # it prints what the system needs: the standalone platform's words

    return PassiveSession(options.passive_wait_s)


def new_run_id(scenario: Scenario) -> str:
    return f"{scenario.name}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"


class Runner:
    """One run of one scenario; :meth:`run` always returns a RunResult and never leaves a fault applied.

    Its ``session`` decides what happens while the load runs (default: the scenario's fault timeline); its
    ``parts`` what it runs on. Sessions use the public methods below (faults' context, sampler, halt
    conditions, clean-up check, verdict) and never reach into the runner."""

    def __init__(
        self,
        scenario: Scenario,
        options: RunOptions,
        observer: Observer | None = None,
        parts: RunParts | None = None,
        session: Session | None = None,
    ) -> None:
        self.session: Session = session or _default_session(options)
        self.parts = parts or RunParts()
        self.loop = self.parts.loop
        self.scenario = scenario
        self.options = options
        self.observe: Observer = observer or (lambda kind, data: None)
        self.run_id = new_run_id(scenario)
        self.run_dir = options.report_dir / self.run_id
        self.stop = StopRequest()
        try:
            self.client_factory = load_factory(scenario.client.ref)
        except ClientLoadError as exc:
            raise InvalidInputError(f"client.ref: {exc}") from None
        check_options(scenario, options)
        self.result = RunResult(
            run_id=self.run_id,
            scenario=scenario.model_dump(mode="json"),
            versions=package_versions(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._t0 = self.loop.monotonic()
        self._watchdog: Watchdog | None = None
        self.lost: str | None = None  # the run's proxy, deleted under it by someone else (see _leased)
        self.containers_in_play = False  # container faults may have acted (a killed run's clean-up resets them)

    def clock(self) -> float:
        """Seconds since the run started: the one clock of load, faults and windows."""
        return self.loop.monotonic() - self._t0

    def restart_clock(self) -> None:
        """Second 0 is now: the load starts."""
        self._t0 = self.loop.monotonic()

    def run(self) -> RunResult:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        stack = self.parts.stack(
            StackOptions(
                self.run_dir,
                self.run_id,
                self.options.toxiproxy_url,
                self.options.toxiproxy_bin_dir,
                platform_url=self.options.platform_url,
                admin_token=self.options.admin_token,
                credential_key=self.options.credential_key,
                proxy=self.options.proxy,
                ca_file=self.options.ca_file,
            ),
            self.scenario.platform,
        )
        with stop_on_signals(self.stop):
            try:
                self.observe("phase", {"phase": "starting", "run_dir": str(self.run_dir)})
                stack.start()
                self.result.endpoints = {
                    "platform": stack.platform_url,
                    "client": stack.client_url,
                    "toxiproxy": stack.toxiproxy.base_url if stack.toxiproxy else "",
                }
                self._set_calendar(stack)
                with self._watched(stack), self._leased(stack), trusted(stack.ca_file):
                    self._run_on(stack)
            except Exception as exc:  # anything the harness did wrong is "errored", never "failed"
                self.result.errors.append(f"{type(exc).__name__}: {exc}")
                self.finish("errored", ExitCode.ENVIRONMENT_ERROR, str(exc))
            finally:
                for problem in stack.stop():
                    self.result.errors.append(problem)
        self.result.duration_s = round(self.clock(), 3)
        self._write_reports()
        return self.result

    def deadline(self) -> float:
        """When (``time.monotonic``) everything must have ended: the session's deadline after the load started."""
        return self._t0 + self.session.deadline_s(self.scenario)

    @contextmanager
    def _watched(self, stack: Stack) -> Iterator[None]:
        """The watchdog, from the start of the load to the verdict: a loop stuck in a blocking call is abandoned
        (see taxstorm.watchdog); past the deadline the run is stopped as by a second signal."""
        limits = WatchdogLimits(self.scenario.answer_budget_s + STUCK_GRACE_S)

        def past_deadline() -> None:
            self.stop.signals += [f"limits.max_run_s ({self.scenario.limits.max_run_s:g} s)"] * 2  # forced: no drain

        def abandon(why: str, thread_id: int) -> None:
            # the compose project's containers, whenever faults could act on them (a game day's operators too)
            project = self.options.docker_project if self.containers_in_play else None
            abandon_run(self.result, why, thread_id, self.clock(), stack.state_path, project, self._write_reports)

        watchdog = self._watchdog = Watchdog(limits, self.deadline, past_deadline, abandon)
        with self.loop.guarded(watchdog):
            yield

    @contextmanager
    def _leased(self, stack: Stack) -> Iterator[None]:
        """Renew the run's lease on a shared Toxiproxy while it runs; a run whose proxy was deleted under it says
        so and stops (its faults are still reverted; nothing is judged: its clients lost the platform)."""

        def keep() -> bool:
            lost = stack.keep_lease()
            if lost is None:
                return False
            self.lost = lost
            self.result.errors.append(lost)
            self.finish("errored", ExitCode.ENVIRONMENT_ERROR, lost)
            self.observe("warning", {"text": lost})
            self.stop.signals += ["the loss of the run's proxy"] * 2  # forced: revert, no drain
            return True

        keeper = self.loop.every(RENEW_S, keep) if stack.lease is not None else None
        try:
            yield
        finally:
            if keeper is not None:
                keeper.kill()

    def _set_calendar(self, stack: Stack) -> None:
        """The scenario's business moment on the platform's clock, before any load (its ``clock.start``)."""
        if self.scenario.clock is None:
            return
        assert stack.admin is not None
        moved = stack.admin.call("POST", "/admin/clock", {"to": self.scenario.clock.start().isoformat()})
        self.observe("phase", {"phase": "calendar", "platform_time": moved.get("now", "")})

    def _write_reports(self) -> None:
        write_reports(self.result, self.run_dir)

    def _run_on(self, stack: Stack) -> None:
        driver = self._load_driver(self._load_context(stack), stack)
        try:
            load_end_s, revert_errors = self.session.play(self, driver, stack)
            self.result.errors.extend(f"background task failed: {e}" for e in self.loop.errors)
            self._wind_down(driver, stack, load_end_s, revert_errors)
        finally:
            driver.close()

    def fault_context(self, stack: Stack, target: str = "primary") -> FaultContext:
        """What this run's faults act on: its proxy, the platform's admin API and process, compose's containers
        (``target`` secondary: the secondary platform and its proxy)."""
        assert stack.toxiproxy is not None
        if target == "secondary":
            assert stack.secondary is not None
            site = stack.secondary
            return FaultContext(self.run_id, stack.toxiproxy, site.proxy_name, site.admin, site.platform, None)
        docker = self.session.docker_targets(self.options.docker_project, self.scenario)
        self.containers_in_play = self.containers_in_play or docker is not None
        return FaultContext(self.run_id, stack.toxiproxy, stack.proxy_name, stack.admin, stack.platform, docker)

    def _load_context(self, stack: Stack) -> LoadContext:
        """What this run's users share: the client under test (through the proxy), orders, records, the clock."""
        scenario = self.scenario
        return LoadContext(
            client_factory=self.client_factory,
            base_url=stack.client_url,
            state_dir=self.run_dir / "clients",
            generator=OrderGenerator(scenario.load.seed, self.run_id, REGIMES[scenario.platform.dialect]),
            recorder=Recorder(),
            clock=self.clock,
            client_options=dict(scenario.client.options),
            answer_budget_s=scenario.answer_budget_s,
            credential_key=stack.credential_key,
            secondary_url=stack.secondary.client_url if stack.secondary is not None else None,
            ca_file=stack.ca_file,
            dialect=scenario.platform.dialect,
            platform_public_key=self._public_key(stack),
        )

    def _public_key(self, stack: Stack) -> str | None:
        """What clients of the run's dialect need from the platform itself: the IRP's RSA public key."""
        if self.scenario.platform.dialect != "irp" or stack.admin is None:
            return None
        return stack.admin.irp_public_key()

    def _load_driver(self, load: LoadContext, stack: Stack) -> LoadDriver:
        """The run's load driver: its parts' own, else this process's Locust runner or a Locust master whose
        workers are connected (started here or not)."""
        if self.parts.load is not None:
            return self.parts.load(load, stack)
        if self.options.passive:
            from taxstorm.passive import PassiveLoad

            admins = stack.admins()
            return PassiveLoad(
                self.clock, self.loop, lambda: issue_traffic(*(admin.stats() for admin in admins)).submissions > 0
            )
        from taxstorm.load_plan import user_classes  # Locust: imported only by runs that use it
        from taxstorm.locust_load import DistributedLoad, LocalLoad

        scenario = self.scenario
        classes = user_classes(load, scenario.load, scenario.platform.settings)
        workers = self.options.workers
        if workers is None:
            return LocalLoad(load, classes)
        plan = {
            "load": scenario.load.model_dump(mode="json"),
            "platform_settings": scenario.platform.settings,
            "client": scenario.client.ref,
            "client_options": dict(scenario.client.options),
            "answer_budget_s": scenario.answer_budget_s,
            "credential_key": stack.credential_key,
            "secondary_url": stack.secondary.client_url if stack.secondary is not None else None,
            "base_url": stack.client_url,
            "ca_file": str(stack.ca_file) if stack.ca_file is not None else None,
            "dialect": scenario.platform.dialect,
            "platform_public_key": load.platform_public_key,
            "run_id": self.run_id,
        }
        driver = DistributedLoad(plan, classes, load.recorder, self.clock, workers, self.run_dir / "clients")
        try:
            self.observe("phase", {"phase": "workers", "expected": workers.workers, "port": driver.port})
            driver.connect_workers(wait=self.session.wait_for_workers)
        except BaseException:
            driver.close()
            raise
        return driver

    def make_sampler(
        self, driver: LoadDriver, stack: Stack, total_s: float, active: Callable[[], list[str]]
    ) -> Sampler:
        """The run's sampler (the session starts it with the load): once-a-second samples of the backlog (owed
        by the harness's count, and by the clients' own) and the platforms' request counters (both, with a
        secondary), each also feeding the progress line."""
        assert stack.admin is not None
        progress = Progress(total_s, driver.recorder, active)
        # one ledger, whichever platform served
        self.owed = OwedInvoices(driver.recorder, stack.admin.landed, stack.admin.upload_failed)
        admins = stack.admins()
        traffic = CumulativeTraffic()  # a restarted platform counts from zero again: carried across
        sampler = Sampler(
            self.clock,
            self.owed.refresh,
            driver.backlog,
            lambda: traffic(*(admin.stats() for admin in admins)),
            lambda now: self.observe(
                "tick", progress.tick(now, sampler.backlog, sampler.client_backlog) | self._platform_seen(sampler)
            ),
        )
        self.sampler = sampler
        return sampler

    def _platform_seen(self, sampler: Sampler) -> dict[str, Any]:
        """A passive run's progress: what the platform saw of the system since the previous sample (the users'
        figures are not known); nothing for a run whose load is Locust's."""
        answers = sampler.platform_answers
        if not self.options.passive or len(answers) < 2:
            return {}
        (before_s, before), (now_s, now) = answers[-2], answers[-1]
        grown = {status: count - before.get(status, 0) for status, count in now.items()}
        span = max(1e-6, now_s - before_s)
        refused = sum(count for status, count in grown.items() if not 200 <= status < 300)
        return {"platform_per_s": round(sum(grown.values()) / span, 1), "platform_refused": refused}

    def _wind_down(self, driver: LoadDriver, stack: Stack, load_end_s: float, revert_errors: list[str]) -> None:
        """After the load stopped: drain (unless the run errored or a second signal came), judge, report reverts.

        A run that never got its drain is not judged: orders told "queued" had no chance to be issued."""
        drained = False
        errored = self.result.status == "errored" and bool(self.result.reason)  # the default status is "errored"
        if not self.stop.forced and not errored:
            self.observe("phase", {"phase": "drain", "backlog": len(self.owed.owed())})
            until_s = self.clock() + self.scenario.drain_s
            self.result.client_backlog_after_drain = driver.drain(until_s, lambda: self.stop.forced)
            drained = not self.stop.forced
        for defect, at_s in driver.blocked_clients():  # a worker whose client blocked it left its defect behind
            driver.recorder.defects.add(defect, at_s)
        settled = self._settle(driver) if drained else None
        self.sampler.stop()
        self.result.backlog_after_drain = self.sampler.backlog[-1][1] if self.sampler.backlog else 0
        self.result.backlog_check = backlog_check(
            self.result.backlog_after_drain, self.result.client_backlog_after_drain, drained, settled
        )
        with self._watchdog.paused() if self._watchdog is not None else contextlib.nullcontext():
            self._judge(stack, driver.recorder, load_end_s, drained)
        if revert_errors:
            self.result.errors.extend(revert_errors)
            if self.lost is None:  # a fault on a proxy someone deleted is gone with it: the loss is the cause
                self.finish("errored", ExitCode.REVERT_FAILED, "a fault could not be reverted; run 'taxstorm reset'")

    def _settle(self, driver: LoadDriver) -> dict[str, Any] | None:
        """When the drain's time ran out, a client may still count orders it sent whose outcome it has not read
        yet (a job still PROCESSING then, an answer it was waiting for): with nothing owed by the harness's
        count, nothing is left to issue, so one more drain of at most SETTLE_S lets its count catch up before the
        two are compared. What it says then is compared; what it said before is reported beside it."""
        before = self.result.client_backlog_after_drain
        if before == 0 or self.owed.refresh() != 0:
            return None
        started = self.clock()
        until_s = min(started + SETTLE_S, self.deadline() - self._t0 - 1.0)  # never into limits.max_run_s
        if until_s <= started:
            return None
        self.observe("phase", {"phase": "settle", "backlog": 0})
        self.result.client_backlog_after_drain = driver.drain(until_s, lambda: self.stop.forced)
        return {"client_before": before, "took_s": round(self.clock() - started, 3)}

    def halt_condition(self, driver: LoadDriver) -> str | None:
        """Why the scenario's halt conditions stop the run now, judged on every operation finished by now."""
        now = self.clock()
        driver.collect()  # a distributed run's workers ship their records first
        for spec in self.scenario.halt:
            reason = halt_reason(spec, driver.recorder.ended_between(now - spec.for_s, now), now)
            if reason is not None:
                return f"halted at {now:.0f} s: {reason}"
        return None

    def verify_clean(self, stack: Stack) -> list[str]:
        """Ask Toxiproxy itself whether the run's proxies are clean again (belt and braces after the reverts)."""
        assert stack.toxiproxy is not None
        names = [stack.proxy_name, *([stack.secondary.proxy_name] if stack.secondary is not None else [])]
        problems: list[str] = []
        for name in names:
            try:
                leftover = sorted(stack.toxiproxy.toxics(name))
                proxies = stack.toxiproxy.proxies()
                enabled = proxies[name].enabled
            except Exception as exc:  # the proxy itself may be gone (deleted under the run)
                problems.append(f"could not verify that proxy {name} is clean: {exc!r}")
                continue
            if name == stack.proxy_name:
                self.result.cleanup = {"toxics_left": leftover, "proxy_enabled": enabled}
                upstream = proxies[name].upstream
                if stack.proxy_upstream and upstream != stack.proxy_upstream:
                    problems.append(f"{name} still leads to {upstream}, not {stack.proxy_upstream}, after revert")
                made = sorted(n for n in proxies if n.startswith(stall_proxy_name(self.run_id)))
                problems += [f"fault proxies left after revert: {made}"] if made else []
            problems += [f"toxics still on {name} after revert: {leftover}"] if leftover else []
            problems += [] if enabled else [f"{name} still disabled after revert"]
        return problems

    def _judge(self, stack: Stack, recorder: Recorder, load_end_s: float, drained: bool) -> None:
        assert stack.admin is not None
        self.observe("phase", {"phase": "reconcile"})
        if self.options.passive:
            self._judge_platform_side(stack, load_end_s, drained)
        else:
            self._judge_users_side(stack, recorder, load_end_s, drained)
        self._verdict(drained)

    def _judge_platform_side(self, stack: Stack, load_end_s: float, drained: bool) -> None:
        """A passive run: the scenario's gates on what the platform saw (taxstorm.passive_verdict)."""
        assert stack.admin is not None
        self.result.platform_stats = stats = stack.admin.stats()
        ledger = platform_side_verdict(stack.admin.ledger(), stats)
        sampler = self.sampler
        if sampler.platform_submissions:  # the whole run's, across platform restarts (the stats: since the last)
            submissions, lookups = sampler.platform_submissions[-1][1], sampler.platform_lookups[-1][1]
            ledger = dataclasses.replace(ledger, submissions=submissions, lookups=lookups)
        view = platform_view(
            sampler.platform_answers, sampler.platform_lookups, self.result.faults, ledger, load_end_s, self.clock()
        )
        self.result.windows = list(view.windows)
        self.result.series = list(view.series)
        self.result.recovery_s = platform_recovery_times(view)
        not_judged = [*NOT_JUDGED_PASSIVE]
        if self.scenario.halt:
            not_judged.append("halt conditions: they watch what users were answered, which is not seen here")
        self.result.platform_side = {**dataclasses.asdict(ledger), "not_judged": not_judged}
        self.result.backlog_check = {}  # the system's backlog is not visible: nothing to compare
        write_series_csv(self.run_dir / "per_second.csv", self.result.series)
        if drained:
            self.result.gates = passive_gates(judged_gates(list(self.scenario.gates)), view)

    def _judge_users_side(self, stack: Stack, recorder: Recorder, load_end_s: float, drained: bool) -> None:
        """What users were told (the records) against the ledger, with the platform's counters beside."""
        assert stack.admin is not None
        self.result.client_defects = [row.as_dict() for row in recorder.defects.rows()]
        self.result.platform_stats = stack.admin.stats()
        self.result.load = {
            "arrivals": recorder.arrivals,
            "dropped": recorder.dropped,
            "operations": recorder.outcome_counts(),
        }
        reconciliation = reconcile_run(recorder, held_numbers(self.scenario.platform.dialect, stack.admin.ledger()))
        self.result.reconciliation = reconciliation
        wanted = [g.percentile for g in self.scenario.gates if isinstance(g, LatencyGateSpec | TimeToInvoiceGateSpec)]
        windows = build_windows(self.result.faults, load_end_s)
        self.result.windows = judge_windows(windows, recorder.issues_with_invoice_time(), wanted)
        issues = recorder.stream_by_start(USER_OPERATION)
        self.result.series = per_second(issues, self.clock(), self.sampler.backlog)
        snapshot = Snapshot(
            self.result.windows,
            reconciliation,
            self.result.series,
            self.result.faults,
            self.sampler.platform_submissions,
            self.sampler.backlog,
            load_end_s,
            recorder.defects.rows(),
            self.sampler.platform_lookups,
        )
        self.result.recovery_s = recovery_times(snapshot)
        recorder.write_csv(self.run_dir / "operations.csv")
        write_series_csv(self.run_dir / "per_second.csv", self.result.series)
        if drained:
            self.result.gates = evaluate(judged_gates(list(self.scenario.gates)), snapshot)

    def _verdict(self, drained: bool) -> None:
        """Status, exit code and reason from the gates (a reason set earlier, by an error or a halt, stands)."""
        if self.result.status == "errored" and self.result.reason:
            return
        if not drained:
            why = f"stopped by {self.stop.why}" if self.stop.requested else "stopped"
            self.finish("interrupted", ExitCode.ENVIRONMENT_ERROR, f"{why} before the drain: not judged")
        elif self.result.reason:
            return  # failed already (a halt condition, or the client before the first fault); gates add detail
        elif self.stop.requested:
            self.finish("interrupted", ExitCode.ENVIRONMENT_ERROR, f"stopped by {self.stop.why}")
        elif all(g.passed for g in self.result.gates):
            skipped = sum(1 for g in self.result.gates if not g.judged)
            judged = len(self.result.gates) - skipped
            self.finish(
                "passed",
                ExitCode.PASSED,
                f"all {judged} gates passed" + (f" ({skipped} not judged)" if skipped else ""),
            )
        else:
            failed = [f"{g.name} [{g.window}]" for g in self.result.gates if not g.passed]
            self.finish("failed", ExitCode.GATES_FAILED, "gates failed: " + "; ".join(failed))

    def finish(self, status: str, code: ExitCode, reason: str) -> None:
        """The run's verdict: status, exit code and why."""
        self.result.status = status  # type: ignore[assignment]
        self.result.exit_code = int(code)
        self.result.reason = reason

    def on_fault_event(self, kind: str, event: FaultEvent) -> None:
        """A fault applied or reverted: sample at the window's boundary, and tell the observer."""
        self.loop.soon(self.sampler.sample)  # the counters at the window boundary (a paused platform may not answer)
        self.observe("fault", {"kind": kind, "label": event.label, "type": event.type, "at_s": round(self.clock(), 3)})
