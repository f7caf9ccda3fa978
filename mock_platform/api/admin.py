"""The admin router (token-protected): counters, ledger export, reset, capacity and clock controls.

The harness talks to it directly, never through Toxiproxy.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from taxstorm.mock_platform.api.responses import responses
from taxstorm.mock_platform.auth import EVERY_TAXPAYER
from taxstorm.mock_platform.availability import FEATURES, Feature
from taxstorm.mock_platform.clock import OffsetClock, iso
from taxstorm.mock_platform.dialects.irp.crypto import public_key_pem
from taxstorm.mock_platform.dialects.irp.keys import PlatformKey
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.settings import Family, FamilyCapacity
from taxstorm.mock_platform.state import PlatformState, get_state
from taxstorm.mock_platform.store import invoices, tokens


async def require_admin(
    state: Annotated[PlatformState, Depends(get_state)],
    authorization: Annotated[str | None, Header()] = None,
) -> PlatformState:
    """Let the request through only with ``Authorization: Bearer <admin token>``."""
    expected = f"Bearer {state.settings.admin_token}"
    if authorization is None or not secrets.compare_digest(authorization.encode(), expected.encode()):
        raise ApiError(ErrorCode.BAD_CREDENTIALS, "admin routes need 'Authorization: Bearer <admin token>'")
    return state


router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401))
AdminDep = Annotated[PlatformState, Depends(require_admin)]


@router.get("/stats", summary="Counters by route and status, in-flight, capacity gates, ledger size")
def stats(state: AdminDep) -> dict[str, Any]:
    with state.db.read() as tx:
        size = invoices.count(tx)
    return {
        **state.counters.snapshot(),
        "capacity": state.capacity.snapshot(),
        "ledgerSize": size,
        "time": state.clock(),
        "instance": state.settings.instance,
    }


@router.get(
    "/ledger",
    summary="Stream the ledger as NDJSON, optionally only rows created in [since, until)",
    description='One invoice per line, then a last line {"end": true, "rows": N}: a stream without it was cut short.',
)
def ledger(
    state: AdminDep,
    since: Annotated[float | None, Query(description="epoch seconds, inclusive")] = None,
    until: Annotated[float | None, Query(description="epoch seconds, exclusive")] = None,
) -> StreamingResponse:
    now = state.clock()

    def lines() -> Iterator[bytes]:
        rows = 0
        for invoice in invoices.export(state.db, since, until):
            rows += 1
            yield json.dumps(invoice.export(now), ensure_ascii=False).encode() + b"\n"
        yield json.dumps({"end": True, "rows": rows}).encode() + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


class LandedQuery(BaseModel):
    """Order refs to look up in the ledger."""

    model_config = ConfigDict(extra="forbid")
    orderRefs: list[Annotated[str, Field(max_length=200)]] = Field(max_length=20_000)


@router.post(
    "/ledger/landed",
    summary="Which of these orders have a blue invoice that is (or will be, once processed) ISSUED",
)
def landed(query: LandedQuery, state: AdminDep) -> dict[str, list[str]]:
    with state.db.read() as tx:
        found = invoices.landed(tx, query.orderRefs)
    return {"landed": sorted(found)}


@router.get(
    "/ledger/upload-failed",
    summary="The orders whose ISSUED blue invoice has an upload that FAILED and was not repeated",
)
def upload_failed(state: AdminDep) -> dict[str, list[str]]:
    with state.db.read() as tx:
        found = invoices.upload_failed(tx)
    return {"orderRefs": sorted(found)}


@router.post("/reset", summary="Forget every invoice, token, quota and counter")
def reset(state: AdminDep) -> dict[str, str]:
    state.db.reset()
    state.counters.reset()
    state.auth.forget()
    state.auth.reverify.clear()
    state.board.clear()
    state.modes.clear()
    if isinstance(state.clock, OffsetClock):
        state.clock.set_to(state.clock() - state.clock.offset_s)  # real time again (the stored offset is gone)
    return {"status": "reset"}


@router.put("/capacity/{family}", summary="Change one family's capacity model at runtime")
def set_capacity(family: Annotated[Family, Path()], config: FamilyCapacity, state: AdminDep) -> dict[str, Any]:
    if "rate_per_min" not in config.model_fields_set:  # a capacity change keeps the family's rate limit
        config = config.model_copy(update={"rate_per_min": state.capacity.gates[family].config.rate_per_min})
    state.capacity.configure(family, config)
    return state.capacity.snapshot()[family]


class Revocation(BaseModel):
    """Revoke live tokens: of every taxpayer, or of the listed ones (a dropped session, 断开)."""

    model_config = ConfigDict(extra="forbid")
    taxpayers: list[str] | None = Field(None, max_length=10_000)


@router.post("/tokens/revoke", summary="Revoke tokens; clients then get 401 E1003 and must re-authenticate")
def revoke_tokens(revocation: Revocation, state: AdminDep) -> dict[str, int]:
    with state.db.write() as tx:
        count = tokens.revoke(tx, state.clock(), revocation.taxpayers)
    state.auth.forget()
    return {"revoked": count}


class ClockChange(BaseModel):
    """Move the platform's clock: forward by ``advance_s`` (past a 72 h deadline, into the filing period), or to
    the moment ``to`` (a run that starts at 23:59 on the last day of a month). The ledger keeps it: a restarted
    process keeps the time."""

    model_config = ConfigDict(extra="forbid")
    advance_s: float | None = Field(None, ge=0, le=10 * 366 * 86_400)
    to: AwareDatetime | None = Field(None, description="e.g. 2026-11-30T23:59:30+08:00 (a time zone is required)")

    @model_validator(mode="after")
    def _one(self) -> ClockChange:
        if (self.advance_s is None) == (self.to is None):
            raise ValueError("give advance_s (seconds forward) or to (a moment with its zone), not both")
        return self


@router.post("/clock", summary="Move the platform clock forward, or to a given moment")
def move_clock(change: ClockChange, state: AdminDep) -> dict[str, Any]:
    clock = state.clock
    if not isinstance(clock, OffsetClock):
        raise ApiError(ErrorCode.FEATURE_DISABLED, "this platform runs on a fixed clock")
    if change.to is not None:
        clock.set_to(change.to.timestamp())
    else:
        clock.advance(change.advance_s or 0.0)
    return {"time": clock(), "offsetS": clock.offset_s, "now": iso(clock())}


class MaintenanceRequest(BaseModel):
    """Announce a maintenance window now for [start_in_s, start_in_s + duration_s) on the platform clock."""

    model_config = ConfigDict(extra="forbid")
    start_in_s: float = Field(0, ge=0, le=366 * 86_400)
    duration_s: float = Field(gt=0, le=366 * 86_400)
    features: list[Feature] = Field(default_factory=lambda: list(FEATURES), min_length=1)
    direct_connect_affected: bool = True
    title: str = Field("系统维护 scheduled maintenance", max_length=200)


@router.post("/maintenance", summary="Publish a maintenance notice; affected API calls get 503 E9002 during it")
def announce_maintenance(request: MaintenanceRequest, state: AdminDep) -> dict[str, Any]:
    now = state.clock()
    notice = state.board.announce(
        now,
        now + request.start_in_s,
        now + request.start_in_s + request.duration_s,
        tuple(request.features),
        request.direct_connect_affected,
        request.title,
    )
    return notice.view()


@router.delete("/maintenance/{notice_id}", summary="End or withdraw a maintenance notice")
def end_maintenance(notice_id: Annotated[str, Path(max_length=64)], state: AdminDep) -> dict[str, bool]:
    return {"withdrawn": state.board.withdraw(notice_id)}


class FeatureSwitch(BaseModel):
    """Switch a feature off (503 E9006) for ``for_s`` seconds or until switched on again."""

    model_config = ConfigDict(extra="forbid")
    down: bool
    for_s: float | None = Field(None, gt=0)


@router.put("/features/{feature}", summary="Switch one feature off or on")
def switch_feature(feature: Annotated[Feature, Path()], switch: FeatureSwitch, state: AdminDep) -> dict[str, Any]:
    until = state.clock() + switch.for_s if switch.for_s is not None else float("inf")
    state.board.switch(feature, switch.down, until)
    return {"feature": feature, "down": switch.down}


class Reverification(BaseModel):
    """Require (or stop requiring) face / real-name re-verification before these taxpayers (omitted: every
    taxpayer) get tokens."""

    model_config = ConfigDict(extra="forbid")
    taxpayers: list[str] | None = Field(None, max_length=10_000)
    required: bool = True


@router.post("/reverify", summary="Token fetches of these taxpayers (or all) answer 403 E1004 until cleared")
def require_reverification(request: Reverification, state: AdminDep) -> dict[str, int]:
    pending = state.auth.reverify
    if request.taxpayers is None:
        pending.clear()
        if request.required:
            pending.add(EVERY_TAXPAYER)
    elif request.required:
        pending.update(request.taxpayers)
    else:
        pending.difference_update(request.taxpayers)
    return {"pending": len(pending)}


@router.get(
    "/dialects/irp/public-key",
    summary="The platform's RSA public key (PEM) IRP clients encrypt their credentials with (NIC hands it out)",
)
def irp_public_key(state: AdminDep) -> dict[str, str]:
    return {"publicKey": public_key_pem(PlatformKey(state.db)())}
