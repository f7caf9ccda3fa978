"""Black-box helpers for the conformance suite: HTTP only, every expectation computed here from the spec.

Nothing here imports ``mock_platform``: tax ids get their GB 32100 check character from the published weights,
money is rounded half up with ``decimal``, and every answer is checked against the envelope of DOMAIN.md §A.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import httpx

from tests.conftest import RunningPlatform
from tests.helpers import fetch

API = "/api/v1"
CENT = Decimal("0.01")

# GB 32100 (unified social credit code): charset without I, O, S, V, Z and the weights of the 17 first characters.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# The error table (DOMAIN.md §A, with the statuses docs/writing-a-client.md §5 gives where §A offers two).
ERROR_STATUS: dict[str, frozenset[int]] = {
    **{code: frozenset({401}) for code in ("E1001", "E1002", "E1003")},
    "E1004": frozenset({403}),
    "E1005": frozenset({403}),
    "E2001": frozenset({400}),
    **{code: frozenset({422}) for code in ("E2002", "E2003", "E2004", "E2005")},
    "E3002": frozenset({409}),
    "E3003": frozenset({409}),
    "E3004": frozenset({404}),
    "E4001": frozenset({422}),
    "E4002": frozenset({403}),
    "E4003": frozenset({409}),
    "E4004": frozenset({409}),
    **{code: frozenset({409, 422}) for code in ("E5001", "E5002", "E5003", "E5004")},
    "E6001": frozenset({429}),
    "E6002": frozenset({422}),
    "E9001": frozenset({429}),
    "E9002": frozenset({503}),
    "E9003": frozenset({503}),
    "E9004": frozenset({504}),
    "E9005": frozenset({500}),
    "E9006": frozenset({503}),
}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def check_char(first17: str) -> str:
    """The GB 32100 check character: (31 − Σ value·weight mod 31) mod 31, mapped back to the charset."""
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def wrong_check_char(code: str) -> str:
    """The same code with another (wrong) check character."""
    right = USCC_CHARSET.index(code[17])
    return code[:17] + USCC_CHARSET[(right + 1) % 31]


_serials = itertools.count(1)
_taxpayers = itertools.count(1)


def uscc(index: int | None = None) -> str:
    """A fresh, valid 18-character unified social credit code (each call another one)."""
    n = next(_taxpayers) if index is None else index
    digits = f"{n:06d}"[-6:]
    body = "91" + "110105" + "MA" + "".join(USCC_CHARSET[(n // 31**k) % 31] for k in range(5)) + digits[:2]
    return body + check_char(body)


def serial(prefix: str = "S") -> str:
    """A fresh request serial (``[A-Za-z0-9_-]{1,64}``)."""
    return f"{prefix}-{next(_serials):06d}-{time.time_ns() % 10**9}"


def cents(value: Decimal) -> Decimal:
    """Round to cents, half up (DOMAIN.md §A)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Item:
    """One invoice line as a client would price it; ``amount`` is derived from quantity × unit price unless given."""

    quantity: str | None = "2"
    unit_price: str | None = "10.50"
    rate: str = "0.13"
    amount: str | None = None
    nature: str = "0"
    name: str = "茶叶 tea"


def line_of(item: Item, number: int, includes_tax: bool = False) -> dict[str, Any]:
    """The line of an issue request: amount = round(q × p, 2), tax = round(amount × rate, 2), or for tax-included
    prices net = round(gross / (1 + rate), 2) and tax = gross − net."""
    if item.amount is not None:
        amount = Decimal(item.amount)
    else:
        assert item.quantity is not None and item.unit_price is not None
        amount = cents(Decimal(item.quantity) * Decimal(item.unit_price))
    rate = Decimal(item.rate)
    tax = amount - cents(amount / (1 + rate)) if includes_tax else cents(amount * rate)
    line: dict[str, Any] = {"lineNo": number, "itemName": item.name, "amount": str(amount), "taxRate": item.rate}
    line["taxAmount"] = str(tax)
    line["lineNature"] = item.nature
    if item.quantity is not None:
        line["quantity"] = item.quantity
    if item.unit_price is not None:
        line["unitPrice"] = item.unit_price
    return line


def totals_of(lines: Sequence[dict[str, Any]], includes_tax: bool = False) -> dict[str, str]:
    """hjje = Σ net amounts, hjse = Σ line taxes, jshj = hjje + hjse (exact)."""
    net = Decimal(0)
    tax = Decimal(0)
    for line in lines:
        amount, rate = Decimal(line["amount"]), Decimal(line["taxRate"])
        net += cents(amount / (1 + rate)) if includes_tax else amount
        tax += Decimal(line["taxAmount"])
    return {"amount": str(net), "tax": str(tax), "totalWithTax": str(net + tax)}


def retotal(body: dict[str, Any]) -> dict[str, Any]:
    """Make the totals agree with the lines as they stand (so that only a line rule is broken)."""
    body["totals"] = totals_of(body["lines"], bool(body.get("priceIncludesTax")))
    return body


def invoice(
    seller: str,
    request_serial: str | None = None,
    items: Sequence[Item] = (Item(),),
    *,
    buyer_tax_id: str | None = None,
    invoice_type: str = "02",
    includes_tax: bool = False,
) -> dict[str, Any]:
    """A valid issue request of ``seller`` (English field names)."""
    lines = [line_of(item, number, includes_tax) for number, item in enumerate(items, start=1)]
    buyer: dict[str, Any] = {"name": "购买方 buyer"}
    if buyer_tax_id is not None:
        buyer["taxId"] = buyer_tax_id
    body: dict[str, Any] = {
        "requestSerialNo": request_serial or serial(),
        "orderRef": f"ORD-{next(_serials):06d}",
        "invoiceType": invoice_type,
        "seller": {"taxId": seller, "name": "销售方 seller"},
        "buyer": buyer,
        "lines": lines,
        "totals": totals_of(lines, includes_tax),
    }
    if includes_tax:
        body["priceIncludesTax"] = True
    return body


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, already checked against the envelope."""

    status: int
    body: dict[str, Any]
    headers: httpx.Headers

    @property
    def code(self) -> str:
        return str(self.body["code"])

    @property
    def data(self) -> Any:
        return self.body["data"]

    @property
    def field(self) -> str | None:
        value = self.body.get("field")
        return None if value is None else str(value)

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def refused(self, code: str, status: int | None = None, field: str | None = None) -> bool:
        """Whether this answer is the refusal ``code`` (with that status and field when given)."""
        return (
            self.code == code and (status is None or self.status == status) and (field is None or self.field == field)
        )

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.body}"


def envelope_problems(response: httpx.Response, table: bool = True) -> list[str]:
    """What is wrong with an answer's envelope, headers and (``table``) code/status pairing (empty: nothing)."""
    problems: list[str] = []
    try:
        body = response.json()
    except ValueError:
        return [f"not JSON: {response.text[:200]!r}"]
    if not isinstance(body, dict):
        return [f"not an object: {body!r}"]
    for key, kind in (("code", str), ("message", str), ("traceId", str)):
        if not isinstance(body.get(key), kind) or not body.get(key):
            problems.append(f"{key} missing or empty")
    if "data" not in body:
        problems.append("data missing")
    if response.headers.get("X-Trace-Id") != body.get("traceId"):
        problems.append(f"X-Trace-Id {response.headers.get('X-Trace-Id')!r} != traceId {body.get('traceId')!r}")
    if not response.headers.get("X-Api-Version"):
        problems.append("X-Api-Version missing")
    code = body.get("code")
    if 200 <= response.status_code < 300:
        if code != "0000":
            problems.append(f"HTTP {response.status_code} with code {code!r}")
    else:
        statuses = ERROR_STATUS.get(str(code))
        if statuses is None:
            problems.append(f"undocumented code {code!r}")
        elif table and response.status_code not in statuses:
            problems.append(f"{code} answered with HTTP {response.status_code}, the table says {sorted(statuses)}")
        if not isinstance(body.get("messageZh"), str) or not body.get("messageZh"):
            problems.append("messageZh missing on an error")
    return problems


@dataclass
class Taxpayer:
    """A taxpayer with a token fetched with its own credential."""

    tax_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout_s: float = 15.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something other than None, within a deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


class Api:
    """An HTTP client of one platform; every answer is checked against the envelope before a test sees it."""

    def __init__(self, platform: RunningPlatform) -> None:
        self.platform = platform
        self.http = httpx.Client(base_url=platform.url, timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def raw(
        self,
        method: str,
        path: str,
        *,
        who: Taxpayer | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        sent = {**(who.auth if who else {}), **(headers or {})}
        return self.http.request(method, path, json=json, params=params, headers=sent, content=content)

    def call(
        self,
        method: str,
        path: str,
        *,
        who: Taxpayer | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """A request to ``/api/v1`` + ``path``; fails the test when the answer breaks the envelope."""
        response = self.raw(method, API + path, who=who, json=json, params=params, headers=headers, content=content)
        problems = envelope_problems(response)
        assert not problems, f"{method} {path}: {problems}; HTTP {response.status_code} {response.text[:400]}"
        return Answer(response.status_code, response.json(), response.headers)

    # --- auth -------------------------------------------------------------------------------------------------
    def fetch_token(self, tax_id: str) -> Answer:
        return self.call("POST", "/auth/token", json=fetch(tax_id))

    def taxpayer(self, tax_id: str | None = None) -> Taxpayer:
        """A new taxpayer (or ``tax_id``) with a fresh token."""
        tax_id = tax_id or uscc()
        answer = self.fetch_token(tax_id)
        assert answer.status == 200, answer
        return Taxpayer(tax_id, str(answer.data["accessToken"]))

    # --- invoices ---------------------------------------------------------------------------------------------
    def issue(
        self, who: Taxpayer, body: dict[str, Any], mode: str | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        params = {"mode": mode} if mode else None
        return self.call("POST", "/invoices", who=who, json=body, params=params, headers=headers)

    def issued(self, who: Taxpayer, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Issue (a default invoice of ``who`` unless ``body``) and wait for ISSUED; the invoice document."""
        body = body or invoice(who.tax_id)
        answer = self.issue(who, body)
        assert answer.status in (200, 202), answer
        if answer.data["status"] == "ISSUED":
            return dict(answer.data)
        return self.settled(who, str(body["requestSerialNo"]))

    def by_serial(self, who: Taxpayer, request_serial: str) -> Answer:
        return self.call("GET", f"/invoices/by-serial/{request_serial}", who=who)

    def settled(self, who: Taxpayer, request_serial: str, timeout_s: float = 15.0) -> dict[str, Any]:
        """Poll by serial until the invoice leaves PROCESSING."""

        def probe() -> dict[str, Any] | None:
            answer = self.by_serial(who, request_serial)
            assert answer.status == 200, answer
            return None if answer.data["status"] == "PROCESSING" else dict(answer.data)

        return wait_for(probe, timeout_s, f"{request_serial} to leave PROCESSING")

    # --- platform clock and admin -----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The platform's clock, read from ``GET /status``."""
        answer = self.call("GET", "/status")
        return datetime.fromisoformat(str(answer.data["time"]))

    def admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        return self.platform.admin.call(method, path, body)

    def advance_clock(self, seconds: float) -> None:
        self.admin("POST", "/admin/clock", {"advance_s": seconds})

    def set_clock(self, moment: datetime) -> None:
        self.admin("POST", "/admin/clock", {"to": moment.isoformat()})

    @contextmanager
    def capacity(self, family: str, **config: Any) -> Iterator[None]:
        """Change one family's capacity model for a ``with`` block, then put the previous one back."""
        before = self.platform.admin.stats()["capacity"][family]["config"]
        self.admin("PUT", f"/admin/capacity/{family}", config)
        try:
            yield
        finally:
            self.admin("PUT", f"/admin/capacity/{family}", before)
