"""The IRP gateway: NIC's e-invoice API (v1.04 auth, v1.03 invoices) translated onto the native platform.

Auth: the client RSA-encrypts (the platform's public key, PKCS#1 v1.5) its user name, password and a random AppKey;
it gets a token and a session key (Sek) encrypted with that AppKey. Every later payload, both ways, is AES-256-ECB
under the Sek. Generate IRN is synchronous (a native ``?mode=sync`` issue); a document registered again is
``2150 Duplicate IRN`` with the original's AckNo, AckDt and Irn (``InfoDtls`` ``DUPIRN``); the IRN and the
document details look it up again; a cancellation within 24 h is a full red reversal in the core. Answers are
``{Status, Data, ErrorDetails, InfoDtls}``, HTTP 200.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from taxstorm.mock_platform.credentials import credentials_for, irp_password_for, irp_user_for
from taxstorm.mock_platform.dialects.edge import (
    GATEWAY_TIMEOUT,
    DialectCode,
    WireAnswer,
    body_of,
    headers_of,
    send_answer,
)
from taxstorm.mock_platform.dialects.inner import NativeCaller, NativeReply
from taxstorm.mock_platform.dialects.irp import codes
from taxstorm.mock_platform.dialects.irp.crypto import CryptoError, aes_decrypt, aes_encrypt, rsa_decrypt, session_key
from taxstorm.mock_platform.dialects.irp.invoices import (
    Document,
    InvoiceError,
    irn_of,
    irp_data,
    ist_text,
    native_issue,
)
from taxstorm.mock_platform.dialects.irp.keys import PlatformKey
from taxstorm.mock_platform.errors import ErrorCode
from taxstorm.mock_platform.state import PlatformState

AUTH_PATH = "/eivital/v1.04/auth"
INVOICE_PATH = "/eicore/v1.03/Invoice"
BY_IRN_PREFIX = "/eicore/v1.03/Invoice/irn/"
BY_DOCUMENT_PATH = "/eicore/v1.03/Invoice/irnbydocdetails"
CANCEL_PATH = "/eicore/v1.03/Invoice/Cancel"
CANCEL_WINDOW_S = 24 * 3600
TOKEN_S = 6 * 3600  # an IRP token lives 6 h (NIC: TokenExpiry)
CANCEL_REASONS = {"1": "01", "2": "01", "3": "03", "4": "01"}  # duplicate, data entry mistake, order cancelled, others
IRN = re.compile(r"^[0-9a-f]{64}$")
TOO_MANY = WireAnswer(429, b"Too Many Requests", "text/plain")


@dataclass(frozen=True)
class IrnRecord:
    """What the core holds for an issued IRN: the invoice's view by serial and its detail."""

    view: dict[str, Any]
    detail: dict[str, Any]
    number: str

    @property
    def cancelled(self) -> bool:
        """Reversed in full by a red invoice (the IRP's cancel)."""
        return self.detail.get("redTotal") not in (None, "0.00")


def _json(body: dict[str, Any]) -> WireAnswer:
    return WireAnswer(200, json.dumps(body, ensure_ascii=False).encode())


def success(data: Any) -> WireAnswer:
    """``Status: 1`` with the Data (a plain object for auth, AES text for everything else)."""
    return _json({"Status": 1, "Data": data, "ErrorDetails": None, "InfoDtls": None})


def failure(error: DialectCode, info: list[dict[str, Any]] | None = None, detail: str = "") -> WireAnswer:
    """``Status: 0`` with the error (its documented message; a native code's message carries the detail)."""
    message = f"{error.text}: {detail}" if detail else error.text
    details = [{"ErrorCode": error.code, "ErrorMessage": message}]
    return _json({"Status": 0, "Data": None, "ErrorDetails": details, "InfoDtls": info})


def _refusal(reply: NativeReply) -> WireAnswer:
    """A native refusal in the IRP's words."""
    error = reply.error
    if error is None or error is ErrorCode.TIMEOUT:
        return GATEWAY_TIMEOUT
    if error is ErrorCode.RATE_LIMITED:
        return TOO_MANY
    mapped = codes.for_native(error)
    if mapped.code != error.code:
        return failure(mapped)
    body = reply.body or {}  # no IRP counterpart: the platform's own code and words, with the field
    where = f"{body['field']}: " if body.get("field") else ""
    return failure(DialectCode(error.code, f"{where}{body.get('message', error.message)}"))


class IrpGateway:
    """ASGI middleware answering the IRP's paths; every other request goes on."""

    def __init__(self, app: ASGIApp, state: PlatformState, wall: Callable[[], float] = time.time) -> None:
        self.app = app
        self.wall = wall
        self.native = NativeCaller(app)
        self.state = state
        self.key = PlatformKey(state.db)

    def _ours(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return path in (AUTH_PATH, INVOICE_PATH, BY_DOCUMENT_PATH, CANCEL_PATH) or path.startswith(BY_IRN_PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._ours(scope):
            await self.app(scope, receive, send)
            return
        body = await body_of(receive)
        path, method = scope["path"], scope["method"]
        routes: dict[tuple[str, str], Callable[[Scope, bytes], Any]] = {
            ("POST", AUTH_PATH): self._auth,
            ("POST", INVOICE_PATH): self._generate,
            ("GET", BY_DOCUMENT_PATH): self._by_document,
            ("POST", CANCEL_PATH): self._cancel,
        }
        handler = routes.get((method, path))
        if handler is None and method == "GET" and path.startswith(BY_IRN_PREFIX):
            handler = self._by_irn
        if handler is None or body is None:
            answer = failure(DialectCode(ErrorCode.SCHEMA.code, f"{method} {path}: not a call of this API"))
        else:
            answer = await handler(scope, body)
        await send_answer(send, answer)

    async def _auth(self, scope: Scope, body: bytes) -> WireAnswer:
        headers = headers_of(scope)
        client_id = headers.get("client_id") or headers.get("client-id") or ""
        secret = headers.get("client_secret") or headers.get("client-secret") or ""
        gstin = headers.get("gstin", "").upper()
        for missing, error in ((gstin, codes.GSTIN_REQUIRED), (client_id, codes.CLIENT_ID_REQUIRED)):
            if not missing:
                return failure(error)
        if not secret:
            return failure(codes.CLIENT_SECRET_REQUIRED)
        try:
            sealed = json.loads(body)["Data"]
            credentials = json.loads(base64.b64decode(rsa_decrypt(str(sealed), self.key()), validate=True))
            app_key = base64.b64decode(str(credentials["AppKey"]), validate=True)
        except (ValueError, KeyError, TypeError, CryptoError, binascii.Error):
            return failure(codes.APP_KEY_UNREADABLE)
        if len(app_key) != 32:
            return failure(codes.APP_KEY_UNREADABLE)
        auth, key = self.state.auth, self.state.settings.credential_key
        expected = auth.secret_of(client_id)
        if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
            return failure(codes.BAD_CLIENT)
        if auth.taxpayer_of(client_id) != gstin:
            return failure(codes.GSTIN_NOT_USERS)
        if credentials.get("UserName") != irp_user_for(gstin):
            return failure(codes.BAD_USER)
        if not hmac.compare_digest(
            str(credentials.get("Password", "")).encode(), irp_password_for(key, gstin).encode()
        ):
            return failure(codes.BAD_PASSWORD)
        request = {"clientId": client_id, "clientSecret": secret, "taxpayerId": gstin}
        reply = await self.native(scope, "POST", "/api/v1/auth/token", body=request, terms={"token_ttl_s": TOKEN_S})
        if reply.status != 200:
            return _refusal(reply)
        token = str(reply.data["accessToken"])
        sek = session_key(key, token)
        return success(
            {
                "ClientId": client_id,
                "UserName": credentials["UserName"],
                "AuthToken": token,
                "Sek": aes_encrypt(sek, app_key),
                # in real time (the platform's clock may be moved for a story; a token's life is not)
                "TokenExpiry": ist_text(datetime.fromtimestamp(self.wall() + float(reply.data["expiresIn"]), UTC)),
            }
        )

    def _session(self, scope: Scope) -> tuple[str, bytes]:
        token = headers_of(scope).get("authtoken", "")
        return token, session_key(self.state.settings.credential_key, token)

    def _sealed(self, data: dict[str, Any], sek: bytes) -> WireAnswer:
        return success(aes_encrypt(json.dumps(data, ensure_ascii=False).encode(), sek))

    async def _generate(self, scope: Scope, body: bytes) -> WireAnswer:
        token, sek = self._session(scope)
        try:
            invoice = json.loads(aes_decrypt(str(json.loads(body)["Data"]), sek))
        except (ValueError, KeyError, TypeError, CryptoError):
            return failure(codes.INVALID_TOKEN)  # not sealed with this token's Sek: the token is not the client's
        try:
            native, document = native_issue(invoice)
        except InvoiceError as exc:
            return failure(DialectCode(ErrorCode.SCHEMA.code, ErrorCode.SCHEMA.message), detail=str(exc))
        reply = await self.native(scope, "POST", "/api/v1/invoices", token=token, body=native, query={"mode": "sync"})
        if reply.error in (ErrorCode.SERIAL_REUSED, ErrorCode.IN_PROGRESS):  # registered before (other content, or
            found = await self.native(
                scope, "GET", f"/api/v1/invoices/by-serial/{native['requestSerialNo']}", token=token
            )
            if found.status != 200:
                return _refusal(found)
            reply = NativeReply(200, found.headers, {"data": {**found.data, "replayed": True}})  # still being made)
        if reply.status not in (200, 202):
            return _refusal(reply)
        view = reply.data
        if view.get("status") != "ISSUED":  # failed, or still being made: try again (a registered one is 2150 then)
            return failure(codes.TRY_LATER)
        data = self._answer(view, document, len(native["lines"]))
        if data is None:
            return failure(codes.APPLICATION_ERROR)
        if view.get("replayed"):
            original = {"AckNo": data["AckNo"], "AckDt": data["AckDt"], "Irn": data["Irn"]}
            return failure(codes.DUPLICATE_IRN, info=[{"InfCd": "DUPIRN", "Desc": original}])
        return self._sealed(data, sek)

    async def _record(self, scope: Scope, token: str, irn: str) -> IrnRecord | WireAnswer:
        """The core's record of an issued IRN (its view by serial and its invoice's detail), or the IRP's refusal."""
        if not IRN.match(irn):
            return failure(codes.NOT_FOUND)
        reply = await self.native(scope, "GET", f"/api/v1/invoices/by-serial/{irn}", token=token)
        if reply.status == 404:
            return failure(codes.NOT_FOUND)
        if reply.status != 200:
            return _refusal(reply)
        if reply.data.get("status") != "ISSUED":
            return failure(codes.NOT_AVAILABLE)
        number = reply.data.get("invoiceNo")
        if not number:  # a bad release renamed the field
            return failure(codes.APPLICATION_ERROR)
        detail = await self.native(scope, "GET", f"/api/v1/invoices/{number}", token=token)
        if detail.status != 200:
            return _refusal(detail)
        return IrnRecord(reply.data, detail.data, str(number))

    async def _issued(self, scope: Scope, token: str, sek: bytes, irn: str) -> WireAnswer:
        """The IRP's answer for an IRN, as generate gave it."""
        record = await self._record(scope, token, irn)
        if isinstance(record, WireAnswer):
            return record
        document = Document.from_remarks(str(record.view["orderRef"]), record.detail.get("remarks"))
        data = self._answer(record.view, document, len(record.detail.get("lines") or []), record.cancelled)
        return failure(codes.APPLICATION_ERROR) if data is None else self._sealed(data, sek)

    def _answer(
        self, view: dict[str, Any], document: Document, items: int, cancelled: bool = False
    ) -> dict[str, Any] | None:
        """The IRP's answer for a native view; None when the view lacks what it needs (a bad release renamed a
        field: the IRP's own answer breaks, as an application error)."""
        try:
            return irp_data(view, document, items, self.key(), cancelled)
        except (KeyError, TypeError, ValueError):
            return None

    async def _by_irn(self, scope: Scope, body: bytes) -> WireAnswer:
        token, sek = self._session(scope)
        return await self._issued(scope, token, sek, str(scope["path"]).removeprefix(BY_IRN_PREFIX))

    async def _by_document(self, scope: Scope, body: bytes) -> WireAnswer:
        token, sek = self._session(scope)
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        gstin = headers_of(scope).get("gstin", "").upper()
        document = Document(query.get("doctype", "").upper(), query.get("docnum", "").upper(), query.get("docdate", ""))
        try:
            irn = irn_of(gstin, document)
        except ValueError:
            return failure(DialectCode(ErrorCode.SCHEMA.code, ErrorCode.SCHEMA.message), detail="docdate: dd/mm/yyyy")
        return await self._issued(scope, token, sek, irn)

    async def _cancel(self, scope: Scope, body: bytes) -> WireAnswer:
        """Cancel an IRN within 24 h: in the core, a full red reversal of its invoice (the IRP needs no consent from
        the buyer, so the gateway confirms the red-letter form as the buyer's integration would)."""
        token, sek = self._session(scope)
        try:
            request = json.loads(aes_decrypt(str(json.loads(body)["Data"]), sek))
        except (ValueError, KeyError, TypeError, CryptoError):
            return failure(codes.INVALID_TOKEN)
        irn, reason = str(request.get("Irn", "")), str(request.get("CnlRsn", ""))
        if reason not in CANCEL_REASONS:
            detail = "CnlRsn: 1 duplicate, 2 data entry mistake, 3 order cancelled, 4 others"
            return failure(DialectCode(ErrorCode.SCHEMA.code, f"{ErrorCode.SCHEMA.message}: {detail}"))
        record = await self._record(scope, token, irn)
        if isinstance(record, WireAnswer):
            return record
        if record.cancelled:
            return failure(codes.NOT_ACTIVE)
        view, number = record.view, record.number
        now = self.state.clock()
        if now - datetime.fromisoformat(str(view["issueTime"])).timestamp() > CANCEL_WINDOW_S:
            return failure(codes.CANCEL_TOO_LATE)
        form = {"blueInvoiceNo": number, "reasonCode": CANCEL_REASONS[reason], "applicant": "0"}
        entered = await self.native(scope, "POST", "/api/v1/red-confirmations", token=token, body=form)
        if entered.status != 200:
            return _refusal(entered)
        confirmation = str(entered.data["uuid"])
        if entered.data.get("status") == "02":  # awaiting the buyer: the IRP does not wait for one
            confirmed = await self._confirm_as_buyer(scope, str(view.get("buyerTaxId")), confirmation)
            if confirmed is not None:
                return confirmed
        red = {"confirmationUuid": confirmation, "requestSerialNo": f"cnl-{irn[:40]}"}
        path = f"/api/v1/invoices/{number}/red"
        issued = await self.native(scope, "POST", path, token=token, body=red, query={"mode": "sync"})
        if issued.status != 200 or issued.data.get("status") != "ISSUED":
            return _refusal(issued) if issued.status != 200 else failure(codes.APPLICATION_ERROR)
        return self._sealed({"Irn": irn, "CancelDate": ist_text(datetime.fromtimestamp(now, UTC))}, sek)

    async def _confirm_as_buyer(self, scope: Scope, buyer: str, confirmation: str) -> WireAnswer | None:
        """Accept a red-letter form with the buyer's own credential; an answer only when that fails."""
        client_id, secret = credentials_for(self.state.settings.credential_key, buyer)
        request = {"clientId": client_id, "clientSecret": secret, "taxpayerId": buyer}
        fetched = await self.native(scope, "POST", "/api/v1/auth/token", body=request)
        if fetched.status != 200:
            return _refusal(fetched)
        path = f"/api/v1/red-confirmations/{confirmation}/confirm"
        answer = await self.native(scope, "POST", path, token=str(fetched.data["accessToken"]), body={"accept": True})
        return None if answer.status == 200 else _refusal(answer)
