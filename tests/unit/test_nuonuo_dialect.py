"""The Nuonuo dialect on the wire: tokens, signatures, asynchronous issuing, duplicate order numbers and the
result query, in Nuonuo's envelope and codes (in process; the unmodified SDK over TLS is tested in
tests/integration/test_nuonuo_sdk.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from nuonuo.signing import sign

from taxstorm.clients import nuonuo as client_side
from taxstorm.mock_platform.dialects.nuonuo import signing
from taxstorm.mock_platform.dialects.nuonuo.orders import OrderError, native_issue, order_no_of, serial_num_for
from tests.helpers import SELLER
from tests.nuonuo_helpers import QUERY, NuonuoCaller, nuonuo_order, nuonuo_platform
from tests.platform_helpers import ADMIN


def ledger_refs(nn: NuonuoCaller) -> list[str]:
    lines = nn.client.get("/admin/ledger", headers=ADMIN).text.splitlines()
    return [json.loads(line)["orderRef"] for line in lines[:-1]]


# nuonuo-sdk's vector, "frozen against official NNOpenSDK.py get_sign", and a second one an integration checked
# against the live gateway (its argument order puts the timestamp before the body)
VECTORS = [
    (("secret", "app", "a" * 32, "12345678", '{"name":"中文"}', "1700000000"), "4BzcKzrcoqxPis0W/W3X2ae0uIo="),
    (("SECRET", "APPKEY", "SENID", "12345678", '{"a":1}', "1700000000"), "7iSZiR+0g+376QEJ38xLM+3vGDs="),
]


@pytest.mark.parametrize(("args", "expected"), VECTORS)
def test_the_platform_and_the_reference_client_sign_as_nuonuo_does(args: tuple[str, ...], expected: str) -> None:
    assert signing.signature(*args) == expected == client_side.sign(*args) == sign(*args)
    assert signing.signature_matches(expected, *args)
    assert not signing.signature_matches(expected, "other", *args[1:])


def test_a_token_is_a_form_post_answered_as_nuonuo_answers(tmp_path: Path) -> None:
    with nuonuo_platform(tmp_path) as nn:
        body = nn.fetch_token()
        assert set(body) == {"access_token", "expires_in"} and body["expires_in"] == "7200"  # a string, as Nuonuo's
        assert nn.fetch_token(client_secret="wrong")["error"] == "070305"
        assert nn.fetch_token(client_id="tp-nobody")["error"] == "070304"
        assert nn.fetch_token(grant_type="authorization_code")["error"] == "070307"
        as_json = nn.client.post("/accessToken", json={"client_id": nn.app_key})
        assert as_json.status_code == 200 and as_json.json()["error"] == "070315"


def test_an_order_is_accepted_now_and_issued_later(tmp_path: Path) -> None:
    with nuonuo_platform(tmp_path, processing_ms={"median_ms": 60_000, "p99_ms": 60_000}) as nn:
        accepted = nn.issue(nuonuo_order("NN-1"))
        assert accepted["code"] == "E0000" and accepted["describe"] == "开票提交成功"
        serial = accepted["result"]["invoiceSerialNum"]
        assert order_no_of(serial) == "NN-1"
        (pending,) = nn.query("NN-1")["result"]
        assert pending["status"] == "20" and pending["statusMsg"] == "开票中" and pending["invoiceNo"] == ""
        nn.clock.advance(120)
        (done,) = nn.envelope(QUERY, {"serialNos": [serial], "isOfferInvoiceDetail": "1"})["result"]
        assert done["status"] == "2" and done["orderNo"] == "NN-1" and done["serialNo"] == serial
        assert len(done["allElectronicInvoiceNumber"]) == 20 and done["invoiceNo"] == done["allElectronicInvoiceNumber"]
        assert (done["exTaxAmount"], done["taxAmount"], done["orderAmount"]) == ("100.00", "6.00", "106.00")
        assert done["salerTaxNum"] == SELLER.tax_id and isinstance(done["invoiceTime"], int)
        assert done["invoiceItems"][0]["itemName"] == "咨询服务"


def test_an_order_number_is_refused_the_second_time_whatever_became_of_it(tmp_path: Path) -> None:
    with nuonuo_platform(tmp_path) as nn:
        assert nn.issue(nuonuo_order("NN-1"))["code"] == "E0000"
        again = nn.issue(nuonuo_order("NN-1"))
        assert again["code"] == "E9106" and again["describe"].startswith("订单编号或流水号不能重复")
        changed = nn.issue(nuonuo_order("NN-1", buyerName="李四"))
        assert changed["code"] == "E9106"
        assert len(nn.query("NN-1")["result"]) == 1  # one invoice, whatever was resent
        assert ledger_refs(nn) == ["NN-1"]


def test_an_unknown_order_is_e9500_and_odd_order_numbers_still_have_one_key(tmp_path: Path) -> None:
    with nuonuo_platform(tmp_path) as nn:
        assert nn.query("never-sent")["code"] == "E9500"
        odd = "订单/2026.11#1"
        assert nn.issue(nuonuo_order(odd))["code"] == "E0000"
        assert nn.issue(nuonuo_order(odd))["code"] == "E9106"
        assert nn.query(odd)["result"][0]["orderNo"] == odd


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ({"secret": "not-the-secret"}, "070601"),
        ({"timestamp": time.time() - 3600}, "070601"),
        ({"token": "forged"}, "070301"),
        ({"user_tax": "91110000000000000X"}, "070401"),
    ],
)
def test_calls_are_checked_as_nuonuo_checks_them(tmp_path: Path, call: dict[str, object], code: str) -> None:
    with nuonuo_platform(tmp_path) as nn:
        refused = nn.envelope(QUERY, {"orderNos": ["NN-1"]}, **call)
        assert refused["code"] == code and refused["result"] is None
        assert nn.client.get("/admin/stats", headers=ADMIN).json()["ledgerSize"] == 0


def test_an_unknown_method_a_bad_query_and_a_bad_body_are_named(tmp_path: Path) -> None:
    with nuonuo_platform(tmp_path) as nn:
        assert nn.envelope("nuonuo.Nothing.here", {})["code"] == "070501"
        assert nn.envelope(QUERY, {"orderNos": []})["code"] == "0201"
        bad = nn.client.post("/open/v1/services", params={"senid": "short"}, content=b"{}")
        assert bad.json()["code"] == "0201" and "senid" in bad.json()["describe"]
        assert nn.client.get("/open/v1/services").json()["code"] == "0201"


def test_an_order_the_core_refuses_is_e4000_naming_the_field(tmp_path: Path) -> None:
    with nuonuo_platform(tmp_path) as nn:
        wrong_tax = nuonuo_order(
            invoiceDetail=[
                {"goodsName": "x", "taxIncludedAmount": "106", "withTaxFlag": "1", "taxRate": "0.06", "tax": "9.00"}
            ]
        )
        refused = nn.issue(wrong_tax)
        assert refused["code"] == "E4000" and "lines[0].taxAmount" in refused["describe"]
        assert nn.issue(nuonuo_order(salerTaxNum="91110000000000000X"))["code"] in ("E4000", "070401")
        assert nn.issue({**nuonuo_order(), "orderNo": ""})["code"] == "E4000"


def test_order_translation_names_what_is_missing() -> None:
    with pytest.raises(OrderError, match=r"order.invoiceDetail\[\].withTaxFlag"):
        native_issue(nuonuo_order(invoiceDetail=[{"goodsName": "x", "num": "1", "price": "1", "taxRate": "0.13"}]))
    with pytest.raises(OrderError, match=r"order.invoiceDetail\[0\].taxRate"):
        native_issue(nuonuo_order(invoiceDetail=[{"goodsName": "x", "num": "1", "price": "1", "withTaxFlag": "0"}]))
    net = native_issue(
        nuonuo_order(
            invoiceDetail=[{"goodsName": "x", "num": "3", "price": "10", "withTaxFlag": "0", "taxRate": "0.13"}]
        )
    )
    assert net["totals"] == {"amount": "30.00", "tax": "3.90", "totalWithTax": "33.90"} and not net["priceIncludesTax"]
    assert serial_num_for("NN-1") != "NN-1" and order_no_of(serial_num_for("订单-1")) == "订单-1"
    assert order_no_of("not base32!") is None


def test_what_the_dialect_sends_on_is_counted_as_native_requests_are(tmp_path: Path) -> None:
    """The amplification a gate judges counts a Nuonuo client's tries too: a refused token included."""
    with nuonuo_platform(tmp_path) as nn:
        assert nn.issue(nuonuo_order("NN-1"))["code"] == "E0000"
        assert nn.client.post("/admin/tokens/revoke", json={}, headers=ADMIN).status_code == 200
        assert nn.issue(nuonuo_order("NN-2"))["code"] == "070301"
        rows = nn.client.get("/admin/stats", headers=ADMIN).json()["requests"]
        counted = {(r["method"], r["route"], r["status"]): r["count"] for r in rows}
        assert counted[("POST", "/api/v1/invoices", 200)] + counted.get(("POST", "/api/v1/invoices", 202), 0) == 1
        assert counted[("POST", "/api/v1/invoices", 401)] == 1
        assert counted[("POST", "/api/v1/auth/token", 200)] == 1
