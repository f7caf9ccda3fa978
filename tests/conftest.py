"""Shared fixtures: real toxiproxy-server and real uvicorn platform processes on ephemeral ports."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taxstorm.chaos.platform_admin import PlatformAdmin
from taxstorm.chaos.platform_process import PlatformProcess
from taxstorm.chaos.toxiproxy import install
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.toxiproxy.server import LocalToxiproxy
from tests.postgres_server import PostgresServer, find_bin_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def toxiproxy_binary() -> Path:
    """The real toxiproxy-server that `make test` installed; a missing one is a failure, not a skip."""
    found = install.locate(REPO / ".bin")
    assert found is not None, "toxiproxy-server v2.x not found: run 'make test' (it installs it into .bin/)"
    return found.server


@pytest.fixture
def toxiproxy(toxiproxy_binary: Path, tmp_path: Path) -> Iterator[ToxiproxyAPI]:
    server = LocalToxiproxy(toxiproxy_binary, tmp_path / "toxiproxy.log")
    api = server.start()
    try:
        yield api
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session (Debian's postgresql package; 'make test' installs it)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (Debian package 'postgresql'); 'make test' installs them")
    server = PostgresServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


Ledger = dict[str, Any]


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Ledger:
    """Platform settings placing a fresh ledger on SQLite or on PostgreSQL: ledger tests run on both."""
    if request.param == "sqlite":
        return {"ledger_path": tmp_path / "ledger.sqlite3"}
    server: PostgresServer = request.getfixturevalue("postgres")
    return {"ledger_path": tmp_path / "unused.sqlite3", "database_url": server.new_database()}


@dataclass
class RunningPlatform:
    """A platform process and how to reach it."""

    process: PlatformProcess
    url: str
    admin: PlatformAdmin
    ledger_path: Path
    admin_token: str


def start_platform(
    tmp_path: Path, ledger_path: Path | None = None, port: int = 0, **settings: str | Path
) -> RunningPlatform:
    """Start ``python -m taxstorm.mock_platform`` (settings as ``TAXSTORM_PLATFORM_*`` values) and wait for /health.
    Issuing is instant unless ``processing_ms`` says otherwise (these tests check one rule at a time)."""
    token = secrets.token_urlsafe(16)
    tmp_path.mkdir(parents=True, exist_ok=True)
    ledger_path = ledger_path or tmp_path / "ledger.sqlite3"
    instant = {"processing_ms": '{"median_ms": 0}', "upload_ms": '{"median_ms": 0}'}
    values = {**instant, **{name: str(value) for name, value in settings.items()}}
    values["ledger_path"] = str(ledger_path)
    process = PlatformProcess(tmp_path, token, values)
    process.port = port
    url = process.start()
    assert process.admin is not None
    return RunningPlatform(process, url, process.admin, ledger_path, token)


@contextmanager
def running_platform(tmp_path: Path, ledger_path: Path | None = None, **settings: str) -> Iterator[RunningPlatform]:
    """A platform process for the length of a ``with`` block."""
    running = start_platform(tmp_path, ledger_path, 0, **settings)
    try:
        yield running
    finally:
        running.process.close()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    with running_platform(tmp_path) as running:
        yield running


@dataclass
class Proxied:
    """The platform behind a Toxiproxy proxy: clients use ``client_url``."""

    api: ToxiproxyAPI
    name: str
    client_url: str
    platform: RunningPlatform


@pytest.fixture
def proxied(toxiproxy: ToxiproxyAPI, platform: RunningPlatform) -> Iterator[Proxied]:
    """A proxy to the platform; after the test it must carry no toxic and be enabled (faults reverted)."""
    name = f"test-{secrets.token_hex(4)}"
    proxy = toxiproxy.create_proxy(name, platform.url.removeprefix("http://"))
    yield Proxied(toxiproxy, name, f"http://{proxy.listen}", platform)
    leftover = toxiproxy.toxics(name)
    enabled = toxiproxy.proxies()[name].enabled
    toxiproxy.delete_proxy(name)
    assert leftover == {}, f"faults not reverted: toxics {sorted(leftover)} still on the proxy"
    assert enabled, "fault not reverted: proxy left disabled"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A Docker engine for the session: the running one, or a dockerd the tests start (skip when impossible)."""
    from tests.docker_engine import docker_engine

    try:
        with docker_engine() as client:
            yield client
    except RuntimeError as exc:
        pytest.skip(str(exc))


SERVER_FIXTURES = frozenset({"postgres", "toxiproxy", "toxiproxy_binary", "platform", "proxied", "docker_client"})
SLOW_UNIT_FILES = frozenset({"test_toxiproxy_install.py"})  # builds Toxiproxy with the Go toolchain


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything that starts a server, a process or a build is ``integration``; the rest is the fast tier
    (``pytest -m "not integration"``: verdict logic, the platform in-process, no servers, seconds)."""
    for item in items:
        path = Path(str(item.fspath))
        fixtures = set(getattr(item, "fixturenames", ()))
        if (
            "integration" in path.parts
            or "conformance" in path.parts
            or path.name in SLOW_UNIT_FILES
            or fixtures & SERVER_FIXTURES
            or "[postgres" in item.nodeid
        ):
            item.add_marker(pytest.mark.integration)
