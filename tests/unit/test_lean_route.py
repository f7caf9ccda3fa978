"""LeanRoute answers every request as FastAPI's own route would: the same value, or the same first refusal."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException

from taxstorm.mock_platform.api.lean import LeanRoute
from taxstorm.mock_platform.models import IssueInvoiceRequest
from tests.helpers import order


class Refused(Exception):
    """The dependency's own refusal."""


async def caller(request: Request) -> str:
    token = request.headers.get("authorization")
    if token is None:
        raise Refused
    return token


async def refused(_: Request, __: Exception) -> JSONResponse:
    return JSONResponse({"refused": "auth"}, 401)


async def invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    loc = [part for part in first["loc"] if not isinstance(part, int)]  # a JSON offset is FastAPI's alone
    return JSONResponse({"loc": loc[:2]}, 422)


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"http": exc.status_code}, exc.status_code)


def app_with(route_class: type) -> TestClient:
    router = APIRouter(route_class=route_class)

    @router.post("/invoices")
    async def issue(
        body: IssueInvoiceRequest,
        who: Annotated[str, Depends(caller)],
        mode: Annotated[Literal["async", "sync"], Query()] = "async",
    ) -> JSONResponse:
        return JSONResponse({"serial": body.requestSerialNo, "who": who, "mode": mode, "lines": len(body.lines)})

    app = FastAPI()
    app.router.routes.extend(router.routes)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    return TestClient(app)


GOOD = order("ORD-1").invoice_payload("S-1")
AUTH = {"Authorization": "Bearer t"}
JSON = {"Content-Type": "application/json"}
CASES: dict[str, dict[str, Any]] = {
    "a sound request": {"json": GOOD, "headers": AUTH},
    "sync mode": {"json": GOOD, "headers": AUTH, "params": {"mode": "sync"}},
    "pinyin names": {"json": {**{k: v for k, v in GOOD.items() if k != "requestSerialNo"}, "fpqqlsh": "S-2"}},
    "no token, bad body": {"content": b"{", "headers": JSON},
    "an empty mode": {"json": GOOD, "headers": AUTH, "params": {"mode": ""}},
    "another query parameter only": {"json": GOOD, "headers": AUTH, "params": {"page": "2"}},
    "an unknown mode": {"json": GOOD, "headers": AUTH, "params": {"mode": "later"}},
    "an unknown mode and a bad body": {"content": b"[]", "headers": {**AUTH, **JSON}, "params": {"mode": "x"}},
    "no body": {"headers": AUTH},
    "an empty JSON body": {"content": b"", "headers": {**AUTH, **JSON}},
    "not JSON": {"content": b"{nope", "headers": {**AUTH, **JSON}},
    "a JSON array": {"content": b"[1]", "headers": {**AUTH, **JSON}},
    "text/plain": {"content": b"{}", "headers": {**AUTH, "Content-Type": "text/plain"}},
    "json with a charset": {"json": GOOD, "headers": {**AUTH, "Content-Type": "application/json; charset=utf-8"}},
    "a +json type": {"json": GOOD, "headers": {**AUTH, "Content-Type": "application/vnd.taxstorm+json"}},
    "a missing field": {"json": {k: v for k, v in GOOD.items() if k != "totals"}, "headers": AUTH},
    "a wrong type deep inside": {"json": {**GOOD, "lines": [{**GOOD["lines"][0], "amount": "ten"}]}, "headers": AUTH},
    "an extra field": {"json": {**GOOD, "surprise": 1}, "headers": AUTH},
}


@pytest.mark.parametrize("case", list(CASES))
def test_lean_and_standard_routes_answer_alike(case: str) -> None:
    request = dict(CASES[case])
    if case == "pinyin names":
        request["headers"] = AUTH
    standard = app_with(APIRoute).post("/invoices", **request)
    lean = app_with(LeanRoute).post("/invoices", **request)
    assert (lean.status_code, lean.json()) == (standard.status_code, standard.json()), case


async def needs_a_query(request: Request, seller: Annotated[str, Query()]) -> str:
    return seller


def test_a_route_lean_cannot_serve_is_refused_when_it_is_declared() -> None:
    router = APIRouter(route_class=LeanRoute)
    with pytest.raises(TypeError, match="must be an async def taking only the request"):

        @router.post("/x")
        async def endpoint(body: IssueInvoiceRequest, who: Annotated[str, Depends(needs_a_query)]) -> None: ...
