"""The HTTP stacks a client can run on: httpx (threads) or geventhttpclient (Locust's fast gevent client).

Both answer with a :class:`Reply` and raise :class:`ConnectFailed` when the request never reached the
platform and :class:`RequestFailed` when it may have (timeout, reset, protocol error mid-request).
``auto`` picks geventhttpclient when gevent has patched the socket module (inside Locust), else httpx.
"""

from __future__ import annotations

import errno
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

StackKind = Literal["auto", "httpx", "gevent"]
JsonBody = dict[str, Any] | str  # a JSON object, or one already serialised


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP answer; header names are lower-case."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class ConnectFailed(Exception):
    """The request never reached the platform (connection refused, no route): safe to send elsewhere."""


class RequestFailed(Exception):
    """The request may have reached the platform: its outcome is unknown."""


class HttpStack(Protocol):
    """One base URL, a keep-alive connection pool, and requests that answer or raise the two errors above."""

    def request(
        self, method: str, path: str, body: JsonBody | None = None, headers: dict[str, str] | None = None
    ) -> Reply: ...

    def close(self) -> None: ...


def trusting(ca_file: Path | None) -> ssl.SSLContext | bool:
    """httpx's ``verify``: a context trusting ``ca_file`` (a run's own CA), else the default trust store."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True


class HttpxStack:
    """httpx.Client: for clients running on threads (services, the harness outside Locust)."""

    def __init__(
        self,
        base_url: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        keep_alive: bool,
        ca_file: Path | None = None,
    ) -> None:
        # Without keep-alive every call opens a new connection, so a partial toxic (toxicity < 1) hits calls at
        # random; with it, one connection is affected on every call or on none.
        limits = httpx.Limits(max_keepalive_connections=None if keep_alive else 0)
        timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._client = httpx.Client(base_url=base_url, timeout=timeout, limits=limits, verify=trusting(ca_file))

    def request(
        self, method: str, path: str, body: JsonBody | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        try:
            if isinstance(body, str):
                headers = {"Content-Type": "application/json", **(headers or {})}  # a caller's type wins (forms)
                response = self._client.request(method, path, content=body.encode(), headers=headers)
            else:
                response = self._client.request(method, path, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectFailed(f"connect: {exc}") from exc
        except httpx.HTTPError as exc:
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from exc
        return Reply(response.status_code, dict(response.headers), response.content)

    def close(self) -> None:
        self._client.close()


class GeventStack:
    """geventhttpclient.HTTPClient: the stack Locust's FastHttpUser uses, several times cheaper per request."""

    def __init__(
        self,
        base_url: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        keep_alive: bool,
        max_connections: int,
        ca_file: Path | None = None,
    ) -> None:
        from geventhttpclient import HTTPClient  # imported here: importing it outside gevent is wasteful

        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url {base_url!r}: expected http(s)://host[:port][/prefix]")
        self._prefix = parts.path.rstrip("/")
        self._headers = {} if keep_alive else {"Connection": "close"}
        self._client = HTTPClient(
            parts.hostname,
            parts.port,
            connection_timeout=connect_timeout_s,
            network_timeout=read_timeout_s,
            concurrency=max_connections,
            ssl=parts.scheme == "https",
            ssl_options={"ca_certs": str(ca_file)} if ca_file is not None else None,  # default: certifi's
        )

    def request(
        self, method: str, path: str, body: JsonBody | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        sent = {**self._headers, **(headers or {})}
        payload = b""
        if body is not None:
            payload = (body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))).encode()
            sent.setdefault("Content-Type", "application/json")  # a caller's type wins (forms)
        try:
            response = self._client.request(method, self._prefix + path, body=payload, headers=sent)
            try:
                content = response.read()
            finally:
                response.release()
        except ConnectionRefusedError as exc:
            raise ConnectFailed(f"connect: {exc}") from exc
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
                raise ConnectFailed(f"connect: {exc}") from exc
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # gevent.Timeout, HTTPParseError, HTTPConnectionClosed: mid-request
            raise RequestFailed(f"{type(exc).__name__}: {exc}") from exc
        return Reply(response.status_code, {k.lower(): v for k, v in response.items()}, content)

    def close(self) -> None:
        self._client.close()


def gevent_active() -> bool:
    """True when gevent has patched the socket module (inside Locust or ``gevent.monkey.patch_all()``)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent comes with Locust
        return False
    return bool(monkey.is_module_patched("socket"))


def make_stack(
    kind: StackKind,
    base_url: str,
    connect_timeout_s: float,
    read_timeout_s: float,
    keep_alive: bool = True,
    max_connections: int = 50,
    ca_file: Path | None = None,
) -> HttpStack:
    """The stack ``kind`` names (``auto``: gevent when patched, else httpx); ``ca_file``: a CA to trust."""
    if kind == "gevent" or (kind == "auto" and gevent_active()):
        return GeventStack(base_url, connect_timeout_s, read_timeout_s, keep_alive, max_connections, ca_file)
    if kind in ("httpx", "auto"):
        return HttpxStack(base_url, connect_timeout_s, read_timeout_s, keep_alive, ca_file)
    raise ValueError(f"http_stack {kind!r}: use auto, httpx or gevent")
