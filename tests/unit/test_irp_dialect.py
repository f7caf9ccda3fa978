"""The IRP dialect on the wire: RSA-sealed auth with a Sek, AES payloads, synchronous IRN generation, 2150 Duplicate
IRN with the original in InfoDtls, look-ups by IRN and by document, in NIC's envelope and codes (in process, with
the gst-e-invoicing SDK's own cryptography; the unmodified SDK over TLS is tested in
tests/integration/test_irp_sdk.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from gst_irn import crypto

from taxstorm.mock_platform.dialects.irp import codes
from taxstorm.mock_platform.dialects.irp.invoices import Document, financial_year, irn_of
from taxstorm.mock_platform.errors import ErrorCode
from taxstorm.mock_platform.fault_modes import MODES, RELEASES
from taxstorm.mock_platform.taxid import gstin_check_char, is_gstin
from tests.irp_helpers import BUYER_GSTIN, OTHER_GSTIN, SELLER_GSTIN, IrpCaller, irp_invoice, irp_platform
from tests.platform_helpers import ADMIN


def error_code(answer: dict[str, Any]) -> str:
    assert answer["Status"] == 0 and answer["Data"] is None, answer
    return str(answer["ErrorDetails"][0]["ErrorCode"])


def test_the_irn_is_nics_hash_of_gstin_financial_year_type_and_number() -> None:
    # NIC's worked example: 01AAAAA9999A19N issued invoice ABC01234 on 12.12.2019
    expected = hashlib.sha256(b"01AAAAA9999A19N2019-20INVABC01234").hexdigest()
    assert irn_of("01AAAAA9999A19N", Document("INV", "ABC01234", "12/12/2019")) == expected
    assert financial_year("03/01/2020") == "2019-20" and financial_year("01/04/2020") == "2020-21"
    assert is_gstin(SELLER_GSTIN) and is_gstin(BUYER_GSTIN) and is_gstin(OTHER_GSTIN)
    assert not is_gstin(SELLER_GSTIN[:14] + gstin_check_char(BUYER_GSTIN[:14]))


def test_auth_gives_a_token_and_a_session_key_sealed_with_the_app_key(tmp_path: Path) -> None:
    with irp_platform(tmp_path) as irp:
        answer = irp.authenticate()
        data = answer["Data"]
        assert answer["Status"] == 1 and answer["ErrorDetails"] is None and isinstance(answer["Status"], int)
        assert set(data) == {"ClientId", "UserName", "AuthToken", "Sek", "TokenExpiry"}
        assert len(base64.b64decode(data["Sek"])) == 48 and len(base64.b64decode(irp.sek)) == 32  # AES-256 key
        assert len(data["TokenExpiry"]) == 19 and data["TokenExpiry"][10] == " "  # yyyy-MM-dd HH:mm:ss
        assert error_code(irp.authenticate(Password="wrong")) == "1019"
        assert error_code(irp.authenticate(UserName="API_nobody")) == "1017"
        irp.secret = "wrong"
        assert error_code(irp.authenticate()) == "1010"


def test_an_irp_token_lives_six_hours_and_then_is_1005(tmp_path: Path) -> None:
    with irp_platform(tmp_path) as irp:  # the native platform's own tokens live 2 h (token_ttl_s)
        expiry = datetime.strptime(irp.authenticate()["Data"]["TokenExpiry"], "%Y-%m-%d %H:%M:%S")
        now_ist = datetime.now(UTC).astimezone(timezone(timedelta(hours=5, minutes=30))).replace(tzinfo=None)
        assert abs((expiry - now_ist).total_seconds() - 6 * 3600) < 120
        irp.clock.advance(5 * 3600)
        assert irp.opened(irp.generate(irp_invoice("INV/601")))["Irn"]  # still good after 5 h
        irp.clock.advance(3600 + 1)
        assert error_code(irp.generate(irp_invoice("INV/602"))) == "1005"  # gone after 6 h


def test_an_unreadable_auth_payload_and_missing_headers_are_named(tmp_path: Path) -> None:
    with irp_platform(tmp_path) as irp:
        headers = irp.headers()
        assert (
            error_code(irp.client.post("/eivital/v1.04/auth", json={"Data": "AAAA"}, headers=headers).json()) == "1016"
        )
        del headers["gstin"]
        assert error_code(irp.client.post("/eivital/v1.04/auth", json={"Data": "x"}, headers=headers).json()) == "1004"
        irp.gstin = OTHER_GSTIN  # the credential of one GSTIN for another
        assert error_code(irp.authenticate()) == "1015"


def test_generate_is_synchronous_and_a_second_registration_is_2150_with_the_original(tmp_path: Path) -> None:
    with irp_platform(tmp_path) as irp:
        data = irp.opened(irp.generate(irp_invoice("INV/001")))
        assert data["Irn"] == irn_of(SELLER_GSTIN, Document("INV", "INV/001", "18/11/2026"))
        assert data["Status"] == "ACT" and len(str(data["AckNo"])) == 15 and isinstance(data["AckNo"], int)
        assert data["EwbNo"] is None and data["SignedInvoice"].count(".") == 2
        qr = json.loads(base64.urlsafe_b64decode(data["SignedQRCode"].split(".")[1] + "==="))
        signed = json.loads(qr["data"])
        assert (signed["DocNo"], signed["DocDt"], signed["TotInvVal"], signed["MainHsnCode"]) == (
            "INV/001",
            "18/11/2026",
            1180.0,
            "998314",
        )
        again = irp.generate(irp_invoice("INV/001"))
        assert error_code(again) == "2150" and again["ErrorDetails"][0]["ErrorMessage"] == "Duplicate IRN"
        assert again["InfoDtls"] == [
            {"InfCd": "DUPIRN", "Desc": {"AckNo": data["AckNo"], "AckDt": data["AckDt"], "Irn": data["Irn"]}}
        ]
        assert irp.opened(irp.by_irn(data["Irn"])) == data  # the same answer, as NIC's (the SDK compares them)
        assert irp.opened(irp.by_document("INV/001", "18/11/2026")) == data
        assert error_code(irp.by_irn("0" * 64)) == "2154"
        assert error_code(irp.by_document("INV/404", "18/11/2026")) == "2154"


def test_an_invoice_the_core_refuses_keeps_the_platforms_code_and_field(tmp_path: Path) -> None:
    with irp_platform(tmp_path) as irp:
        wrong = irp_invoice(ValDtls={"AssVal": 1000.0, "IgstVal": 170.0, "TotInvVal": 1170.0})
        refused = irp.generate(wrong)
        assert error_code(refused) == "E2002" and "totals.tax" in refused["ErrorDetails"][0]["ErrorMessage"]
        assert error_code(irp.generate(irp_invoice(DocDtls={"Typ": "INV", "No": "0BAD", "Dt": "1/1/2026"}))) == "E2001"
        odd_rate = irp_invoice()
        odd_rate["ItemList"][0] |= {"GstRt": 13.0, "IgstAmt": 130.0}
        odd_rate["ValDtls"] |= {"IgstVal": 130.0, "TotInvVal": 1130.0}
        assert error_code(irp.generate(odd_rate)) == "E2004"  # a Chinese rate is no GST rate
        other = irp_invoice(SellerDtls={"Gstin": OTHER_GSTIN, "LglNm": "Someone else"})
        assert error_code(irp.generate(other)) == "2143"


def fault(route: str, **body: Any) -> tuple[str, str, dict[str, Any]]:
    return ("PUT", f"/admin/faults/{route}", body)


def release(name: str) -> tuple[str, str, dict[str, Any]]:
    return ("PUT", "/admin/release", {"name": name})


# every platform condition → (admin calls, what generating INV/001 answers: an IRP code, ACT for a record or an
# HTTP status, then what a look-up of it by IRN answers); a new fault mode or release needs a row
ROWS: dict[str, tuple[list[tuple[str, str, dict[str, Any]]], str, str]] = {
    "errors:busy": ([fault("errors", code="E9003", rate=1, families=["issue"])], "2146", "2154"),
    "errors:internal": ([fault("errors", code="E9005", rate=1, commit_rate=1, families=["issue"])], "5002", "ACT"),
    "errors:timeout": ([fault("errors", code="E9004", rate=1, commit_rate=0, families=["issue"])], "504", "2154"),
    "errors:rate": ([fault("errors", code="E9001", rate=1, families=["issue"])], "429", "2154"),
    "latency": ([fault("latency", median_ms=30)], "ACT", "ACT"),
    "ghost": ([fault("ghost", rate=1)], "504", "ACT"),  # committed, the answer lost at the gateway
    "upload": ([fault("upload", rate=1)], "ACT", "ACT"),  # the IRP has no upload step: the IRN stands
    "ledger-stall": ([fault("ledger-stall", stall_ms=30)], "ACT", "ACT"),
    "policy": ([fault("policy", required_fields=["issuer"])], "E2001", "2154"),
    "quota-suspension": ([fault("quota-suspension")], "3029", "2154"),
    "maintenance": ([("POST", "/admin/maintenance", {"duration_s": 600})], "5002", "5002"),
    "feature-off": ([("PUT", "/admin/features/issue", {"down": True})], "5002", "5002"),
    "rate-limit": ([("PUT", "/admin/capacity/issue", {"rate_per_min": 1})], "ACT", "ACT"),
    "token-revocation": ([("POST", "/admin/tokens/revoke", {})], "1005", "1005"),
    "reverify": ([("POST", "/admin/reverify", {})], "ACT", "ACT"),  # live tokens stay; a new auth is refused
    "release:bad-5xx-by-serial": ([release("bad-5xx-by-serial")], "ACT", "5002"),
    "release:renamed-field": ([release("renamed-field")], "5002", "5002"),  # the IRP's own answer breaks
    "release:latency-leak": ([release("latency-leak")], "ACT", "ACT"),
    "release:wrong-rounding": ([release("wrong-rounding")], "ACT", "ACT"),
    "release:stable": ([release("stable")], "ACT", "ACT"),
}


def test_every_fault_mode_and_release_has_a_row() -> None:
    assert {key.split(":")[0] for key in ROWS} >= set(MODES)
    assert {key.removeprefix("release:") for key in ROWS if key.startswith("release:")} == set(RELEASES)


def answered(irp: IrpCaller, response: Any) -> str:
    """What a response says: the IRP code, ACT for a record, or the HTTP status of a non-JSON answer."""
    if not response.headers["content-type"].startswith("application/json"):
        return str(response.status_code)
    body = response.json()
    return str(irp.opened(body)["Status"]) if body["Status"] == 1 else error_code(body)


@pytest.mark.parametrize("name", list(ROWS))
def test_a_fault_reaches_an_irp_client_in_irp_terms(tmp_path: Path, name: str) -> None:
    admin, generated, looked_up = ROWS[name]
    with irp_platform(tmp_path) as irp:
        for method, path, body in admin:
            assert irp.client.request(method, path, json=body, headers=ADMIN).status_code == 200
        invoice = irp_invoice("INV/001")
        if name == "release:wrong-rounding":  # 18 % of 1000.05 is 180.009: 180.01 rounded, 180.00 truncated
            invoice["ItemList"][0] |= {"UnitPrice": 500.025, "TotAmt": 1000.05, "AssAmt": 1000.05, "IgstAmt": 180.01}
            invoice["ValDtls"] |= {"AssVal": 1000.05, "IgstVal": 180.01, "TotInvVal": 1180.06}
        sealed = {"Data": crypto.encrypt_with_aes(json.dumps(invoice).encode(), irp.sek)}
        assert answered(irp, irp.client.post("/eicore/v1.03/Invoice", json=sealed, headers=irp.headers())) == generated
        irn = irn_of(SELLER_GSTIN, Document("INV", "INV/001", "18/11/2026"))
        response = irp.client.get(f"/eicore/v1.03/Invoice/irn/{irn}", headers=irp.headers())
        assert answered(irp, response) == looked_up
        if name == "reverify":
            assert error_code(irp.authenticate()) == "1007"
        if name == "rate-limit":
            again = irp.client.post("/eicore/v1.03/Invoice", json=sealed, headers=irp.headers())
            assert again.status_code == 429  # the second issue within the minute
        if name == "release:wrong-rounding":  # the signed total is the ledger's, not the order's: a client can see
            qr = irp.opened(response.json())["SignedQRCode"].split(".")[1]
            assert json.loads(json.loads(base64.urlsafe_b64decode(qr + "==="))["data"])["TotInvVal"] == 1180.05


def test_every_native_error_has_an_irp_expression_or_keeps_its_own_code() -> None:
    own = {e for e in ErrorCode if codes.for_native(e).code == e.code}
    assert own == {
        ErrorCode.SCHEMA,
        ErrorCode.AMOUNT_MISMATCH,
        ErrorCode.BAD_TAX_ID,
        ErrorCode.BAD_RATE,
        ErrorCode.BAD_CATEGORY,
        ErrorCode.QUOTA_EXCEEDED,
        ErrorCode.QUOTA_PERIOD_EXPIRED,
        ErrorCode.SEGMENT_EXHAUSTED,
        ErrorCode.RED_CONFIRMATION_NEEDED,
        ErrorCode.RED_CONFIRMATION_VOID,
        ErrorCode.RED_EXCEEDS_BLUE,
        ErrorCode.BLUE_NOT_FOUND,
        ErrorCode.VERIFY_LIMIT,
        ErrorCode.VERIFY_TOO_OLD,
        ErrorCode.RATE_LIMITED,
        ErrorCode.TIMEOUT,  # the gateway's 429 and 504 (codes.GATEWAY_STATUS)
    }


def test_an_irn_is_cancelled_within_24_hours_once_and_its_record_says_so(tmp_path: Path) -> None:
    with irp_platform(tmp_path) as irp:
        first = irp.opened(irp.generate(irp_invoice("INV/001")))
        cancelled = irp.opened(irp.cancel(first["Irn"]))
        assert cancelled["Irn"] == first["Irn"] and len(cancelled["CancelDate"]) == 19
        assert irp.opened(irp.by_irn(first["Irn"]))["Status"] == "CNL"
        assert error_code(irp.cancel(first["Irn"])) == "9999"  # a cancelled IRN is not active
        assert error_code(irp.cancel("0" * 64)) == "2154"
        assert error_code(irp.cancel(first["Irn"], reason="7")) == "E2001"
        second = irp.opened(irp.generate(irp_invoice("INV/002")))
        irp.clock.advance(24 * 3600 + 1)
        assert error_code(irp.cancel(second["Irn"])) == "1005"  # a day later the token has expired too
        assert irp.authenticate()["Status"] == 1
        assert error_code(irp.cancel(second["Irn"])) == "2270"
        assert irp.opened(irp.by_irn(second["Irn"]))["Status"] == "ACT"
        ledger = [json.loads(line) for line in irp.client.get("/admin/ledger", headers=ADMIN).text.splitlines()[:-1]]
        reds = [row for row in ledger if row["kind"] == "red"]
        assert len(reds) == 1 and reds[0]["blueInvoiceNo"] == ledger[0]["invoiceNo"]  # the cancel is a full red
