"""Answering from a middleware, before any handler runs."""

from __future__ import annotations

import json
import uuid

from starlette.types import Send

from mock_platform.errors import ApiError


async def reject(send: Send, error: ApiError, headers: dict[str, str] | None = None) -> None:
    """Answer with an error envelope straight from a middleware (the request never reaches a handler)."""
    trace = uuid.uuid4().hex
    body = json.dumps(error.envelope(trace), ensure_ascii=False).encode()
    headers = dict(headers or {})
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    raw = [(b"content-type", b"application/json"), (b"x-trace-id", trace.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": error.error.http_status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
