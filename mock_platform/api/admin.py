"""The admin router (token-protected): counters, ledger export, reset. Never exposed through Toxiproxy."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from mock_platform.api.responses import error_responses
from mock_platform.errors import ApiError, ErrorCode
from mock_platform.state import PlatformState, get_state


def require_admin(
    state: Annotated[PlatformState, Depends(get_state)],
    authorization: Annotated[str | None, Header()] = None,
) -> PlatformState:
    """Let the request through only with ``Authorization: Bearer <admin token>``."""
    expected = f"Bearer {state.settings.admin_token}"
    if authorization is None or not secrets.compare_digest(authorization.encode(), expected.encode()):
        raise ApiError(ErrorCode.UNAUTHORIZED, "admin routes need 'Authorization: Bearer <admin token>'")
    return state


router = APIRouter(prefix="/admin", tags=["admin"], responses=error_responses(401))
AdminDep = Annotated[PlatformState, Depends(require_admin)]


@router.get("/stats", summary="Request counters by route and status, in-flight, ledger size")
def stats(state: AdminDep) -> dict[str, Any]:
    return {**state.counters.snapshot(), "ledgerSize": state.ledger.count(), "time": state.clock()}


@router.get("/ledger", summary="Stream the ledger as NDJSON, optionally only invoices created in [since, until)")
def ledger(
    state: AdminDep,
    since: Annotated[float | None, Query(description="epoch seconds, inclusive")] = None,
    until: Annotated[float | None, Query(description="epoch seconds, exclusive")] = None,
) -> StreamingResponse:
    def lines() -> Iterator[bytes]:
        for record in state.ledger.export(since, until):
            yield json.dumps(record.export(), ensure_ascii=False).encode() + b"\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/reset", summary="Forget every invoice and counter")
def reset(state: AdminDep) -> dict[str, str]:
    state.ledger.reset()
    state.counters.reset()
    return {"status": "reset"}
