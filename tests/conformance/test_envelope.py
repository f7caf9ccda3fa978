"""The envelope ``{code, message, messageZh, traceId, data}`` on every answer, its headers and the error table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.conformance.support import API, Api, Taxpayer, envelope_problems, invoice, serial, uscc
from tests.helpers import fetch

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    """A request that must be refused with ``code``."""

    name: str
    send: Callable[[Api, Taxpayer], httpx.Response]
    code: str


def _issue(api: Api, who: Taxpayer, body: object, **headers: str) -> httpx.Response:
    return api.raw("POST", f"{API}/invoices", who=who, json=body, headers=headers)


def _reused(api: Api, who: Taxpayer) -> httpx.Response:
    body = invoice(who.tax_id)
    assert _issue(api, who, body).status_code == 200
    body["orderRef"] = "another order"
    return _issue(api, who, body)


def _other_seller(api: Api, who: Taxpayer) -> httpx.Response:
    return _issue(api, who, invoice(api.taxpayer().tax_id))


def _bad_rate(api: Api, who: Taxpayer) -> httpx.Response:
    body = invoice(who.tax_id)
    body["lines"][0]["taxRate"] = "0.17"
    return _issue(api, who, body)


def _wrong_secret(api: Api, who: Taxpayer) -> httpx.Response:
    return api.raw("POST", f"{API}/auth/token", json={**fetch(who.tax_id), "clientSecret": "not-the-secret"})


ERRORS = [
    Case("no token", lambda api, who: api.raw("GET", f"{API}/invoices"), "E1001"),
    Case(
        "unknown token",
        lambda api, who: api.raw("GET", f"{API}/invoices", headers={"Authorization": "Bearer nope"}),
        "E1001",
    ),
    Case("wrong secret", _wrong_secret, "E1001"),
    Case(
        "undecodable body",
        lambda api, who: api.raw(
            "POST", f"{API}/invoices", who=who, content=b"{oops", headers={"Content-Type": "application/json"}
        ),
        "E2001",
    ),
    Case("missing lines", lambda api, who: _issue(api, who, {"requestSerialNo": serial()}), "E2001"),
    Case("rate not allowed", _bad_rate, "E2004"),
    Case("seller is not the token's", _other_seller, "E1005"),
    Case("serial reused", _reused, "E3002"),
    Case("unknown serial", lambda api, who: api.raw("GET", f"{API}/invoices/by-serial/NOPE-1", who=who), "E3004"),
    Case("unknown number", lambda api, who: api.raw("GET", f"{API}/invoices/{'2' * 20}", who=who), "E3004"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[case.name for case in ERRORS])
def test_every_error_comes_in_the_envelope_with_its_table_status(api: Api, seller: Taxpayer, case: Case) -> None:
    response = case.send(api, seller)
    assert envelope_problems(response) == []
    assert response.json()["code"] == case.code, response.text


def test_an_unknown_route_is_answered_in_the_envelope(api: Api) -> None:
    response = api.raw("GET", f"{API}/no-such-route")
    assert response.status_code == 404
    assert envelope_problems(response) == []


def test_a_wrong_method_is_answered_405_in_the_envelope(api: Api, seller: Taxpayer) -> None:
    response = api.raw("DELETE", f"{API}/invoices", who=seller)
    assert response.status_code == 405
    assert envelope_problems(response, table=False) == []


SUCCESSES = [
    ("GET", "/status", False),
    ("GET", "/notices", False),
    ("GET", "/tax-rates", False),
    ("GET", "/invoices", True),
    ("GET", "/quota", True),
    ("GET", "/number-segments", True),
]


@pytest.mark.parametrize(("method", "path", "needs_token"), SUCCESSES, ids=[s[1] for s in SUCCESSES])
def test_success_comes_in_the_envelope_with_code_0000(
    api: Api, seller: Taxpayer, method: str, path: str, needs_token: bool
) -> None:
    response = api.raw(method, API + path, who=seller if needs_token else None)
    assert response.status_code == 200
    assert envelope_problems(response) == []
    assert response.json()["code"] == "0000"


def test_token_and_issue_answers_come_in_the_envelope(api: Api) -> None:
    tax_id = uscc()
    token = api.raw("POST", f"{API}/auth/token", json=fetch(tax_id))
    assert token.status_code == 200 and envelope_problems(token) == []
    who = Taxpayer(tax_id, token.json()["data"]["accessToken"])
    issued = api.raw("POST", f"{API}/invoices", who=who, json=invoice(tax_id))
    assert issued.status_code == 200 and envelope_problems(issued) == []


def test_trace_ids_differ_between_answers(api: Api, seller: Taxpayer) -> None:
    ids = {api.call("GET", "/invoices", who=seller).body["traceId"] for _ in range(5)}
    ids |= {api.call("GET", "/invoices/by-serial/NOPE", who=seller).body["traceId"] for _ in range(5)}
    assert len(ids) == 10


def test_api_version_header_is_on_every_answer_even_outside_the_api(api: Api) -> None:
    for path in ("/health", f"{API}/status", f"{API}/invoices", "/nowhere"):
        assert api.raw("GET", path).headers.get("X-Api-Version"), path


def test_success_envelope_carries_message_zh(api: Api, seller: Taxpayer) -> None:
    body = api.call("GET", "/invoices", who=seller).body
    assert isinstance(body.get("messageZh"), str) and body["messageZh"]


def test_health_reports_the_platform_up(api: Api) -> None:
    response = api.raw("GET", "/health")
    assert response.status_code == 200
    assert response.json().get("status") == "UP" or response.json().get("data", {}).get("status") == "UP"


def test_health_answers_in_the_envelope_under_the_api(api: Api) -> None:
    """``/api/v1/health`` is the API's liveness call in the envelope; ``/health`` stays the orchestrators' bare
    probe (docker's HEALTHCHECK), documented as such in the README."""
    answer = api.raw("GET", "/api/v1/health")
    assert envelope_problems(answer) == [] and answer.json()["data"]["status"] == "UP"
