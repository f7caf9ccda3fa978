"""Invoice routes: issue (async by default, ``?mode=sync``), look-ups, list, batch and red invoices.

Every route is ``async def`` and calls the ledger inline: a ledger call is a few short SQLite statements, and a
thread-pool hop per request cost more than the work itself (see benchmarks/platform_throughput.py).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse, Response

from taxstorm.mock_platform.api.lean import LeanRoute
from taxstorm.mock_platform.api.responses import ok, responses
from taxstorm.mock_platform.api.schemas import (
    Batch,
    Invoice,
    InvoiceDetail,
    InvoicePage,
    IssuedInvoice,
    ProcessingInvoice,
    SettledInvoice,
)
from taxstorm.mock_platform.documents import DOCUMENT_TYPES, render_document
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.issuing import Accepted
from taxstorm.mock_platform.models import SERIAL_PATTERN, IssueInvoiceRequest, RedInvoiceRequest
from taxstorm.mock_platform.state import CallDep, PlatformState
from taxstorm.mock_platform.store import invoices
from taxstorm.mock_platform.validation import money_text

router = APIRouter(prefix="/api/v1", tags=["invoices"])
issue_router = APIRouter(prefix="/api/v1", tags=["invoices"], route_class=LeanRoute)  # the hot path: see lean.py
InvoiceNo = Annotated[str, Path(pattern=r"^\d{20}$", description="20-digit invoice number")]
Mode = Annotated[Literal["async", "sync"], Query(description="sync waits for the final status")]


async def _answer(state: PlatformState, accepted: Accepted, mode: str) -> JSONResponse:
    """200 with the final result, 202 while PROCESSING, or 504 E9004 when sync waited too long."""
    invoice = accepted.invoice
    now = state.clock()
    if mode == "sync" and invoice.status_at(now) == "PROCESSING":
        wait = invoice.due_at - now
        if wait > state.settings.sync_timeout_s:
            await asyncio.sleep(state.settings.sync_timeout_s)
            raise ApiError(
                ErrorCode.TIMEOUT,
                "still processing; GET /api/v1/invoices/by-serial/{serial} before resubmitting",
                data={"requestSerialNo": invoice.request_serial_no},
                retry_after_s=max(1, int(wait - state.settings.sync_timeout_s + 0.999)),
            )
        await asyncio.sleep(max(0.0, wait))
        now = max(state.clock(), invoice.due_at)  # we waited the processing time out
    view = invoice.view(now, replayed=accepted.replayed)
    if accepted.quota_after is not None:
        view["quotaAfter"] = money_text(accepted.quota_after)
    if view["status"] == "PROCESSING":
        return ok(view, 202, {"Retry-After": str(max(1, int(invoice.due_at - now + 0.999)))})
    return ok(view)


@issue_router.post(
    "/invoices",
    responses=responses(200, 202, 403, 409, 422, data=SettledInvoice, accepted=ProcessingInvoice),
    summary="Issue a blue invoice (idempotent on seller + requestSerialNo)",
)
async def issue_invoice(body: IssueInvoiceRequest, call: CallDep, mode: Mode = "async") -> JSONResponse:
    state, caller = call.state, call.caller
    accepted = await state.issuing.issue_blue_grouped(body, caller.taxpayer_id)
    return await _answer(state, accepted, mode)


@router.post(
    "/invoices/batch",
    status_code=202,
    responses=responses(202, data=Batch),
    summary="Issue up to 100 invoices; partial success is normal",
)
async def issue_batch(
    call: CallDep,
    items: Annotated[list[dict[str, Any]], Body(embed=True, min_length=1, max_length=1000)],
) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.batches.submit(items, caller), 202)


@router.get(
    "/invoices/batch/{batchId}", responses=responses(200, 404, data=Batch), summary="Per-item status of a batch"
)
async def batch_status(call: CallDep, batchId: Annotated[str, Path(max_length=64)]) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.batches.view(batchId, caller))


@router.get(
    "/invoices/by-serial/{serial}",
    responses=responses(200, 404, data=Invoice),
    summary="The safe recovery call: an invoice by its request serial",
)
async def invoice_by_serial(serial: Annotated[str, Path(pattern=SERIAL_PATTERN)], call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    with state.db.read() as tx:
        invoice = invoices.find(tx, caller.taxpayer_id, serial)
    if invoice is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"no invoice for serial {serial}", "serial")
    return ok(invoice.view(state.clock()))


@router.get(
    "/invoices/{invoiceNo}", responses=responses(200, 404, data=InvoiceDetail), summary="An invoice with its lines"
)
async def invoice_detail(invoiceNo: InvoiceNo, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    now = state.clock()
    with state.db.read() as tx:
        invoice = invoices.by_number(tx, invoiceNo)
        reversed_by = invoices.red_total(tx, invoiceNo, now) if invoice is not None and invoice.kind == "blue" else 0
    if invoice is None or caller.taxpayer_id not in (invoice.seller_tax_id, invoice.buyer_tax_id):
        raise ApiError(ErrorCode.NOT_FOUND, f"no invoice {invoiceNo}", "invoiceNo")
    return ok({**invoice.detail(now), "redTotal": money_text(Decimal(reversed_by))})


@router.get(
    "/invoices", responses=responses(200, data=InvoicePage), summary="The caller's invoices for reconciliation, paged"
)
async def list_invoices(
    call: CallDep,
    since: Annotated[float | None, Query(alias="from", ge=0, le=1e11, description="epoch seconds")] = None,
    until: Annotated[float | None, Query(alias="to", ge=0, le=1e11, description="epoch seconds, exclusive")] = None,
    status: Annotated[Literal["PROCESSING", "ISSUED", "FAILED"] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    pageSize: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    state, caller = call.state, call.caller
    flt = invoices.ListFilter(caller.taxpayer_id, since, until, status, page, pageSize)
    now = state.clock()
    with state.db.read() as tx:
        total, rows = invoices.list_page(tx, flt, now)
    return ok({"total": total, "page": page, "pageSize": pageSize, "items": [r.view(now) for r in rows]})


@router.post(
    "/invoices/{invoiceNo}/upload",
    responses=responses(200, 404, data=IssuedInvoice),
    summary="Upload an issued invoice again after its upload to the tax bureau FAILED (idempotent)",
)
async def reupload(invoiceNo: InvoiceNo, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.issuing.reupload(invoiceNo, caller.taxpayer_id).view(state.clock()))


@router.get(
    "/invoices/{invoiceNo}/documents/{kind}",
    response_class=Response,
    responses=responses(200, 404, media=list(DOCUMENT_TYPES.values())),
    summary="A delivered invoice document (PDF, OFD or XML) for the buyer",
)
async def document(invoiceNo: InvoiceNo, kind: Literal["pdf", "ofd", "xml"], call: CallDep) -> Response:
    state, caller = call.state, call.caller
    now = state.clock()
    refused = state.board.feature_refusal("delivery", now)  # maintenance (E9002) or switched off (E9006)
    if refused is not None:
        raise refused
    with state.db.read() as tx:
        invoice = invoices.by_number(tx, invoiceNo)
    if invoice is None or caller.taxpayer_id not in (invoice.seller_tax_id, invoice.buyer_tax_id):
        raise ApiError(ErrorCode.NOT_FOUND, f"no invoice {invoiceNo}", "invoiceNo")
    if invoice.upload_at(now) != "UPLOADED":
        raise ApiError(
            ErrorCode.NOT_FOUND, f"invoice {invoiceNo} is not delivered yet (upload {invoice.upload_at(now)})"
        )
    return Response(render_document(invoice, kind), media_type=DOCUMENT_TYPES[kind])


@router.post(
    "/invoices/{invoiceNo}/red",
    responses=responses(200, 202, 403, 404, 409, 422, data=SettledInvoice, accepted=ProcessingInvoice),
    summary="Issue the red invoice of a confirmation (idempotent on requestSerialNo)",
)
async def issue_red(invoiceNo: InvoiceNo, body: RedInvoiceRequest, call: CallDep, mode: Mode = "async") -> JSONResponse:
    state, caller = call.state, call.caller
    accepted = state.red.issue_red(invoiceNo, body, caller)
    return await _answer(state, accepted, mode)
