"""The ``naive`` client: a faithful picture of common integrations, and what taxstorm must catch.

One long timeout; synchronous issuing; on any error — a business error included — a blind retry under a *new*
request serial (so a lost answer turns into a duplicate invoice, and a rule change into a retry storm); no
outbox (nothing is queued: the user is told ``failed``); a token fetched once and re-fetched only after a 401.
Only the wire differs per dialect: on Nuonuo the serial *is* the order number, so the retry goes under a new
order number (``<ref>-2``, ``<ref>-3``: the usual way past ``E9106`` "order number must be unique"), and
"synchronous" means polling ``queryInvoiceResult`` until the timeout; on the IRP the IRN is the document
number's, so the retry goes under a new document number (past ``2150 Duplicate IRN``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from taxstorm.clients import irp, nuonuo
from taxstorm.clients.http_stack import trusting
from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome, parse_options


@dataclass(frozen=True)
class NaiveOptions:
    """Typical settings: a long timeout and a few quick retries."""

    timeout_s: float = 30.0
    retries: int = 3
    retry_pause_s: float = 0.2


class AttemptFailed(Exception):
    """One try did not end with an invoice number."""


class NaiveWire(Protocol):
    """One synchronous try: the invoice number, or AttemptFailed."""

    def issue_once(self, order: Order, attempt: int) -> str | None: ...


class NativeWire:
    """The native API: ``?mode=sync`` under a fresh serial on every try."""

    def __init__(self, http: httpx.Client, config: ClientConfig) -> None:
        self._http = http
        self._config = config
        self._token: str | None = None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            answer = self._http.post(
                "/api/v1/auth/token",
                json={
                    "clientId": self._config.client_id,
                    "clientSecret": self._config.client_secret,
                    "taxpayerId": self._config.seller_tax_id,
                },
            )
            answer.raise_for_status()
            self._token = str(answer.json()["data"]["accessToken"])
        return {"Authorization": f"Bearer {self._token}"}

    def issue_once(self, order: Order, attempt: int) -> str | None:
        payload = order.invoice_payload(f"NV{uuid.uuid4().hex[:24]}")  # a new serial every time: the bug
        answer = self._http.post("/api/v1/invoices?mode=sync", json=payload, headers=self._headers())
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        data = body.get("data") or {}
        if answer.status_code == 200 and data.get("status") == "ISSUED":
            return str(data.get("invoiceNo")) if data.get("invoiceNo") else None
        if answer.status_code == 401:
            self._token = None
        raise AttemptFailed(f"HTTP {answer.status_code} {body.get('code', '')}")


class NuonuoWire:
    """Nuonuo: ``requestBillingNew`` under ``<ref>`` then ``<ref>-<try>``, polled until the timeout."""

    def __init__(
        self, http: httpx.Client, config: ClientConfig, timeout_s: float, sleep: Callable[[float], None]
    ) -> None:
        self._http = http
        self._config = config
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._token: str | None = None

    def _call(self, method: str, data: dict[str, object]) -> dict[str, object]:
        if self._token is None:
            form = nuonuo.token_form(self._config.client_id, self._config.client_secret)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            self._token = str(self._http.post(nuonuo.TOKEN_PATH, content=form, headers=headers).json()["access_token"])
        config = self._config
        path, content, headers = nuonuo.signed_call(
            config.client_id, config.client_secret, self._token, config.seller_tax_id, method, data
        )
        answer = self._http.post(path, content=content.encode(), headers=headers)
        if answer.status_code != 200:
            raise AttemptFailed(f"HTTP {answer.status_code}")
        envelope: dict[str, object] = answer.json()
        if envelope.get("code") == nuonuo.TOKEN_MISMATCH:
            self._token = None
        return envelope

    def issue_once(self, order: Order, attempt: int) -> str | None:
        order_no = order.order_ref if attempt == 1 else f"{order.order_ref}-{attempt}"  # past E9106: the bug
        payload = order.invoice_payload(order_no)
        sent = self._call(nuonuo.ISSUE, {"order": nuonuo.order_from_payload(payload, order_no)})
        if sent.get("code") != nuonuo.SUCCESS:
            raise AttemptFailed(f"{sent.get('code')} {sent.get('describe')}")
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            self._sleep(0.5)
            found = self._call(nuonuo.QUERY, {"orderNos": [order_no], "isOfferInvoiceDetail": "0"})
            items = found.get("result")
            item = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
            status = str(item.get("status", ""))
            if status in nuonuo.DONE:
                number = item.get("allElectronicInvoiceNumber") or item.get("invoiceNo")
                return str(number) if number else None
            if status and status != nuonuo.IN_PROGRESS:
                raise AttemptFailed(f"status {status} {item.get('failCause', '')}")
        raise AttemptFailed(f"no result for {order_no} in {self._timeout_s} s")


class IrpWire:
    """The IRP: generate under the order's document number, then ``<ref>-2``, ``<ref>-3`` (past 2150)."""

    def __init__(self, http: httpx.Client, config: ClientConfig) -> None:
        self._http = http
        self._config = config
        self._session: tuple[str, bytes] | None = None  # token, Sek

    def _headers(self) -> dict[str, str]:
        config = self._config
        return {"client_id": config.client_id, "client_secret": config.client_secret, "Gstin": config.seller_tax_id}

    def _token(self) -> tuple[str, bytes]:
        if self._session is None:
            extra, app_key = self._config.dialect_credentials, irp.new_app_key()
            body = irp.auth_body(extra["user_name"], extra["password"], app_key, extra["public_key"])
            data = self._http.post(irp.AUTH_PATH, json=body, headers=self._headers()).json()["Data"]
            self._session = (str(data["AuthToken"]), irp.aes_open(str(data["Sek"]), app_key))
        return self._session

    def issue_once(self, order: Order, attempt: int) -> str | None:
        doc_no = order.order_ref if attempt == 1 else f"{order.order_ref}-{attempt}"  # past 2150: the bug
        token, sek = self._token()
        invoice = irp.irp_invoice(order.invoice_payload(doc_no), doc_no, irp.today_ist())
        headers = self._headers() | {"user_name": self._config.dialect_credentials["user_name"], "AuthToken": token}
        sealed = {"Data": irp.aes_seal(json.dumps(invoice).encode(), sek)}
        answer = self._http.post(irp.INVOICE_PATH, json=sealed, headers=headers)
        envelope = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if envelope.get("Status") == 1:
            return str(json.loads(irp.aes_open(str(envelope["Data"]), sek))["Irn"])
        code = str(((envelope.get("ErrorDetails") or [{}])[0]).get("ErrorCode", f"HTTP {answer.status_code}"))
        if code == irp.INVALID_TOKEN:
            self._session = None
        raise AttemptFailed(code)


class NaiveClient:
    """Blind retries with fresh serials, no recovery call, no backlog."""

    def __init__(
        self, config: ClientConfig, options: NaiveOptions | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.config = config
        self.options = options or NaiveOptions()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=config.base_url, timeout=self.options.timeout_s, verify=trusting(config.ca_file)
        )
        self._wire: NaiveWire = NativeWire(self._http, config)
        if config.dialect == "nuonuo":
            self._wire = NuonuoWire(self._http, config, self.options.timeout_s, sleep)
        elif config.dialect == "irp":
            self._wire = IrpWire(self._http, config)

    def issue(self, order: Order) -> Outcome:
        last_error = "no attempt"
        for attempt in range(1, self.options.retries + 2):
            try:
                number = self._wire.issue_once(order, attempt)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            except AttemptFailed as exc:
                last_error = str(exc)
            else:
                return Outcome("issued", order.order_ref, number, attempt)
            self._sleep(self.options.retry_pause_s)
        return Outcome("failed", order.order_ref, attempts=self.options.retries + 1, error=last_error)

    def backlog(self) -> int:
        return 0

    def drain(self, budget_s: float) -> list[Outcome]:
        return []

    def close(self) -> None:
        self._http.close()


def create_client(config: ClientConfig) -> NaiveClient:
    """Factory for ``client.ref: naive``."""
    return NaiveClient(config, parse_options(NaiveOptions, config.options, "naive"))
