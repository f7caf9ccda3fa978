"""The Nuonuo open platform's wire protocol as a client speaks it: signed ``/open/v1/services`` calls, orders,
and invoice results (written from Nuonuo's public API documentation, not from the mock's code).

- a token: ``POST /accessToken`` (form: ``client_id`` = app key, ``client_secret``, ``grant_type``) →
  ``{access_token, expires_in}``, or ``{error, error_description}``;
- a call: ``POST /open/v1/services?senid=&nonce=&timestamp=&appkey=`` with the headers ``X-Nuonuo-Sign`` (base64
  HMAC-SHA1 of ``a=services&l=v1&p=open&k=…&i=…&n=…&t=…&f=<body>`` under the app secret), ``accessToken``,
  ``userTax`` and ``method``; the answer ``{code, describe, result}`` (``E0000``: success);
- ``requestBillingNew`` accepts an ``order`` and answers its ``invoiceSerialNum``; the invoice is made later and
  read with ``queryInvoiceResult`` (status 2 done; 20 in progress; 21 done, signing; 22 failed; 24 done, signing
  failed). An order number is unique: sending it again is refused with ``E9106`` whatever became of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

TOKEN_PATH = "/accessToken"
SERVICES_PATH = "/open/v1/services"
ISSUE = "nuonuo.OpeMplatform.requestBillingNew"
QUERY = "nuonuo.OpeMplatform.queryInvoiceResult"
SUCCESS = "E0000"
DUPLICATE_ORDER = "E9106"
NO_INVOICE = "E9500"
TOKEN_MISMATCH = "070301"
# the platform's own trouble: try later (0203 API处理异常 and -1 未知异常 may have done the work)
BUSY_CODES = frozenset({"070202", "070203", "040102", "070201"})
UNKNOWN_OUTCOME_CODES = frozenset({"0203", "-1"})
DONE = {"2": "UPLOADED", "21": "UPLOADING", "24": "FAILED"}  # issued: the signing step's state as an upload state
IN_PROGRESS = "20"


def sign(secret: str, app_key: str, senid: str, nonce: str, content: str, timestamp: str) -> str:
    """``X-Nuonuo-Sign`` of one call."""
    message = f"a=services&l=v1&p=open&k={app_key}&i={senid}&n={nonce}&t={timestamp}&f={content}"
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()).decode()


def signed_call(
    app_key: str,
    secret: str,
    token: str,
    user_tax: str,
    method: str,
    data: dict[str, Any],
    wall: Callable[[], float] = time.time,
) -> tuple[str, str, dict[str, str]]:
    """(path with query, body text, headers) of one services call."""
    content = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    senid, nonce, timestamp = uuid.uuid4().hex, str(10_000_000 + secrets.randbelow(90_000_000)), str(int(wall()))
    query = urlencode({"senid": senid, "nonce": nonce, "timestamp": timestamp, "appkey": app_key})
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Nuonuo-Sign": sign(secret, app_key, senid, nonce, content, timestamp),
        "accessToken": token,
        "userTax": user_tax,
        "method": method,
    }
    return f"{SERVICES_PATH}?{query}", content, headers


def token_form(app_key: str, secret: str) -> str:
    """The token request's form body."""
    return urlencode({"client_id": app_key, "client_secret": secret, "grant_type": "client_credentials"})


def order_from_payload(payload: dict[str, Any], order_no: str | None = None) -> dict[str, Any]:
    """A Nuonuo ``order`` for an issue request of taxstorm's order shape (net prices), under ``order_no``
    (default: the order's own reference, the business key)."""
    seller, buyer = payload["seller"], payload["buyer"]
    return {
        "orderNo": order_no or payload["orderRef"],
        "invoiceDate": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "invoiceType": "1",
        "invoiceLine": "bs" if payload.get("invoiceType") == "01" else "pc",
        "salerTaxNum": seller["taxId"],
        "salerTel": "027-00000000",
        "salerAddress": seller.get("name", ""),
        "buyerName": buyer["name"],
        "buyerTaxNum": buyer.get("taxId") or "",
        "clerk": "taxstorm",
        "pushMode": "-1",
        "invoiceDetail": [
            {
                "goodsName": line["itemName"],
                "num": line.get("quantity", ""),
                "price": line.get("unitPrice", ""),
                "withTaxFlag": "0",
                "taxRate": line["taxRate"],
                "taxExcludedAmount": line["amount"],
                "tax": line["taxAmount"],
            }
            for line in payload["lines"]
        ],
    }
