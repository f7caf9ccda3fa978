"""The reference client's calls on the irp dialect: the same answers and errors as :class:`PlatformHTTP`, spoken
as India's IRP (taxstorm.clients.irp).

How the client's behaviour maps onto it: the order reference is the document number, so a resubmission is
``2150 Duplicate IRN`` and answered with what the IRP holds for the IRN, as a native replay would be; generation is
synchronous (ISSUED or an error, never PROCESSING); the invoice number a user gets is the IRN; ``1005`` (invalid
token) authenticates again once and retries once, as a native 401 does; the IRP has no batch call (a batch goes
as single calls, eight at a time, orders sent before looked up first), no re-upload and no status page.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from taxstorm.clients import irp
from taxstorm.clients.transport import (
    AccountNotReady,
    BatchAnswer,
    InvoiceAnswer,
    PlatformHTTP,
    RejectedError,
    SentBatches,
    TransientError,
    batch_item,
)

BATCH_CONCURRENCY = 8  # single calls in flight for one batch (an integrator's answer to an API without batches)
BUSY_WAIT_S = 2.0  # after a 429 without Retry-After: the native platform's default


class IrpHTTP(PlatformHTTP):
    """:class:`PlatformHTTP` over the IRP's auth and invoice calls."""

    def __init__(self, *args: Any, dialect_credentials: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user = dialect_credentials.get("user_name", "")
        self._password = dialect_credentials.get("password", "")
        self._public_key = dialect_credentials.get("public_key", "")
        self._session_keys: dict[str, bytes] = {}  # token → its Sek
        self._sent: set[str] = set()  # orders this client has sent (a batch looks them up before sending again)
        self._batches = SentBatches()

    def _headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"client_id": self._client_id, "client_secret": self._secret, "Gstin": self.taxpayer_id}
        if token is not None:
            headers |= {"user_name": self._user, "AuthToken": token}
        return headers

    def _fetch_token(self) -> tuple[str, float]:
        app_key = irp.new_app_key()
        body = irp.auth_body(self._user, self._password, app_key, self._public_key)
        envelope = self._envelope(self._raw("POST", irp.AUTH_PATH, json.dumps(body), self._headers()))
        if envelope.get("Status") != 1:
            code, message = _error(envelope)
            if code in irp.TRY_LATER or code == irp.INVALID_TOKEN:
                raise TransientError(f"auth: {code} {message}", unknown_outcome=False)
            raise RejectedError(code, message)  # credentials the IRP refuses: no later try can help
        data = envelope["Data"]
        token = str(data["AuthToken"])
        self._session_keys[token] = irp.aes_open(str(data["Sek"]), app_key)
        return token, irp.token_life_s(str(data["TokenExpiry"]))

    def _envelope(self, response: Any) -> dict[str, Any]:
        if response.status_code == 429:
            raise TransientError("HTTP 429", unknown_outcome=False, retry_after_s=BUSY_WAIT_S)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):  # a gateway's page: maybe served
            raise TransientError(f"HTTP {response.status_code}", unknown_outcome=True)
        return body

    def _call(self, method: str, path: str, data: dict[str, Any] | None = None) -> tuple[dict[str, Any], bytes]:
        """One authenticated call (1005: authenticate again once, retry once): the envelope and the Sek."""
        for attempt in (1, 2):
            token = self.tokens.token()
            sek = self._session_keys[token]
            body = json.dumps({"Data": irp.aes_seal(json.dumps(data).encode(), sek)}) if data is not None else None
            envelope = self._envelope(self._raw(method, path, body, self._headers(token)))
            if envelope.get("Status") == 0 and _error(envelope)[0] == irp.INVALID_TOKEN and attempt == 1:
                self.tokens.invalidate(token)
                continue
            return envelope, sek
        return envelope, sek

    @staticmethod
    def _refusal(envelope: dict[str, Any]) -> Exception:
        code, message = _error(envelope)
        if code in irp.TRY_LATER:
            return TransientError(f"{code} {message}", unknown_outcome=True)
        if code == irp.INVALID_TOKEN:
            return TransientError(f"{code} {message}", unknown_outcome=False)
        if code in irp.ACCOUNT_BLOCKED:
            return AccountNotReady(code, message)
        return RejectedError(code, message)

    @staticmethod
    def _issued(data: dict[str, Any], total: str) -> InvoiceAnswer:
        return InvoiceAnswer(
            "ISSUED", str(data["Irn"]), irp.signed_total(str(data.get("SignedQRCode"))) or total, False
        )

    def submit(self, payload: dict[str, Any] | str) -> InvoiceAnswer:
        """Generate the IRN of the order's document (its number: the order reference)."""
        body = json.loads(payload) if isinstance(payload, str) else payload
        order_ref = str(body["orderRef"])
        self._sent.add(order_ref)
        invoice = irp.irp_invoice(body, order_ref, irp.today_ist())
        envelope, sek = self._call("POST", irp.INVOICE_PATH, invoice)
        if envelope.get("Status") == 1:
            return self._issued(
                json.loads(irp.aes_open(str(envelope["Data"]), sek)), str(body["totals"]["totalWithTax"])
            )
        if _error(envelope)[0] == irp.DUPLICATE_IRN:  # registered before: the IRP's record is the answer
            found = self.lookup(str(body.get("requestSerialNo", "")), order_ref)
            if found is not None:
                return replace(found, replayed=True)
            raise TransientError("2150 for a document the IRP cannot show yet", unknown_outcome=True)
        raise self._refusal(envelope)

    def lookup(self, serial: str, order_ref: str | None = None) -> InvoiceAnswer | None:
        """The IRP's record of the order's document (by its IRN), or None."""
        irn = irp.irn_of(self.taxpayer_id, order_ref or serial, irp.today_ist())
        envelope, sek = self._call("GET", f"{irp.BY_IRN_PATH}{irn}")
        if envelope.get("Status") == 1:
            return self._issued(json.loads(irp.aes_open(str(envelope["Data"]), sek)), "")
        code = _error(envelope)[0]
        if code == irp.NOT_FOUND:
            return None
        if code == irp.NOT_AVAILABLE:
            return InvoiceAnswer("PROCESSING", None, "", replayed=False)
        raise self._refusal(envelope)

    def submit_batch(self, bodies: list[str], until: float | None = None) -> BatchAnswer:
        """No batch call on the IRP: the orders as single calls, a few at a time (those sent before looked up first),
        none started after ``until``, answered as the native batch answers; a transient error leaves the whole
        batch unknown (the client looks each order up before sending it again)."""
        stop_at = until if until is not None else self._clock() + self.read_timeout_s
        parsed = [json.loads(text) for text in bodies]
        orders = [(str(body["requestSerialNo"]), str(body["orderRef"])) for body in parsed]

        def one(body: dict[str, Any]) -> dict[str, Any] | None:
            serial, order_ref = str(body["requestSerialNo"]), str(body["orderRef"])
            if self._clock() >= stop_at:
                return None  # not started: the next batch carries it
            try:
                found = self.lookup(serial, order_ref) if order_ref in self._sent else None
                answer = replace(found, replayed=True) if found is not None else self.submit(body)
            except (RejectedError, AccountNotReady) as exc:
                return {
                    "requestSerialNo": serial,
                    "accepted": False,
                    "code": getattr(exc, "code", ""),
                    "message": str(exc),
                }
            return batch_item(serial, answer)

        with ThreadPoolExecutor(max_workers=BATCH_CONCURRENCY) as pool:  # greenlets inside Locust
            items = [item for item in pool.map(one, parsed) if item is not None]
        return BatchAnswer(self._batches.remember(orders), items)

    def batch(self, batch_id: str) -> BatchAnswer:
        items = []
        for serial, order_ref in self._batches.orders(batch_id):
            found = self.lookup(serial, order_ref)
            if found is not None:
                items.append(batch_item(serial, found))
        return BatchAnswer(batch_id, items)

    def reupload(self, invoice_no: str) -> InvoiceAnswer:
        raise RejectedError("NO_REUPLOAD", "the IRP has no re-upload call")

    def public(self, path: str) -> dict[str, Any]:
        raise TransientError("the IRP publishes no status page", unknown_outcome=False)


def _error(envelope: dict[str, Any]) -> tuple[str, str]:
    details = envelope.get("ErrorDetails") or [{}]
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    return str(first.get("ErrorCode", "")), str(first.get("ErrorMessage", ""))
