"""The reference client's calls on the Nuonuo dialect: the same answers and errors as :class:`PlatformHTTP`,
spoken as Nuonuo's signed services (taxstorm.clients.nuonuo).

What differs from the native API, and how the client's behaviour maps onto it:
- an accepted order is PROCESSING until ``queryInvoiceResult`` says otherwise (there is no synchronous mode);
- the order number is the idempotency key: a resubmission answered ``E9106`` (the order exists) is answered with
  what the platform holds for it, as a native replay would be;
- ``070301`` (token not valid) refreshes the token once and retries once, as a native 401 does;
- Nuonuo has no batch call: a batch is sent order by order and answered as the native batch answers; no
  re-upload; and no status page: the client learns of an outage from the answers alone.
"""

from __future__ import annotations

import json
from dataclasses import replace
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
from taxstorm.clients.transport import (
    BatchAnswer,
    InvoiceAnswer,
    PlatformHTTP,
    RejectedError,
    SentBatches,
    TransientError,
    batch_item,
)

CREDENTIAL_CODES = frozenset({"070304", "070305", "070307", "070315"})
BUSY_WAIT_S = 2.0  # after 070202/070203/040102/070201: the native platform's default Retry-After
MAX_QUERY = 50  # order numbers per queryInvoiceResult


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batches = SentBatches()

    def _fetch_token(self) -> tuple[str, float]:
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"}
        response = self._raw("POST", TOKEN_PATH, token_form(self._client_id, self._secret), headers)
        body = _json(response)
        if response.status_code != 200 or body is None or not body.get("access_token"):
            error = str(body.get("error", "")) if body else ""
            if error in CREDENTIAL_CODES:  # the app key, secret or app type is wrong: no later try can help
                raise RejectedError(error, str(body))
            # the cap on token fetches (070306), the platform's trouble, an unknown exception: a later try may pass
            raise TransientError(f"token: HTTP {response.status_code} {error}", unknown_outcome=False)
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
        if code in BUSY_CODES:  # no Retry-After on Nuonuo: wait as long as a native platform asks by default
            return TransientError(f"{code} {describe}", unknown_outcome=False, retry_after_s=BUSY_WAIT_S)
        if code == TOKEN_MISMATCH:
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
                return replace(found, replayed=True)
            raise TransientError("E9106 for an order the platform cannot show yet", unknown_outcome=True)
        raise self._refusal(envelope)

    def lookup(self, serial: str, order_ref: str | None = None) -> InvoiceAnswer | None:
        """``queryInvoiceResult`` by order number (the order reference; Nuonuo knows no other serial)."""
        order_no = order_ref or serial
        return self._query_many([order_no]).get(order_no)

    def _query_many(self, order_nos: list[str]) -> dict[str, InvoiceAnswer]:
        """The platform's word on each order it knows, up to 50 orders a call."""
        known: dict[str, InvoiceAnswer] = {}
        for start in range(0, len(order_nos), MAX_QUERY):
            chunk = order_nos[start : start + MAX_QUERY]
            envelope = self._call(QUERY, {"orderNos": chunk, "isOfferInvoiceDetail": "0"})
            code = str(envelope.get("code"))
            if code == NO_INVOICE:
                continue
            if code != SUCCESS:
                raise self._refusal(envelope)
            for item in envelope.get("result") or []:
                if isinstance(item, dict) and str(item.get("orderNo")) in chunk:
                    known[str(item["orderNo"])] = answer_from_item(item)
        return known

    def submit_batch(self, bodies: list[str], until: float | None = None) -> BatchAnswer:
        """Nuonuo has no batch call: one query for what the platform already has (a native batch replays those),
        then the others one by one, answered as the native batch answers (a transient error leaves the whole batch
        unknown, so the client looks each order up before sending it again)."""
        items: list[dict[str, Any]] = []
        bodies_by_ref = {str(b["orderRef"]): b for b in map(json.loads, bodies)}
        orders = [(str(b["requestSerialNo"]), ref) for ref, b in bodies_by_ref.items()]
        known = self._query_many(list(bodies_by_ref))
        stop_at = until if until is not None else self._clock() + self.read_timeout_s  # the rest: the next batch
        for serial, order_ref in orders:
            if self._clock() >= stop_at and order_ref not in known:
                break
            if order_ref in known:
                items.append(batch_item(serial, replace(known[order_ref], replayed=True)))  # a native batch's replay
                continue
            try:
                answer = self.submit(bodies_by_ref[order_ref])
            except RejectedError as exc:
                items.append({"requestSerialNo": serial, "accepted": False, "code": exc.code, "message": str(exc)})
            else:
                items.append(batch_item(serial, answer))
        return BatchAnswer(self._batches.remember(orders), items)

    def batch(self, batch_id: str) -> BatchAnswer:
        """The orders of a batch sent earlier, each looked up."""
        orders = self._batches.orders(batch_id)
        known = self._query_many([order_ref for _, order_ref in orders])
        items = [batch_item(serial, known[order_ref]) for serial, order_ref in orders if order_ref in known]
        return BatchAnswer(batch_id, items)

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
