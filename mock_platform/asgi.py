"""Answering from a middleware, before any handler runs."""

from __future__ import annotations

import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taxstorm.mock_platform.api.responses import new_trace_id
from taxstorm.mock_platform.errors import API_VERSION, ApiError, ErrorCode


async def reject(send: Send, error: ApiError, headers: dict[str, str] | None = None) -> None:
    """Answer with an error envelope straight from a middleware (the request never reaches a handler)."""
    trace = new_trace_id()
    body = json.dumps(error.envelope(trace), ensure_ascii=False).encode()
    headers = dict(headers or {})
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    raw = [(b"content-type", b"application/json"), (b"x-trace-id", trace.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": error.http_status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class AdminGuard:
    """Refuses ``/admin`` requests without the admin token before anything reads their body (so a stranger learns
    nothing from validation errors)."""

    def __init__(self, app: ASGIApp, admin_token: str) -> None:
        self.app = app
        self.expected = f"Bearer {admin_token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/admin"):
            given = dict(scope.get("headers", [])).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                refused = ApiError(ErrorCode.BAD_CREDENTIALS, "admin routes need 'Authorization: Bearer <admin token>'")
                await reject(send, refused, {"X-Api-Version": API_VERSION})  # before the counting middleware
                return
        await self.app(scope, receive, send)


class IdempotencyKeyAlias:
    """``Idempotency-Key`` is an alias of ``requestSerialNo`` on ``POST /api/v1/invoices`` (DOMAIN.md §A): a body
    without a serial takes the header's; a body with another serial is refused (E2001)."""

    PATH = "/api/v1/invoices"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = None
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.PATH:
            key = dict(scope.get("headers", [])).get(b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            serial = key.decode(errors="replace")
            given = data.get("requestSerialNo", data.get("fpqqlsh"))
            if given is not None and given != serial:
                clash = ApiError(ErrorCode.SCHEMA, f"Idempotency-Key {serial!r} != requestSerialNo {given!r}")
                await reject(send, ApiError(clash.error, clash.detail, "Idempotency-Key"))
                return
            if given is None:
                body = json.dumps({**data, "requestSerialNo": serial}, ensure_ascii=False).encode()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, replay, send)
