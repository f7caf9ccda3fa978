"""An IRP invoice (NIC schema: TranDtls, DocDtls, SellerDtls, BuyerDtls, ItemList, ValDtls) as a native issue
request, the IRN, and the native invoice as the IRP's answer (AckNo, AckDt, Irn, signed invoice and QR code).

The document number is the business key (the native order reference); the IRN is the native request serial, so
a document registered twice is the native replay, answered ``2150 Duplicate IRN``. The document's type and date
and its main HSN code travel in the native ``remarks`` (the native invoice has no field for them).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from taxstorm.mock_platform.dialects.irp.crypto import key_id, signed_jwt
from taxstorm.mock_platform.validation import money, money_text

IST = timezone(timedelta(hours=5, minutes=30))
DOC_TYPES = frozenset({"INV", "CRN", "DBN"})
DOC_NO = re.compile(r"^[A-Za-z1-9][A-Za-z0-9/-]{0,15}$")
DOC_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
UNREGISTERED = "URP"


class InvoiceError(ValueError):
    """An IRP invoice the platform cannot read, naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class Document:
    """What identifies an IRP document besides its seller."""

    typ: str
    no: str
    dt: str  # dd/mm/yyyy
    main_hsn: str = ""

    @property
    def remarks(self) -> str:
        return f"IRP {self.typ} {self.dt} HSN {self.main_hsn or '-'}"

    @classmethod
    def from_remarks(cls, no: str, remarks: str | None) -> Document:
        parts = (remarks or "").split()
        if len(parts) != 5 or parts[0] != "IRP":
            return cls("INV", no, "")
        return cls(parts[1], no, parts[2], "" if parts[4] == "-" else parts[4])


def financial_year(doc_date: str) -> str:
    """India's financial year of a dd/mm/yyyy date, April to March: 03/01/2020 is 2019-20."""
    day = datetime.strptime(doc_date, "%d/%m/%Y")
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def irn_of(gstin: str, document: Document) -> str:
    """SHA-256 of supplier GSTIN + financial year + document type + document number (64 lower-case hex)."""
    text = f"{gstin}{financial_year(document.dt)}{document.typ.upper()}{document.no.upper()}"
    return hashlib.sha256(text.encode()).hexdigest()


def document_of(invoice: dict[str, Any]) -> Document:
    details = invoice.get("DocDtls")
    if not isinstance(details, dict):
        raise InvoiceError("DocDtls", "is required")
    typ, no, dt = (str(details.get(k, "")) for k in ("Typ", "No", "Dt"))
    if typ.upper() not in DOC_TYPES:
        raise InvoiceError("DocDtls.Typ", f"{typ!r}: INV, CRN or DBN")
    if not DOC_NO.match(no):
        raise InvoiceError("DocDtls.No", f"{no!r}: 1 to 16 letters, digits, / or -, not starting with 0, / or -")
    if not DOC_DATE.match(dt):
        raise InvoiceError("DocDtls.Dt", f"{dt!r}: dd/mm/yyyy")
    try:
        financial_year(dt)
    except ValueError:
        raise InvoiceError("DocDtls.Dt", f"{dt!r} is not a date") from None
    items = invoice.get("ItemList") or [{}]
    hsn = str(items[0].get("HsnCd", "")) if isinstance(items[0], dict) else ""
    return Document(typ.upper(), no.upper(), dt, hsn if hsn.isdigit() else "")


def _number(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        raise InvoiceError(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise InvoiceError(field, f"{value!r} is not a finite number")
    return number


def _line(item: Any, index: int) -> dict[str, Any]:
    where = f"ItemList[{index}]"
    if not isinstance(item, dict):
        raise InvoiceError(where, "must be an object")
    assessable = money(_number(item.get("AssAmt"), f"{where}.AssAmt"))
    rate = _number(item.get("GstRt"), f"{where}.GstRt") / 100
    tax = sum((_number(item.get(k), f"{where}.{k}") for k in ("IgstAmt", "CgstAmt", "SgstAmt")), Decimal(0))
    line: dict[str, Any] = {
        "lineNo": index + 1,
        "itemName": str(item.get("PrdDesc") or f"HSN {item.get('HsnCd', '')}")[:200],
        "amount": money_text(assessable),
        "taxRate": str(rate.normalize()) if rate else "0",
        "taxAmount": money_text(money(tax)),
    }
    quantity, price, total = item.get("Qty"), item.get("UnitPrice"), item.get("TotAmt")
    undiscounted = total is not None and money(_number(total, f"{where}.TotAmt")) == assessable
    if quantity is not None and price is not None and undiscounted:  # quantity × price is the amount
        line["quantity"] = str(_number(quantity, f"{where}.Qty"))
        line["unitPrice"] = str(_number(price, f"{where}.UnitPrice"))
    return line


def native_issue(invoice: Any) -> tuple[dict[str, Any], Document]:
    """The native ``POST /api/v1/invoices`` body of an IRP invoice, and its document."""
    if not isinstance(invoice, dict):
        raise InvoiceError("invoice", "must be a JSON object")
    document = document_of(invoice)
    seller, buyer = invoice.get("SellerDtls"), invoice.get("BuyerDtls")
    if not isinstance(seller, dict) or not seller.get("Gstin"):
        raise InvoiceError("SellerDtls.Gstin", "is required")
    if not isinstance(buyer, dict) or not buyer.get("LglNm"):
        raise InvoiceError("BuyerDtls.LglNm", "is required")
    items = invoice.get("ItemList")
    if not isinstance(items, list) or not items:
        raise InvoiceError("ItemList", "is required: at least one item")
    found = invoice.get("ValDtls")
    values: dict[str, Any] = found if isinstance(found, dict) else {}
    lines = [_line(item, index) for index, item in enumerate(items)]
    assessable = money(_number(values.get("AssVal"), "ValDtls.AssVal"))
    tax = money(sum((_number(values.get(k), f"ValDtls.{k}") for k in ("CgstVal", "SgstVal", "IgstVal")), Decimal(0)))
    gstin = str(seller["Gstin"]).upper()
    buyer_gstin = str(buyer.get("Gstin") or "").upper()
    party: dict[str, Any] = {"name": str(buyer["LglNm"])[:200]}
    if buyer_gstin and buyer_gstin != UNREGISTERED:
        party["taxId"] = buyer_gstin
    transaction = invoice.get("TranDtls")
    supply = str(transaction.get("SupTyp", "B2B")) if isinstance(transaction, dict) else "B2B"
    body = {
        "requestSerialNo": irn_of(gstin, document),
        "orderRef": document.no,
        "invoiceType": "01" if supply == "B2B" else "02",
        "seller": {"taxId": gstin, "name": str(seller.get("LglNm") or gstin)[:200]},
        "buyer": party,
        "remarks": document.remarks,
        "lines": lines,
        "totals": {
            "amount": money_text(assessable),
            "tax": money_text(tax),
            "totalWithTax": money_text(assessable + tax),
        },
    }
    return body, document


def ack_number(invoice_no: str) -> int:
    """A 15-digit acknowledgement number from the native invoice number (year and sequence)."""
    return int(f"1{invoice_no[:2]}{invoice_no[-12:]}")


def ist_text(moment: str | datetime) -> str:
    """A moment (ISO text or aware datetime) as the IRP writes it: India time, ``yyyy-MM-dd HH:mm:ss``."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def irp_data(
    view: dict[str, Any], document: Document, item_count: int, key: RSAPrivateKey, cancelled: bool = False
) -> dict[str, Any]:
    """The IRP's answer for an issued invoice (generate, and every look-up of it, give the same; ``Status`` CNL once
    it is cancelled)."""
    irn = str(view["requestSerialNo"])
    ack_no, ack_dt = ack_number(str(view["invoiceNo"])), ist_text(str(view["issueTime"]))
    total = float(view["totals"]["totalWithTax"])
    summary = {
        "SellerGstin": view["sellerTaxId"],
        "BuyerGstin": view.get("buyerTaxId") or UNREGISTERED,
        "DocNo": document.no,
        "DocTyp": document.typ,
        "DocDt": document.dt,
        "TotInvVal": total,
        "ItemCnt": item_count,
        "MainHsnCode": document.main_hsn,
        "Irn": irn,
        "IrnDt": ack_dt,
    }
    kid = key_id(key)
    signed = {"AckNo": ack_no, "AckDt": ack_dt, "Irn": irn, **summary, "AssVal": float(view["totals"]["amount"])}
    return {
        "AckNo": ack_no,
        "AckDt": ack_dt,
        "Irn": irn,
        "SignedInvoice": signed_jwt({"data": json.dumps(signed, ensure_ascii=False), "iss": "NIC"}, key, kid),
        "SignedQRCode": signed_jwt({"data": json.dumps(summary, ensure_ascii=False), "iss": "NIC"}, key, kid),
        "Status": "CNL" if cancelled else "ACT",
        "EwbNo": None,
        "EwbDt": None,
        "EwbValidTill": None,
        "Remarks": None,
    }
