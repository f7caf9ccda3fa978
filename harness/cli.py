"""The ``taxstorm`` command line; ``main(argv) -> int`` catches the error tree once.

Keep module-level imports light: ``run`` must monkey-patch with gevent (Locust) before anything
imports ``ssl`` or ``socket`` users such as requests or httpx.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.errors import ExitCode, TaxstormError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """taxstorm: chaos and load testing for e-invoicing platforms and their client systems."""


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Each run writes into REPORT_DIR/<run id>/.",
)
@click.option(
    "--toxiproxy-url",
    envvar="TOXIPROXY_URL",
    default=None,
    help="Use this external Toxiproxy (e.g. docker compose) instead of starting one.",
)
@click.option("--toxiproxy-bin-dir", type=click.Path(path_type=Path), default=Path(".bin"), show_default=True)
def run(scenario: Path, report_dir: Path, toxiproxy_url: str | None, toxiproxy_bin_dir: Path) -> None:
    """Run SCENARIO and exit 0 passed, 1 gates failed, 2 invalid input, 3 environment error, 4 revert failed.

    \b
    Example:
      taxstorm run scenarios/smoke.yaml --report-dir reports
    """
    from gevent import monkey

    monkey.patch_all()
    from rich.console import Console

    from harness.report import terminal
    from harness.runner import Runner, RunOptions
    from harness.scenario import load_scenario

    console = Console(width=None if sys.stdout.isatty() else 160)
    loaded = load_scenario(scenario)

    def observe(kind: str, data: dict[str, object]) -> None:
        if kind == "phase":
            details = ", ".join(f"{k}={v}" for k, v in data.items() if k != "phase")
            console.print(f"[cyan]phase[/] {data['phase']} {details}")
        elif kind == "fault":
            console.print(f"[magenta]fault[/] {data['kind']} {data['label']} ({data['type']}) at {data['at_s']}s")

    runner = Runner(loaded, RunOptions(report_dir, toxiproxy_url, toxiproxy_bin_dir), observe)
    result = runner.run()
    terminal.render(result, console)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check scenario FILES and list every problem with its field path.

    \b
    Example:
      taxstorm validate scenarios/*.yaml
    """
    from harness.errors import InvalidInputError
    from harness.scenario import load_scenario

    problems = 0
    for path in files:
        try:
            scenario = load_scenario(path)
        except InvalidInputError as exc:
            problems += 1
            click.echo(str(exc), err=True)
        else:
            click.echo(f"{path}: ok ({scenario.name}, {len(scenario.faults)} faults, {len(scenario.gates)} gates)")
    if problems:
        sys.exit(int(ExitCode.INVALID_INPUT))


@cli.command()
def faults() -> None:
    """List every fault with its parameters and units."""
    from chaos.registry import default_registry

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
    help="Also delete every taxstorm-* proxy on this Toxiproxy.",
)
@click.option("--compose-project", default=None, help="Also unpause / start this compose project's containers.")
def reset(report_dir: Path, toxiproxy_url: str | None, compose_project: str | None) -> None:
    """Clean up after killed runs: their processes, proxies, toxics and platform fault modes.

    \b
    Example:
      taxstorm reset --report-dir reports
    """
    from harness.reset import reset_all

    report = reset_all(report_dir, toxiproxy_url, compose_project)
    for action in report.actions:
        click.echo(action)
    for problem in report.problems:
        click.echo(f"problem: {problem}", err=True)
    if not report.actions and not report.problems:
        click.echo("nothing to reset")
    if report.problems:
        sys.exit(int(ExitCode.REVERT_FAILED))


@cli.command()
@click.option("--toxiproxy-bin-dir", type=click.Path(path_type=Path), default=Path(".bin"), show_default=True)
def doctor(toxiproxy_bin_dir: Path) -> None:
    """Report Python, package versions, Toxiproxy (path + version) and the Docker engine."""
    from harness.doctor import run_checks

    checks = run_checks(toxiproxy_bin_dir)
    for check in checks:
        click.echo(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
    essential = [c for c in checks if c.name != "docker engine"]
    if not all(c.ok for c in essential):
        sys.exit(int(ExitCode.ENVIRONMENT_ERROR))


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
