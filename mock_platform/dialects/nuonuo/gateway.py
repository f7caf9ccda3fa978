"""The Nuonuo gateway: ``POST /accessToken`` and ``POST /open/v1/services`` translated onto the native platform.

A services call is checked as Nuonuo checks it (the query's ``senid``/``nonce``/``timestamp``/``appkey``, the
``X-Nuonuo-Sign`` HMAC-SHA1, the timestamp against the wall clock, the ``accessToken`` and ``userTax`` headers,
the ``method`` header), then made as native calls: those pass the capacity model, every fault mode and the ledger
as any native request does, and their answers and errors come back in Nuonuo's envelope and codes (codes.py).
The order number is the business key: it is the native order reference and (when it fits the pattern) the
native request serial, so a repeated order number is refused (E9106) instead of replayed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from taxstorm.mock_platform.dialects.edge import (
    GATEWAY_TIMEOUT,
    MAX_BODY,
    DialectCode,
    WireAnswer,
    body_of,
    headers_of,
    send_answer,
)
from taxstorm.mock_platform.dialects.inner import NativeCaller, NativeReply
from taxstorm.mock_platform.dialects.nuonuo import codes
from taxstorm.mock_platform.dialects.nuonuo.codes import SUCCESS
from taxstorm.mock_platform.dialects.nuonuo.orders import (
    OrderError,
    native_issue,
    native_serial,
    order_no_of,
    serial_num_for,
)
from taxstorm.mock_platform.dialects.nuonuo.results import result_item
from taxstorm.mock_platform.dialects.nuonuo.signing import signature_matches
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.state import PlatformState
from taxstorm.mock_platform.taxid import is_valid_tax_id

TOKEN_PATH = "/accessToken"
SERVICES_PATH = "/open/v1/services"
MAX_IDS = 50  # identifiers per queryInvoiceResult
ISSUE_METHODS = frozenset({"nuonuo.OpeMplatform.requestBillingNew", "nuonuo.ElectronInvoice.requestBillingNew"})
QUERY_METHODS = frozenset({"nuonuo.OpeMplatform.queryInvoiceResult", "nuonuo.ElectronInvoice.queryInvoiceResult"})


def envelope(answer: DialectCode, detail: str = "", result: Any = None) -> WireAnswer:
    """Nuonuo's ``{code, describe, result}``, always HTTP 200."""
    describe = f"{answer.text}：{detail}" if detail else answer.text
    body = {"code": answer.code, "describe": describe, "result": result}
    return WireAnswer(200, json.dumps(body, ensure_ascii=False).encode())


def token_error(answer: DialectCode, detail: str = "") -> WireAnswer:
    """The token endpoint's ``{error, error_description}``."""
    text = f"{answer.text}[{detail}]" if detail else answer.text
    return WireAnswer(200, json.dumps({"error": answer.code, "error_description": text}, ensure_ascii=False).encode())


def _native_detail(reply: NativeReply) -> str:
    """The platform's own words on a refusal: Chinese, then the English with the field."""
    body = reply.body or {}
    field = body.get("field")
    message = f"{field}: {body.get('message', '')}" if field else str(body.get("message", ""))
    return f"{body['messageZh']}（{message}）" if body.get("messageZh") else message


Handler = Callable[[Scope, str, dict[str, Any]], Awaitable[WireAnswer]]


class NuonuoGateway:
    """ASGI middleware answering Nuonuo's two paths; every other request goes on to the native application."""

    def __init__(self, app: ASGIApp, state: PlatformState, wall: Callable[[], float] = time.time) -> None:
        self.app = app
        self.native = NativeCaller(app)
        self.state = state
        self.wall = wall  # a signed timestamp is real time, whatever the simulated platform clock says
        self.methods: dict[str, Handler] = {m: self._issue for m in ISSUE_METHODS} | {
            m: self._query for m in QUERY_METHODS
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in (TOKEN_PATH, SERVICES_PATH):
            await self.app(scope, receive, send)
            return
        body = await body_of(receive)
        if scope["method"] != "POST" or body is None:
            problem = "POST only" if scope["method"] != "POST" else f"body over {MAX_BODY} bytes"
            answer = envelope(codes.BAD_PARAMETERS, problem)
        elif scope["path"] == TOKEN_PATH:
            answer = await self._token(scope, body)
        else:
            answer = await self._services(scope, body)
        await send_answer(send, answer)

    async def _token(self, scope: Scope, body: bytes) -> WireAnswer:
        if not headers_of(scope).get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return token_error(codes.TOKEN_BAD_CONTENT_TYPE, "use application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if form.get("grant_type") != "client_credentials":
            return token_error(codes.TOKEN_BAD_APP_TYPE, "only self-use apps (grant_type=client_credentials) here")
        taxpayer = self.state.auth.taxpayer_of(client_id)
        if self.state.auth.secret_of(client_id) is None or (taxpayer is not None and not is_valid_tax_id(taxpayer)):
            return token_error(codes.TOKEN_BAD_CLIENT_ID, client_id)
        if taxpayer is None:
            return token_error(codes.TOKEN_BAD_APP_TYPE, f"{client_id} is not a self-use app of one taxpayer")
        request = {"clientId": client_id, "clientSecret": secret, "taxpayerId": taxpayer}
        reply = await self.native(scope, "POST", "/api/v1/auth/token", body=request)
        if reply.status == 200:
            data = reply.data
            return WireAnswer(
                200, json.dumps({"access_token": data["accessToken"], "expires_in": str(data["expiresIn"])}).encode()
            )
        error = reply.error
        if error is ErrorCode.TIMEOUT or reply.body is None:
            return GATEWAY_TIMEOUT
        if error is ErrorCode.BAD_CREDENTIALS:
            return token_error(codes.TOKEN_BAD_SECRET, client_id)
        if error is ErrorCode.RATE_LIMITED:
            return token_error(codes.TOKEN_CALLS_LIMITED, _native_detail(reply))
        return token_error(codes.for_native(error) if error else codes.UNKNOWN, _native_detail(reply))

    async def _services(self, scope: Scope, body: bytes) -> WireAnswer:
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        senid, nonce, timestamp, app_key = (query.get(k, "") for k in ("senid", "nonce", "timestamp", "appkey"))
        for name, value, good in (
            ("senid", senid, len(senid) == 32 and senid.isascii() and senid.isalnum()),
            ("nonce", nonce, nonce.isascii() and nonce.isdigit()),
            ("timestamp", timestamp, timestamp.isascii() and timestamp.isdigit()),
            ("appkey", app_key, bool(app_key)),
        ):
            if not good:
                return envelope(codes.BAD_PARAMETERS, f"query parameter {name}={value!r}")
        secret = self.state.auth.secret_of(app_key)
        if secret is None:
            return envelope(codes.BAD_APP_KEY, app_key)
        try:
            content = body.decode("utf-8")
        except UnicodeDecodeError:
            return envelope(codes.BAD_PARAMETERS, "the body is not UTF-8")
        headers = headers_of(scope)
        skew = abs(self.wall() - int(timestamp))
        if skew > self.state.settings.nuonuo_timestamp_window_s:
            return envelope(codes.BAD_SIGNATURE, f"timestamp {timestamp} is {skew:.0f} s off; 请检查服务器时间")
        if not signature_matches(headers.get("x-nuonuo-sign", ""), secret, app_key, senid, nonce, content, timestamp):
            return envelope(codes.BAD_SIGNATURE, "签名不匹配")
        token = headers.get("accesstoken", "")
        try:
            caller = self.state.auth.caller(f"Bearer {token}")
        except ApiError:
            caller = None  # unknown, expired or revoked: the native call refuses it (counted like any 401) → 070301
        if caller is not None and caller.client_id != app_key:
            return envelope(codes.TOKEN_MISMATCH, "the token belongs to another app")
        user_tax = headers.get("usertax", "")
        if caller is not None and user_tax and user_tax != caller.taxpayer_id:
            return envelope(codes.TAXPAYER_MISMATCH, f"userTax {user_tax} is not the token's taxpayer")
        handler = self.methods.get(headers.get("method", ""))
        if handler is None:
            known = ", ".join(sorted(self.methods))
            return envelope(codes.NO_SUCH_API, f"method {headers.get('method', '')!r}; this platform serves {known}")
        try:
            data = json.loads(content)
        except ValueError:
            return envelope(codes.BAD_PARAMETERS, "the body is not JSON")
        if not isinstance(data, dict):
            return envelope(codes.BAD_PARAMETERS, "the body is not a JSON object")
        return await handler(scope, token, data)

    @staticmethod
    def _failure(reply: NativeReply) -> WireAnswer:
        """A native refusal in Nuonuo's words."""
        error = reply.error
        if error is ErrorCode.TIMEOUT or reply.body is None:
            return GATEWAY_TIMEOUT
        return envelope(codes.for_native(error) if error else codes.UNKNOWN, _native_detail(reply))

    async def _issue(self, scope: Scope, token: str, data: dict[str, Any]) -> WireAnswer:
        try:
            body = native_issue(data.get("order"))
        except OrderError as exc:
            return envelope(codes.ORDER_INVALID, str(exc))
        reply = await self.native(scope, "POST", "/api/v1/invoices", token=token, body=body)
        if reply.status not in (200, 202):
            return self._failure(reply)
        if reply.data.get("replayed"):  # Nuonuo refuses an order number it has seen, whatever became of it
            return envelope(codes.DUPLICATE_ORDER, str(body["orderRef"]))
        return envelope(
            DialectCode(SUCCESS, "开票提交成功"), result={"invoiceSerialNum": serial_num_for(body["orderRef"])}
        )

    async def _query(self, scope: Scope, token: str, data: dict[str, Any]) -> WireAnswer:
        serials, orders = data.get("serialNos"), data.get("orderNos")
        given = serials if serials else orders  # both given: the serial numbers win
        name = "serialNos" if serials else "orderNos"
        if not isinstance(given, list) or not 1 <= len(given) <= MAX_IDS or not all(isinstance(v, str) for v in given):
            return envelope(codes.BAD_PARAMETERS, f"{name}: 1 to {MAX_IDS} strings (serialNos or orderNos)")
        order_nos = [order_no_of(v) for v in given] if serials else list(given)
        details = str(data.get("isOfferInvoiceDetail", "0")) == "1"
        items = []
        for order_no in dict.fromkeys(n for n in order_nos if n):
            reply = await self.native(
                scope, "GET", f"/api/v1/invoices/by-serial/{native_serial(order_no)}", token=token
            )
            if reply.status == 404:
                continue
            if reply.status != 200:
                return self._failure(reply)
            view = reply.data
            if view.get("orderRef") != order_no:  # a native client's serial that happens to equal the order number
                continue
            lines = None
            if details and view.get("status") == "ISSUED":
                detail = await self.native(scope, "GET", f"/api/v1/invoices/{view['invoiceNo']}", token=token)
                if detail.status != 200:
                    return self._failure(detail)
                lines = list(detail.data.get("lines", []))
            items.append(result_item(view, lines))
        if not items:
            return envelope(codes.NO_INVOICE)
        return envelope(DialectCode(SUCCESS, "查询成功"), result=items)
