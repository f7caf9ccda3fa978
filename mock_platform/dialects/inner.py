"""Native calls made in process by a dialect gateway, through the whole native middleware stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message, Scope

from taxstorm.mock_platform.errors import ErrorCode

_ERRORS = {error.code: error for error in ErrorCode}
CARRIED = ("type", "asgi", "http_version", "scheme", "server", "client", "app")  # what a native call keeps
DIALECT_SCOPE = "taxstorm.dialect"  # what a gateway tells the native routes (no client over the wire can set it)


@dataclass(frozen=True)
class NativeReply:
    """A native answer: status, lower-case headers and the envelope (None when the body was not JSON)."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def code(self) -> str:
        return str((self.body or {}).get("code", ""))

    @property
    def data(self) -> Any:
        return (self.body or {}).get("data")

    @property
    def error(self) -> ErrorCode | None:
        """The native error of a refusal (None for a success, or for an answer that is no native envelope)."""
        return _ERRORS.get(self.code)


class NativeCaller:
    """Calls the native application as if a client had sent the request over the dialect's connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        outer: Scope,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        terms: dict[str, Any] | None = None,
    ) -> NativeReply:
        """One native call; ``terms`` are the dialect's own terms for it (``token_ttl_s``: its tokens' life)."""
        raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        headers = [(b"content-type", b"application/json")] if body is not None else []
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope: Scope = {
            **{k: v for k, v in outer.items() if k in CARRIED},
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(query or {}).encode(),
            "headers": headers,
            "state": {},
            DIALECT_SCOPE: dict(terms or {}),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        start: Message = {}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        answer_headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        try:
            parsed = json.loads(b"".join(chunks) or b"null")
        except ValueError:
            parsed = None
        return NativeReply(int(start.get("status", 500)), answer_headers, parsed if isinstance(parsed, dict) else None)
