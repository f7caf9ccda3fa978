"""HTTP calls to the platform, classified into what a client must tell apart, with token handling.

Answers: ``ISSUED`` (done), ``PROCESSING`` (accepted, ask again later), ``FAILED`` (definitely no invoice under
that serial). Errors: :class:`TransientError` (try later; ``unknown_outcome`` when the platform may have
committed), :class:`AccountNotReady` (the seller's quota or numbers are not ready: wait for the back office) and
:class:`RejectedError` (a business error: retrying cannot help).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taxstorm.clients.http_stack import ConnectFailed, HttpStack, Reply, RequestFailed, StackKind, make_stack


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


class AccountNotReady(Exception):
    """The seller's account cannot issue now (quota used up, suspended or expired; no invoice numbers left): the
    order is fine, the back office must act (E4001–E4004). Queue it and issue it once the account is ready."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


ACCOUNT_CODES = frozenset({"E4001", "E4002", "E4003", "E4004"})


@dataclass(frozen=True)
class InvoiceAnswer:
    """The platform's word on one serial."""

    status: str
    invoice_no: str | None
    total_with_tax: str
    replayed: bool
    fail_reason: str | None = None
    retry_after_s: float | None = None
    upload_state: str | None = None  # ISSUED invoices: UPLOADING, UPLOADED or FAILED (re-upload it)


def _retry_after(response: Reply) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def answer_from(data: dict[str, Any], retry_after_s: float | None = None) -> InvoiceAnswer:
    """An invoice view (of an issue answer, a look-up or a batch item) as an :class:`InvoiceAnswer`."""
    return InvoiceAnswer(
        status=data["status"],
        invoice_no=data.get("invoiceNo"),
        total_with_tax=data["totals"]["totalWithTax"],
        replayed=bool(data.get("replayed")),
        fail_reason=data.get("failReason"),
        retry_after_s=retry_after_s,
        upload_state=data.get("uploadState"),
    )


def _answer(response: Reply) -> InvoiceAnswer:
    return answer_from(response.json()["data"], _retry_after(response))


def transient_code(code: str) -> bool:
    """Error codes a later try can get past: authentication, in progress, and the platform's own trouble."""
    return code.startswith(("E1001", "E1002", "E1003", "E1004", "E9")) or code == "E3003"


@dataclass(frozen=True)
class BatchAnswer:
    """The platform's per-item word on a batch: ``items[i]`` answers the i-th request sent."""

    batch_id: str
    items: list[dict[str, Any]]


def batch_item(serial: str, answer: InvoiceAnswer) -> dict[str, Any]:
    """An accepted item of a native batch answer, for a dialect that has no batch call and sends one by one."""
    invoice = {
        "status": answer.status,
        "invoiceNo": answer.invoice_no,
        "totals": {"totalWithTax": answer.total_with_tax},
        "replayed": answer.replayed,
        "failReason": answer.fail_reason,
        "uploadState": answer.upload_state,
    }
    return {"requestSerialNo": serial, "accepted": True, "invoice": invoice}


class SentBatches:
    """The (serial, order ref) pairs of the last batches a client sent one by one, by batch id."""

    def __init__(self, kept: int = 64) -> None:
        self._kept = kept
        self._batches: dict[str, list[tuple[str, str]]] = {}

    def remember(self, orders: list[tuple[str, str]]) -> str:
        batch_id = uuid.uuid4().hex
        self._batches[batch_id] = orders
        while len(self._batches) > self._kept:
            self._batches.pop(next(iter(self._batches)))
        return batch_id

    def orders(self, batch_id: str) -> list[tuple[str, str]]:
        found = self._batches.get(batch_id)
        if found is None:
            raise RejectedError("NO_BATCH", f"batch {batch_id} is not one this client sent")
        return found


class TokenProvider:
    """One shared token per taxpayer: fetched once, refreshed at 80 % of its life, single-flight."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def token(self) -> str:
        with self._lock:  # single flight: concurrent callers wait for the one fetch
            if self._token is None or self._clock() >= self._refresh_at:
                token, ttl_s = self._fetch()
                self._token, self._refresh_at = token, self._clock() + 0.8 * ttl_s
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (after a 401) unless another caller already replaced it."""
        with self._lock:
            if self._token == token:
                self._token = None


class PlatformHTTP:
    """The calls the reference client needs, over one keep-alive connection pool per platform URL."""

    def __init__(
        self,
        base_url: str,
        credentials: tuple[str, str, str],
        connect_timeout_s: float,
        read_timeout_s: float,
        keep_alive: bool = True,
        secondary_url: str | None = None,
        failback_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        stack: StackKind = "auto",
        max_connections: int = 50,
        ca_file: Path | None = None,
    ) -> None:
        self._endpoints: list[HttpStack] = [
            make_stack(stack, url, connect_timeout_s, read_timeout_s, keep_alive, max_connections, ca_file)
            for url in (base_url, secondary_url)
            if url
        ]
        self._primary_down_until = float("-inf")  # while primary is unreachable, use the secondary (NIC1/NIC2)
        self._failback_s = failback_s
        self.read_timeout_s = read_timeout_s
        self._clock = clock
        self._client_id, self._secret, self.taxpayer_id = credentials
        self.tokens = TokenProvider(self._fetch_token)

    def _fetch_token(self) -> tuple[str, float]:
        body = {"clientId": self._client_id, "clientSecret": self._secret, "taxpayerId": self.taxpayer_id}
        response = self._raw("POST", "/api/v1/auth/token", body)
        if response.status_code != 200:
            raise self._classify(response)
        data = response.json()["data"]
        return str(data["accessToken"]), float(data["expiresIn"])

    def submit(self, payload: dict[str, Any] | str) -> InvoiceAnswer:
        """POST the invoice (async mode); raise TransientError or RejectedError when not accepted."""
        response = self._authorized("POST", "/api/v1/invoices", payload)
        if response.status_code in (200, 202):
            return _answer(response)
        raise self._classify(response)

    def submit_batch(self, bodies: list[str], until: float | None = None) -> BatchAnswer:
        """POST up to ``batch_max`` issue requests (JSON texts) at once; items succeed or fail on their own. (``until``:
        the caller's deadline on the monotonic clock, for dialects that send a batch one order at a time.)"""
        response = self._authorized("POST", "/api/v1/invoices/batch", '{"items":[' + ",".join(bodies) + "]}")
        if response.status_code in (200, 202):
            data = response.json()["data"]
            return BatchAnswer(str(data["batchId"]), list(data["items"]))
        raise self._classify(response)

    def batch(self, batch_id: str) -> BatchAnswer:
        """The per-item status of a batch submitted earlier."""
        data = self.get(f"/api/v1/invoices/batch/{batch_id}")
        return BatchAnswer(str(data["batchId"]), list(data["items"]))

    def reupload(self, invoice_no: str) -> InvoiceAnswer:
        """Upload an issued invoice to the tax bureau again after its upload FAILED (idempotent)."""
        response = self._authorized("POST", f"/api/v1/invoices/{invoice_no}/upload")
        if response.status_code == 200:
            return _answer(response)
        raise self._classify(response)

    def lookup(self, serial: str, order_ref: str | None = None) -> InvoiceAnswer | None:
        """The safe recovery call: the platform's word on ``serial``, or None if it never saw it (``order_ref``
        serves dialects that know an order by its number only)."""
        response = self._authorized("GET", f"/api/v1/invoices/by-serial/{serial}")
        if response.status_code == 200:
            return _answer(response)
        if response.status_code == 404:
            return None
        raise self._classify(response)

    def public(self, path: str) -> dict[str, Any]:
        """GET public reference data (status, notices): no token."""
        response = self._raw("GET", path)
        if response.status_code == 200:
            data: dict[str, Any] = response.json()["data"]
            return data
        raise self._classify(response)

    def get(self, path: str) -> dict[str, Any]:
        """GET a business resource's data, or raise."""
        response = self._authorized("GET", path)
        if response.status_code == 200:
            data: dict[str, Any] = response.json()["data"]
            return data
        raise self._classify(response)

    def _authorized(self, method: str, path: str, body: dict[str, Any] | str | None = None) -> Reply:
        token = self.tokens.token()
        response = self._raw(method, path, body, {"Authorization": f"Bearer {token}"})
        if response.status_code == 401:  # expired or revoked: refresh once, retry once
            self.tokens.invalidate(token)
            token = self.tokens.token()
            response = self._raw(method, path, body, {"Authorization": f"Bearer {token}"})
        return response

    @property
    def on_secondary(self) -> bool:
        return len(self._endpoints) > 1 and self._clock() < self._primary_down_until

    def _raw(
        self, method: str, path: str, body: dict[str, Any] | str | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """One request to the primary, or to the secondary while the primary is unreachable (and back later)."""
        use_secondary = self.on_secondary
        try:
            return self._endpoints[1 if use_secondary else 0].request(method, path, body, headers)
        except ConnectFailed as exc:  # the request never arrived
            if len(self._endpoints) > 1 and not use_secondary:
                self._primary_down_until = self._clock() + self._failback_s
                return self._raw(method, path, body, headers)  # same request, same serial: safe on a shared ledger
            raise TransientError(str(exc), unknown_outcome=False) from exc
        except RequestFailed as exc:  # timeout, reset, protocol error mid-request: outcome unknown
            raise TransientError(str(exc), unknown_outcome=True) from exc

    @staticmethod
    def _classify(response: Reply) -> Exception:
        try:
            body = response.json()
            code, message = str(body.get("code", "")), str(body.get("message", ""))
        except ValueError:
            code, message = "", response.text[:200]
        status = response.status_code
        retry_after = _retry_after(response)
        if status in (429, 503) or code in ("E1001", "E1002", "E1003", "E1004"):
            return TransientError(f"HTTP {status} {code}", unknown_outcome=False, retry_after_s=retry_after)
        if status == 409 and code == "E3003":
            return TransientError("in progress (E3003)", unknown_outcome=True, retry_after_s=retry_after)
        if status >= 500:
            return TransientError(f"HTTP {status} {code}", unknown_outcome=True, retry_after_s=retry_after)
        if code in ACCOUNT_CODES:
            return AccountNotReady(code, message)
        return RejectedError(code or f"HTTP{status}", message)

    def close(self) -> None:
        for endpoint in self._endpoints:
            endpoint.close()
