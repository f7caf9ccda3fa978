"""Request and response models of the invoice API (English names, DOMAIN.md §A)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SERIAL_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class ApiModel(BaseModel):
    """Base for API bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Party(ApiModel):
    """Seller or buyer of an invoice."""

    taxId: str | None = Field(None, max_length=20)
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(None, max_length=300)
    naturalPerson: bool = False


class InvoiceLine(ApiModel):
    """One line: amount is net of tax, taxAmount = round(amount × taxRate, 2)."""

    lineNo: int = Field(ge=1)
    itemName: str = Field(min_length=1, max_length=200)
    taxCategoryCode: str | None = Field(None, pattern=r"^\d{19}$")
    quantity: Decimal | None = None
    unitPrice: Decimal | None = None
    amount: Decimal
    taxRate: Decimal
    taxAmount: Decimal


class Totals(ApiModel):
    """Invoice totals: amount = Σ line amounts, tax = Σ line taxes, totalWithTax = amount + tax."""

    amount: Decimal
    tax: Decimal
    totalWithTax: Decimal


class IssueInvoiceRequest(ApiModel):
    """Issue a blue invoice; idempotent on (seller.taxId, requestSerialNo)."""

    requestSerialNo: str = Field(pattern=SERIAL_PATTERN)
    orderRef: str = Field(min_length=1, max_length=64)
    invoiceType: Literal["01", "02"] = "02"
    seller: Party
    buyer: Party
    issuer: str | None = Field(None, max_length=50)
    remarks: str | None = Field(None, max_length=500)
    lines: list[InvoiceLine] = Field(min_length=1)
    totals: Totals


class InvoiceTotals(BaseModel):
    """Totals as exact decimal strings."""

    amount: str
    tax: str
    totalWithTax: str


class InvoiceResult(BaseModel):
    """What the platform says about one invoice."""

    requestSerialNo: str
    orderRef: str
    sellerTaxId: str
    invoiceNo: str
    status: Literal["ISSUED"]
    issueTime: str
    totals: InvoiceTotals
    replayed: bool = False


class Envelope(BaseModel):
    """The response envelope of every business endpoint."""

    code: str
    message: str
    traceId: str
    data: InvoiceResult | None = None
