"""Calling the platform's IRP dialect in process with the gst-e-invoicing SDK's own cryptography (gst_irn.crypto:
its RSA, AES and Sek handling were tested by its authors against NIC's sandbox), so the platform's side is proven
against theirs."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from gst_irn import crypto

from taxstorm.mock_platform.clock import OffsetClock
from taxstorm.mock_platform.credentials import (
    DEV_CREDENTIAL_KEY,
    credentials_for,
    irp_password_for,
    irp_user_for,
)
from taxstorm.mock_platform.taxid import gstin_check_char
from tests.platform_helpers import ADMIN, platform_app

SELLER_GSTIN = "29AAGCB7383J1Z4"
BUYER_GSTIN = "27AAPFU0939F1ZV"
_body = "33ABCDE1234F1Z"
OTHER_GSTIN = _body + gstin_check_char(_body)


def irp_invoice(doc_no: str = "INV/001", doc_date: str = "18/11/2026", **changes: Any) -> dict[str, Any]:
    """A B2B invoice as an ERP fills NIC's schema: one service line at 18 % IGST."""
    invoice = {
        "Version": "1.1",
        "TranDtls": {"TaxSch": "GST", "SupTyp": "B2B"},
        "DocDtls": {"Typ": "INV", "No": doc_no, "Dt": doc_date},
        "SellerDtls": {
            "Gstin": SELLER_GSTIN,
            "LglNm": "Seller Pvt Ltd",
            "Addr1": "MG Road",
            "Loc": "Bengaluru",
            "Pin": 560001,
            "Stcd": "29",
        },
        "BuyerDtls": {
            "Gstin": BUYER_GSTIN,
            "LglNm": "Buyer LLP",
            "Pos": "27",
            "Addr1": "Link Road",
            "Loc": "Mumbai",
            "Pin": 400001,
            "Stcd": "27",
        },
        "ItemList": [
            {
                "SlNo": "1",
                "PrdDesc": "Consulting",
                "IsServc": "Y",
                "HsnCd": "998314",
                "Qty": 2,
                "Unit": "NOS",
                "UnitPrice": 500.0,
                "TotAmt": 1000.0,
                "Discount": 0,
                "AssAmt": 1000.0,
                "GstRt": 18.0,
                "IgstAmt": 180.0,
                "CgstAmt": 0,
                "SgstAmt": 0,
                "TotItemVal": 1180.0,
            },
        ],
        "ValDtls": {"AssVal": 1000.0, "CgstVal": 0, "SgstVal": 0, "IgstVal": 180.0, "TotInvVal": 1180.0},
    }
    return invoice | changes


@dataclass
class IrpCaller:
    """A GSTIN's API user on the dialect: its credentials, the platform's public key, and (once authenticated) the
    token and session key."""

    client: TestClient
    clock: OffsetClock
    gstin: str
    client_id: str
    secret: str
    public_key: str
    token: str = ""
    sek: str = ""  # base64, as the SDK keeps it

    def headers(self) -> dict[str, str]:
        return {
            "client-id": self.client_id,
            "client-secret": self.secret,
            "gstin": self.gstin,
            "user_name": irp_user_for(self.gstin),
            "AuthToken": self.token,
        }

    def authenticate(self, **changes: Any) -> dict[str, Any]:
        """POST auth (the SDK's way); keeps the token and Sek of a success; the answer."""
        app_key = base64.b64encode(os.urandom(32)).decode()
        payload = {
            "UserName": irp_user_for(self.gstin),
            "Password": irp_password_for(DEV_CREDENTIAL_KEY, self.gstin),
            "AppKey": app_key,
            "ForceRefreshAccessToken": False,
        } | changes
        sealed = crypto.encrypt_with_rsa_pub_key(base64.b64encode(json.dumps(payload).encode()), self.public_key)
        answer: dict[str, Any] = self.client.post(
            "/eivital/v1.04/auth", json={"Data": sealed}, headers=self.headers()
        ).json()
        if answer["Status"] == 1:
            self.token = answer["Data"]["AuthToken"]
            self.sek = base64.b64encode(crypto.decrypt_with_aes(answer["Data"]["Sek"], app_key, raw=True)).decode()
        return answer

    def opened(self, answer: dict[str, Any]) -> Any:
        """A success's Data, decrypted."""
        assert answer["Status"] == 1, answer
        return json.loads(crypto.decrypt_with_aes(answer["Data"], self.sek))

    def generate(self, invoice: dict[str, Any]) -> dict[str, Any]:
        sealed = crypto.encrypt_with_aes(json.dumps(invoice).encode(), self.sek)
        answer: dict[str, Any] = self.client.post(
            "/eicore/v1.03/Invoice", json={"Data": sealed}, headers=self.headers()
        ).json()
        return answer

    def cancel(self, irn: str, reason: str = "1", remark: str = "Wrong entry") -> dict[str, Any]:
        sealed = crypto.encrypt_with_aes(
            json.dumps({"Irn": irn, "CnlRsn": reason, "CnlRem": remark}).encode(), self.sek
        )
        answer: dict[str, Any] = self.client.post(
            "/eicore/v1.03/Invoice/Cancel", json={"Data": sealed}, headers=self.headers()
        ).json()
        return answer

    def by_irn(self, irn: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.get(f"/eicore/v1.03/Invoice/irn/{irn}", headers=self.headers()).json()
        return answer

    def by_document(self, doc_no: str, doc_date: str, doc_type: str = "INV") -> dict[str, Any]:
        query = f"doctype={doc_type}&docnum={doc_no}&docdate={doc_date}"
        path = f"/eicore/v1.03/Invoice/irnbydocdetails?{query}"
        answer: dict[str, Any] = self.client.get(path, headers=self.headers()).json()
        return answer


@contextmanager
def irp_platform(tmp_path: Path, gstin: str = SELLER_GSTIN, **settings: Any) -> Iterator[IrpCaller]:
    """A fresh in-process platform (SQLite) and a GSTIN's authenticated API user."""
    client_id, secret = credentials_for(DEV_CREDENTIAL_KEY, gstin)
    with platform_app({"ledger_path": tmp_path / "ledger.sqlite3"}, **settings) as (client, clock):
        public_key = client.get("/admin/dialects/irp/public-key", headers=ADMIN).json()["publicKey"]
        caller = IrpCaller(client, clock, gstin, client_id, secret, public_key)
        assert caller.authenticate()["Status"] == 1
        yield caller
