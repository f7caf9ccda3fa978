"""Per-app state handed to routes through dependencies: no module globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mock_platform.auth import Authenticator, Caller
from mock_platform.batch import BatchService
from mock_platform.capacity import CapacityModel
from mock_platform.clock import Clock
from mock_platform.faultmodes import FaultModes
from mock_platform.issuing import IssuingService
from mock_platform.modes import FeatureBoard
from mock_platform.red import RedLetterService
from mock_platform.settings import PlatformSettings
from mock_platform.stats import RequestCounters
from mock_platform.store.db import Database
from mock_platform.store.quota import QuotaBook
from mock_platform.verify import VerificationService


@dataclass
class PlatformState:
    """Everything one app instance owns."""

    settings: PlatformSettings
    clock: Clock
    db: Database
    counters: RequestCounters
    capacity: CapacityModel
    auth: Authenticator
    quota: QuotaBook
    issuing: IssuingService
    batches: BatchService
    red: RedLetterService
    verification: VerificationService
    modes: FaultModes
    board: FeatureBoard = field(default_factory=FeatureBoard)


# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in the thread pool, a
# thread hop per dependency per request (measured: most of the request overhead of the issue path).
async def get_state(request: Request) -> PlatformState:
    """FastAPI dependency: the state of the app serving this request."""
    state: PlatformState = request.app.state.platform
    return state


bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/token")
StateDep = Annotated[PlatformState, Depends(get_state)]


@dataclass(frozen=True)
class Call:
    """An authenticated request: the app's state and the calling taxpayer (one dependency, not two)."""

    state: PlatformState
    caller: Caller


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Call:
    """The app state and the authenticated taxpayer, or 401 E1001 / E1002 / E1003."""
    state: PlatformState = request.app.state.platform
    header = f"Bearer {credentials.credentials}" if credentials is not None else None
    return Call(state, state.auth.caller(header))


CallDep = Annotated[Call, Depends(authenticated)]
