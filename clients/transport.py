"""HTTP calls to the platform, classified into the three things a client must tell apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class TransientError(Exception):
    """Try again later. ``unknown_outcome``: the platform may have committed (timeout, reset, 5xx)."""

    def __init__(self, reason: str, unknown_outcome: bool, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.unknown_outcome = unknown_outcome
        self.retry_after_s = retry_after_s


class RejectedError(Exception):
    """A business error: retrying the same request cannot help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class InvoiceAnswer:
    """The platform's data for an issued invoice."""

    invoice_no: str
    total_with_tax: str
    replayed: bool


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _answer(body: dict[str, Any]) -> InvoiceAnswer:
    data = body["data"]
    return InvoiceAnswer(data["invoiceNo"], data["totals"]["totalWithTax"], bool(data.get("replayed")))


class PlatformHTTP:
    """The two calls the reference client needs, over one keep-alive connection pool."""

    def __init__(self, base_url: str, connect_timeout_s: float, read_timeout_s: float) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
        )

    def submit(self, payload: dict[str, Any]) -> InvoiceAnswer:
        """POST the invoice; raise TransientError or RejectedError when it is not issued."""
        response = self._send("POST", "/api/v1/invoices", json=payload)
        if response.status_code == 200:
            return _answer(response.json())
        raise self._classify(response)

    def lookup(self, seller_tax_id: str, serial: str) -> InvoiceAnswer | None:
        """The safe recovery call: the invoice stored under ``serial``, or None if the platform has none."""
        response = self._send("GET", f"/api/v1/invoices/by-serial/{serial}", params={"sellerTaxId": seller_tax_id})
        if response.status_code == 200:
            return _answer(response.json())
        if response.status_code == 404:
            return None
        raise self._classify(response)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:  # refused or unreachable: the request never arrived
            raise TransientError(f"connect: {exc}", unknown_outcome=False) from exc
        except httpx.HTTPError as exc:  # timeout, reset, protocol error mid-request: outcome unknown
            raise TransientError(f"{type(exc).__name__}: {exc}", unknown_outcome=True) from exc

    @staticmethod
    def _classify(response: httpx.Response) -> Exception:
        try:
            body = response.json()
            code, message = str(body.get("code", "")), str(body.get("message", ""))
        except ValueError:
            code, message = "", response.text[:200]
        status = response.status_code
        if status in (429, 503):
            return TransientError(f"HTTP {status} {code}", unknown_outcome=False, retry_after_s=_retry_after(response))
        if status == 409 and code == "E3003":
            return TransientError("in progress (E3003)", unknown_outcome=True, retry_after_s=_retry_after(response))
        if status >= 500:
            return TransientError(f"HTTP {status} {code}", unknown_outcome=True, retry_after_s=_retry_after(response))
        return RejectedError(code or f"HTTP{status}", message)

    def close(self) -> None:
        self._http.close()
