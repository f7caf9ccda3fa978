"""Fixtures of the conformance suite: one real platform process per module, talked to over HTTP only.

A module sets its platform's settings by overriding ``platform_settings`` (values as ``TAXSTORM_PLATFORM_*``
strings); every test gets taxpayers of its own, so tests of one module never see each other's invoices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.conformance.support import Api, Taxpayer
from tests.conftest import RunningPlatform, running_platform


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    """Settings of the module's platform (instant processing unless a module says otherwise)."""
    return {}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, platform_settings: dict[str, str]) -> Iterator[RunningPlatform]:
    with running_platform(tmp_path_factory.mktemp("platform"), None, **platform_settings) as running:
        yield running


@pytest.fixture(scope="module")
def api(platform: RunningPlatform) -> Iterator[Api]:
    client = Api(platform)
    yield client
    client.close()


@pytest.fixture
def seller(api: Api) -> Taxpayer:
    """A fresh taxpayer with a token of its own."""
    return api.taxpayer()


@pytest.fixture
def new_taxpayer(api: Api) -> Callable[[], Taxpayer]:
    """Make more fresh taxpayers (buyers, other sellers)."""
    return api.taxpayer


@pytest.fixture
def moves_clock(api: Api) -> Iterator[None]:
    """For a test that moves the platform clock: afterwards the platform is reset (ledger, tokens, clock offset,
    notices), so later tests of the module start on the real time again."""
    yield
    api.platform.admin.reset()
