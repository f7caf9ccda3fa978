"""Envelope helpers and the OpenAPI description of every status a route can return."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse

from mock_platform.errors import ApiError


def new_trace_id() -> str:
    """A fresh trace id for one request."""
    return uuid.uuid4().hex


def ok(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Wrap data in the success envelope."""
    trace_id = new_trace_id()
    return JSONResponse(
        {"code": "0000", "message": "OK", "messageZh": "成功", "traceId": trace_id, "data": data},
        status_code=status_code,
        headers={"X-Trace-Id": trace_id, **(headers or {})},
    )


def error(exc: ApiError) -> JSONResponse:
    """Render an ApiError with its table status and ``Retry-After`` when it has one."""
    trace_id = new_trace_id()
    headers = {"X-Trace-Id": trace_id, **(exc.headers or {})}
    if exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(exc.envelope(trace_id), status_code=exc.http_status, headers=headers)


ENVELOPE_SCHEMA: dict[str, Any] = {
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
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
RATE_HEADERS = {
    **RETRY_AFTER,
    "X-RateLimit-Limit": {"schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"schema": {"type": "integer"}},
}
_DESCRIPTIONS = {
    200: "OK",
    202: "Accepted: PROCESSING",
    400: "E2001 schema",
    401: "E1001/E1002/E1003 authentication",
    403: "E1004/E1005/E4002 forbidden",
    404: "E3004 not found",
    409: "conflict (E3002/E3003/E4003/E4004/E5001)",
    422: "business rule (E2002–E2005, E4001, E5002–E5004, E6002)",
    429: "E9001 rate limited / E6001 verification limit",
    500: "E9005 internal error: outcome unknown",
    503: "E9002 maintenance / E9003 busy / E9006 feature disabled",
    504: "E9004 timeout: outcome unknown",
}
_HEADERS = {409: RETRY_AFTER, 429: RATE_HEADERS, 503: RETRY_AFTER, 504: RETRY_AFTER}
# Every business route can be throttled, shed, time out or fail inside (capacity model and fault modes).
ALWAYS = (400, 401, 429, 500, 503, 504)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given statuses plus those every business route can return."""
    entries: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *ALWAYS}):
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
        }
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        entries[status] = entry
    return entries
