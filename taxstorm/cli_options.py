"""The options ``run``, ``capacity`` and ``gameday`` share: where the stack is and where the load runs.

Local mode needs none of them. External mode (docker compose) names the running platform and Toxiproxy;
distributed mode either starts Locust workers here (``--workers``) or waits for workers started elsewhere
(``--expect-workers``, as compose's ``locust-worker`` service).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:  # importing the runner imports Locust, which must wait for the command's monkey-patching
    from taxstorm.runner import RunOptions

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "--toxiproxy-url",
        envvar="TOXIPROXY_URL",
        default=None,
        help="Use this external Toxiproxy (e.g. docker compose) instead of starting one.",
    ),
    click.option("--toxiproxy-bin-dir", type=click.Path(path_type=Path), default=Path(".bin"), show_default=True),
    click.option(
        "--toxiproxy-proxy",
        envvar="TAXSTORM_PROXY",
        default=None,
        help="Use this existing proxy of --toxiproxy-url (compose populates 'platform') instead of creating one.",
    ),
    click.option(
        "--platform-url",
        envvar="TAXSTORM_PLATFORM_URL",
        default=None,
        help="External mode: the running platform (admin API, never proxied), e.g. http://platform:8080.",
    ),
    click.option(
        "--admin-token",
        envvar="TAXSTORM_ADMIN_TOKEN",
        default=None,
        help="External mode: the platform's admin token (env TAXSTORM_ADMIN_TOKEN).",
    ),
    click.option(
        "--credential-key",
        envvar="TAXSTORM_CREDENTIAL_KEY",
        default=None,
        help="External mode: the platform's credential_key, from which every seller's credential is derived "
        "[the platform's default development key].",
    ),
    click.option(
        "--ca-file",
        envvar="TAXSTORM_CA_FILE",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="External mode over HTTPS: the CA (PEM) your platform's certificate chains to; clients reach it "
        "through Toxiproxy by the proxy's host name, which the certificate must name.",
    ),
    click.option(
        "--docker-project",
        envvar="COMPOSE_PROJECT_NAME",
        default=None,
        help="Container faults act on this compose project's services.",
    ),
    click.option(
        "--workers",
        type=click.IntRange(1, 64),
        default=None,
        help="Run the load on N Locust worker processes started here (Locust's distributed mode).",
    ),
    click.option(
        "--expect-workers",
        type=click.IntRange(1, 1024),
        default=None,
        help="Wait for N Locust workers started elsewhere ('taxstorm worker', compose's locust-worker).",
    ),
    click.option(
        "--master-bind",
        default=None,
        metavar="HOST:PORT",
        help="Where the Locust master listens for workers [127.0.0.1:0 with --workers, 0.0.0.0:5557 otherwise].",
    ),
    click.option(
        "--workers-timeout",
        type=click.FloatRange(1, 3600),
        default=60.0,
        show_default=True,
        help="Seconds to wait for every worker to connect.",
    ),
]


def stack_options(command: F) -> F:
    """Add the shared options to a click command."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def _bind(text: str | None, default: tuple[str, int]) -> tuple[str, int]:
    if text is None:
        return default
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{text!r}: give HOST:PORT, e.g. 0.0.0.0:5557", param_hint="--master-bind")
    return host, int(port)


def check_report_dir(report_dir: Path) -> None:
    """The reports folder exists (or can be made) and takes files; otherwise a usage error before anything
    starts, rather than a traceback once the platform and Toxiproxy are up."""
    if report_dir.exists() and not report_dir.is_dir():
        raise click.BadParameter(f"{report_dir} is a file, not a folder; give a folder", param_hint="--report-dir")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=report_dir, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise click.BadParameter(
            f"cannot write reports in {report_dir} ({reason}); give a writable folder", param_hint="--report-dir"
        ) from None


def run_options(report_dir: Path, values: dict[str, Any]) -> RunOptions:
    """RunOptions from the shared options' values; contradictions are click usage errors (exit 2)."""
    from taxstorm.load_driver import WorkerOptions
    from taxstorm.runner import RunOptions

    check_report_dir(report_dir)
    workers, expected = values.pop("workers"), values.pop("expect_workers")
    master_bind, timeout_s = values.pop("master_bind"), values.pop("workers_timeout")
    if workers is not None and expected is not None:
        raise click.UsageError("--workers starts workers here, --expect-workers waits for others: give one")
    if values["toxiproxy_proxy"] and not values["toxiproxy_url"]:
        raise click.UsageError("--toxiproxy-proxy names a proxy of an external Toxiproxy: give --toxiproxy-url too")
    if values["platform_url"] and not values["admin_token"]:
        raise click.UsageError("--platform-url needs the platform's admin token: --admin-token or TAXSTORM_ADMIN_TOKEN")
    worker_options = None
    if workers is not None:
        host, port = _bind(master_bind, ("127.0.0.1", 0))
        worker_options = WorkerOptions(workers, True, host, port, timeout_s)
    elif expected is not None:
        host, port = _bind(master_bind, ("0.0.0.0", 5557))
        worker_options = WorkerOptions(expected, False, host, port, timeout_s)
    elif master_bind is not None:
        raise click.UsageError("--master-bind applies to distributed runs: add --workers or --expect-workers")
    return RunOptions(
        report_dir=report_dir,
        toxiproxy_url=values["toxiproxy_url"],
        toxiproxy_bin_dir=values["toxiproxy_bin_dir"],
        workers=worker_options,
        platform_url=values["platform_url"],
        admin_token=values["admin_token"],
        credential_key=values["credential_key"],
        proxy=values["toxiproxy_proxy"],
        docker_project=values["docker_project"],
        ca_file=values["ca_file"],
    )
