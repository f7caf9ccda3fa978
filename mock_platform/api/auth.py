"""``POST /api/v1/auth/token``: client credentials + taxpayer → an expiring bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from taxstorm.mock_platform.api.responses import ok, responses
from taxstorm.mock_platform.api.schemas import Token
from taxstorm.mock_platform.clock import iso
from taxstorm.mock_platform.dialects.inner import DIALECT_SCOPE
from taxstorm.mock_platform.errors import ApiError
from taxstorm.mock_platform.models import TokenRequest
from taxstorm.mock_platform.state import StateDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post(
    "/auth/token", responses=responses(200, 403, 422, data=Token), summary="Fetch an access token for a taxpayer"
)
async def fetch_token(body: TokenRequest, state: StateDep, request: Request) -> JSONResponse:
    limited, headers = state.capacity.limit(f"{body.clientId}:{body.taxpayerId}", "auth")
    if limited is not None:
        raise ApiError(limited.error, limited.detail, retry_after_s=limited.retry_after_s, headers=headers)
    # a dialect whose tokens live longer (the IRP's 6 h) says so in process; over the wire, the platform's own life
    ttl_s = int(request.scope.get(DIALECT_SCOPE, {}).get("token_ttl_s") or state.settings.token_ttl_s)
    info = state.auth.issue(body.clientId, body.clientSecret, body.taxpayerId, ttl_s)
    return ok(
        {
            "accessToken": info.token,
            "tokenType": "Bearer",
            "expiresIn": ttl_s,
            "expiresAt": iso(info.expires_at),
            "taxpayerId": info.taxpayer_id,
        }
    )
