"""The application factory: ``create_app(settings)`` builds a fresh, independent platform."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from taxstorm import __version__
from taxstorm.mock_platform.api import admin, auth, faults, health, invoices, red, reference, services
from taxstorm.mock_platform.api.responses import drop_validation_422, error
from taxstorm.mock_platform.asgi import AdminGuard, IdempotencyKeyAlias
from taxstorm.mock_platform.auth import Authenticator
from taxstorm.mock_platform.batch import BatchService
from taxstorm.mock_platform.capacity import CapacityMiddleware, CapacityModel
from taxstorm.mock_platform.clock import Clock, OffsetClock
from taxstorm.mock_platform.dialects.irp.gateway import IrpGateway
from taxstorm.mock_platform.dialects.nuonuo.gateway import NuonuoGateway
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.fault_middleware import FaultGateMiddleware
from taxstorm.mock_platform.fault_modes import FaultModes
from taxstorm.mock_platform.issuing import IssuingService
from taxstorm.mock_platform.metrics import StateCollector
from taxstorm.mock_platform.red import RedLetterService
from taxstorm.mock_platform.settings import PlatformSettings
from taxstorm.mock_platform.state import PlatformState, document_bearer
from taxstorm.mock_platform.stats import CountingMiddleware, RequestCounters
from taxstorm.mock_platform.store import invoices as invoices_store
from taxstorm.mock_platform.store.db import open_database
from taxstorm.mock_platform.store.meta import load_clock_offset, save_clock_offset
from taxstorm.mock_platform.store.numbers import Numbering
from taxstorm.mock_platform.store.quota import QuotaBook, QuotaRules
from taxstorm.mock_platform.verify import VerificationService


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error(exc)


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    field = _field_path(tuple(first.get("loc", ())))
    return error(ApiError(ErrorCode.SCHEMA, f"{field}: {first.get('msg', 'invalid')}", field))


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    return error(ApiError(ErrorCode.INTERNAL, type(exc).__name__))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """Routing errors (no such route, method not allowed, an undecodable body) in the envelope too."""
    assert isinstance(exc, StarletteHTTPException)
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return error(ApiError(ErrorCode.NOT_FOUND, f"no route {where}"))
    if exc.status_code == 405:
        return error(ApiError(ErrorCode.SCHEMA, f"method not allowed: {where}", status=405))
    status = exc.status_code if 400 <= exc.status_code < 500 else None
    return error(ApiError(ErrorCode.SCHEMA, str(exc.detail), status=status))


class PlatformApp(FastAPI):
    """The platform's FastAPI app: its OpenAPI document describes the answers as the platform gives them."""

    api_routes: tuple[BaseRoute, ...] = ()  # the routes of the platform's routers (set by create_app)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = document_bearer(drop_validation_422(super().openapi()), self.api_routes)
        return self.openapi_schema


def build_state(settings: PlatformSettings, clock: Clock) -> PlatformState:
    """Wire the services of one platform instance."""
    db = open_database(settings.ledger_path, settings.database_url)
    if isinstance(clock, OffsetClock):  # restarted processes and a second one on the ledger keep the same time
        clock.keep_in(lambda: load_clock_offset(db), lambda offset_s: save_clock_offset(db, offset_s))
    quota = QuotaBook(QuotaRules(settings.monthly_quota, settings.quota_mode, settings.filing_deadline_day))
    modes = FaultModes()
    modes.switch_release(settings.release, clock())
    issuing = IssuingService(db, settings, clock, quota, Numbering(settings.region_code, settings.channel_code), modes)
    return PlatformState(
        settings=settings,
        clock=clock,
        db=db,
        counters=RequestCounters(),
        capacity=CapacityModel(dict(settings.capacity), settings.seed, clock),
        auth=Authenticator(db, settings, clock),
        quota=quota,
        issuing=issuing,
        batches=BatchService(issuing),
        red=RedLetterService(issuing),
        verification=VerificationService(db, clock, settings.verify_daily_limit, settings.verify_max_age_days),
        modes=modes,
    )


def _ledger_size(state: PlatformState) -> int:
    with state.db.read() as tx:
        return invoices_store.count(tx)


def create_app(settings: PlatformSettings, clock: Clock | None = None) -> FastAPI:
    """Build a platform app with its own ledger connection, counters, capacity model and clock."""
    state = build_state(settings, clock or OffsetClock())
    app = PlatformApp(
        title="taxstorm mock tax platform",
        version=__version__,  # one version: the package's
        description="A 数电票-style e-invoicing platform for chaos and load testing (see DOMAIN.md §A).",
    )
    app.state.platform = state
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    # The routes go straight into the app's router, the issue route first: routes are tried in order, and a
    # router included as a whole is matched through a layer of its own (both measured on the issue path).
    routers = [
        invoices.issue_router,
        *(m.router for m in (invoices, auth, health, red, services, reference, admin, faults)),
    ]
    for router in routers:
        app.router.routes.extend(router.routes)
    app.add_middleware(CapacityMiddleware, model=state.capacity, key_of=state.auth.rate_key)
    app.add_middleware(FaultGateMiddleware, board=state.board, modes=state.modes, clock=state.clock)
    routes = [route for router in routers for route in router.routes]
    app.api_routes = tuple(routes)
    app.add_middleware(IdempotencyKeyAlias)  # inside the counting middleware: its refusals are counted and marked
    state.metrics.watch(StateCollector(state.counters.snapshot, state.capacity.snapshot, lambda: _ledger_size(state)))
    app.add_middleware(CountingMiddleware, counters=state.counters, routes=routes, observe=state.metrics.observe)
    app.add_middleware(AdminGuard, admin_token=settings.admin_token)  # before anything reads a body
    app.add_middleware(NuonuoGateway, state=state)  # the dialects outermost: their calls pass everything above
    app.add_middleware(IrpGateway, state=state)
    return app
