"""Admin control of the runtime fault modes (token-protected, like every /admin route)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from taxstorm.mock_platform.api.admin import require_admin
from taxstorm.mock_platform.api.responses import responses
from taxstorm.mock_platform.fault_modes import (
    DEFAULT_COMMIT_RATE,
    ERROR_CODES,
    RELEASES,
    REQUIRABLE_FIELDS,
    UNKNOWN_OUTCOME,
    AddedLatency,
    ErrorInjection,
    GhostSuccess,
    Policy,
    UploadFailure,
)
from taxstorm.mock_platform.settings import Family, ServiceTime, TaxRate
from taxstorm.mock_platform.state import PlatformState

router = APIRouter(prefix="/admin", tags=["admin: faults"], responses=responses(401))
AdminDep = Annotated[PlatformState, Depends(require_admin)]
FOREVER = float("inf")


class Mode(BaseModel):
    """Common fields: how long the mode lasts (omitted: until deleted)."""

    model_config = ConfigDict(extra="forbid")
    for_s: float | None = Field(None, gt=0, le=366 * 86_400)

    def until(self, now: float) -> float:
        return now + self.for_s if self.for_s is not None else FOREVER


class ErrorsMode(Mode):
    code: str = Field(description="a documented error code, e.g. E9003")
    rate: float = Field(ge=0, le=1)
    families: list[Family] | None = None
    retry_after_s: int = Field(2, ge=0, le=86_400)
    commit_rate: float | None = Field(
        None, ge=0, le=1, description="E9005/E9004 only: share of writes committed before the error (default 0.5)"
    )

    @model_validator(mode="after")
    def _commit_only_when_unknown(self) -> ErrorsMode:
        if self.commit_rate and ERROR_CODES[self.code] not in UNKNOWN_OUTCOME:
            raise ValueError(f"commit_rate: {self.code} is a refusal (nothing was done); only E9005 and E9004 commit")
        return self

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ERROR_CODES:
            raise ValueError(f"unknown code {value!r}; use one of {sorted(ERROR_CODES)}")
        return value


class LatencyMode(Mode):
    median_ms: float = Field(gt=0, le=600_000)
    p99_ms: float = Field(0, ge=0, le=600_000)
    families: list[Family] | None = None


class GhostMode(Mode):
    rate: float = Field(ge=0, le=1)
    answer: Literal["504", "hang"] = "504"
    hang_ms: int = Field(30_000, ge=0, le=600_000)


class StallMode(Mode):
    stall_ms: int = Field(ge=1, le=600_000)


class PolicyMode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_in_s: float = Field(0, ge=0, le=366 * 86_400)
    tax_rates: list[TaxRate] | None = None
    required_fields: list[Literal["buyer.taxId", "remarks", "issuer", "lines.taxCategoryCode"]] = []


class SuspensionMode(Mode):
    taxpayers: list[str] | None = Field(None, description="omitted: every taxpayer")


class ReleaseSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    leak_ms: float = Field(5.0, ge=0, le=10_000)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in RELEASES:
            raise ValueError(f"unknown release {value!r}; use one of {sorted(RELEASES)}")
        return value


@router.get("/faults", summary="The fault modes in force")
def active(state: AdminDep) -> dict[str, Any]:
    return {"faults": state.modes.active(state.clock()), "releases": RELEASES, "requirable": REQUIRABLE_FIELDS}


@router.delete("/faults", summary="Revert every fault mode")
def clear(state: AdminDep) -> dict[str, str]:
    state.modes.clear()
    return {"status": "cleared"}


@router.put("/faults/errors", summary="Answer a share of requests with an error code")
def put_errors(mode: ErrorsMode, state: AdminDep) -> dict[str, Any]:
    families = frozenset(mode.families) if mode.families else None
    code = ERROR_CODES[mode.code]
    default = DEFAULT_COMMIT_RATE if code in UNKNOWN_OUTCOME else 0.0
    commit = mode.commit_rate if mode.commit_rate is not None else default
    state.modes.errors = ErrorInjection(
        code, mode.rate, families, mode.until(state.clock()), mode.retry_after_s, commit
    )
    return {"mode": "error_injection"}


@router.delete("/faults/errors")
def delete_errors(state: AdminDep) -> dict[str, str]:
    state.modes.errors = None
    return {"mode": "error_injection", "status": "reverted"}


@router.put("/faults/latency", summary="Add lognormal latency before serving")
def put_latency(mode: LatencyMode, state: AdminDep) -> dict[str, Any]:
    spec = ServiceTime(median_ms=mode.median_ms, p99_ms=mode.p99_ms)
    families = frozenset(mode.families) if mode.families else None
    state.modes.latency = AddedLatency(spec, families, mode.until(state.clock()))
    return {"mode": "added_latency"}


@router.delete("/faults/latency")
def delete_latency(state: AdminDep) -> dict[str, str]:
    state.modes.latency = None
    return {"mode": "added_latency", "status": "reverted"}


@router.put("/faults/ghost", summary="Commit new invoices (single, batch, red), then lose the answer (504 or a hang)")
def put_ghost(mode: GhostMode, state: AdminDep) -> dict[str, Any]:
    state.modes.ghost = GhostSuccess(mode.rate, mode.answer, mode.hang_ms, mode.until(state.clock()))
    return {"mode": "ghost_success"}


@router.delete("/faults/ghost")
def delete_ghost(state: AdminDep) -> dict[str, str]:
    state.modes.ghost = None
    return {"mode": "ghost_success", "status": "reverted"}


class UploadMode(Mode):
    rate: float = Field(ge=0, le=1, description="share of new invoices whose upload to the tax bureau fails")


@router.put("/faults/upload", summary="The upload channel fails: new invoices end uploadState FAILED, re-uploads 503")
def put_upload(mode: UploadMode, state: AdminDep) -> dict[str, Any]:
    state.modes.upload = UploadFailure(mode.rate, mode.until(state.clock()))
    return {"mode": "upload_failure"}


@router.delete("/faults/upload")
def delete_upload(state: AdminDep) -> dict[str, str]:
    state.modes.upload = None
    return {"mode": "upload_failure", "status": "reverted"}


@router.put("/faults/ledger-stall", summary="Make every write wait stall_ms before it reaches the ledger")
def put_stall(mode: StallMode, state: AdminDep) -> dict[str, Any]:
    state.modes.stall_ms, state.modes.stall_until = mode.stall_ms, mode.until(state.clock())
    return {"mode": "ledger_stall"}


@router.delete("/faults/ledger-stall")
def delete_stall(state: AdminDep) -> dict[str, str]:
    state.modes.stall_ms, state.modes.stall_until = 0, 0.0
    return {"mode": "ledger_stall", "status": "reverted"}


@router.put("/faults/policy", summary="A new rate table and/or newly required fields from a given time")
def put_policy(mode: PolicyMode, state: AdminDep) -> dict[str, Any]:
    state.modes.policy = Policy(state.clock() + mode.effective_in_s, mode.tax_rates, tuple(mode.required_fields))
    return {"mode": "policy_change"}


@router.delete("/faults/policy")
def delete_policy(state: AdminDep) -> dict[str, str]:
    state.modes.policy = None
    return {"mode": "policy_change", "status": "reverted"}


@router.put("/faults/quota-suspension", summary="Suspend quota (ztsxbz=Y): issuing answers 403 E4002")
def put_suspension(mode: SuspensionMode, state: AdminDep) -> dict[str, Any]:
    now = state.clock()
    if mode.taxpayers is None:
        state.modes.quota_suspended_until = mode.until(now)
    else:
        with state.db.write() as tx:
            for taxpayer in mode.taxpayers:
                state.quota.set_suspended(tx, taxpayer, True, now)
    return {"mode": "quota_suspension"}


@router.delete("/faults/quota-suspension")
def delete_suspension(state: AdminDep, mode: SuspensionMode | None = None) -> dict[str, str]:
    now = state.clock()
    state.modes.quota_suspended_until = 0.0
    if mode is not None and mode.taxpayers:
        with state.db.write() as tx:
            for taxpayer in mode.taxpayers:
                state.quota.set_suspended(tx, taxpayer, False, now)
    return {"mode": "quota_suspension", "status": "reverted"}


@router.put("/release", summary="Switch to a release profile (a bad upgrade) or back (rollback)")
def put_release(switch: ReleaseSwitch, state: AdminDep) -> dict[str, str]:
    previous = state.modes.switch_release(switch.name, state.clock(), switch.leak_ms)
    return {"release": switch.name, "previous": previous}
