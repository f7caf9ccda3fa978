"""The ``taxstorm`` command line; ``main(argv) -> int`` catches the error tree once.

Keep module-level imports light: ``run`` must monkey-patch with gevent (Locust) before anything
imports ``ssl`` or ``socket`` users such as requests or httpx.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from taxstorm import __version__
from taxstorm.cli_options import run_options, stack_options
from taxstorm.errors import EnvironmentError_, ExitCode, TaxstormError
from taxstorm.mock_platform.dialects import DIALECTS, Dialect

F = TypeVar("F", bound=Callable[..., Any])

if TYPE_CHECKING:
    from rich.console import Console

    from taxstorm.scenario import Scenario


def _patch_for_locust() -> None:
    """Monkey-patch with gevent, as Locust needs, before anything imports ssl or socket users (the runner's
    options import the runner, which imports requests: so this comes first)."""
    from gevent import monkey

    monkey.patch_all()


def _load(scenario: Path, client: dict[str, Any]) -> Scenario:
    """Load SCENARIO with the ``--client`` and ``--client-options`` flags applied."""
    from taxstorm.clients.protocol import parse_options_json
    from taxstorm.errors import InvalidInputError
    from taxstorm.library import resolve_scenario
    from taxstorm.scenario import load_scenario

    loaded = load_scenario(resolve_scenario(scenario))
    ref, options_text = client.get("client_ref"), client.get("client_options")
    update: dict[str, Any] = {}
    if ref is not None:  # another client: the scenario's options were written for its own client, not this one
        update = {"ref": ref, "options": {}}
    if options_text is not None:
        try:
            update["options"] = parse_options_json(options_text, "--client-options")
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
    if update:
        loaded = loaded.model_copy(update={"client": loaded.client.model_copy(update=update)})
    platform: dict[str, Any] = {}
    if client.get("dialect") is not None:
        platform["dialect"] = client["dialect"]
    if client.get("tls"):
        platform["tls"] = True
    if platform:
        loaded = loaded.model_copy(update={"platform": loaded.platform.model_copy(update=platform)})
    return loaded


def _platform_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """Take ``--dialect`` and ``--tls`` out of a command's stack flags."""
    return {"dialect": flags.pop("dialect", None), "tls": flags.pop("tls", False)}


def client_flags(verb: str) -> Callable[[F], F]:
    """``--client``, ``--client-options``, ``--dialect`` and ``--tls`` of run, capacity and gameday."""

    def decorate(command: F) -> F:
        command = click.option(
            "--tls", is_flag=True, help="Serve the platform over HTTPS with a CA made for the run (platform.tls)."
        )(command)
        command = click.option(
            "--dialect",
            type=click.Choice(DIALECTS),
            default=None,
            help="Speak this platform protocol instead of the scenario's (platform.dialect): every story runs on "
            "every dialect.",
        )(command)
        command = click.option(
            "--client-options",
            "client_options",
            default=None,
            help="Options of the client as JSON (the scenario's options are dropped when --client names another).",
        )(command)
        return click.option(
            "--client", "client_ref", default=None, help=f"{verb} this client instead of the scenario's."
        )(command)

    return decorate


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="taxstorm", message="%(prog)s %(version)s")
def cli() -> None:
    """taxstorm: chaos and load testing for e-invoicing platforms and their client systems."""
    import os

    if os.getcwd() not in sys.path:  # --client my_module:create finds modules of the current folder (as uvicorn)
        sys.path.insert(0, os.getcwd())


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Each run writes into REPORT_DIR/<run id>/.",
)
@stack_options
@click.option(
    "--scale",
    type=click.FloatRange(0.01, 100),
    default=1.0,
    show_default=True,
    help="Stretch the timeline: 0.25 runs four times shorter, 10 ten times longer.",
)
@click.option(
    "--passive",
    is_flag=True,
    help="Take the load from a system of your own (an ERP, a POS) instead of Locust: the platform's URL and "
    "credentials are printed and written to platform.json, the timeline starts at the system's first submission, "
    "and the verdict is the platform's side alone (duplicates by business key, amplification, time to recover).",
)
@click.option(
    "--wait-s",
    type=click.FloatRange(1, 86_400),
    default=None,
    help="--passive: how long to wait for the system's first submission [300].",
)
@client_flags("Judge")
def run(
    scenario: Path,
    report_dir: Path,
    scale: float,
    passive: bool,
    wait_s: float | None,
    client_ref: str | None,
    client_options: str | None,
    **stack: Any,
) -> None:
    """Run SCENARIO and exit 0 passed, 1 gates failed, 2 invalid input, 3 environment error, 4 revert failed.

    \b
    SCENARIO is a YAML file or the name of one from the library ('taxstorm list').

    \b
    Examples:
      taxstorm run smoke                                              # the library's smoke scenario
      taxstorm run scenarios/smoke.yaml --report-dir reports
      taxstorm run scenarios/platform_crash.yaml --client naive      # watch the naive client fail
      taxstorm run scenarios/peak_season_filing.yaml --scale 10      # the long version
      taxstorm run scenarios/network_partition.yaml --workers 2      # load from two Locust worker processes
      taxstorm run scenarios/smoke.yaml --toxiproxy-url http://toxiproxy:8474 --toxiproxy-proxy platform \\
          --platform-url http://platform:8080 --expect-workers 2     # external mode (docker compose)
      taxstorm run maintenance_window --passive --dialect nuonuo --tls   # your own system makes the load
    """
    if wait_s is not None and not passive:
        raise click.UsageError("--wait-s is how long a passive run waits for your system: add --passive")
    if passive and (client_ref or client_options):
        raise click.UsageError("--passive: the load is your system's, not a taxstorm client: drop --client")
    _patch_for_locust()
    loaded = _load(scenario, {"client_ref": client_ref, "client_options": client_options, **_platform_flags(stack)})
    options = run_options(report_dir, stack)
    if passive:
        options = dataclasses.replace(options, passive=True, passive_wait_s=300.0 if wait_s is None else wait_s)
    from taxstorm.report import terminal
    from taxstorm.report.live import LiveView
    from taxstorm.runner import Runner
    from taxstorm.scaling import scale_scenario

    if scale != 1.0:
        loaded = scale_scenario(loaded, scale)
    console = _console()
    with LiveView(console) as view:
        runner = Runner(loaded, options, view.observe)
        result = runner.run()
    terminal.render(result, console)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--start", "start_per_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True)
@click.option("--step", "step_per_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True)
@click.option("--steps", type=click.IntRange(2, 200), default=8, show_default=True)
@click.option("--step-s", type=click.FloatRange(min=2.0), default=20.0, show_default=True, help="Seconds per step.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@stack_options
@client_flags("Measure")
def capacity(
    scenario: Path,
    start_per_s: float,
    step_per_s: float,
    steps: int,
    step_s: float,
    report_dir: Path,
    client_ref: str | None,
    client_options: str | None,
    **stack: Any,
) -> None:
    """Find the knee: step the offered rate up on SCENARIO's platform and client (no faults) and report the
    highest rate that still meets its latency and error-rate gates, with a chart (capacity.html).

    \b
    Example:
      taxstorm capacity scenarios/month_end_overload.yaml --start 10 --step 10 --steps 10 --step-s 15
    """
    _patch_for_locust()
    loaded = _load(scenario, {"client_ref": client_ref, "client_options": client_options, **_platform_flags(stack)})
    options = run_options(report_dir, stack)
    import json

    from taxstorm.capacity import Criteria, capacity_report, capacity_scenario, judge_steps, knee
    from taxstorm.loadtests.records import Recorder
    from taxstorm.report.capacity_html import write_capacity_html
    from taxstorm.report.live import LiveView
    from taxstorm.runner import Runner

    console = _console()
    criteria = Criteria.from_scenario(loaded)
    probe, left_out = capacity_scenario(loaded, start_per_s, step_per_s, step_s, steps)
    for why in left_out:
        console.print(f"[yellow]left out[/] {why}")
    with LiveView(console) as view:
        result = Runner(probe, options, view.observe).run()
    run_dir = Path(result.reports["json"]).parent
    if result.status in ("errored", "interrupted"):
        console.print(f"[yellow]capacity run {result.status}:[/] {result.reason}")
        sys.exit(result.exit_code)
    records = list(Recorder.read_csv(run_dir / "operations.csv"))  # a capacity probe is a few minutes long
    results = judge_steps(records, start_per_s, step_per_s, step_s, steps, criteria)
    report = capacity_report(loaded, criteria, results, result.run_id)
    (run_dir / "capacity.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    write_capacity_html(report, run_dir / "capacity.html")
    for step in results:
        verdict = "[green]PASS[/]" if step.passed else "[red]FAIL[/]"
        console.print(
            f"{step.offered_per_s:>8g}/s offered  {step.issued_per_s:>8g}/s issued  "
            f"p{criteria.percentile:g} {step.latency_ms:>7.0f} ms  failed {step.error_rate:>6.1%}  {verdict} {step.why}"
        )
    found = knee(results)
    console.print(f"knee: {found.offered_per_s:g}/s" if found else "knee: none (the first step already fails)")
    console.print(f"reports: {run_dir / 'capacity.html'} and {run_dir / 'capacity.json'}")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES (paths, or names from the library) and list every problem with its field path.

    \b
    Example:
      taxstorm validate scenarios/*.yaml
    """
    from taxstorm.clients.protocol import ClientLoadError, load_factory
    from taxstorm.errors import InvalidInputError
    from taxstorm.library import resolve_scenario
    from taxstorm.scenario import load_scenario

    problems = 0
    for path in files:
        try:
            scenario = load_scenario(resolve_scenario(path))
            load_factory(scenario.client.ref)  # run would import it: a ref that cannot load fails here already
        except InvalidInputError as exc:
            problems += 1
            click.echo(str(exc), err=True)
        except ClientLoadError as exc:
            problems += 1
            click.echo(f"{path}: client.ref: {exc}", err=True)
        except Exception as exc:  # never let one file's surprise stop the files after it
            problems += 1
            click.echo(f"{path}: could not be checked: {type(exc).__name__}: {exc}", err=True)
        else:
            click.echo(f"{path}: ok ({scenario.name}, {len(scenario.faults)} faults, {len(scenario.gates)} gates)")
    if problems:
        sys.exit(int(ExitCode.INVALID_INPUT))


@cli.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write here instead of stdout.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of scenario files, for editor completion and checks.

    \b
    Example (VS Code YAML extension: add "# yaml-language-server: $schema=scenario.schema.json"):
      taxstorm schema -o scenario.schema.json
    """
    import json

    from taxstorm.scenario import Scenario

    document = Scenario.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "taxstorm scenario"
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}")


@cli.command(name="list")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=None,
    help="List the scenarios of this folder instead [the library shipped with taxstorm].",
)
def list_scenarios(directory: Path | None) -> None:
    """List the scenario library: name, duration, faults and what each story is about. Run one by name:
    ``taxstorm run smoke``.

    \b
    Example:
      taxstorm list
    """
    from taxstorm.errors import InvalidInputError
    from taxstorm.library import library_dir
    from taxstorm.scenario import load_scenario

    directory = library_dir() if directory is None else directory
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise InvalidInputError(f"{directory}: no scenario files (*.yaml); pass --dir")
    for path in files:
        try:
            scenario = load_scenario(path)
        except InvalidInputError as exc:
            click.echo(f"{path.name}: INVALID — {exc}")
            continue
        kinds = ", ".join(sorted({f.type for f in scenario.faults})) or "no faults"
        click.echo(f"{scenario.name:<24} {scenario.duration_s:>5.0f} s  {kinds}")
        if scenario.description:
            click.echo(f"{'':<24} {scenario.description}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
def report(run_dir: Path) -> None:
    """Re-render a finished run's reports (terminal summary, report.html, junit.xml) from its result.json.

    \b
    Example:
      taxstorm report reports/smoke-20261128T081500-ab12
    """
    from taxstorm.errors import InvalidInputError
    from taxstorm.report.files import render_reports
    from taxstorm.result import load_result

    try:
        data = load_result(run_dir)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    render_reports(data, folder)
    click.echo(f"{data['run_id']}: {str(data['status']).upper()} (exit {data['exit_code']}) {data.get('reason', '')}")
    for gate in data.get("gates", []):
        click.echo(f"  [{'PASS' if gate['passed'] else 'FAIL'}] {gate['name']} [{gate['window']}] {gate['message']}")
    click.echo(f"wrote {folder / 'report.html'} and {folder / 'junit.xml'}")


@cli.command()
@click.argument("run_a", type=click.Path(path_type=Path))
@click.argument("run_b", type=click.Path(path_type=Path))
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 when B regressed against A.")
@click.option(
    "--latency-tolerance", type=float, default=0.2, show_default=True, help="Allowed p95 growth (0.2 = 20 %)."
)
def compare(run_a: Path, run_b: Path, fail_on_regression: bool, latency_tolerance: float) -> None:
    """Compare two runs (e.g. release N against N+1): latency and error rate per window, time to recover,
    integrity findings and gate verdicts.

    \b
    Example:
      taxstorm compare reports/bad_upgrade-A reports/bad_upgrade-B --fail-on-regression
    """
    from taxstorm.compare import compare_runs
    from taxstorm.errors import InvalidInputError
    from taxstorm.result import load_result

    try:
        a, b = load_result(run_a), load_result(run_b)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    changes = compare_runs(a, b, latency_tolerance)
    click.echo(f"A {a['run_id']} ({a['status']})  →  B {b['run_id']} ({b['status']})")
    for change in changes:
        flag = "REGRESSION" if change.regression else ""
        a_text = "—" if change.a is None else f"{change.a:g}"
        b_text = "—" if change.b is None else f"{change.b:g}"
        click.echo(f"  {change.metric:<44} {a_text:>10} → {b_text:<10} {flag} {change.note}".rstrip())
    regressions = [c for c in changes if c.regression]
    click.echo(f"{len(regressions)} regression(s)")
    if regressions and fail_on_regression:
        sys.exit(int(ExitCode.GATES_FAILED))


@cli.command()
def faults() -> None:
    """List every fault with its parameters and units."""
    from taxstorm.chaos.registry import default_registry

    registry = default_registry()
    for name in registry.names():
        fault_cls = registry.get(name)
        click.echo(f"{name}: {fault_cls.summary}")
        for field_name, info in fault_cls.spec_type.model_fields.items():
            if field_name == "type":
                continue
            default = "required" if info.is_required() else f"default {info.default!r}"
            click.echo(f"    {field_name}: {info.description or ''} ({default})")


@cli.command()
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option(
    "--toxiproxy-url",
    envvar="TOXIPROXY_URL",
    default=None,
    help="Also delete the taxstorm-* proxies of abandoned runs on this Toxiproxy (a live run's lease keeps its own).",
)
@click.option("--compose-project", default=None, help="Also unpause / start this compose project's containers.")
def reset(report_dir: Path, toxiproxy_url: str | None, compose_project: str | None) -> None:
    """Clean up after killed runs: their processes, proxies, toxics and platform fault modes.

    \b
    Example:
      taxstorm reset --report-dir reports
    """
    from taxstorm.reset import reset_all

    report = reset_all(report_dir, toxiproxy_url, compose_project)
    for action in report.actions:
        click.echo(action)
    for kept in report.kept:
        click.echo(kept)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if not report.actions and not report.problems and not report.kept:
        click.echo("nothing to reset")
    if report.problems:
        sys.exit(int(ExitCode.REVERT_FAILED))


@cli.command(name="platform")
@click.option("--tls", is_flag=True, help="Serve HTTPS with a certificate authority made for this session.")
@click.option(
    "--dialect",
    type=click.Choice(DIALECTS),
    default="native",
    show_default=True,
    help="The protocol your system speaks: its endpoints and credential names are printed.",
)
@click.option(
    "--sellers", type=click.IntRange(1, 1000), default=1, show_default=True, help="Seller credentials to print."
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the ledger and logs go (default: a new folder under reports/).",
)
@click.option("--info-file", type=click.Path(path_type=Path), help="Also write the URLs and credentials as JSON here.")
@click.option("--toxiproxy-bin-dir", type=click.Path(path_type=Path), default=Path(".bin"), show_default=True)
def platform_command(
    tls: bool, dialect: Dialect, sellers: int, folder: Path | None, info_file: Path | None, toxiproxy_bin_dir: Path
) -> None:
    """Start the mock platform behind Toxiproxy for a client system of your own (an ERP, a POS) and wait.

    Point the system at the printed URL with a printed seller credential; apply faults through the admin API
    (PUT /admin/faults/...) or Toxiproxy's API; Ctrl-C judges the session from the platform's side (duplicates
    by order, submissions per invoice, answers by status; verdict.json), stops everything and removes the proxy.

    \b
    Example:
      taxstorm platform --tls --sellers 2 --info-file platform.json   # syntax only: it waits for Ctrl-C
      taxstorm platform --dialect nuonuo --tls                        # for a Nuonuo integration (HTTPS only)
    """
    import json
    from dataclasses import asdict
    from datetime import UTC, datetime

    from taxstorm.platform_side import verdict_lines
    from taxstorm.standalone import Standby, standby_lines, write_info

    folder = folder or Path("reports") / f"platform-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    standby = Standby(folder, tls, sellers, toxiproxy_bin_dir, dialect)
    try:
        info = standby.start()
        if info_file is not None:
            write_info(info, info_file)
        for line in standby_lines(info):
            click.echo(line)
        click.echo(f"stopped by {standby.wait()}")
        verdict = standby.judge()
        (folder / "verdict.json").write_text(json.dumps(asdict(verdict), indent=2))
        for line in verdict_lines(verdict):
            click.echo(line)
    finally:
        for problem in standby.stop():
            click.echo(f"clean-up: {problem}", err=True)


@cli.command()
@click.option("--toxiproxy-bin-dir", type=click.Path(path_type=Path), default=Path(".bin"), show_default=True)
@click.option(
    "--install-toxiproxy",
    is_flag=True,
    help="Install the real Toxiproxy (go install, else the release binaries, checksums verified) into the user "
    "cache when none is found.",
)
def doctor(toxiproxy_bin_dir: Path, install_toxiproxy: bool) -> None:
    """Report Python, package versions, Toxiproxy (path + version), the Docker engine and docker compose
    (the last two only for container faults, images and compose: they never fail the doctor)."""
    from taxstorm.doctor import run_checks

    if install_toxiproxy:
        from taxstorm.chaos.toxiproxy import install

        if install.locate(toxiproxy_bin_dir) is None:
            click.echo(f"installing toxiproxy-server {install.DEFAULT_VERSION} into {install.user_bin_dir()} …")
            try:
                install.ensure(install.user_bin_dir())
            except install.ToxiproxyInstallError as exc:
                raise EnvironmentError_(str(exc)) from None
    checks = run_checks(toxiproxy_bin_dir)
    for check in checks:
        click.echo(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
    essential = [c for c in checks if c.name not in ("docker engine", "docker compose")]
    if not all(c.ok for c in essential):
        sys.exit(int(ExitCode.ENVIRONMENT_ERROR))


def _web_token(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if not value:
        return None
    if len(value) < 16:
        raise click.BadParameter("at least 16 characters: e.g. $(openssl rand -hex 16)", param_hint="--web-token")
    return value


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@stack_options
@click.option("--web-host", default="127.0.0.1", show_default=True, help="Where Locust's web UI listens.")
@click.option("--web-port", type=click.IntRange(0, 65535), default=8089, show_default=True, help="0: a free port.")
@click.option(
    "--max-duration",
    "max_duration_s",
    type=click.FloatRange(10, 7 * 24 * 3600),
    default=4 * 3600.0,
    show_default=True,
    help="Seconds after which the session ends by itself (every run has a hard limit).",
)
@click.option(
    "--web-token",
    envvar="TAXSTORM_WEB_TOKEN",
    callback=_web_token,
    help="The token the web UI and Chaos API require (env TAXSTORM_WEB_TOKEN; default: a new one per session, "
    "printed with the URL).",
)
@click.option("--autostart", is_flag=True, help="Start the load at once instead of waiting for Locust's button.")
@click.option(
    "--play-faults",
    is_flag=True,
    help="Also play the scenario's fault timeline (at_s counted from the load's start) beside the operators'.",
)
@click.option(
    "--passive",
    is_flag=True,
    help="The load is a system of your own, not Locust: its URL and credentials are printed (and written to "
    "platform.json); --play-faults starts with its first submission; judged from the platform's side alone.",
)
@client_flags("Judge")
def gameday(
    scenario: Path,
    report_dir: Path,
    web_host: str,
    web_port: int,
    max_duration_s: float,
    web_token: str | None,
    autostart: bool,
    play_faults: bool,
    passive: bool,
    client_ref: str | None,
    client_options: str | None,
    **stack: Any,
) -> None:
    """A game day on SCENARIO's stack and load: Locust's web UI with a Chaos tab where operators apply and revert
    faults, halt, take notes and export the session as a scenario. The scenario's own fault timeline is played
    only with --play-faults (its faults then show in the Chaos tab like the operators'); its halt conditions
    apply live. Ctrl-C (or SIGTERM, or --max-duration) ends the session: drain, reconcile, gates, reports, exit
    code as for 'run'.

    \b
    Examples:
      taxstorm gameday scenarios/wuhan_outage_gameday.yaml            # then open the login= link it prints
      taxstorm gameday scenarios/smoke.yaml --workers 2 --web-port 0  # load from two Locust workers
      taxstorm gameday scenarios/bad_upgrade.yaml --play-faults       # the scripted incident, plus yours
      taxstorm gameday scenarios/maintenance_window.yaml --passive    # your own system makes the load
    """
    if passive and (client_ref or client_options or autostart):
        flag = "--autostart" if autostart else "--client"
        raise click.UsageError(f"--passive: the load is your system's, not a taxstorm client's: drop {flag}")
    _patch_for_locust()
    loaded = _load(scenario, {"client_ref": client_ref, "client_options": client_options, **_platform_flags(stack)})
    options = dataclasses.replace(run_options(report_dir, stack), passive=passive)
    from taxstorm.gameday.run import GamedayOptions, GamedayRun
    from taxstorm.report import terminal
    from taxstorm.report.live import LiveView

    console = _console()
    session = GamedayOptions(web_host, web_port, max_duration_s, autostart, play_faults, web_token)
    sys.argv = sys.argv[:1]  # Locust's web UI re-parses sys.argv with its own parser on every page load
    with LiveView(console) as view:
        result = GamedayRun(loaded, options, session, view.observe).run()
    terminal.render(result, console)
    sys.exit(result.exit_code)


@cli.command()
@click.option("--master-host", envvar="LOCUST_MASTER_NODE_HOST", default="127.0.0.1", show_default=True)
@click.option("--master-port", envvar="LOCUST_MASTER_NODE_PORT", type=click.IntRange(1, 65535), default=5557)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where this worker's clients keep their outbox [a new temporary directory].",
)
def worker(master_host: str, master_port: int, state_dir: Path | None) -> None:
    """A Locust worker of a distributed run: connect to the master ('taxstorm run --expect-workers') and
    run the users it hands over; the run itself (scenario, client, platform address) comes from the master.

    \b
    Example:
      taxstorm worker --master-host locust-master --master-port 5557
    """
    _patch_for_locust()
    import tempfile

    from taxstorm.worker import run_worker

    sys.exit(run_worker(master_host, master_port, state_dir or Path(tempfile.mkdtemp(prefix="taxstorm-worker-"))))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn the error tree into exit codes."""
    try:
        cli.main(args=argv, prog_name="taxstorm", standalone_mode=False)
    except TaxstormError as exc:
        click.echo(f"error: {exc}", err=True)
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return int(ExitCode.ENVIRONMENT_ERROR)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.INVALID_INPUT)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
