"""The OpenAPI document describes what the platform really answers: every route's data, the error envelope and
the headers. Real answers of every route (in-process) must validate against the document's own schemas, and
tampered ones must not, so the schemas are neither wrong nor vacuous."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from taxstorm.loadtests.orders import OrderGenerator
from taxstorm.mock_platform.app import create_app
from taxstorm.mock_platform.clock import OffsetClock
from taxstorm.mock_platform.settings import PlatformSettings
from tests.helpers import SELLER, fetch, order
from tests.platform_helpers import ADMIN, platform_app, token

BUYER = OrderGenerator(seed=7, run_tag="t").seller(2)
Spec = dict[str, Any]


def schema_problems(spec: Spec, schema: dict[str, Any], instance: Any) -> list[str]:
    """Where ``instance`` breaks ``schema`` (its ``$ref``s resolved in the document's components)."""
    root = {**schema, "components": spec["components"]}
    validator = jsonschema_rs.Draft202012Validator(root, validate_formats=True)
    return [f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(instance)]


def problems(spec: Spec, method: str, template: str, answer: httpx.Response) -> list[str]:
    """How an answer differs from what the document declares for its operation and status."""
    declared = spec["paths"][template][method.lower()]["responses"].get(str(answer.status_code))
    if declared is None:
        return [f"HTTP {answer.status_code} is not documented"]
    found = [
        f"header {name} missing"
        for name, header in declared.get("headers", {}).items()
        if header.get("required") and name not in answer.headers
    ]
    media = answer.headers.get("content-type", "").split(";")[0]
    if media not in declared.get("content", {}):
        return [*found, f"{media} is not documented"]
    if media == "application/json":
        found += schema_problems(spec, declared["content"][media]["schema"], answer.json())
    return found


class Answers:
    """Calls a platform and checks each answer against that platform's OpenAPI document."""

    def __init__(self, client: TestClient, spec: Spec) -> None:
        self.client = client
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()

    def call(self, method: str, template: str, path: str | None = None, **kwargs: Any) -> Any:
        """Send the request (to ``path``, else the template itself), check the answer, return its JSON data."""
        answer = self.client.request(method, path or template, **kwargs)
        assert problems(self.spec, method, template, answer) == [], (method, path or template, answer.text)
        self.seen.add((method, template, answer.status_code))
        if answer.headers["content-type"].startswith("application/json"):
            return answer.json().get("data", answer.json())
        return answer.content

    def token(self, taxpayer: str = SELLER.tax_id) -> dict[str, str]:
        """Authorization headers for a taxpayer."""
        return {
            "Authorization": f"Bearer {self.call('POST', '/api/v1/auth/token', json=fetch(taxpayer))['accessToken']}"
        }


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    """The platform's OpenAPI document (the same for every settings: it is generated from the routes)."""
    ledger = tmp_path_factory.mktemp("spec") / "ledger.sqlite3"
    return create_app(PlatformSettings(ledger_path=ledger, admin_token="admin-secret")).openapi()


@pytest.fixture
def checked(tmp_path: Path, spec: Spec) -> Iterator[tuple[Answers, OffsetClock]]:
    """Issues stay PROCESSING for one second of the (frozen, movable) clock; ?mode=sync gives up at once."""
    settings = {"processing_ms": {"median_ms": 1000}, "sync_timeout_s": 0.01}
    with platform_app({"ledger_path": tmp_path / "ledger.sqlite3"}, **settings) as (client, clock):
        yield Answers(client, spec), clock


def issue_body(serial: str, ref: str = "ORD-1", buyer: str | None = None) -> dict[str, Any]:
    body = order(ref).invoice_payload(serial)
    if buyer is not None:
        body["buyer"]["taxId"] = buyer
    return body


def tour_invoices(api: Answers, clock: OffsetClock, seller: dict[str, str]) -> str:
    """Issue, replay, look up, list, deliver; returns the number of an ISSUED invoice."""
    accepted = api.call("POST", "/api/v1/invoices", json=issue_body("S-1"), headers=seller)
    assert accepted["status"] == "PROCESSING" and "quotaAfter" in accepted
    in_flight = api.call("POST", "/api/v1/invoices", json=issue_body("S-1"), headers=seller)
    assert in_flight is not None and in_flight["status"] == "PROCESSING"  # E3003's data
    clock.advance(5)
    replay = api.call("POST", "/api/v1/invoices", json=issue_body("S-1"), headers=seller)
    assert replay["replayed"] is True and replay["uploadState"] == "UPLOADED"
    number = str(replay["invoiceNo"])
    api.call("POST", "/api/v1/invoices", json=issue_body("S-1", "another order"), headers=seller)  # E3002
    api.call("POST", "/api/v1/invoices", json=issue_body("S-2"), params={"mode": "sync"}, headers=seller)  # 504 E9004
    api.call("GET", "/api/v1/invoices/by-serial/{serial}", "/api/v1/invoices/by-serial/S-2", headers=seller)
    api.call("GET", "/api/v1/invoices/by-serial/{serial}", "/api/v1/invoices/by-serial/NOPE", headers=seller)
    detail = api.call("GET", "/api/v1/invoices/{invoiceNo}", f"/api/v1/invoices/{number}", headers=seller)
    assert detail["lines"][0]["amount"] == "21.00"
    page = api.call("GET", "/api/v1/invoices", params={"pageSize": 1}, headers=seller)
    assert page["total"] == 2 and len(page["items"]) == 1
    for kind in ("pdf", "ofd", "xml"):
        template = "/api/v1/invoices/{invoiceNo}/documents/{kind}"
        api.call("GET", template, f"/api/v1/invoices/{number}/documents/{kind}", headers=seller)
    api.call("POST", "/api/v1/invoices/{invoiceNo}/upload", f"/api/v1/invoices/{number}/upload", headers=seller)
    odd = issue_body("S-6", buyer="")  # an empty buyer tax id is none; money is answered with two decimals
    odd["lines"][0]["amount"], odd["totals"]["amount"], odd["totals"]["totalWithTax"] = "21.000", "2.1E+1", "23.730"
    api.call("POST", "/api/v1/invoices", json=odd, headers=seller)
    clock.advance(5)
    settled = api.call("POST", "/api/v1/invoices", json=odd, headers=seller)
    assert settled["buyerTaxId"] is None and settled["invoiceNo"]
    assert settled["totals"] == {"amount": "21.00", "tax": "2.73", "totalWithTax": "23.73"}
    api.call("GET", "/api/v1/invoices/{invoiceNo}", f"/api/v1/invoices/{settled['invoiceNo']}", headers=seller)
    bad_rate = issue_body("S-3")
    bad_rate["lines"][0]["taxRate"] = "0.17"
    api.call("POST", "/api/v1/invoices", json=bad_rate, headers=seller)  # 422 E2004
    api.call("POST", "/api/v1/invoices", json={"requestSerialNo": "S-4"}, headers=seller)  # 400 E2001
    api.call("POST", "/api/v1/invoices", json=issue_body("S-5"))  # 401 E1001
    return number


def tour_batches(api: Answers, clock: OffsetClock, seller: dict[str, str]) -> None:
    pinyin = issue_body("B-2", "ORD-B2")
    pinyin["fpqqlsh"] = pinyin.pop("requestSerialNo")
    bad = issue_body("B-3", "ORD-B3")
    bad["lines"][0]["taxRate"] = "0.17"
    items = [issue_body("B-1", "ORD-B1"), pinyin, bad, {"requestSerialNo": 42}]
    batch = api.call("POST", "/api/v1/invoices/batch", json={"items": items}, headers=seller)
    assert batch["counts"] == {"PROCESSING": 2, "REJECTED": 2}
    clock.advance(5)
    path = f"/api/v1/invoices/batch/{batch['batchId']}"
    assert api.call("GET", "/api/v1/invoices/batch/{batchId}", path, headers=seller)["counts"]["ISSUED"] == 2


def tour_red_letters(api: Answers, clock: OffsetClock, seller: dict[str, str]) -> None:
    """A confirmation the buyer accepts and its red invoice; another one withdrawn (on a second blue invoice)."""
    buyer = api.token(BUYER.tax_id)
    for serial in ("R-1", "R-3"):
        api.call("POST", "/api/v1/invoices", json=issue_body(serial, f"ORD-{serial}", BUYER.tax_id), headers=seller)
    clock.advance(5)
    blue, other = (
        api.call("GET", "/api/v1/invoices/by-serial/{serial}", f"/api/v1/invoices/by-serial/{s}", headers=seller)[
            "invoiceNo"
        ]
        for s in ("R-1", "R-3")
    )
    confirmations = "/api/v1/red-confirmations"
    entered = api.call("POST", confirmations, json={"blueInvoiceNo": blue, "reasonCode": "01"}, headers=seller)
    assert entered["status"] == "02" and entered["voidAt"] is not None
    one = f"{confirmations}/{entered['uuid']}"
    api.call("POST", confirmations + "/{uuid}/confirm", f"{one}/confirm", json={"accept": True}, headers=buyer)
    red, red_path = {"confirmationUuid": entered["uuid"], "requestSerialNo": "R-2"}, f"/api/v1/invoices/{blue}/red"
    processing = api.call("POST", "/api/v1/invoices/{invoiceNo}/red", red_path, json=red, headers=seller)
    clock.advance(5)
    issued = api.call("POST", "/api/v1/invoices/{invoiceNo}/red", red_path, json=red, headers=seller)
    assert processing["status"] == "PROCESSING" and issued["kind"] == "red" and issued["blueInvoiceNo"] == blue
    assert api.call("GET", confirmations + "/{uuid}", one, headers=buyer)["redRequestSerialNo"] == "R-2"
    partial = {"blueInvoiceNo": other, "reasonCode": "04", "amount": "-1.00"}
    revoke = f"{confirmations}/{api.call('POST', confirmations, json=partial, headers=seller)['uuid']}/revoke"
    assert api.call("POST", confirmations + "/{uuid}/revoke", revoke, headers=seller)["status"] == "08"
    api.call("POST", confirmations + "/{uuid}/revoke", revoke, headers=seller)  # 422 E5002
    detail = api.call("GET", "/api/v1/invoices/{invoiceNo}", f"/api/v1/invoices/{issued['invoiceNo']}", headers=seller)
    assert detail["lines"] == [] and detail["seller"] is None


def tour_services(api: Answers, clock: OffsetClock, seller: dict[str, str], number: str) -> None:
    api.call(
        "POST", "/api/v1/auth/token", json={"clientId": "nobody", "clientSecret": "x", "taxpayerId": SELLER.tax_id}
    )
    api.call("GET", "/health")
    api.call("GET", "/api/v1/health")
    api.call("GET", "/api/v1/tax-rates")
    issued = api.call("GET", "/api/v1/invoices/by-serial/{serial}", "/api/v1/invoices/by-serial/S-1", headers=seller)
    check = {"invoiceNo": number, "issueDate": issued["issueTime"][:10], "totalWithTax": "23.73"}
    assert api.call("POST", "/api/v1/verify", json=check, headers=seller)["result"] == "consistent"
    assert (
        api.call("POST", "/api/v1/verify", json={**check, "totalWithTax": "1"}, headers=seller)["result"] == "mismatch"
    )
    unknown = {**check, "invoiceNo": "9" * 20}
    assert api.call("POST", "/api/v1/verify", json=unknown, headers=seller)["result"] == "not_found"
    for _ in range(4):
        api.call("POST", "/api/v1/verify", json=check, headers=seller)  # the 6th of the day: 429 E6001
    buyer = api.token(BUYER.tax_id)  # has issued nothing: all its downloaded quota is unused
    api.call("GET", "/api/v1/quota", headers=buyer)
    api.call("POST", "/api/v1/quota/download", json={"amount": "100.00"}, headers=buyer)
    api.call("POST", "/api/v1/quota/return", json={"amount": "50.00"}, headers=buyer)
    api.call("POST", "/api/v1/quota/return", json={"amount": "9999999.00"}, headers=buyer)  # 422 E4001
    api.call("POST", "/api/v1/quota/adjust-period", headers=seller)
    api.call("POST", "/api/v1/number-segments", json={"count": 10}, headers=seller)
    api.call("GET", "/api/v1/number-segments", headers=seller)


def tour_status(api: Answers, clock: OffsetClock, seller: dict[str, str]) -> None:
    """Every fault mode in force shows in /status; maintenance, a switched-off feature, suspension, revocation."""
    admin = api.client
    admin.post("/admin/maintenance", json={"start_in_s": 0, "duration_s": 60, "features": ["verify"]}, headers=ADMIN)
    admin.post("/admin/maintenance", json={"start_in_s": 600, "duration_s": 60, "title": "后来"}, headers=ADMIN)
    assert len(api.call("GET", "/api/v1/notices")["notices"]) == 2
    check = {"invoiceNo": "9" * 20, "issueDate": "2026-11-18", "totalWithTax": "1"}
    assert api.call("POST", "/api/v1/verify", json=check, headers=seller)["noticeId"]  # 503 E9002
    admin.put("/admin/features/quota", json={"down": True}, headers=ADMIN)
    assert api.call("GET", "/api/v1/quota", headers=seller)["feature"] == "quota"  # 503 E9006
    modes = {
        "errors": {"code": "E9003", "rate": 0.0},
        "latency": {"median_ms": 0.001},
        "ghost": {"rate": 0.0},
        "upload": {"rate": 0.0},
        "ledger-stall": {"stall_ms": 1},
        "policy": {"effective_in_s": 3600},
        "quota-suspension": {},
    }
    for mode, body in modes.items():
        assert admin.put(f"/admin/faults/{mode}", json=body, headers=ADMIN).status_code == 200
    api.call("POST", "/api/v1/invoices", json=issue_body("S-9"), headers=seller)  # 403 E4002
    admin.put("/admin/release", json={"name": "latency-leak"}, headers=ADMIN)
    status = api.call("GET", "/api/v1/status")
    assert len(status["faults"]) == 8 and status["features"]["quota"] == "DOWN"
    admin.post("/admin/tokens/revoke", json={}, headers=ADMIN)
    assert api.call("GET", "/api/v1/invoices", headers=seller) == {"disconnFlag": 1}  # 401 E1003


def tour_failures(tmp_path: Path, spec: Spec) -> Answers:
    """A platform whose jobs all fail, then one whose uploads fail: FAILED invoices and a re-upload."""
    with platform_app({"ledger_path": tmp_path / "failing.sqlite3"}, issue_failure_rate=1.0) as (client, _):
        api = Answers(client, spec)
        seller = token(client)
        failed = api.call("POST", "/api/v1/invoices", json=issue_body("F-1"), headers=seller)
        assert failed["status"] == "FAILED" and failed["failCode"] == "E9005"
        api.call("GET", "/api/v1/invoices/by-serial/{serial}", "/api/v1/invoices/by-serial/F-1", headers=seller)
        api.call("GET", "/api/v1/invoices", headers=seller)
        other = token(client, BUYER.tax_id)
        api.call("POST", "/api/v1/invoices", json=issue_body("F-2"), headers=other)  # 403 E1005
    with platform_app({"ledger_path": tmp_path / "uploads.sqlite3"}) as (client, _):
        uploads = Answers(client, spec)
        seller = token(client)
        client.put("/admin/faults/upload", json={"rate": 1.0}, headers=ADMIN)
        stuck = uploads.call("POST", "/api/v1/invoices", json=issue_body("U-1"), headers=seller)
        assert stuck["uploadState"] == "FAILED" and "pdfUrl" not in stuck
        path = f"/api/v1/invoices/{stuck['invoiceNo']}/upload"
        uploads.call("POST", "/api/v1/invoices/{invoiceNo}/upload", path, headers=seller)  # 503 E9006
        client.delete("/admin/faults/upload", headers=ADMIN)
        assert (
            uploads.call("POST", "/api/v1/invoices/{invoiceNo}/upload", path, headers=seller)["uploadState"]
            == "UPLOADED"
        )
        uploads.seen |= api.seen
    return uploads


def documented_successes(spec: Spec) -> set[tuple[str, str, int]]:
    """(method, path, status) of every success answer of the API and the bare health probe."""
    return {
        (method.upper(), path, int(status))
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/") or path == "/health"
        for method, operation in operations.items()
        for status in operation["responses"]
        if status in ("200", "202")
    }


def test_every_answer_of_every_route_matches_the_document(checked: tuple[Answers, OffsetClock], tmp_path: Path) -> None:
    api, clock = checked
    seller = api.token()
    number = tour_invoices(api, clock, seller)
    tour_batches(api, clock, seller)
    tour_red_letters(api, clock, seller)
    tour_services(api, clock, seller, number)
    tour_status(api, clock, seller)
    seen = api.seen | tour_failures(tmp_path, api.spec).seen
    missing = documented_successes(api.spec) - seen
    assert missing == set(), f"no answer checked for {sorted(missing)}"
    errors = {status for _, _, status in seen if status >= 400}
    assert errors >= {400, 401, 403, 404, 409, 422, 429, 503, 504}


def component(spec: Spec, ref: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]])


def test_every_route_documents_its_data_its_errors_and_headers(spec: Spec) -> None:
    routes = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            routes += 1
            for status, declared in operation["responses"].items():
                where = f"{method.upper()} {path} {status}"
                assert declared["headers"]["X-Api-Version"]["required"], where
                if "application/json" not in declared["content"]:
                    assert path.endswith("/documents/{kind}") and status == "200", where
                    continue
                answer = component(spec, declared["content"]["application/json"]["schema"])
                assert declared["headers"]["X-Trace-Id"]["required"], where
                if status.startswith("2"):
                    assert answer["title"].endswith("Envelope") and answer["properties"]["data"].get("$ref"), where
                else:
                    assert answer["title"] == f"Error{status}", where
    assert routes >= 25
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # refusals are 400 E2001, never FastAPI's 422


def test_every_route_behind_a_token_documents_the_bearer_scheme_and_no_other_does(spec: Spec) -> None:
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "token from POST /api/v1/auth/token",
    }
    secured = {
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == [{"HTTPBearer": []}]
    }
    assert {"POST /api/v1/invoices", "GET /api/v1/invoices/by-serial/{serial}", "GET /api/v1/quota"} <= secured
    assert len(secured) >= 18
    assert not {"POST /api/v1/auth/token", "GET /api/v1/status", "GET /api/v1/health"} & secured


def test_the_invoice_schemas_require_what_every_answer_carries(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]
    kinds = {ref["$ref"].rsplit("/", 1)[1] for ref in schemas["Invoice"]["oneOf"]}
    assert kinds == {"IssuedInvoice", "FailedInvoice", "ProcessingInvoice"}
    for kind in kinds:
        assert {"requestSerialNo", "acceptNo", "status", "invoiceNo", "totals", "uploadState"} <= set(
            schemas[kind]["required"]
        )
    issued = schemas["IssuedInvoice"]["properties"]
    assert (issued["invoiceNo"]["type"], issued["invoiceNo"]["pattern"]) == ("string", r"^\d{20}$")
    assert issued["issueTime"]["format"] == "date-time"
    assert {"failCode", "failReason"} <= set(schemas["FailedInvoice"]["required"])
    assert schemas["InvoiceTotals"]["properties"]["amount"]["type"] == "string"  # money never as a JSON number
    assert schemas["Error401"]["properties"]["code"]["pattern"] == "^(E1001|E1002|E1003)$"


def tampered(answer: dict[str, Any], change: str) -> dict[str, Any]:
    """A copy of an issue answer with one thing wrong."""
    body = copy.deepcopy(answer)
    data = body["data"]
    if change == "no number":
        del data["invoiceNo"]
    elif change == "number as a JSON number":
        data["invoiceNo"] = int(data["invoiceNo"])
    elif change == "null number while ISSUED":
        data["invoiceNo"] = None
    elif change == "amount as a JSON number":
        data["totals"]["amount"] = float(data["totals"]["amount"])
    elif change == "unknown status":
        data["status"] = "DONE"
    elif change == "issue time not a date-time":
        data["issueTime"] = "yesterday"
    elif change == "undocumented key":
        data["invoiceNumber"] = data["invoiceNo"]
    elif change == "error code on a success":
        body["code"] = "E9005"
    return body


TAMPERINGS = [
    "no number",
    "number as a JSON number",
    "null number while ISSUED",
    "amount as a JSON number",
    "unknown status",
    "issue time not a date-time",
    "undocumented key",
    "error code on a success",
]


def test_a_real_issue_answer_validates_and_a_tampered_one_does_not(tmp_path: Path, spec: Spec) -> None:
    with platform_app({"ledger_path": tmp_path / "ledger.sqlite3"}) as (client, _):
        answer = client.post("/api/v1/invoices", json=issue_body("T-1"), headers=token(client))
        missing = client.get("/api/v1/invoices/by-serial/T-2", headers=token(client))
    schema = spec["paths"]["/api/v1/invoices"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer.status_code == 200 and schema_problems(spec, schema, answer.json()) == []
    for change in TAMPERINGS:
        assert schema_problems(spec, schema, tampered(answer.json(), change)) != [], change
    declared = spec["paths"]["/api/v1/invoices/by-serial/{serial}"]["get"]["responses"]["404"]
    error_schema = declared["content"]["application/json"]["schema"]
    assert missing.status_code == 404 and schema_problems(spec, error_schema, missing.json()) == []
    for wrong in ({"code": "E2001"}, {"traceId": "not hex"}, {"data": "a string"}):
        assert schema_problems(spec, error_schema, {**missing.json(), **wrong}) != [], wrong
    no_message = {k: v for k, v in missing.json().items() if k != "messageZh"}
    assert schema_problems(spec, error_schema, no_message) != []
