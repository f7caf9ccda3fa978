"""Public reference data: tax rates, per-feature status, maintenance notices."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from taxstorm.mock_platform.api.responses import ok, responses
from taxstorm.mock_platform.api.schemas import Notices, PlatformStatus, TaxRates
from taxstorm.mock_platform.availability import FEATURE_OF_FAMILY, FEATURES
from taxstorm.mock_platform.clock import iso
from taxstorm.mock_platform.fault_modes import rates_for
from taxstorm.mock_platform.models import ZERO_RATE_MARKS
from taxstorm.mock_platform.state import StateDep

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get(
    "/tax-rates", responses=responses(200, data=TaxRates), summary="The effective-dated tax-rate table in force now"
)
async def tax_rates(state: StateDep) -> JSONResponse:
    policy = state.modes.policy_at(state.clock())
    rows = [
        {
            "rate": str(r.rate),
            "name": r.name,
            "effectiveFrom": r.effective_from.isoformat(),
            "effectiveTo": r.effective_to.isoformat() if r.effective_to else None,
        }
        for r in rates_for(policy, state.settings.tax_rates)
    ]
    required = list(policy.required_fields) if policy is not None else []
    return ok({"rates": rows, "zeroRateMarks": ZERO_RATE_MARKS, "requiredFields": required})


@router.get("/status", responses=responses(200, data=PlatformStatus), summary="Per-feature UP / DEGRADED / DOWN")
async def status(state: StateDep) -> JSONResponse:
    now = state.clock()
    busy = {FEATURE_OF_FAMILY[name] for name, gate in state.capacity.gates.items() if gate.saturated or gate.waiting}
    features = {f: state.board.state(f, now) or ("DEGRADED" if f in busy else "UP") for f in FEATURES}
    return ok(
        {"features": features, "faults": state.modes.active(now), "time": iso(now), "release": state.modes.release.name}
    )


@router.get("/notices", responses=responses(200, data=Notices), summary="Maintenance notices, published ahead")
async def notices(state: StateDep) -> JSONResponse:
    return ok({"notices": state.board.published(state.clock())})
