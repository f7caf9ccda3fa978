"""The envelope, its helpers, and the OpenAPI description of every status a route can return."""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from taxstorm.mock_platform.api.schemas import Absent, Code, Serial, TraceId, omitted
from taxstorm.mock_platform.availability import Feature
from taxstorm.mock_platform.errors import API_VERSION, ApiError, ErrorCode


class TraceIds:
    """Trace ids: 32 hex digits, a random half drawn once per process and a counting half (a random draw per
    request is a system call, measured at 1.5% of the issue path). Unique across processes, not secret."""

    def __init__(self) -> None:
        self._prefix: str | None = None
        self._count = itertools.count()

    def __call__(self) -> str:
        if self._prefix is None:
            self._prefix = os.urandom(8).hex()
        return f"{self._prefix}{next(self._count):016x}"


new_trace_id = TraceIds()


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


class Envelope(BaseModel):
    """The success envelope (code 0000) around a route's data."""

    model_config = ConfigDict(extra="forbid")
    code: Literal["0000"]
    message: str
    messageZh: str
    traceId: TraceId
    data: Any


class ErrorData(BaseModel):
    """What some errors add: a serial to query (E9004, E3003), a notice (E9002), a feature (E9006), disconnFlag."""

    model_config = ConfigDict(extra="forbid")
    requestSerialNo: Serial | Absent = omitted()
    status: Literal["PROCESSING"] | Absent = omitted()
    noticeId: str | Absent = omitted()
    end: datetime | Absent = omitted()
    feature: Feature | Absent = omitted()
    disconnFlag: Literal[1] | Absent = omitted("the tax bureau's session dropped (E1003)")


class ErrorEnvelope(BaseModel):
    """The error envelope: a code of the error table and what went wrong, in English and Chinese."""

    model_config = ConfigDict(extra="forbid")
    code: Code
    message: str
    messageZh: str
    traceId: TraceId
    field: str | Absent = omitted("the offending field's path, e.g. lines[0].taxAmount")
    data: ErrorData | None


@functools.cache
def envelope(data: type[BaseModel]) -> type[Envelope]:
    """The success envelope carrying ``data``: one class per data model, named ``<data>Envelope``."""
    name = data.__name__
    return create_model(f"{name}Envelope", __base__=Envelope, __doc__=f"The success envelope of a {name}.", data=data)


@functools.cache
def error_envelope(status: int) -> type[ErrorEnvelope]:
    """The error envelope of an HTTP status: its code is one the error table answers with that status."""
    codes = [code.code for code in ErrorCode if code.http_status == status]
    if not codes:
        raise ValueError(f"no error code is answered with HTTP {status}")
    return create_model(
        f"Error{status}",
        __base__=ErrorEnvelope,
        __doc__=f"An error answered with HTTP {status}: {', '.join(codes)}.",
        code=(str, Field(pattern=f"^({'|'.join(codes)})$")),
    )


def _integer(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "integer"}}


RETRY_AFTER = {"Retry-After": _integer("seconds to wait")}
RATE_LIMIT = {
    "X-RateLimit-Limit": _integer("requests allowed per window (rate-limited families)"),
    "X-RateLimit-Remaining": _integer("requests left in this window"),
    "X-RateLimit-Reset": _integer("seconds until the window resets"),
}
RATE_HEADERS = {**RETRY_AFTER, **RATE_LIMIT}
EVERY_ANSWER = {"X-Api-Version": {"required": True, "schema": {"type": "string", "enum": [API_VERSION]}}}
TRACE_ID = {"X-Trace-Id": {"required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}}
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
_HEADERS = {200: RATE_LIMIT, 202: RATE_HEADERS, 409: RETRY_AFTER, 429: RATE_HEADERS, 503: RETRY_AFTER, 504: RETRY_AFTER}
# Every business route can be throttled, shed, time out or fail inside (capacity model and fault modes).
ALWAYS = (400, 401, 429, 500, 503, 504)


def responses(
    *statuses: int,
    data: type[BaseModel] | None = None,
    accepted: type[BaseModel] | None = None,
    media: Sequence[str] = (),
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given statuses plus those every business route can return: 200 carries
    ``data`` in the envelope (or, with ``media``, a document of one of those types), 202 ``accepted`` (else
    ``data``), and each error status its error envelope."""
    entries: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, *ALWAYS}):
        entry: dict[str, Any] = {"description": _DESCRIPTIONS[status], "headers": {**EVERY_ANSWER, **TRACE_ID}}
        if status == 200 and media:
            entry["headers"] = dict(EVERY_ANSWER)  # a document, not an envelope: no trace id
            entry["content"] = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in media}
        elif status in (200, 202):
            model = accepted if status == 202 and accepted is not None else data
            if model is None:
                raise ValueError(f"HTTP {status} needs the model of its data")
            entry["model"] = envelope(model)
        else:
            entry["model"] = error_envelope(status)
        entry["headers"].update(_HEADERS.get(status, {}))
        entries[status] = entry
    return entries


def drop_validation_422(spec: dict[str, Any]) -> dict[str, Any]:
    """Remove the 422 FastAPI documents on its own for routes with parameters: the platform answers a request that
    fails validation 400 E2001, never FastAPI's ``HTTPValidationError``."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.get("responses", {})
            schema = answers.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                del answers["422"]
    schemas = spec.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec
