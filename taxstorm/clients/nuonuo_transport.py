"""The reference client's calls on the Nuonuo dialect: the same answers and errors as :class:`PlatformHTTP`,
spoken as Nuonuo's signed services (taxstorm.clients.nuonuo).

What differs from the native API, and how the client's behaviour maps onto it:
- an accepted order is PROCESSING until ``queryInvoiceResult`` says otherwise (there is no synchronous mode);
- the order number is the idempotency key: a resubmission answered ``E9106`` (the order exists) is answered with
  what the platform holds for it, as a native replay would be;
- ``070301`` (token not valid) refreshes the token once and retries once, as a native 401 does;
- Nuonuo has no batch call and no re-upload: a batch is refused as a whole (the client goes one by one), and no
  status page: the client learns of an outage from the answers alone.
"""

from __future__ import annotations

import json
from typing import Any

from taxstorm.clients.http_stack import Reply
from taxstorm.clients.nuonuo import (
    BUSY_CODES,
    DONE,
    DUPLICATE_ORDER,
    IN_PROGRESS,
    ISSUE,
    NO_INVOICE,
    QUERY,
    SUCCESS,
    TOKEN_MISMATCH,
    TOKEN_PATH,
    UNKNOWN_OUTCOME_CODES,
    order_from_payload,
    signed_call,
    token_form,
)
from taxstorm.clients.transport import BatchAnswer, InvoiceAnswer, PlatformHTTP, RejectedError, TransientError


def answer_from_item(item: dict[str, Any]) -> InvoiceAnswer:
    """A ``queryInvoiceResult`` item as the platform's word on the order."""
    status = str(item.get("status", ""))
    number = item.get("allElectronicInvoiceNumber") or item.get("invoiceNo") or None
    total = str(item.get("orderAmount", ""))
    if status in DONE:
        return InvoiceAnswer("ISSUED", number, total, replayed=False, upload_state=DONE[status])
    if status == IN_PROGRESS:
        return InvoiceAnswer("PROCESSING", None, total, replayed=False)
    reason = str(item.get("failCause") or item.get("statusMsg") or f"status {status}")
    return InvoiceAnswer("FAILED", None, total, replayed=False, fail_reason=reason)


class NuonuoHTTP(PlatformHTTP):
    """:class:`PlatformHTTP` over Nuonuo's ``/accessToken`` and ``/open/v1/services``."""

    def _fetch_token(self) -> tuple[str, float]:
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        response = self._raw("POST", TOKEN_PATH, token_form(self._client_id, self._secret), headers)
        body = _json(response)
        if response.status_code != 200 or body is None or not body.get("access_token"):
            error = body.get("error", "") if body else ""
            # 070306: the 30-day cap on token fetches; everything else is the credential's fault
            if response.status_code >= 500 or error in ("070306", *BUSY_CODES):
                raise TransientError(f"token: HTTP {response.status_code} {error}", unknown_outcome=False)
            raise RejectedError(str(error or f"HTTP{response.status_code}"), str(body or response.text[:200]))
        return str(body["access_token"]), float(body.get("expires_in") or 3600)

    def _call(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        """One signed call; its envelope when the gateway answered in JSON (any code), else TransientError."""
        token = self.tokens.token()
        envelope = self._send(method, data, token)
        if str(envelope.get("code")) == TOKEN_MISMATCH:  # expired or revoked: refresh once, retry once
            self.tokens.invalidate(token)
            envelope = self._send(method, data, self.tokens.token())
        return envelope

    def _send(self, method: str, data: dict[str, Any], token: str) -> dict[str, Any]:
        path, content, headers = signed_call(self._client_id, self._secret, token, self.taxpayer_id, method, data)
        response = self._raw("POST", path, content, headers)
        body = _json(response)
        if response.status_code != 200 or body is None:  # a gateway's 5xx page: the call may have been served
            raise TransientError(f"HTTP {response.status_code}", unknown_outcome=response.status_code >= 500)
        return body

    @staticmethod
    def _refusal(envelope: dict[str, Any]) -> Exception:
        code, describe = str(envelope.get("code", "")), str(envelope.get("describe", ""))
        if code in BUSY_CODES or code == TOKEN_MISMATCH:
            return TransientError(f"{code} {describe}", unknown_outcome=False)
        if code in UNKNOWN_OUTCOME_CODES:
            return TransientError(f"{code} {describe}", unknown_outcome=True)
        return RejectedError(code, describe)

    def submit(self, payload: dict[str, Any] | str) -> InvoiceAnswer:
        """``requestBillingNew`` under the order's own number: PROCESSING when accepted; a known order's state."""
        body = json.loads(payload) if isinstance(payload, str) else payload
        order_no = str(body["orderRef"])
        envelope = self._call(ISSUE, {"order": order_from_payload(body, order_no)})
        code = str(envelope.get("code"))
        if code == SUCCESS:
            return InvoiceAnswer("PROCESSING", None, str(body["totals"]["totalWithTax"]), replayed=False)
        if code == DUPLICATE_ORDER:  # the platform has this order: its state is the answer, as a replay's is
            found = self.lookup(str(body.get("requestSerialNo", "")), order_no)
            if found is not None:
                return InvoiceAnswer(
                    found.status,
                    found.invoice_no,
                    found.total_with_tax,
                    True,
                    found.fail_reason,
                    None,
                    found.upload_state,
                )
            raise TransientError("E9106 for an order the platform cannot show yet", unknown_outcome=True)
        raise self._refusal(envelope)

    def lookup(self, serial: str, order_ref: str | None = None) -> InvoiceAnswer | None:
        """``queryInvoiceResult`` by order number (the order reference; Nuonuo knows no other serial)."""
        envelope = self._call(QUERY, {"orderNos": [order_ref or serial], "isOfferInvoiceDetail": "0"})
        code = str(envelope.get("code"))
        if code == NO_INVOICE:
            return None
        if code != SUCCESS:
            raise self._refusal(envelope)
        items = envelope.get("result") or []
        return answer_from_item(items[0]) if items else None

    def submit_batch(self, bodies: list[str]) -> BatchAnswer:
        raise RejectedError("NO_BATCH", "Nuonuo issues one order per call")

    def batch(self, batch_id: str) -> BatchAnswer:
        raise RejectedError("NO_BATCH", "Nuonuo issues one order per call")

    def reupload(self, invoice_no: str) -> InvoiceAnswer:
        raise RejectedError("NO_REUPLOAD", "Nuonuo has no re-upload call; its signing is retried by the platform")

    def public(self, path: str) -> dict[str, Any]:
        raise TransientError("Nuonuo publishes no status page", unknown_outcome=False)


def _json(response: Reply) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
