"""红字确认单 routes: enter, confirm or reject, withdraw, read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from taxstorm.mock_platform.api.responses import ok, responses
from taxstorm.mock_platform.api.schemas import RedConfirmation
from taxstorm.mock_platform.models import ConfirmRequest, RedConfirmationRequest
from taxstorm.mock_platform.state import CallDep

router = APIRouter(prefix="/api/v1/red-confirmations", tags=["red-letter"])
Uuid = Annotated[str, Path(max_length=64)]


@router.post("", responses=responses(200, 403, 422, data=RedConfirmation), summary="Enter a red-letter confirmation")
async def create(body: RedConfirmationRequest, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.red.create(body, caller))


@router.post(
    "/{uuid}/confirm",
    responses=responses(200, 403, 404, 422, data=RedConfirmation),
    summary="The other party accepts or rejects",
)
async def confirm(uuid: Uuid, body: ConfirmRequest, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.red.confirm(uuid, body.accept, caller))


@router.post(
    "/{uuid}/revoke", responses=responses(200, 403, 404, 422, data=RedConfirmation), summary="The applicant withdraws"
)
async def revoke(uuid: Uuid, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.red.revoke(uuid, caller))


@router.get(
    "/{uuid}",
    responses=responses(200, 404, data=RedConfirmation),
    summary="A confirmation (void after 72 h unconfirmed)",
)
async def read(uuid: Uuid, call: CallDep) -> JSONResponse:
    state, caller = call.state, call.caller
    return ok(state.red.get(uuid, caller))
