"""Orders on the wire between taxstorm and a client *service* (JSON), both directions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from taxstorm.clients.orders import Order, OrderLine


def order_to_json(order: Order) -> dict[str, Any]:
    """The business order a service receives (no serial: minting serials is the service's job)."""
    return {
        "orderRef": order.order_ref,
        "invoiceType": order.invoice_type,
        "seller": {"taxId": order.seller_tax_id, "name": order.seller_name},
        "buyer": {"taxId": order.buyer_tax_id, "name": order.buyer_name},
        "lines": [
            {
                "itemName": line.item_name,
                "quantity": str(line.quantity),
                "unitPrice": str(line.unit_price),
                "taxRate": str(line.tax_rate),
            }
            for line in order.lines
        ],
    }


def order_from_json(data: dict[str, Any]) -> Order:
    """The inverse of :func:`order_to_json`."""
    return Order(
        order_ref=str(data["orderRef"]),
        seller_tax_id=str(data["seller"]["taxId"]),
        seller_name=str(data["seller"]["name"]),
        buyer_name=str(data["buyer"]["name"]),
        buyer_tax_id=data["buyer"].get("taxId"),
        invoice_type=data.get("invoiceType", "02"),
        lines=tuple(
            OrderLine(line["itemName"], Decimal(line["quantity"]), Decimal(line["unitPrice"]), Decimal(line["taxRate"]))
            for line in data["lines"]
        ),
    )
