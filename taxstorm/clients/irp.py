"""India's IRP (NIC e-invoice API) as a client speaks it: sealed auth, AES payloads, the IRN, and an invoice in
NIC's schema (written from NIC's API documentation, not from the mock's code).

- auth: ``POST /eivital/v1.04/auth`` with headers ``client_id``, ``client_secret``, ``Gstin`` and ``{"Data": ...}``:
  the JSON ``{UserName, Password, AppKey, ForceRefreshAccessToken}``, base64, RSA-encrypted (PKCS#1 v1.5) with the
  IRP's public key; the answer's ``Sek`` is the session key AES-encrypted with the AppKey;
- every later payload, both ways, is AES-256-ECB (PKCS7) under the Sek; answers are ``{Status, Data, ErrorDetails,
  InfoDtls}`` (``Status`` 1 or 0);
- the IRN is SHA-256 of GSTIN + financial year + document type + document number: a document registered again
  is ``2150 Duplicate IRN`` with the original in ``InfoDtls`` (``DUPIRN``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AUTH_PATH = "/eivital/v1.04/auth"
INVOICE_PATH = "/eicore/v1.03/Invoice"
BY_IRN_PATH = "/eicore/v1.03/Invoice/irn/"
INVALID_TOKEN = "1005"
DUPLICATE_IRN = "2150"
NOT_FOUND = "2154"
NOT_AVAILABLE = "2148"
TRY_LATER = frozenset({"2146", "2147", "5002"})  # the IRP's trouble: try later (the work may have been done)
ACCOUNT_BLOCKED = frozenset({"3029"})  # the GSTIN cannot issue now
IST = timezone(timedelta(hours=5, minutes=30))


def aes_seal(plain: bytes, key: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()).decode()


def aes_open(text: str, key: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = decryptor.update(base64.b64decode(text)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def auth_body(user_name: str, password: str, app_key: bytes, public_key_pem: str) -> dict[str, str]:
    """The auth request's body for a fresh 32-byte ``app_key``."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(key, RSAPublicKey)
    credentials = {
        "UserName": user_name,
        "Password": password,
        "AppKey": base64.b64encode(app_key).decode(),
        "ForceRefreshAccessToken": False,
    }
    sealed = key.encrypt(base64.b64encode(json.dumps(credentials).encode()), asymmetric.PKCS1v15())
    return {"Data": base64.b64encode(sealed).decode()}


def new_app_key() -> bytes:
    return os.urandom(32)


def token_life_s(expiry_ist: str) -> float:
    """Seconds until a ``TokenExpiry`` (India time, ``yyyy-MM-dd HH:mm:ss``), at least a minute."""
    expiry = datetime.strptime(expiry_ist, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    return max(60.0, (expiry - datetime.now(IST)).total_seconds())


def today_ist() -> str:
    return datetime.now(IST).strftime("%d/%m/%Y")


def irn_of(gstin: str, doc_no: str, doc_date: str, doc_type: str = "INV") -> str:
    """SHA-256 of GSTIN + financial year (April–March, ``2026-27``) + document type + number."""
    day = datetime.strptime(doc_date, "%d/%m/%Y")
    start = day.year if day.month >= 4 else day.year - 1
    return hashlib.sha256(f"{gstin}{start}-{(start + 1) % 100:02d}{doc_type}{doc_no}".upper().encode()).hexdigest()


def _amount(text: Any) -> float:
    return float(str(text))


def irp_invoice(payload: dict[str, Any], doc_no: str, doc_date: str) -> dict[str, Any]:
    """NIC's invoice for an issue request of taxstorm's order shape (net amounts; inter-state: IGST)."""
    seller, buyer, totals = payload["seller"], payload["buyer"], payload["totals"]
    items = []
    for number, line in enumerate(payload["lines"], start=1):
        amount, tax = _amount(line["amount"]), _amount(line["taxAmount"])
        item: dict[str, Any] = {
            "SlNo": str(number),
            "PrdDesc": str(line["itemName"])[:300],
            "IsServc": "N",
            "HsnCd": "998314",
            "Unit": "NOS",
            "TotAmt": amount,
            "Discount": 0,
            "AssAmt": amount,
            "GstRt": round(_amount(line["taxRate"]) * 100, 3),
            "IgstAmt": tax,
            "CgstAmt": 0,
            "SgstAmt": 0,
            "TotItemVal": round(amount + tax, 2),
        }
        if "quantity" in line and "unitPrice" in line:
            item |= {"Qty": _amount(line["quantity"]), "UnitPrice": _amount(line["unitPrice"])}
        items.append(item)
    return {
        "Version": "1.1",
        "TranDtls": {"TaxSch": "GST", "SupTyp": "B2B"},
        "DocDtls": {"Typ": "INV", "No": doc_no, "Dt": doc_date},
        "SellerDtls": {
            "Gstin": seller["taxId"],
            "LglNm": seller.get("name", ""),
            "Addr1": "-",
            "Loc": "-",
            "Pin": 560001,
            "Stcd": str(seller["taxId"])[:2],
        },
        "BuyerDtls": {
            "Gstin": buyer.get("taxId") or "URP",
            "LglNm": buyer.get("name", ""),
            "Pos": "29",
            "Addr1": "-",
            "Loc": "-",
            "Pin": 560001,
            "Stcd": str(buyer.get("taxId") or "29")[:2],
        },
        "ItemList": items,
        "ValDtls": {
            "AssVal": _amount(totals["amount"]),
            "CgstVal": 0,
            "SgstVal": 0,
            "IgstVal": _amount(totals["tax"]),
            "TotInvVal": _amount(totals["totalWithTax"]),
        },
    }


def signed_total(signed_qr_code: str) -> str | None:
    """``TotInvVal`` from a signed QR code (a JWT whose payload's ``data`` is the QR's JSON), as ``1234.50``."""
    try:
        payload = signed_qr_code.split(".")[1]
        data = json.loads(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["data"])
        return f"{float(data['TotInvVal']):.2f}"
    except (IndexError, ValueError, KeyError, TypeError):
        return None
