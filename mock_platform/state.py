"""Per-app state handed to routes through a dependency: no module globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from mock_platform.ledger import Ledger
from mock_platform.settings import PlatformSettings
from mock_platform.stats import RequestCounters


@dataclass
class PlatformState:
    """Settings, ledger, counters and clock of one app instance."""

    settings: PlatformSettings
    ledger: Ledger
    counters: RequestCounters
    clock: Callable[[], float]


def get_state(request: Request) -> PlatformState:
    """FastAPI dependency: the state of the app serving this request."""
    state: PlatformState = request.app.state.platform
    return state
