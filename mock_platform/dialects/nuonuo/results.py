"""A native invoice view as an item of ``queryInvoiceResult``, with Nuonuo's status values.

Status values as Nuonuo documents them: 2 开票完成（最终状态）, 20 开票中, 21 开票成功签章中, 22 开票失败,
24 开票成功签章失败 (3 and 31, voided, concern paper invoices only). The native upload to the tax bureau plays
the part of Nuonuo's signing step: uploading is 21, an upload that failed is 24.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from taxstorm.mock_platform.dialects.nuonuo.orders import serial_num_for

STATUS_TEXT = {
    "2": "开票完成（最终状态）",
    "20": "开票中",
    "21": "开票成功签章中",
    "22": "开票失败",
    "24": "开票成功签章失败",
}


def nuonuo_status(view: dict[str, Any]) -> str:
    """The Nuonuo status of a native invoice view."""
    if view["status"] == "PROCESSING":
        return "20"
    if view["status"] == "FAILED":
        return "22"
    return {"UPLOADING": "21", "FAILED": "24"}.get(str(view.get("uploadState")), "2")


def result_item(view: dict[str, Any], lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One ``queryInvoiceResult`` item; ``lines`` (the native lines) when details were asked for."""
    status = nuonuo_status(view)
    issued = status in ("2", "21", "24")
    number = view.get("invoiceNo") if issued else None
    totals = view["totals"]
    item: dict[str, Any] = {
        "serialNo": serial_num_for(str(view["orderRef"])),
        "orderNo": view["orderRef"],
        "status": status,
        "statusMsg": STATUS_TEXT[status],
        "failCause": (view.get("failReason") or "") if status == "22" else "",
        "invoiceCode": "",  # 数电票 have no invoice code
        "invoiceNo": number or "",
        "allElectronicInvoiceNumber": number or "",
        "invoiceTime": _millis(view.get("issueTime")) if issued else None,
        "exTaxAmount": totals["amount"],
        "taxAmount": totals["tax"],
        "orderAmount": totals["totalWithTax"],
        "salerTaxNum": view.get("sellerTaxId"),
        "payerTaxNo": view.get("buyerTaxId") or "",
        "invoiceType": "2" if view.get("kind") == "red" else "1",
        "invoiceLine": "bs" if view.get("invoiceType") == "01" else "pc",
    }
    if lines is not None:
        item["invoiceItems"] = [
            {
                "itemName": line.get("itemName"),
                "itemCode": line.get("taxCategoryCode") or "",
                "itemNum": line.get("quantity"),
                "itemPrice": line.get("unitPrice"),
                "itemTaxRate": line.get("taxRate"),
                "itemAmount": line.get("amount"),
                "itemTaxAmount": line.get("taxAmount"),
            }
            for line in lines
        ]
    return item


def _millis(iso_time: Any) -> int | None:
    if not iso_time:
        return None
    return int(datetime.fromisoformat(str(iso_time)).timestamp() * 1000)
