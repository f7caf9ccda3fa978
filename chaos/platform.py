"""Platform faults: the mock platform's runtime modes, switched through its admin API.

Each fault asks the platform to end the mode by itself a little after ``for_s`` (a safety net should the
harness die), and ``revert`` ends it explicitly.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from taxstorm.chaos.registry import Fault
from taxstorm.chaos.spec import PHYSICAL, TIMELINE, FaultSpec

Family = Literal["auth", "issue", "query", "red", "verify", "quota"]
Feature = Literal["issue", "red", "verify", "quota", "delivery", "auth"]
SAFETY_MARGIN_S = 5.0


class ModeFault(Fault[Any]):
    """A platform mode set with one PUT and reverted with one DELETE."""

    path: ClassVar[str]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.spec.model_dump(exclude={"type", "id", "at_s", "for_s", "target"})
        if self.spec.for_s is not None:
            body["for_s"] = self.spec.for_s + SAFETY_MARGIN_S
        return body

    def apply(self) -> None:
        self.context.admin().call("PUT", self.path, self.body())

    def revert(self) -> None:
        self.context.admin().call("DELETE", self.path)


class ErrorInjectionSpec(FaultSpec):
    """Answer ``rate`` of the requests (of some families) with ``code``."""

    type: Literal["error_injection"] = "error_injection"
    code: str = Field("E9003", pattern=r"^E\d{4}$", description="a documented error code")
    rate: float = Field(ge=0, le=1, description="share of requests answered with the error")
    families: list[Family] | None = Field(None, description="endpoint families; omitted = all")
    retry_after_s: int = Field(2, ge=0, description="Retry-After on 429/503/504", json_schema_extra=PHYSICAL)
    commit_rate: float | None = Field(
        None,
        ge=0,
        le=1,
        description="E9005/E9004: share of the writes that commit before the error (outcome unknown; default 0.5)",
    )

    @model_validator(mode="after")
    def _commit_only_when_unknown(self) -> ErrorInjectionSpec:
        if self.commit_rate and self.code not in ("E9005", "E9004"):
            raise ValueError(f"commit_rate: {self.code} refuses the request (nothing is done); only E9005/E9004 commit")
        return self

    def slot(self) -> str | None:
        return "error injection"


class ErrorInjectionFault(ModeFault):
    spec_type = ErrorInjectionSpec
    summary = "platform answers a share of requests with an error code (5xx bursts, 429s …)"
    path = "/admin/faults/errors"


class PlatformLatencySpec(FaultSpec):
    """The platform itself is slow: lognormal extra latency before serving."""

    type: Literal["platform_latency"] = "platform_latency"
    median_ms: float = Field(gt=0, description="ms, median of the added latency")
    p99_ms: float = Field(0, ge=0, description="ms, 99th percentile (long tail)")
    families: list[Family] | None = Field(None, description="endpoint families; omitted = all")

    def slot(self) -> str | None:
        return "platform latency"


class PlatformLatencyFault(ModeFault):
    spec_type = PlatformLatencySpec
    summary = "platform-side added latency (a distribution), unlike the network latency toxic"
    path = "/admin/faults/latency"


class GhostSuccessSpec(FaultSpec):
    """Commit new invoices, then lose the answer: 504, or hold it past the client's timeout."""

    type: Literal["ghost_success"] = "ghost_success"
    rate: float = Field(ge=0, le=1, description="share of new invoices whose answer is lost")
    answer: Literal["504", "hang"] = Field("504", description="504 E9004, or hold the answer hang_ms")
    hang_ms: int = Field(30_000, ge=0, description="ms the answer is held with answer=hang")

    def slot(self) -> str | None:
        return "ghost successes"


class GhostSuccessFault(ModeFault):
    spec_type = GhostSuccessSpec
    summary = "commit, then lose the response (the duplicate-invoice hazard)"
    path = "/admin/faults/ghost"


class LedgerStallSpec(FaultSpec):
    """Every write waits ``stall_ms`` before it reaches the ledger."""

    type: Literal["ledger_stall"] = "ledger_stall"
    stall_ms: int = Field(ge=1, description="ms each write hangs")

    def slot(self) -> str | None:
        return "ledger stall"


class LedgerStallFault(ModeFault):
    spec_type = LedgerStallSpec
    summary = "database writes hang (lock contention, failing disk)"
    path = "/admin/faults/ledger-stall"


class TaxRateRow(BaseModel):
    """A rate of a new table."""

    model_config = ConfigDict(extra="forbid")
    rate: str
    name: str


class PolicyChangeSpec(FaultSpec):
    """From ``effective_in_s`` after apply: a new rate table and/or newly required fields."""

    type: Literal["policy_change"] = "policy_change"
    effective_in_s: float = Field(
        0, ge=0, description="s from apply to the policy taking effect", json_schema_extra=TIMELINE
    )
    tax_rates: list[TaxRateRow] | None = Field(None, description="the new rate table; omitted = unchanged")
    required_fields: list[Literal["buyer.taxId", "remarks", "issuer", "lines.taxCategoryCode"]] = Field(
        default_factory=list, description="fields that become mandatory"
    )

    def slot(self) -> str | None:
        return "policy change"


class PolicyChangeFault(ModeFault):
    spec_type = PolicyChangeSpec
    summary = "sudden policy change: new tax rates or a new mandatory field"
    path = "/admin/faults/policy"

    def body(self) -> dict[str, Any]:
        body = super().body()
        body.pop("for_s", None)  # a policy has no end of its own: revert withdraws it
        return body


class QuotaSuspensionSpec(FaultSpec):
    """授信额度 suspended (ztsxbz=Y): issuing answers 403 E4002."""

    type: Literal["quota_suspension"] = "quota_suspension"
    taxpayers: list[str] | None = Field(None, description="taxpayer ids; omitted = all")

    def slot(self) -> str | None:
        return "quota suspension"


class QuotaSuspensionFault(ModeFault):
    spec_type = QuotaSuspensionSpec
    summary = "risk control suspends issuing quota"
    path = "/admin/faults/quota-suspension"

    def revert(self) -> None:
        self.context.admin().call("DELETE", self.path, {"taxpayers": self.spec.taxpayers})


class CapacitySpec(BaseModel):
    """The new capacity of one family (any field of the platform's capacity model)."""

    model_config = ConfigDict(extra="forbid")
    service_time: dict[str, float] | None = None
    concurrency: int | None = Field(None, ge=1)
    queue: int | None = Field(None, ge=0)
    policy: Literal["shed", "queue", "collapse"] | None = None
    collapse_factor: float | None = Field(None, ge=0)
    retry_after_s: int | None = Field(None, ge=0, json_schema_extra=PHYSICAL)
    rate_per_min: int | None = Field(None, ge=1)


class CapacityChangeSpec(FaultSpec):
    """Change one family's capacity (fewer servers, a throttle) and restore it on revert."""

    type: Literal["capacity_change"] = "capacity_change"
    family: Family = Field(description="endpoint family")
    capacity: CapacitySpec = Field(description="fields to change; others keep their value")

    def slot(self) -> str | None:
        return f"capacity of {self.family}"


class CapacityChangeFault(Fault[CapacityChangeSpec]):
    spec_type = CapacityChangeSpec
    summary = "change a family's capacity model (concurrency, queue, policy, service time, rate limit)"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._previous: dict[str, Any] | None = None

    def apply(self) -> None:
        admin = self.context.admin()
        current = admin.stats()["capacity"][self.spec.family]["config"]
        self._previous = current
        changes = self.spec.capacity.model_dump(exclude_none=True)
        admin.call("PUT", f"/admin/capacity/{self.spec.family}", {**current, **changes})

    def revert(self) -> None:
        if self._previous is not None:
            self.context.admin().call("PUT", f"/admin/capacity/{self.spec.family}", self._previous)
            self._previous = None


class BadReleaseSpec(FaultSpec):
    """Upgrade to a bad release profile; revert rolls back."""

    type: Literal["bad_release"] = "bad_release"
    release: Literal["bad-5xx-by-serial", "renamed-field", "latency-leak", "wrong-rounding"] = Field(
        description="release profile"
    )
    leak_ms: float = Field(5.0, ge=0, description="latency-leak: ms added per 100 requests")

    def slot(self) -> str | None:
        return "release"


class BadReleaseFault(Fault[BadReleaseSpec]):
    spec_type = BadReleaseSpec
    summary = "a bad upgrade (5xx on a route, renamed field, latency leak, wrong rounding) and its rollback"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._previous: str | None = None

    def apply(self) -> None:
        answer = self.context.admin().call(
            "PUT", "/admin/release", {"name": self.spec.release, "leak_ms": self.spec.leak_ms}
        )
        self._previous = str(answer["previous"])

    def revert(self) -> None:
        if self._previous is not None:
            self.context.admin().call("PUT", "/admin/release", {"name": self._previous})
            self._previous = None


class MaintenanceSpec(FaultSpec):
    """A maintenance notice published at ``at_s``; the window opens ``notice_ahead_s`` later, ends at revert."""

    type: Literal["maintenance"] = "maintenance"
    notice_ahead_s: float = Field(
        0, ge=0, description="s between the notice and the window", json_schema_extra=TIMELINE
    )
    features: list[Feature] | None = Field(None, description="affected features; omitted = the whole platform")
    direct_connect_affected: bool = Field(True, description="false: only portal users are affected")
    title: str = "系统维护 scheduled maintenance"

    @model_validator(mode="after")
    def _window_inside(self) -> MaintenanceSpec:
        if self.for_s is not None and self.for_s <= self.notice_ahead_s:
            raise ValueError(f"for_s ({self.for_s}) must exceed notice_ahead_s ({self.notice_ahead_s})")
        return self


class MaintenanceFault(Fault[MaintenanceSpec]):
    spec_type = MaintenanceSpec
    summary = "scheduled maintenance announced ahead (503 E9002 with Retry-After), whole or per feature"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._notice: str | None = None

    def apply(self) -> None:
        spec = self.spec
        duration = (spec.for_s - spec.notice_ahead_s + SAFETY_MARGIN_S) if spec.for_s else 366 * 86_400
        body: dict[str, Any] = {
            "start_in_s": spec.notice_ahead_s,
            "duration_s": duration,
            "direct_connect_affected": spec.direct_connect_affected,
            "title": spec.title,
        }
        if spec.features:
            body["features"] = spec.features
        self._notice = str(self.context.admin().call("POST", "/admin/maintenance", body)["id"])

    def revert(self) -> None:
        if self._notice is not None:
            self.context.admin().call("DELETE", f"/admin/maintenance/{self._notice}")
            self._notice = None


class FeatureDownSpec(FaultSpec):
    """One feature switched off: 503 E9006."""

    type: Literal["feature_down"] = "feature_down"
    feature: Feature = Field(description="issue, red, verify, quota, delivery or auth")

    def slot(self) -> str | None:
        return f"feature {self.feature}"


class FeatureDownFault(Fault[FeatureDownSpec]):
    spec_type = FeatureDownSpec
    summary = "one feature disabled (e.g. red-letter down while issuing works)"

    def apply(self) -> None:
        body: dict[str, Any] = {"down": True}
        if self.spec.for_s is not None:
            body["for_s"] = self.spec.for_s + SAFETY_MARGIN_S
        self.context.admin().call("PUT", f"/admin/features/{self.spec.feature}", body)

    def revert(self) -> None:
        self.context.admin().call("PUT", f"/admin/features/{self.spec.feature}", {"down": False})


class TokenRevocationSpec(FaultSpec):
    """Revoke live tokens (401 E1003); optionally demand re-verification first (403 E1004) until revert."""

    type: Literal["token_revocation"] = "token_revocation"
    taxpayers: list[str] | None = Field(None, description="taxpayer ids; omitted = all")
    require_reverify: bool = Field(False, description="new tokens refused with E1004 until revert (these, or all)")


class TokenRevocationFault(Fault[TokenRevocationSpec]):
    spec_type = TokenRevocationSpec
    summary = "security incident: sessions dropped, forced re-authentication"

    def apply(self) -> None:
        admin = self.context.admin()
        admin.call("POST", "/admin/tokens/revoke", {"taxpayers": self.spec.taxpayers})
        if self.spec.require_reverify:
            admin.call("POST", "/admin/reverify", {"taxpayers": self.spec.taxpayers, "required": True})

    def revert(self) -> None:
        if self.spec.require_reverify:
            self.context.admin().call("POST", "/admin/reverify", {"taxpayers": self.spec.taxpayers, "required": False})


class UploadFailureSpec(FaultSpec):
    """乐企 issue-then-upload: invoices are issued (they have numbers) but ``rate`` of them fail to upload to the tax
    bureau (uploadState FAILED; a receiver's 查验 finds nothing) and re-uploads are refused until revert."""

    type: Literal["upload_failure"] = "upload_failure"
    rate: float = Field(ge=0, le=1, description="share of new invoices whose upload fails")

    def slot(self) -> str | None:
        return "upload failure"


class UploadFailureFault(ModeFault):
    spec_type = UploadFailureSpec
    summary = "issuing works, uploading to the tax bureau fails: invoices must be re-uploaded afterwards"
    path = "/admin/faults/upload"


class ClockJumpSpec(FaultSpec):
    """The platform's clock jumps: to a moment (``to``) or ``by_s`` forward — into the next day, past the filing
    deadline, over New Year. Time never goes back, so a jump has no ``for_s`` and nothing to revert."""

    type: Literal["clock_jump"] = "clock_jump"
    to: AwareDatetime | None = Field(None, description="the moment, with its zone, e.g. 2026-12-16T00:00:00+08:00")
    by_s: float | None = Field(
        None, gt=0, le=10 * 366 * 86_400, description="seconds forward (business time)", json_schema_extra=PHYSICAL
    )

    @model_validator(mode="after")
    def _one_jump(self) -> ClockJumpSpec:
        if (self.to is None) == (self.by_s is None):
            raise ValueError("give to (a moment with its zone) or by_s (seconds forward), not both")
        if self.for_s is not None:
            raise ValueError("for_s: a clock jump lasts (time never goes back); remove for_s")
        return self


class ClockJumpFault(Fault[ClockJumpSpec]):
    spec_type = ClockJumpSpec
    summary = "the platform's calendar moves on: month rollover, filing deadline, New Year"

    def apply(self) -> None:
        change = {"to": self.spec.to.isoformat()} if self.spec.to is not None else {"advance_s": self.spec.by_s}
        self.context.admin().call("POST", "/admin/clock", change)

    def revert(self) -> None:
        """Nothing to undo: the calendar does not go back."""


FAULTS: tuple[type[Fault[Any]], ...] = (
    MaintenanceFault,
    FeatureDownFault,
    ErrorInjectionFault,
    PlatformLatencyFault,
    GhostSuccessFault,
    LedgerStallFault,
    CapacityChangeFault,
    BadReleaseFault,
    PolicyChangeFault,
    TokenRevocationFault,
    QuotaSuspensionFault,
    UploadFailureFault,
    ClockJumpFault,
)
PLATFORM_SPECS = (
    MaintenanceSpec
    | FeatureDownSpec
    | ErrorInjectionSpec
    | PlatformLatencySpec
    | GhostSuccessSpec
    | LedgerStallSpec
    | CapacityChangeSpec
    | BadReleaseSpec
    | PolicyChangeSpec
    | TokenRevocationSpec
    | QuotaSuspensionSpec
    | UploadFailureSpec
    | ClockJumpSpec
)
