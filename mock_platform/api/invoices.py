"""Invoice routes: issue a blue invoice (idempotent) and look one up by request serial."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from mock_platform.api.responses import error_responses, ok
from mock_platform.errors import ApiError, ErrorCode
from mock_platform.ledger import InvoiceRecord, NewInvoice, payload_hash
from mock_platform.models import SERIAL_PATTERN, Envelope, IssueInvoiceRequest
from mock_platform.state import PlatformState, get_state
from mock_platform.validation import validate_issue

router = APIRouter(prefix="/api/v1", tags=["invoices"])
StateDep = Annotated[PlatformState, Depends(get_state)]


def invoice_data(record: InvoiceRecord, replayed: bool = False) -> dict[str, object]:
    """The result document of one invoice."""
    return {
        "requestSerialNo": record.request_serial_no,
        "orderRef": record.order_ref,
        "sellerTaxId": record.seller_tax_id,
        "invoiceNo": record.invoice_no,
        "status": record.status,
        "issueTime": record.issue_time,
        "totals": {
            "amount": record.total_amount,
            "tax": record.total_tax,
            "totalWithTax": record.total_with_tax,
        },
        "replayed": replayed,
    }


@router.post(
    "/invoices",
    response_model=Envelope,
    responses=error_responses(400, 409, 422),
    summary="Issue a blue invoice (idempotent on seller + requestSerialNo)",
)
def issue_invoice(body: IssueInvoiceRequest, state: StateDep) -> JSONResponse:
    validate_issue(body, state.settings.max_lines)
    digest = payload_hash(body.model_dump(mode="json"))
    seller = body.seller.taxId or ""
    outcome = state.ledger.issue(
        NewInvoice(
            seller_tax_id=seller,
            request_serial_no=body.requestSerialNo,
            payload_hash=digest,
            order_ref=body.orderRef,
            total_amount=str(body.totals.amount),
            total_tax=str(body.totals.tax),
            total_with_tax=str(body.totals.totalWithTax),
        ),
        state.clock(),
    )
    if not outcome.existed:
        return ok(invoice_data(outcome.record))
    if outcome.record.payload_hash != digest:
        raise ApiError(
            ErrorCode.SERIAL_REUSED,
            f"serial already used for orderRef {outcome.record.order_ref}; mint a new serial for a new invoice",
            "requestSerialNo",
        )
    return ok(invoice_data(outcome.record, replayed=True))


@router.get(
    "/invoices/by-serial/{serial}",
    response_model=Envelope,
    responses=error_responses(400, 404),
    summary="The safe recovery call: look an invoice up by its request serial",
)
def invoice_by_serial(
    serial: Annotated[str, Path(pattern=SERIAL_PATTERN)],
    state: StateDep,
    sellerTaxId: Annotated[str, Query(min_length=15, max_length=20)],
) -> JSONResponse:
    record = state.ledger.by_serial(sellerTaxId, serial)
    if record is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no invoice for serial {serial}", "serial")
    return ok(invoice_data(record))
