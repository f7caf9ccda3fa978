"""The game day's web door: who may drive faults and load through Locust's web UI and the Chaos API.

Every request needs the session's token (made per game day, printed with the URL, like a notebook server's):
opening ``/?token=…`` once logs the browser in (an HttpOnly, SameSite=Strict cookie; the address bar loses the
token), scripts send ``Authorization: Bearer …``. A page the operator happens to visit must not be able to apply
faults, halt the run or start a swarm either: requests are refused unless their ``Host`` names this machine by a
loopback name, an IP address or the name the UI was bound to (a DNS-rebinding page arrives under its own domain
name), and a state-changing request that carries an ``Origin`` must come from this very UI. The Chaos API
answers no cross-origin reads (no CORS headers).
"""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.wrappers import Response as AnyResponse

from taxstorm.mock_platform.loopback import LOOPBACK_NAMES, is_loopback

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANY_ADDRESS = frozenset({"", "0.0.0.0", "::", "*"})
ALIVE_PATH = "/chaos/alive"  # the one answer without the token: "the UI is up" (container health checks)
SESSION_COOKIE = "taxstorm_session"
TOKEN_PARAM = "token"


def new_session_token() -> str:
    """A game day's token: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def _matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def _bearer(header: str | None) -> str | None:
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8089`` → ``::1``, ``Example.COM:80`` → ``example.com``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(host_header: str, web_host: str) -> bool:
    """This machine by a loopback name, any IP address, or the name the UI was bound to."""
    name = host_name(host_header)
    bound = web_host.strip().lower()
    return name in LOOPBACK_NAMES or _is_ip(name) or (bound not in ANY_ADDRESS and name == bound)


def origin_allowed(origin: str | None, host_header: str) -> bool:
    """No ``Origin`` (curl, scripts) or this UI's own scheme-less host and port."""
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == host_header.strip().lower()


def is_loopback_bind(web_host: str) -> bool:
    """The UI listens on loopback only (nobody else on the network reaches it)."""
    return is_loopback(web_host)


def guard(app: Flask, web_host: str, token: str) -> None:
    """Refuse foreign hosts, requests without the session's token and cross-origin writes on every route of
    Locust's app; no CORS on the Chaos API."""

    @app.before_request
    def check_door() -> AnyResponse | tuple[Response, int] | None:
        host = request.headers.get("Host", "")
        if not host_allowed(host, web_host):
            why = f"Host {host!r} is not this game day's; open it by IP address, localhost or {web_host}"
            return jsonify({"error": why, "field": "Host"}), 403
        if request.path == ALIVE_PATH and request.method in ("GET", "HEAD"):
            return jsonify({"alive": True})
        if request.method == "GET" and _matches(request.args.get(TOKEN_PARAM), token):
            return _log_in(token)
        if not (
            _matches(request.cookies.get(SESSION_COOKIE), token)
            or _matches(_bearer(request.headers.get("Authorization")), token)
        ):
            why = (
                "this game day needs its token: open the URL printed at its start (/?token=...) "
                "or send 'Authorization: Bearer <token>'"
            )
            return jsonify({"error": why, "field": "token"}), 401
        if request.method not in READ_METHODS and not origin_allowed(request.headers.get("Origin"), host):
            why = f"a request from the page at {request.headers.get('Origin')} may not drive this game day"
            return jsonify({"error": why, "field": "Origin"}), 403
        return None

    @app.after_request
    def no_cors_on_chaos(response: Response) -> Response:
        if request.path.startswith("/chaos"):
            for header in [h for h, _ in response.headers.items() if h.lower().startswith("access-control-")]:
                del response.headers[header]
        return response


def _log_in(token: str) -> AnyResponse:
    """Keep the token in a cookie and take it out of the address bar (and so out of history and screenshots)."""
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != TOKEN_PARAM]
    response = redirect(request.path + (f"?{urlencode(rest)}" if rest else ""), code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return response
