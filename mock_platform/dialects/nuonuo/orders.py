"""A Nuonuo ``order`` as a native issue request, and the native invoice view as a Nuonuo invoice result."""

from __future__ import annotations

import base64
import hashlib
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from taxstorm.mock_platform.validation import money, money_text

SERIAL_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SPECIAL_LINES = frozenset({"s", "bs", "b"})  # 专票 kinds of invoiceLine; every other kind is a 普票


class OrderError(ValueError):
    """An order the platform cannot read, naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def native_serial(order_no: str) -> str:
    """The native request serial of an order number: the number itself when it fits the serial pattern."""
    if SERIAL_SAFE.match(order_no):
        return order_no
    return "nn-" + hashlib.sha256(order_no.encode()).hexdigest()[:40]


def serial_num_for(order_no: str) -> str:
    """The ``invoiceSerialNum`` answered for an order: opaque to clients, derived from the order number so that it
    survives a platform restart without a table of its own (upper-case base32, no padding)."""
    return base64.b32encode(order_no.encode()).decode().rstrip("=")


def order_no_of(serial_num: str) -> str | None:
    """The order number behind an ``invoiceSerialNum`` this platform answered, or None."""
    if not serial_num or not serial_num.isalnum() or len(serial_num) > 120:
        return None
    try:
        return base64.b32decode(serial_num.upper() + "=" * (-len(serial_num) % 8)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def _text(order: dict[str, Any], name: str, required: bool = True, limit: int = 200) -> str | None:
    value = order.get(name)
    if value is None or value == "":
        if required:
            raise OrderError(f"order.{name}", "is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise OrderError(f"order.{name}", f"must be a string of at most {limit} characters")
    return value


def _decimal(detail: dict[str, Any], name: str, where: str) -> Decimal | None:
    value = detail.get(name)
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OrderError(f"{where}.{name}", f"{value!r} is not a number") from None
    if not number.is_finite():
        raise OrderError(f"{where}.{name}", f"{value!r} is not a finite number")
    return number


def _line(detail: Any, index: int, includes_tax: bool) -> dict[str, Any]:
    where = f"order.invoiceDetail[{index}]"
    if not isinstance(detail, dict):
        raise OrderError(where, "must be an object")
    name = detail.get("goodsName")
    if not isinstance(name, str) or not name:
        raise OrderError(f"{where}.goodsName", "is required")
    rate = _decimal(detail, "taxRate", where)
    if rate is None:
        raise OrderError(f"{where}.taxRate", "is required (e.g. 0.13)")
    quantity, price = _decimal(detail, "num", where), _decimal(detail, "price", where)
    given = _decimal(detail, "taxIncludedAmount" if includes_tax else "taxExcludedAmount", where)
    if given is None:
        if quantity is None or price is None:
            raise OrderError(where, "give num and price, or the line's amount")
        given = money(quantity * price)
    tax = _decimal(detail, "tax", where)
    if tax is None:
        tax = given - money(given / (1 + rate)) if includes_tax else money(given * rate)
    line: dict[str, Any] = {
        "lineNo": index + 1,
        "itemName": name,
        "amount": str(given),
        "taxRate": str(rate),
        "taxAmount": str(tax),
        "lineNature": str(detail.get("invoiceLineProperty") or "0"),
    }
    for native, nuonuo in (("taxCategoryCode", "goodsCode"), ("spec", "specType"), ("unit", "unit")):
        if detail.get(nuonuo):
            line[native] = str(detail[nuonuo])
    if quantity is not None:
        line["quantity"] = str(quantity)
    if price is not None:
        line["unitPrice"] = str(price)
    return line


def native_issue(order: Any) -> dict[str, Any]:
    """The native ``POST /api/v1/invoices`` body of a ``requestBillingNew`` order (a blue invoice)."""
    if not isinstance(order, dict):
        raise OrderError("order", "must be an object")
    order_no = _text(order, "orderNo", limit=64)
    assert order_no is not None
    if str(order.get("invoiceType", "1")) != "1":
        raise OrderError("order.invoiceType", "only 1 (blue) is issued through requestBillingNew here")
    details = order.get("invoiceDetail")
    if not isinstance(details, list) or not details:
        raise OrderError("order.invoiceDetail", "is required: at least one line")
    flags = {str(d.get("withTaxFlag", "")) if isinstance(d, dict) else "" for d in details}
    if not flags <= {"0", "1"} or len(flags) != 1:
        raise OrderError("order.invoiceDetail[].withTaxFlag", "is required on every line, all 1 (with tax) or all 0")
    includes_tax = flags == {"1"}
    lines = [_line(detail, index, includes_tax) for index, detail in enumerate(details)]
    net = sum(
        (Decimal(x["amount"]) - Decimal(x["taxAmount"]) if includes_tax else Decimal(x["amount"]) for x in lines),
        Decimal(0),
    )
    tax = sum((Decimal(x["taxAmount"]) for x in lines), Decimal(0))
    seller_tax_id = _text(order, "salerTaxNum", limit=20)
    buyer: dict[str, Any] = {"name": _text(order, "buyerName")}
    buyer_tax_id = _text(order, "buyerTaxNum", required=False, limit=20)
    if buyer_tax_id:
        buyer["taxId"] = buyer_tax_id
    return {
        "requestSerialNo": native_serial(order_no),
        "orderRef": order_no,
        "invoiceType": "01" if order.get("invoiceLine") in SPECIAL_LINES else "02",
        "seller": {"taxId": seller_tax_id, "name": _text(order, "salerName", required=False) or f"{seller_tax_id}"},
        "buyer": buyer,
        "issuer": _text(order, "clerk", limit=50),
        "priceIncludesTax": includes_tax,
        "remarks": _text(order, "remark", required=False, limit=500),
        "lines": lines,
        "totals": {"amount": money_text(net), "tax": money_text(tax), "totalWithTax": money_text(net + tax)},
    }
