"""Building a platform app in-process with a movable clock, and calling it as a taxpayer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from taxstorm.mock_platform.app import create_app
from taxstorm.mock_platform.clock import OffsetClock
from taxstorm.mock_platform.settings import PlatformSettings
from tests.helpers import SELLER, fetch

ADMIN = {"Authorization": "Bearer admin-secret"}
START = 1_795_000_000.0  # 2026-11-18 19:06:40 CST: after the 15th of the month


class FixedBase:
    """A settable base time under an OffsetClock."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# issued and uploaded at once, unless a test wants the asynchronous platform
INSTANT: dict[str, Any] = {"processing_ms": {"median_ms": 0}, "upload_ms": {"median_ms": 0}}


@contextmanager
def platform_app(ledger: dict[str, Any], **settings: Any) -> Iterator[tuple[TestClient, OffsetClock]]:
    """A fresh platform on a fixed, movable clock; ``ledger`` places it on SQLite or PostgreSQL. Issuing is
    instant here (tests of one rule at a time); tests of the asynchronous platform pass ``processing_ms``."""
    clock = OffsetClock(FixedBase())
    config = PlatformSettings(admin_token="admin-secret", **ledger, **{**INSTANT, **settings})
    with TestClient(create_app(config, clock=clock), raise_server_exceptions=False) as client:
        yield client, clock


def token(client: TestClient, taxpayer: str = SELLER.tax_id) -> dict[str, str]:
    """Authorization headers for a taxpayer."""
    answer = client.post("/api/v1/auth/token", json=fetch(taxpayer))
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['data']['accessToken']}"}
