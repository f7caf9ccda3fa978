"""Request counters per route × status, kept by a pure ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taxstorm.mock_platform.api.responses import error
from taxstorm.mock_platform.errors import API_VERSION, ApiError, ErrorCode

log = logging.getLogger(__name__)


class RequestCounters:
    """Thread-safe counts of finished requests by (method, route template, status) and in-flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._in_flight = 0
        self._epoch = uuid.uuid4().hex[:12]  # changes whenever the counts start again from zero

    def started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def finished(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self._in_flight -= 1
            self._counts[(method, route, status)] += 1

    def snapshot(self) -> dict[str, Any]:
        """Counters as ``{"requests": [{method, route, status, count}], "inFlight": n, "epoch": id}``; ``epoch``
        changes when the counts start again from zero (a new process, a reset): a reader adds up across epochs."""
        with self._lock:
            rows = [{"method": m, "route": r, "status": s, "count": c} for (m, r, s), c in sorted(self._counts.items())]
            return {"requests": rows, "inFlight": self._in_flight, "epoch": self._epoch}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._epoch = uuid.uuid4().hex[:12]


HEADERS_KEY = "taxstorm.response_headers"  # headers inner middlewares add to the answer (no send wrapper of their own)


def response_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The headers every answer to this request gets: ``X-Api-Version``, and what inner middlewares append
    (the rate limit's ``X-RateLimit-*``)."""
    headers: list[tuple[bytes, bytes]] = scope.setdefault(HEADERS_KEY, [(b"x-api-version", API_VERSION.encode())])
    return headers


def _resolve(routes: list[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The route a request would reach (``routes`` are the routers' own routes, full paths)."""
    for candidate in routes:
        if candidate.matches(scope)[0] == Match.FULL:
            return candidate
    return None


class CountingMiddleware:
    """Counts every HTTP request by its route template (``/api/v1/invoices/by-serial/{serial}``).

    Requests refused before routing (maintenance, injected errors, shedding) are matched against the routes
    here, so they count under the route they were meant for.
    """

    def __init__(
        self,
        app: ASGIApp,
        counters: RequestCounters,
        routes: list[BaseRoute] | None = None,
        observe: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.app = app
        self.counters = counters
        self.routes = routes or []
        self.observe = observe  # (method, path, seconds) of every answered request: the latency histogram

    def _template(self, scope: Scope) -> str:
        route = scope.get("route") or _resolve(self.routes, scope)
        return getattr(route, "path", None) or "<unmatched>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = False
        headers = response_headers(scope)

        async def capture(message: Message) -> None:  # the one send wrapper of a request: counts, adds headers
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = int(message["status"]), True
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        self.counters.started()
        began = time.perf_counter()
        try:
            await self.app(scope, receive, capture)
        except Exception as exc:  # a bug: answered here, so that it carries X-Api-Version like every answer
            if started:
                raise
            log.exception("unexpected error in %s %s", scope["method"], scope["path"])
            await error(ApiError(ErrorCode.INTERNAL, type(exc).__name__))(scope, receive, capture)
        finally:
            self.counters.finished(scope["method"], self._template(scope), status)
            if self.observe is not None:
                self.observe(scope["method"], scope["path"], time.perf_counter() - began)
