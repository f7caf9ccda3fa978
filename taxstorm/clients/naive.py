"""The ``naive`` client: a faithful picture of common integrations, and what taxstorm must catch.

One long timeout; synchronous issuing; on any error — a business error included — a blind retry under a *new*
request serial (so a lost answer turns into a duplicate invoice, and a rule change into a retry storm); no
outbox (nothing is queued: the user is told ``failed``); a token fetched once and re-fetched only after a 401.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from taxstorm.clients.http_stack import trusting
from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome, parse_options


@dataclass(frozen=True)
class NaiveOptions:
    """Typical settings: a long timeout and a few quick retries."""

    timeout_s: float = 30.0
    retries: int = 3
    retry_pause_s: float = 0.2


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
        self._token: str | None = None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            answer = self._http.post(
                "/api/v1/auth/token",
                json={
                    "clientId": self.config.client_id,
                    "clientSecret": self.config.client_secret,
                    "taxpayerId": self.config.seller_tax_id,
                },
            )
            answer.raise_for_status()
            self._token = str(answer.json()["data"]["accessToken"])
        return {"Authorization": f"Bearer {self._token}"}

    def issue(self, order: Order) -> Outcome:
        last_error = "no attempt"
        for attempt in range(1, self.options.retries + 2):
            payload = order.invoice_payload(f"NV{uuid.uuid4().hex[:24]}")  # a new serial every time: the bug
            try:
                answer = self._http.post("/api/v1/invoices?mode=sync", json=payload, headers=self._headers())
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
                data = body.get("data") or {}
                if answer.status_code == 200 and data.get("status") == "ISSUED":
                    return Outcome("issued", order.order_ref, data.get("invoiceNo"), attempt)
                if answer.status_code == 401:
                    self._token = None
                last_error = f"HTTP {answer.status_code} {body.get('code', '')}"
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
