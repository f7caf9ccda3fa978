"""Calling the platform's Nuonuo dialect in process, signed with the official SDK's own signer (nuonuo-sdk, the
signature its authors froze against Nuonuo's sample), so the platform's check is proven against theirs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from nuonuo.signing import sign

from taxstorm.mock_platform.clock import OffsetClock
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for
from tests.helpers import SELLER
from tests.platform_helpers import platform_app

ISSUE = "nuonuo.OpeMplatform.requestBillingNew"
QUERY = "nuonuo.OpeMplatform.queryInvoiceResult"


def nuonuo_order(order_no: str = "NN-1", **changes: Any) -> dict[str, Any]:
    """A valid order of the test seller, as an integrator fills the SDK's fields (prices with tax)."""
    order = {
        "orderNo": order_no,
        "invoiceDate": "2026-11-18 19:06:40",
        "invoiceType": "1",
        "invoiceLine": "pc",
        "salerTaxNum": SELLER.tax_id,
        "salerTel": "027-86000000",
        "salerAddress": "武汉市",
        "buyerName": "张三",
        "clerk": "王五",
        "pushMode": "-1",
        "invoiceDetail": [
            {"goodsName": "咨询服务", "num": "2", "price": "53", "withTaxFlag": "1", "taxRate": "0.06"},
        ],
    }
    return order | changes


@dataclass
class NuonuoCaller:
    """A seller's app on the dialect: its key, secret and (once fetched) token."""

    client: TestClient
    clock: OffsetClock
    app_key: str
    secret: str
    token: str = ""

    def fetch_token(self, **form: str) -> dict[str, Any]:
        fields = {"client_id": self.app_key, "client_secret": self.secret, "grant_type": "client_credentials"}
        answer = self.client.post("/accessToken", data=fields | form)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        self.token = str(body.get("access_token", ""))
        return body

    def call(
        self,
        method: str,
        data: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: float | None = None,
        user_tax: str = SELLER.tax_id,
        token: str | None = None,
    ) -> Any:
        """One signed services call; the raw response."""
        content = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        senid, nonce = uuid.uuid4().hex, "12345678"
        stamp = str(int(time.time() if timestamp is None else timestamp))
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Nuonuo-Sign": sign(secret or self.secret, self.app_key, senid, nonce, content, stamp),
            "accessToken": self.token if token is None else token,
            "userTax": user_tax,
            "method": method,
        }
        query = {"senid": senid, "nonce": nonce, "timestamp": stamp, "appkey": self.app_key}
        return self.client.post("/open/v1/services", params=query, headers=headers, content=content.encode())

    def envelope(self, method: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """A call's Nuonuo envelope (asserting HTTP 200 and the envelope's shape)."""
        answer = self.call(method, data, **kwargs)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert set(body) == {"code", "describe", "result"}, body
        return body

    def issue(self, order: dict[str, Any]) -> dict[str, Any]:
        return self.envelope(ISSUE, {"order": order})

    def query(self, *order_nos: str, details: bool = False) -> dict[str, Any]:
        return self.envelope(QUERY, {"orderNos": list(order_nos), "isOfferInvoiceDetail": "1" if details else "0"})


@contextmanager
def nuonuo_platform(tmp_path: Path, **settings: Any) -> Iterator[NuonuoCaller]:
    """A fresh in-process platform (SQLite) and the test seller's app with a token."""
    app_key, secret = credentials_for(DEV_CREDENTIAL_KEY, SELLER.tax_id)
    with platform_app({"ledger_path": tmp_path / "ledger.sqlite3"}, **settings) as (client, clock):
        caller = NuonuoCaller(client, clock, app_key, secret)
        caller.fetch_token()
        yield caller
