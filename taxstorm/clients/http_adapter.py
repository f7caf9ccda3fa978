"""The ``http`` adapter: judge a client *service* (the user's own gateway) through a documented mapping.

taxstorm POSTs each order (see :mod:`taxstorm.clients.wire`) to ``service_url + issue_path`` and maps the answer to
an outcome: the JSON field ``status_field`` must hold one of ``issued``/``queued``/``rejected``/``failed``
(or a value listed in ``status_map``), ``invoice_field`` the invoice number, ``error_field`` a reason.
``GET backlog_path`` answers ``{"backlog": n}``; ``POST drain_path`` with ``{"budgetS": s}`` answers
``{"outcomes": [{orderRef, status, invoiceNo, error}]}``. Paths and field names are options, so most gateways
fit without code. The service itself is configured to call the platform at the Toxiproxy address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome, OutcomeStatus, parse_options
from taxstorm.clients.wire import order_to_json

STATUSES: tuple[OutcomeStatus, ...] = ("issued", "queued", "rejected", "failed")


@dataclass(frozen=True)
class HttpServiceOptions:
    """Where the service is and how its answers read."""

    service_url: str
    issue_path: str = "/orders"
    backlog_path: str = "/backlog"
    drain_path: str = "/drain"
    status_field: str = "status"
    invoice_field: str = "invoiceNo"
    error_field: str = "error"
    status_map: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0


class HttpServiceClient:
    """Drives a client service over HTTP and maps its answers to outcomes."""

    def __init__(self, config: ClientConfig, options: HttpServiceOptions) -> None:
        self.config = config
        self.options = options
        self._http = httpx.Client(base_url=options.service_url, timeout=options.timeout_s)

    def _outcome(self, order_ref: str, body: dict[str, Any]) -> Outcome:
        raw = str(body.get(self.options.status_field, ""))
        status = self.options.status_map.get(raw, raw)
        if status not in STATUSES:
            return Outcome("failed", order_ref, error=f"service answered status {raw!r}")
        invoice = body.get(self.options.invoice_field)
        error = body.get(self.options.error_field)
        return Outcome(status, order_ref, str(invoice) if invoice else None, error=str(error) if error else None)

    def issue(self, order: Order) -> Outcome:
        try:
            answer = self._http.post(self.options.issue_path, json=order_to_json(order))
        except httpx.HTTPError as exc:
            return Outcome("failed", order.order_ref, error=f"service unreachable: {exc}")
        try:
            body = answer.json()
        except ValueError:
            return Outcome("failed", order.order_ref, error=f"service answered HTTP {answer.status_code}, not JSON")
        return self._outcome(order.order_ref, body)

    def backlog(self) -> int:
        try:
            return int(self._http.get(self.options.backlog_path).json().get("backlog", 0))
        except (httpx.HTTPError, ValueError):
            return 0

    def drain(self, budget_s: float) -> list[Outcome]:
        try:
            answer = self._http.post(self.options.drain_path, json={"budgetS": budget_s}, timeout=budget_s + 30)
            rows = answer.json().get("outcomes", [])
        except (httpx.HTTPError, ValueError):
            return []
        return [self._outcome(str(row.get("orderRef")), row) for row in rows]

    def close(self) -> None:
        self._http.close()


def create_client(config: ClientConfig) -> HttpServiceClient:
    """Factory for ``client.ref: http`` (options: ``service_url`` and the mapping)."""
    return HttpServiceClient(config, parse_options(HttpServiceOptions, config.options, "http"))
