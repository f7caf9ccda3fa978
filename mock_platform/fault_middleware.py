"""The middleware that makes feature availability and fault modes observable on the wire.

Order per API request: maintenance / switched-off feature → injected error (a write answered E9005/E9004 may
have been served first: its outcome is unknown) → bad release route → the capacity model (next middleware) →
added latency, latency leak and ledger stall → the handler → renamed fields → a ghost success (a write that
committed new work loses its answer: 504, or a hang).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taxstorm.mock_platform.asgi import reject
from taxstorm.mock_platform.availability import FeatureBoard
from taxstorm.mock_platform.capacity import family_of
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.fault_modes import FaultModes

WRITE_FAMILIES = frozenset({"auth", "issue", "red", "quota"})


class FaultGateMiddleware:
    """Applies the feature board and the fault modes in front of the capacity model."""

    def __init__(self, app: ASGIApp, board: FeatureBoard, modes: FaultModes, clock: Callable[[], float]) -> None:
        self.app = app
        self.board = board
        self.modes = modes
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        family = family_of(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if family is None:
            await self.app(scope, receive, send)
            return
        now = self.clock()
        refusal = self.board.refusal(family, now)
        if refusal is not None:
            await reject(send, refusal)
            return
        # the writes that create invoices: single, batch and red issuing (POST /api/v1/invoices…)
        invoice_write = scope["method"] == "POST" and scope["path"].startswith("/api/v1/invoices")
        injected = self.modes.error_for(family, now)
        if injected is not None:
            retry = injected.retry_after_s if injected.error.http_status in (429, 503, 504) else None
            if invoice_write and self.modes.commits_before(injected):
                await self.app(scope, receive, _discard)  # served and committed; the answer is what goes wrong
            await reject(send, ApiError(injected.error, "injected by the fault mode", retry_after_s=retry))
            return
        release = self.modes.release.name
        if release == "bad-5xx-by-serial" and "/invoices/by-serial/" in scope["path"]:
            await reject(send, ApiError(ErrorCode.INTERNAL, f"release {release}"))
            return
        delay = self.modes.added_latency_s(family, now)
        if family in WRITE_FAMILIES and scope["method"] != "GET":
            delay += self.modes.stall_s(now)
        if delay > 0:
            await asyncio.sleep(delay)
        if release == "renamed-field" and scope["path"].startswith("/api/v1/invoices"):
            send = _renaming(send, "invoiceNo", "invoiceNumber")
        if invoice_write and self.modes.ghost_active(now):
            await self._ghostly(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _ghostly(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a write; if it committed new work, lose its answer to the ghost mode's share (DOMAIN.md §B3)."""
        answer = _Captured()
        await self.app(scope, receive, answer.send)
        ghost = self.modes.ghost_for(self.clock()) if answer.committed_new_work else None
        if ghost is not None and ghost.answer == "504":
            timeout = ApiError(ErrorCode.TIMEOUT, "upstream timed out; query by serial before resubmitting")
            await reject(send, timeout, {"Retry-After": "1"})
            return
        if ghost is not None:
            await asyncio.sleep(ghost.hang_ms / 1000.0)  # the answer comes after the client gave up
        await answer.replay(send)


async def _discard(message: Message) -> None:
    """A send that loses the answer."""


class _Captured:
    """A response held back: sent on with ``replay``, or never."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def committed_new_work(self) -> bool:
        """A 2xx answer that is not only a replay of earlier requests (a batch with new items counts)."""
        start = next((m for m in self.messages if m["type"] == "http.response.start"), None)
        if start is None or not 200 <= int(start["status"]) < 300:
            return False
        body = b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")
        return b'"replayed":true' not in body or b'"replayed":false' in body

    async def replay(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


def _renaming(send: Send, old: str, new: str) -> Send:
    """Rewrite one JSON key in a (non-streamed) response body, as a careless release would."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks).replace(f'"{old}":'.encode(), f'"{new}":'.encode())
        assert start is not None
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return wrapped
