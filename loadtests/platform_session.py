"""Direct platform calls for the load that does not go through the client under test.

Receivers verifying invoices, red-letter returns and period-start housekeeping are other parties' traffic
on the same platform: they compete with the client under test for capacity, as they do in peak season.
One session serves many taxpayers, with one cached token each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxstorm.clients.http_stack import ConnectFailed, HttpStack, JsonBody, Reply, RequestFailed, StackKind, make_stack
from taxstorm.clients.transport import TokenProvider
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for


@dataclass(frozen=True)
class CallResult:
    """One call's answer: ``ok`` (2xx with data), or the status and error code that came instead."""

    ok: bool
    status: int
    data: dict[str, Any]
    code: str = ""
    message: str = ""

    @property
    def error(self) -> str:
        return f"HTTP {self.status} {self.code} {self.message}".strip()


class PlatformSession:
    """Calls as any taxpayer: token per taxpayer (fetched once, refreshed on 401), errors as results."""

    def __init__(
        self,
        base_url: str,
        credential_key: str = DEV_CREDENTIAL_KEY,
        timeout_s: float = 5.0,
        stack: StackKind = "auto",
        ca_file: Path | None = None,
    ) -> None:
        self._http: HttpStack = make_stack(stack, base_url, timeout_s, timeout_s, ca_file=ca_file)
        self._credential_key = credential_key
        self._tokens: dict[str, TokenProvider] = {}

    def call(self, taxpayer: str, method: str, path: str, body: JsonBody | None = None) -> CallResult:
        """``method path`` as ``taxpayer``; transport failures become status 0 results, never exceptions."""
        tokens = self._tokens.get(taxpayer)
        if tokens is None:
            tokens = self._tokens[taxpayer] = TokenProvider(lambda: self._fetch_token(taxpayer))
        try:
            token = tokens.token()
            reply = self._http.request(method, path, body, {"Authorization": f"Bearer {token}"})
            if reply.status_code == 401:  # expired or revoked: once more with a fresh token
                tokens.invalidate(token)
                reply = self._http.request(method, path, body, {"Authorization": f"Bearer {tokens.token()}"})
        except (ConnectFailed, RequestFailed) as exc:
            return CallResult(False, 0, {}, "NETWORK", str(exc))
        except _TokenRefused as exc:
            return exc.result
        return _result(reply)

    def _fetch_token(self, taxpayer: str) -> tuple[str, float]:
        client_id, secret = credentials_for(self._credential_key, taxpayer)  # each taxpayer's own credential
        body = {"clientId": client_id, "clientSecret": secret, "taxpayerId": taxpayer}
        result = _result(self._http.request("POST", "/api/v1/auth/token", body))
        if not result.ok:
            raise _TokenRefused(result)
        return str(result.data["accessToken"]), float(result.data["expiresIn"])

    def close(self) -> None:
        self._http.close()


class _TokenRefused(Exception):
    def __init__(self, result: CallResult) -> None:
        super().__init__(result.error)
        self.result = result


def _result(reply: Reply) -> CallResult:
    try:
        body = reply.json()
    except ValueError:
        return CallResult(False, reply.status_code, {}, "", reply.text[:200])
    if not isinstance(body, dict):
        return CallResult(False, reply.status_code, {}, "", reply.text[:200])
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    ok = 200 <= reply.status_code < 300
    return CallResult(ok, reply.status_code, data or {}, str(body.get("code", "")), str(body.get("message", "")))
