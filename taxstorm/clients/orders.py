"""Business orders a client system turns into invoices; ``orderRef`` is the business key."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any, Literal

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Cents, rounded half up as the tax authority rounds."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class OrderLine:
    """One priced line of an order (prices net of tax)."""

    item_name: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal

    @cached_property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)

    @cached_property
    def tax(self) -> Decimal:
        return money(self.amount * self.tax_rate)


@dataclass(frozen=True)
class Order:
    """An order to invoice: seller, buyer and lines; totals are derived, never typed in."""

    order_ref: str
    seller_tax_id: str
    seller_name: str
    buyer_name: str
    lines: tuple[OrderLine, ...]
    buyer_tax_id: str | None = None
    invoice_type: Literal["01", "02"] = "02"

    @cached_property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @cached_property
    def total_tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal(0))

    @cached_property
    def total_with_tax(self) -> Decimal:
        return self.total_amount + self.total_tax

    def invoice_payload(self, serial: str) -> dict[str, Any]:
        """The platform's issue request for this order under request serial ``serial``."""
        buyer: dict[str, Any] = {"name": self.buyer_name}
        if self.buyer_tax_id:
            buyer["taxId"] = self.buyer_tax_id
        return {
            "requestSerialNo": serial,
            "orderRef": self.order_ref,
            "invoiceType": self.invoice_type,
            "seller": {"taxId": self.seller_tax_id, "name": self.seller_name},
            "buyer": buyer,
            "lines": [
                {
                    "lineNo": number,
                    "itemName": line.item_name,
                    "quantity": str(line.quantity),
                    "unitPrice": str(line.unit_price),
                    "amount": str(line.amount),
                    "taxRate": str(line.tax_rate),
                    "taxAmount": str(line.tax),
                }
                for number, line in enumerate(self.lines, start=1)
            ],
            "totals": {
                "amount": str(self.total_amount),
                "tax": str(self.total_tax),
                "totalWithTax": str(self.total_with_tax),
            },
        }
