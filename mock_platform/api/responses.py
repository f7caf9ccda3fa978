"""Envelope helpers and the OpenAPI description of error responses."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

from mock_platform.errors import ApiError


def new_trace_id() -> str:
    """A fresh trace id for one request."""
    return uuid.uuid4().hex


def ok(data: Any, status_code: int = 200) -> JSONResponse:
    """Wrap data in the success envelope."""
    trace_id = new_trace_id()
    return JSONResponse(
        {"code": "0000", "message": "OK", "traceId": trace_id, "data": data},
        status_code=status_code,
        headers={"X-Trace-Id": trace_id},
    )


def error(exc: ApiError) -> JSONResponse:
    """Render an ApiError with its table status."""
    trace_id = new_trace_id()
    return JSONResponse(exc.envelope(trace_id), status_code=exc.error.http_status, headers={"X-Trace-Id": trace_id})


ERROR_BODY: dict[str, Any] = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["code", "message", "traceId"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "messageZh": {"type": "string"},
                    "traceId": {"type": "string"},
                    "field": {"type": "string"},
                    "data": {},
                },
            }
        }
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can return."""
    return {status: {"description": "Error envelope", **ERROR_BODY} for status in statuses}
