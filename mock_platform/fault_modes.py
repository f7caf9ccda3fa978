"""Runtime fault modes of the platform: one table, switched on and off through the admin API.

A mode is one class: the body of its admin request (``PUT /admin/faults/<route>``, validated like any request),
how it shows in ``/status``, and what it changes once in force. Subclassing ``Mode`` registers it; the admin
routes are made from the table (``api/faults.py``), so a new mode is this file plus where the platform obeys it.
Each has an end (``for_s`` on the platform clock, or ``DELETE /admin/faults/<route>``). A bad release profile is
a switch rather than a mode (``PUT /admin/release``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from taxstorm.mock_platform.errors import ErrorCode
from taxstorm.mock_platform.settings import Family, ServiceTime, TaxRate

if TYPE_CHECKING:
    from taxstorm.mock_platform.state import PlatformState

RELEASES: dict[str, str] = {
    "stable": "the good release",
    "bad-5xx-by-serial": "GET /invoices/by-serial answers 500 E9005: clients lose their recovery call",
    "renamed-field": "invoice answers call the number 'invoiceNumber' instead of 'invoiceNo'",
    "latency-leak": "every 100 requests add leak_ms of latency (a slow leak)",
    "wrong-rounding": "issued totals use the wrong (truncating) tax rounding; careful clients see the mismatch",
}
RequirableField = Literal["buyer.taxId", "remarks", "issuer", "lines.taxCategoryCode"]
REQUIRABLE_FIELDS: tuple[str, ...] = get_args(RequirableField)
ERROR_CODES = {e.code: e for e in ErrorCode}
UNKNOWN_OUTCOME = frozenset({ErrorCode.INTERNAL, ErrorCode.TIMEOUT})  # E9005, E9004: the work may have been done
DEFAULT_COMMIT_RATE = 0.5  # of writes answered E9005/E9004, the share that committed first (outcome unknown)
FOREVER = float("inf")
MODES: dict[str, type[Mode]] = {}  # by route; filled by subclassing Mode


def one_of(value: str, table: Mapping[str, Any], what: str) -> str:
    """``value`` if the table knows it; else the error a validator raises, listing what it knows."""
    if value not in table:
        raise ValueError(f"unknown {what} {value!r}; use one of {sorted(table)}")
    return value


class Mode(BaseModel):
    """A fault mode as its admin request switches it on; ``for_s`` omitted: in force until deleted."""

    model_config = ConfigDict(extra="forbid")
    route: ClassVar[str]  # PUT/DELETE /admin/faults/<route>
    ends_with_body: ClassVar[bool] = False  # whether DELETE reads a body (which of its parts to end)
    shown_as: ClassVar[str]  # its name in /status and in the admin answers
    summary: ClassVar[str]

    for_s: float | None = Field(None, gt=0, le=366 * 86_400, description="seconds in force; omitted: until deleted")
    _until: float = PrivateAttr(FOREVER)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "route" in cls.__dict__:
            MODES[cls.route] = cls

    def begin(self, state: PlatformState) -> None:
        """Put the mode in force (replacing one of its kind)."""
        now = state.clock()
        self._until = now + self.for_s if self.for_s is not None else FOREVER
        state.modes.on[type(self)] = self

    @classmethod
    def end(cls, state: PlatformState, request: Self | None) -> None:
        """End the mode (``request``: the DELETE's body, if it sent one)."""
        state.modes.on.pop(cls, None)

    def live(self, now: float) -> bool:
        return now < self._until

    def shown(self, now: float) -> dict[str, Any]:
        """What ``/status`` shows about it while in force."""
        return {"mode": self.shown_as}

    def applies_to(self, family: Family) -> bool:
        families: list[Family] | None = getattr(self, "families", None)
        return not families or family in families  # omitted or empty: every family


class ErrorsMode(Mode):
    """Answer ``rate`` of the requests of some families with an error code instead of serving them; of the writes
    answered with an error of unknown outcome (E9005, E9004), ``commit_rate`` were served first (committed)."""

    route: ClassVar[str] = "errors"
    shown_as: ClassVar[str] = "error_injection"
    summary: ClassVar[str] = "Answer a share of requests with an error code"

    code: str = Field(description="a documented error code, e.g. E9003")
    rate: float = Field(ge=0, le=1)
    families: list[Family] | None = None
    retry_after_s: int = Field(2, ge=0, le=86_400)
    commit_rate: float | None = Field(
        None, ge=0, le=1, description="E9005/E9004 only: share of writes committed before the error (default 0.5)"
    )

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        return one_of(value, ERROR_CODES, "code")

    @model_validator(mode="after")
    def _commit_only_when_unknown(self) -> ErrorsMode:
        if self.commit_rate and ERROR_CODES[self.code] not in UNKNOWN_OUTCOME:
            raise ValueError(f"commit_rate: {self.code} is a refusal (nothing was done); only E9005 and E9004 commit")
        return self

    @property
    def error(self) -> ErrorCode:
        return ERROR_CODES[self.code]

    @property
    def committed_share(self) -> float:
        if self.commit_rate is not None:
            return self.commit_rate
        return DEFAULT_COMMIT_RATE if self.error in UNKNOWN_OUTCOME else 0.0

    def shown(self, now: float) -> dict[str, Any]:
        return {"mode": self.shown_as, "code": self.code, "rate": self.rate}


class LatencyMode(Mode):
    """Sleep a lognormal time before serving requests of some families."""

    route: ClassVar[str] = "latency"
    shown_as: ClassVar[str] = "added_latency"
    summary: ClassVar[str] = "Add lognormal latency before serving"

    median_ms: float = Field(gt=0, le=600_000)
    p99_ms: float = Field(0, ge=0, le=600_000)
    families: list[Family] | None = None

    @property
    def service_time(self) -> ServiceTime:
        return ServiceTime(median_ms=self.median_ms, p99_ms=self.p99_ms)

    def shown(self, now: float) -> dict[str, Any]:
        return {"mode": self.shown_as, "medianMs": self.median_ms}


class GhostMode(Mode):
    """Commit a new invoice (single, batch, red), then answer 504 or hold the answer past the client's timeout."""

    route: ClassVar[str] = "ghost"
    shown_as: ClassVar[str] = "ghost_success"
    summary: ClassVar[str] = "Commit new invoices (single, batch, red), then lose the answer (504 or a hang)"

    rate: float = Field(ge=0, le=1)
    answer: Literal["504", "hang"] = "504"
    hang_ms: int = Field(30_000, ge=0, le=600_000)

    def shown(self, now: float) -> dict[str, Any]:
        return {"mode": self.shown_as, "rate": self.rate, "answer": self.answer}


class UploadMode(Mode):
    """The upload channel to the tax bureau fails (乐企 issue-then-upload): ``rate`` of new invoices end with
    uploadState FAILED, and re-uploads are refused (503 E9006) until the mode ends."""

    route: ClassVar[str] = "upload"
    shown_as: ClassVar[str] = "upload_failure"
    summary: ClassVar[str] = "The upload channel fails: new invoices end uploadState FAILED, re-uploads 503"

    rate: float = Field(ge=0, le=1, description="share of new invoices whose upload to the tax bureau fails")

    def shown(self, now: float) -> dict[str, Any]:
        return {"mode": self.shown_as, "rate": self.rate}


class StallMode(Mode):
    """Every write waits ``stall_ms`` before it reaches the ledger."""

    route: ClassVar[str] = "ledger-stall"
    shown_as: ClassVar[str] = "ledger_stall"
    summary: ClassVar[str] = "Make every write wait stall_ms before it reaches the ledger"

    stall_ms: int = Field(ge=1, le=600_000)

    def shown(self, now: float) -> dict[str, Any]:
        return {"mode": self.shown_as, "stallMs": self.stall_ms}


class PolicyMode(Mode):
    """A policy change in force from ``effective_in_s`` on: a new rate table and/or newly required fields."""

    route: ClassVar[str] = "policy"
    shown_as: ClassVar[str] = "policy_change"
    summary: ClassVar[str] = "A new rate table and/or newly required fields from a given time"

    effective_in_s: float = Field(0, ge=0, le=366 * 86_400)
    tax_rates: list[TaxRate] | None = None
    required_fields: list[RequirableField] = []
    _effective_at: float = PrivateAttr(0.0)

    def begin(self, state: PlatformState) -> None:
        self._effective_at = state.clock() + self.effective_in_s
        super().begin(state)

    def effective(self, now: float) -> bool:
        return now >= self._effective_at

    def shown(self, now: float) -> dict[str, Any]:
        return {"mode": self.shown_as, "effective": self.effective(now)}


class SuspensionMode(Mode):
    """The tax bureau suspends quota (ztsxbz=Y): issuing answers 403 E4002, for everyone or some taxpayers."""

    route: ClassVar[str] = "quota-suspension"
    shown_as: ClassVar[str] = "quota_suspension"
    summary: ClassVar[str] = "Suspend quota (ztsxbz=Y): issuing answers 403 E4002"

    taxpayers: list[str] | None = Field(None, description="omitted: every taxpayer")
    ends_with_body: ClassVar[bool] = True

    def begin(self, state: PlatformState) -> None:
        if self.taxpayers is None:
            super().begin(state)
            return
        now = state.clock()
        with state.db.write() as tx:  # a taxpayer's suspension is kept with its quota, in the ledger
            for taxpayer in self.taxpayers:
                state.quota.set_suspended(tx, taxpayer, True, now)

    @classmethod
    def end(cls, state: PlatformState, request: SuspensionMode | None) -> None:
        super().end(state, request)
        if request is not None and request.taxpayers:
            now = state.clock()
            with state.db.write() as tx:
                for taxpayer in request.taxpayers:
                    state.quota.set_suspended(tx, taxpayer, False, now)


M = TypeVar("M", bound=Mode)


@dataclass
class Release:
    """The release profile running now."""

    name: str = "stable"
    since: float = 0.0
    leak_ms: float = 5.0
    requests: int = 0


@dataclass
class FaultModes:
    """The modes in force in one platform process, and the questions the platform asks them."""

    on: dict[type[Mode], Mode] = field(default_factory=dict)
    release: Release = field(default_factory=Release)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def live(self, kind: type[M], now: float) -> M | None:
        """The mode of this kind in force now, if any."""
        mode = self.on.get(kind)
        return cast(M, mode) if mode is not None and mode.live(now) else None

    def error_for(self, family: Family, now: float) -> ErrorsMode | None:
        injection = self.live(ErrorsMode, now)
        if injection is None or not injection.applies_to(family):
            return None
        return injection if self.rng.random() < injection.rate else None

    def added_latency_s(self, family: Family, now: float) -> float:
        from taxstorm.mock_platform.sampling import sample_ms

        delay = 0.0
        mode = self.live(LatencyMode, now)
        if mode is not None and mode.applies_to(family):
            delay += sample_ms(mode.service_time, self.rng) / 1000.0
        if self.release.name == "latency-leak":
            self.release.requests += 1
            delay += self.release.leak_ms * (self.release.requests // 100) / 1000.0
        return delay

    def ghost_active(self, now: float) -> bool:
        return self.live(GhostMode, now) is not None

    def ghost_for(self, now: float) -> GhostMode | None:
        ghost = self.live(GhostMode, now)
        return ghost if ghost is not None and self.rng.random() < ghost.rate else None

    def upload_down(self, now: float) -> bool:
        return self.live(UploadMode, now) is not None

    def upload_fails(self, now: float) -> bool:
        """Whether the upload of an invoice issued now fails."""
        upload = self.live(UploadMode, now)
        return upload is not None and self.rng.random() < upload.rate

    def commits_before(self, injection: ErrorsMode) -> bool:
        """Whether this write answered with ``injection``'s error was served (committed) first."""
        share = injection.committed_share
        return share > 0 and self.rng.random() < share

    def stall_s(self, now: float) -> float:
        stall = self.live(StallMode, now)
        return stall.stall_ms / 1000.0 if stall is not None else 0.0

    def policy_at(self, now: float) -> PolicyMode | None:
        policy = self.live(PolicyMode, now)
        return policy if policy is not None and policy.effective(now) else None

    def quota_suspended(self, now: float) -> bool:
        return self.live(SuspensionMode, now) is not None

    def switch_release(self, name: str, now: float, leak_ms: float = 5.0) -> str:
        previous = self.release.name
        self.release = Release(name, now, leak_ms)
        return previous

    def active(self, now: float) -> list[dict[str, Any]]:
        """What ``/status`` shows about the modes in force."""
        shown = [mode.shown(now) for mode in list(self.on.values()) if mode.live(now)]  # admin threads change it
        if self.release.name != "stable":
            shown.append({"mode": "release", "name": self.release.name})
        return shown

    def clear(self) -> None:
        self.on.clear()
        self.release = Release()


def rates_for(policy: PolicyMode | None, default: list[TaxRate]) -> list[TaxRate]:
    """The rate table in force: the policy's when it has one."""
    return policy.tax_rates if policy is not None and policy.tax_rates is not None else default
