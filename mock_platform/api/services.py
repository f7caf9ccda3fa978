"""Verification, quota (授信额度) and number segments (预赋码)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from taxstorm.mock_platform.api.responses import ok, responses
from taxstorm.mock_platform.api.schemas import NumberSegment, NumberSegments, Quota, Verification
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.models import QuotaAmountRequest, SegmentRequest, VerifyRequest
from taxstorm.mock_platform.state import CallDep
from taxstorm.mock_platform.store.numbers import segments_of

router = APIRouter(prefix="/api/v1", tags=["services"])


@router.post(
    "/verify", responses=responses(200, 422, data=Verification), summary="查验: consistent / mismatch / not_found"
)
async def verify(body: VerifyRequest, call: CallDep) -> JSONResponse:
    state = call.state
    return ok(state.verification.verify(body))


@router.get("/quota", responses=responses(200, data=Quota), summary="This month's credit quota")
async def quota(call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    now = state.clock()
    with state.db.write() as tx:
        row = state.quota.row(tx, caller.taxpayer_id, now)
    return ok(state.quota.view(row, now, state.modes.quota_suspended(now)))


@router.post("/quota/download", responses=responses(200, 403, 422, data=Quota), summary="Download quota (sqlx 0)")
async def quota_download(body: QuotaAmountRequest, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    now = state.clock()
    with state.db.write() as tx:
        row = state.quota.download(tx, caller.taxpayer_id, body.amount, now)
    return ok(state.quota.view(row, now, state.modes.quota_suspended(now)))


@router.post(
    "/quota/return", responses=responses(200, 422, data=Quota), summary="Return downloaded, unused quota (sqlx 1)"
)
async def quota_return(body: QuotaAmountRequest, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    now = state.clock()
    with state.db.write() as tx:
        row = state.quota.give_back(tx, caller.taxpayer_id, body.amount, now)
    return ok(state.quota.view(row, now, state.modes.quota_suspended(now)))


@router.post("/quota/adjust-period", responses=responses(200, data=Quota), summary="调整授信额度有效期 after filing")
async def quota_adjust(call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    now = state.clock()
    with state.db.write() as tx:
        row = state.quota.adjust_period(tx, caller.taxpayer_id, now)
    return ok(state.quota.view(row, now, state.modes.quota_suspended(now)))


@router.post(
    "/number-segments",
    responses=responses(200, 422, data=NumberSegment),
    summary="Download pre-assigned numbers (≤ 5000)",
)
async def download_segment(body: SegmentRequest, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    if body.count > state.settings.segment_max:
        raise ApiError(
            ErrorCode.SCHEMA, f"{body.count} numbers, at most {state.settings.segment_max} per call", "count"
        )
    now = state.clock()
    with state.db.write() as tx:
        segment = state.issuing.numbering.allocate_segment(tx, caller.taxpayer_id, body.count, now)
    return ok(segment)


@router.get(
    "/number-segments", responses=responses(200, data=NumberSegments), summary="This year's segments and numbers left"
)
async def list_segments(call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    with state.db.read() as tx:
        return ok({"segments": segments_of(tx, caller.taxpayer_id, state.clock())})
