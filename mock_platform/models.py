"""Request models of the API: English names, 乐企-style pinyin aliases accepted (DOMAIN.md §A)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

SERIAL_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ZERO_RATE_MARKS = {"0": "出口零税 export", "1": "免税 exempt", "2": "不征税 not taxable", "3": "普通零税率 zero rate"}
TAX_ID_PATTERN = r"^[0-9A-Z]{15,20}$"


def alias(*names: str) -> Any:
    """Accept the English name first, then the pinyin ones."""
    return AliasChoices(*names)


class ApiModel(BaseModel):
    """Base for API bodies: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TokenRequest(ApiModel):
    """Client credentials plus the taxpayer the token acts for."""

    clientId: str = Field(min_length=1, max_length=64, validation_alias=alias("clientId", "client_id"))
    clientSecret: str = Field(min_length=1, max_length=128, validation_alias=alias("clientSecret", "client_secret"))
    taxpayerId: str = Field(pattern=TAX_ID_PATTERN, validation_alias=alias("taxpayerId", "nsrsbh"))


class Party(ApiModel):
    """Seller (销售方) or buyer (购买方) of an invoice."""

    taxId: str | None = Field(None, max_length=20, validation_alias=alias("taxId", "xsfnsrsbh", "gmfnsrsbh"))
    name: str = Field(min_length=1, max_length=200, validation_alias=alias("name", "xsfmc", "gmfmc"))
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=40)
    bank: str | None = Field(None, max_length=100)
    account: str | None = Field(None, max_length=60)
    naturalPerson: bool = Field(False, validation_alias=alias("naturalPerson", "gmfzrrbz"))

    @field_validator("taxId")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        """An empty tax id (a natural person buyer's form left blank) is no tax id."""
        return value or None


class InvoiceLine(ApiModel):
    """One line (项目). Net of tax unless the invoice says ``priceIncludesTax``."""

    lineNo: int = Field(ge=1, le=100_000, validation_alias=alias("lineNo", "xh"))
    itemName: str = Field(min_length=1, max_length=200, validation_alias=alias("itemName", "xmmc"))
    taxCategoryCode: str | None = Field(None, max_length=19, validation_alias=alias("taxCategoryCode", "spbm"))
    spec: str | None = Field(None, max_length=100, validation_alias=alias("spec", "ggxh"))
    unit: str | None = Field(None, max_length=20, validation_alias=alias("unit", "dw"))
    quantity: Decimal | None = Field(None, max_digits=28, validation_alias=alias("quantity", "spsl"))
    unitPrice: Decimal | None = Field(None, max_digits=28, validation_alias=alias("unitPrice", "dj"))
    amount: Decimal = Field(max_digits=18, validation_alias=alias("amount", "je"))
    taxRate: Decimal = Field(max_digits=6, validation_alias=alias("taxRate", "slv"))
    taxAmount: Decimal = Field(max_digits=18, validation_alias=alias("taxAmount", "se"))
    lineNature: Literal["0", "1", "2"] = Field("0", validation_alias=alias("lineNature", "fphxz"))
    zeroRateMark: Literal["0", "1", "2", "3"] | None = Field(
        None,
        validation_alias=alias("zeroRateMark", "lslbs"),
        description="零税率标识, only with taxRate 0: 0 export zero rate, 1 exempt (免税), 2 not taxable, 3 zero rate",
    )


class Totals(ApiModel):
    """amount = Σ line net amounts, tax = Σ line taxes, totalWithTax = amount + tax."""

    amount: Decimal = Field(max_digits=18, validation_alias=alias("amount", "hjje"))
    tax: Decimal = Field(max_digits=18, validation_alias=alias("tax", "hjse"))
    totalWithTax: Decimal = Field(max_digits=18, validation_alias=alias("totalWithTax", "jshj"))


class IssueInvoiceRequest(ApiModel):
    """Issue a blue invoice; idempotent on (seller.taxId, requestSerialNo)."""

    requestSerialNo: str = Field(pattern=SERIAL_PATTERN, validation_alias=alias("requestSerialNo", "fpqqlsh"))
    orderRef: str = Field(min_length=1, max_length=64)
    invoiceType: Literal["01", "02"] = Field("02", validation_alias=alias("invoiceType", "fppz"))
    seller: Party = Field(validation_alias=alias("seller", "xsf"))
    buyer: Party = Field(validation_alias=alias("buyer", "gmf"))
    issuer: str | None = Field(None, max_length=50, validation_alias=alias("issuer", "kpr"))
    priceIncludesTax: bool = Field(False, validation_alias=alias("priceIncludesTax", "hsbz"))
    remarks: str | None = Field(None, max_length=500, validation_alias=alias("remarks", "bz"))
    lines: list[InvoiceLine] = Field(min_length=1, max_length=2000, validation_alias=alias("lines", "mxxx"))
    totals: Totals = Field(validation_alias=alias("totals", "hj"))


class BatchRequest(ApiModel):
    """Up to ``batch_max`` issue requests; each item succeeds or fails on its own."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class RedConfirmationRequest(ApiModel):
    """Enter a red-letter confirmation (红字确认单) against a blue invoice."""

    blueInvoiceNo: str = Field(pattern=r"^\d{20}$")
    reasonCode: Literal["01", "02", "03", "04"] = Field(
        description="01 error · 02 returned · 03 service ended · 04 allowance"
    )
    applicant: Literal["0", "1"] = Field("0", description="0 seller · 1 buyer")
    amount: Decimal | None = Field(
        None, max_digits=18, decimal_places=2, lt=0, description="negative net amount in cents; omitted = full"
    )
    tax: Decimal | None = Field(None, max_digits=18, decimal_places=2, le=0)


class ConfirmRequest(ApiModel):
    """The other party accepts or rejects a confirmation."""

    accept: bool


class RedInvoiceRequest(ApiModel):
    """Issue the red invoice of a confirmation; idempotent on (seller, requestSerialNo)."""

    confirmationUuid: str = Field(min_length=1, max_length=64)
    requestSerialNo: str = Field(pattern=SERIAL_PATTERN)
    orderRef: str | None = Field(None, max_length=64)


class VerifyRequest(ApiModel):
    """Invoice verification (查验)."""

    invoiceNo: str = Field(pattern=r"^\d{20}$")
    issueDate: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    totalWithTax: Decimal = Field(max_digits=18)


class QuotaAmountRequest(ApiModel):
    """Download (下载) or return (退回) credit quota."""

    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2, validation_alias=alias("amount", "sqed"))


class SegmentRequest(ApiModel):
    """Download pre-assigned invoice numbers (预赋码)."""

    count: int = Field(ge=1, validation_alias=alias("count", "lysl"))
