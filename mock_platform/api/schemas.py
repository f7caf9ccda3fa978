"""What the platform answers, as the OpenAPI document describes it: each route's ``data`` and the error envelope.

The models describe the dictionaries the services build (``Invoice.view``, ``QuotaBook.view``, ``BatchService.view``
…); no handler serializes through them, so the answers can be checked against them (schemathesis'
response_schema_conformance, tests/unit/test_platform_schemas.py). A key the platform leaves out when it has nothing
to say is optional (``Absent``), a key it sends as ``null`` is nullable, and nothing undescribed may appear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from taxstorm.mock_platform.availability import Feature
from taxstorm.mock_platform.models import SERIAL_PATTERN, TAX_ID_PATTERN

Absent = SkipJsonSchema[None]  # ``X | Absent = omitted()``: the key is left out of the answer, never sent as null
DecimalText = Annotated[
    str,
    Field(
        pattern=r"^-?\d+(\.\d+)?(E[+-]\d+)?$",
        description="a decimal string as the request sent it (an invoice's lines): '21', '2.5' or '1E+2'",
    ),
]
Cents = Annotated[str, Field(pattern=r"^-?\d+\.\d{2}$", description="a decimal string with exactly 2 decimals")]
InvoiceNo = Annotated[str, Field(pattern=r"^\d{20}$", description="20 digits: YY, region, channel, sequence")]
TaxId = Annotated[str, Field(pattern=TAX_ID_PATTERN)]
MaybeTaxId = Annotated[TaxId | None, Field(description="null when none was given (an empty one is none)")]
Serial = Annotated[str, Field(pattern=SERIAL_PATTERN)]
Code = Annotated[str, Field(pattern=r"^E\d{4}$")]
TraceId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="also in the X-Trace-Id header")]
FeatureState = Literal["UP", "DEGRADED", "DOWN"]


def _no_default(schema: JsonDict) -> None:
    schema.pop("default", None)


def omitted(description: str | None = None) -> Any:
    """An optional key: left out of the answer when the platform has nothing to say (so no null default)."""
    return Field(None, description=description, json_schema_extra=_no_default)


class Answer(BaseModel):
    """Base of the answer models: every key is described, none is left over."""

    model_config = ConfigDict(extra="forbid")


class InvoiceTotals(Answer):
    """hjje, hjse and jshj of an invoice (negative on a red one)."""

    amount: Cents
    tax: Cents
    totalWithTax: Cents


class InvoiceCommon(Answer):
    """What every invoice answer carries, whatever its status."""

    requestSerialNo: Serial
    acceptNo: str = Field(pattern=r"^[0-9A-F]{20}$", description="受理编号 of the request, the same on every replay")
    orderRef: str
    sellerTaxId: TaxId
    buyerTaxId: MaybeTaxId
    kind: Literal["blue", "red"]
    invoiceType: Literal["01", "02"]
    totals: InvoiceTotals
    replayed: bool = Field(description="true when the answer replays an earlier request with this serial")
    blueInvoiceNo: InvoiceNo | Absent = omitted("a red invoice's blue invoice")
    batchId: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | Absent = omitted("issued in a batch")
    quotaAfter: Cents | Absent = omitted("the seller's quota left; in the issue answer of a new blue invoice only")


class IssuedInvoice(InvoiceCommon):
    """An ISSUED invoice: its number, issue time and upload state (documents once UPLOADED)."""

    status: Literal["ISSUED"]
    invoiceNo: InvoiceNo
    issueTime: datetime
    uploadState: Literal["UPLOADING", "UPLOADED", "FAILED"]
    pdfUrl: str | Absent = omitted("the delivered documents, once UPLOADED")
    ofdUrl: str | Absent = omitted()
    xmlUrl: str | Absent = omitted()


class FailedInvoice(InvoiceCommon):
    """A FAILED invoice: no number; submit again under a new serial."""

    status: Literal["FAILED"]
    invoiceNo: None
    issueTime: None
    uploadState: None
    failCode: Code
    failReason: str


class ProcessingInvoice(InvoiceCommon):
    """An invoice still PROCESSING: poll it by serial until ISSUED or FAILED."""

    status: Literal["PROCESSING"]
    invoiceNo: None
    issueTime: None
    uploadState: None


class Invoice(RootModel[Annotated[IssuedInvoice | FailedInvoice | ProcessingInvoice, Field(discriminator="status")]]):
    """An invoice's result document; its status decides which fields it has."""


class SettledInvoice(RootModel[Annotated[IssuedInvoice | FailedInvoice, Field(discriminator="status")]]):
    """The final result of an issue request (200): ISSUED or FAILED."""


class DetailLine(Answer):
    """A line of the invoice as it was accepted (decimals as strings)."""

    lineNo: int
    itemName: str
    taxCategoryCode: Annotated[str, Field(pattern=r"^\d{19}$")] | None
    spec: str | None
    unit: str | None
    quantity: DecimalText | None
    unitPrice: DecimalText | None
    amount: DecimalText
    taxRate: DecimalText
    taxAmount: DecimalText
    lineNature: Literal["0", "1", "2"]
    zeroRateMark: Literal["0", "1", "2", "3"] | None


class DetailParty(Answer):
    """Seller or buyer as the request named them."""

    taxId: MaybeTaxId
    name: str
    address: str | None
    phone: str | None
    bank: str | None
    account: str | None
    naturalPerson: bool


class InvoiceContent(Answer):
    """The accepted request's lines and parties (a red invoice has none: empty lines, null parties)."""

    lines: list[DetailLine]
    seller: DetailParty | None
    buyer: DetailParty | None
    remarks: str | None = Field(None, description="备注 as the request gave it")
    redTotal: Cents = Field(description="the net amount red invoices reverse of a blue invoice (0.00 or negative)")


class IssuedInvoiceDetail(IssuedInvoice, InvoiceContent):
    """An ISSUED invoice with its lines."""


class FailedInvoiceDetail(FailedInvoice, InvoiceContent):
    """A FAILED invoice with its lines."""


class ProcessingInvoiceDetail(ProcessingInvoice, InvoiceContent):
    """A PROCESSING invoice with its lines."""


class InvoiceDetail(
    RootModel[
        Annotated[IssuedInvoiceDetail | FailedInvoiceDetail | ProcessingInvoiceDetail, Field(discriminator="status")]
    ]
):
    """An invoice with its lines and parties."""


class InvoicePage(Answer):
    """One page of the caller's invoices, oldest first."""

    total: int = Field(ge=0, description="invoices matching the filter, on every page")
    page: int = Field(ge=1)
    pageSize: int = Field(ge=1, le=100)
    items: list[Invoice]


class AcceptedBatchItem(Answer):
    """A batch item that was accepted, with its invoice as it stands now."""

    index: int = Field(ge=0)
    requestSerialNo: Serial
    accepted: Literal[True]
    replayed: bool
    invoice: Invoice


class RejectedBatchItem(Answer):
    """A batch item that was refused, with the error it would have had alone."""

    index: int = Field(ge=0)
    requestSerialNo: Any = Field(description="the item's serial as it was sent (any JSON value), null when none")
    accepted: Literal[False]
    code: Code
    field: str | None
    message: str


class Batch(Answer):
    """A batch: counts by status (REJECTED for refused items) and every item; partial success is normal."""

    batchId: str = Field(pattern=r"^[0-9a-f]{32}$")
    total: int = Field(ge=1)
    counts: dict[Literal["PROCESSING", "ISSUED", "FAILED", "REJECTED"], int]
    items: list[AcceptedBatchItem | RejectedBatchItem]


class Token(Answer):
    """A bearer token acting for one taxpayer."""

    accessToken: str
    tokenType: Literal["Bearer"]
    expiresIn: int = Field(ge=1, description="seconds")
    expiresAt: datetime
    taxpayerId: TaxId


class Quota(Answer):
    """授信额度 of this period, in English and as the 乐企 query fields."""

    period: str = Field(pattern=r"^\d{6}$", description="yyyyMM")
    monthly: Cents
    remaining: Cents
    downloaded: Cents
    downloadedUnused: Cents
    used: Cents
    suspended: bool
    expired: bool = Field(description="past the filing deadline until adjust-period (E4003)")
    mode: Literal["auto", "download"]
    bysxed: Cents
    kysyed: Cents
    yxzed: Cents
    yxzwsyed: Cents
    sq: str = Field(pattern=r"^\d{6}$")
    ztsxbz: Literal["Y", "N"]
    syqjq: date
    syqjz: date


class NumberSegment(Answer):
    """A downloaded 预赋码 segment."""

    startNo: InvoiceNo
    endNo: InvoiceNo
    count: int = Field(ge=1)
    year: str = Field(pattern=r"^\d{4}$")


class SegmentLeft(Answer):
    """One of this year's segments and how many of its numbers are unused."""

    startNo: InvoiceNo
    endNo: InvoiceNo
    year: str = Field(pattern=r"^\d{4}$")
    remaining: int = Field(ge=0)


class NumberSegments(Answer):
    """The caller's segments of this year."""

    segments: list[SegmentLeft]


class TaxRateRow(Answer):
    """One rate of the table in force."""

    rate: DecimalText
    name: str
    effectiveFrom: date
    effectiveTo: date | None


class TaxRates(Answer):
    """The rate table in force, the zero-rate marks and the fields a policy change made mandatory."""

    rates: list[TaxRateRow]
    zeroRateMarks: dict[Literal["0", "1", "2", "3"], str]
    requiredFields: list[str]


class FeatureStates(Answer):
    """UP, DEGRADED (busy, or maintenance for portal users only) or DOWN, per feature."""

    issue: FeatureState
    red: FeatureState
    verify: FeatureState
    quota: FeatureState
    delivery: FeatureState
    auth: FeatureState


class ErrorsInForce(Answer):
    """A share of requests answered with an error code."""

    mode: Literal["error_injection"]
    code: Code
    rate: float


class LatencyInForce(Answer):
    """Added latency."""

    mode: Literal["added_latency"]
    medianMs: float


class GhostsInForce(Answer):
    """New invoices committed, then their answer lost."""

    mode: Literal["ghost_success"]
    rate: float
    answer: Literal["504", "hang"]


class UploadFailureInForce(Answer):
    """The upload channel to the tax bureau failing."""

    mode: Literal["upload_failure"]
    rate: float


class StallInForce(Answer):
    """Every ledger write stalled."""

    mode: Literal["ledger_stall"]
    stallMs: int


class PolicyInForce(Answer):
    """A policy change, announced or effective."""

    mode: Literal["policy_change"]
    effective: bool


class SuspensionInForce(Answer):
    """Quota suspended (ztsxbz=Y)."""

    mode: Literal["quota_suspension"]


class ReleaseInForce(Answer):
    """A release profile other than stable."""

    mode: Literal["release"]
    name: str


FaultInForce = Annotated[
    ErrorsInForce
    | LatencyInForce
    | GhostsInForce
    | UploadFailureInForce
    | StallInForce
    | PolicyInForce
    | SuspensionInForce
    | ReleaseInForce,
    Field(discriminator="mode"),
]


class PlatformStatus(Answer):
    """Per-feature availability, the fault modes in force, the platform's time and release."""

    features: FeatureStates
    faults: list[FaultInForce]
    time: datetime
    release: str


class Notice(Answer):
    """A maintenance window, published ahead."""

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    title: str
    published: datetime
    start: datetime
    end: datetime
    affectedFeatures: list[Feature]
    directConnectAffected: bool


class Notices(Answer):
    """Notices not yet over, soonest first."""

    notices: list[Notice]


class VerifiedInvoice(Answer):
    """查验 of an invoice the tax bureau knows: consistent, or which fields differ."""

    result: Literal["consistent", "mismatch"]
    invoiceNo: InvoiceNo
    mismatchedFields: list[Literal["issueDate", "totalWithTax"]]
    checksLeftToday: int = Field(ge=0)
    kind: Literal["blue", "red"]


class UnknownInvoice(Answer):
    """查验 of a number the tax bureau does not know (never issued, or not uploaded yet)."""

    result: Literal["not_found"]
    invoiceNo: InvoiceNo
    checksLeftToday: int = Field(ge=0)


class Verification(RootModel[Annotated[VerifiedInvoice | UnknownInvoice, Field(discriminator="result")]]):
    """The result of a 查验."""


class RedConfirmation(Answer):
    """A 红字确认单 and its status (07 once void after the deadline unconfirmed)."""

    uuid: UUID
    blueInvoiceNo: InvoiceNo
    sellerTaxId: TaxId
    buyerTaxId: MaybeTaxId
    applicant: Literal["0", "1"] = Field(description="0 seller · 1 buyer")
    reasonCode: Literal["01", "02", "03", "04"]
    amount: Cents
    tax: Cents
    status: Literal["01", "02", "03", "04", "05", "06", "07", "08", "09"]
    statusText: str
    createdAt: datetime
    voidAt: datetime | None = Field(description="when it turns void, while awaiting the other party")
    redRequestSerialNo: Serial | None = Field(description="the serial of the red invoice that used it")


class Health(Answer):
    """Liveness and the release profile running."""

    status: Literal["UP"]
    release: str
    instance: str
