"""The application factory: ``create_app(settings)`` builds a fresh, independent platform."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mock_platform.api import admin, health, invoices
from mock_platform.api.responses import error
from mock_platform.errors import ApiError, ErrorCode
from mock_platform.ledger import Ledger, now_epoch
from mock_platform.settings import PlatformSettings
from mock_platform.state import PlatformState
from mock_platform.stats import CountingMiddleware, RequestCounters


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
    detail = f"{field}: {first.get('msg', 'invalid')}"
    return error(ApiError(ErrorCode.SCHEMA, detail, field))


def create_app(settings: PlatformSettings, clock: Callable[[], float] = now_epoch) -> FastAPI:
    """Build a platform app with its own ledger, counters and clock."""
    app = FastAPI(title="taxstorm mock tax platform", version="0.1.0")
    counters = RequestCounters()
    ledger = Ledger(settings.ledger_path, settings.region_code + settings.channel_code)
    app.state.platform = PlatformState(settings=settings, ledger=ledger, counters=counters, clock=clock)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.include_router(health.router)
    app.include_router(invoices.router)
    app.include_router(admin.router)
    app.add_middleware(CountingMiddleware, counters=counters)
    return app
