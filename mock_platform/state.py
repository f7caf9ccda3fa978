"""Per-app state handed to routes through dependencies: no module globals."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from taxstorm.mock_platform.auth import Authenticator, Caller
from taxstorm.mock_platform.availability import FeatureBoard
from taxstorm.mock_platform.batch import BatchService
from taxstorm.mock_platform.capacity import CapacityModel
from taxstorm.mock_platform.clock import Clock
from taxstorm.mock_platform.fault_modes import FaultModes
from taxstorm.mock_platform.issuing import IssuingService
from taxstorm.mock_platform.metrics import PlatformMetrics
from taxstorm.mock_platform.red import RedLetterService
from taxstorm.mock_platform.settings import PlatformSettings
from taxstorm.mock_platform.stats import RequestCounters
from taxstorm.mock_platform.store.db import Database
from taxstorm.mock_platform.store.quota import QuotaBook
from taxstorm.mock_platform.verify import VerificationService


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
    metrics: PlatformMetrics = field(default_factory=PlatformMetrics)


# Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in the thread pool, a
# thread hop per dependency per request (measured: most of the request overhead of the issue path).
async def get_state(request: Request) -> PlatformState:
    """FastAPI dependency: the state of the app serving this request."""
    state: PlatformState = request.app.state.platform
    return state


StateDep = Annotated[PlatformState, Depends(get_state)]


@dataclass(frozen=True)
class Call:
    """An authenticated request: the app's state and the calling taxpayer (one dependency, not two)."""

    state: PlatformState
    caller: Caller


async def authenticated(request: Request) -> Call:
    """The app state and the authenticated taxpayer, or 401 E1001 / E1002 / E1003.

    It reads ``Authorization`` itself rather than through an ``HTTPBearer`` sub-dependency (the sub-dependency
    cost the issue path more than the token check; measured with benchmarks/platform_throughput.py);
    ``document_bearer`` puts the scheme in the OpenAPI document of every route that depends on this."""
    state: PlatformState = request.app.state.platform
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    header = f"Bearer {token}" if scheme.lower() == "bearer" and token else None  # the scheme is case-insensitive
    return Call(state, state.auth.caller(header))


BEARER = "HTTPBearer"


def document_bearer(spec: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Declare the bearer scheme in an OpenAPI document, and require it on the operations of routes that depend on
    ``authenticated``."""
    scheme = {"type": "http", "scheme": "bearer", "description": "token from POST /api/v1/auth/token"}
    spec.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = scheme
    for route in routes:
        if isinstance(route, APIRoute) and _depends_on(route.dependant, authenticated):
            for method in route.methods or ():
                operation = spec.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    operation["security"] = [{BEARER: []}]
    return spec


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


CallDep = Annotated[Call, Depends(authenticated)]
