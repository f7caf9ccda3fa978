"""Runtime fault modes of the platform, switched on and off through the admin API.

Each mode has an end (``until`` on the platform clock, or an explicit revert) and shows in ``/status``:
error injection, added latency, ghost success (commit, then lose the answer), ledger stall, a bad release
profile, a policy change and a platform-wide quota suspension.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from taxstorm.mock_platform.errors import ErrorCode
from taxstorm.mock_platform.settings import Family, ServiceTime, TaxRate

RELEASES: dict[str, str] = {
    "stable": "the good release",
    "bad-5xx-by-serial": "GET /invoices/by-serial answers 500 E9005: clients lose their recovery call",
    "renamed-field": "invoice answers call the number 'invoiceNumber' instead of 'invoiceNo'",
    "latency-leak": "every 100 requests add leak_ms of latency (a slow leak)",
    "wrong-rounding": "issued totals use the wrong (truncating) tax rounding; careful clients see the mismatch",
}
REQUIRABLE_FIELDS = ("buyer.taxId", "remarks", "issuer", "lines.taxCategoryCode")
ERROR_CODES = {e.code: e for e in ErrorCode}


UNKNOWN_OUTCOME = frozenset({ErrorCode.INTERNAL, ErrorCode.TIMEOUT})  # E9005, E9004: the work may have been done
DEFAULT_COMMIT_RATE = 0.5  # of writes answered E9005/E9004, the share that committed first (outcome unknown)


@dataclass
class ErrorInjection:
    """Answer ``rate`` of the requests of some families with an error code instead of serving them; of the writes
    answered with an error of unknown outcome (E9005, E9004), ``commit_rate`` were served first (committed)."""

    code: ErrorCode
    rate: float
    families: frozenset[Family] | None
    until: float
    retry_after_s: int = 2
    commit_rate: float = 0.0


@dataclass
class AddedLatency:
    """Sleep a lognormal time before serving requests of some families."""

    service_time: ServiceTime
    families: frozenset[Family] | None
    until: float


@dataclass
class GhostSuccess:
    """Commit a new invoice, then answer 504 or hold the answer past the client's timeout."""

    rate: float
    mode: Literal["504", "hang"]
    hang_ms: int
    until: float


@dataclass
class UploadFailure:
    """The upload channel to the tax bureau fails (乐企 issue-then-upload): ``rate`` of new invoices end with
    uploadState FAILED, and re-uploads are refused (503 E9006) until the mode ends."""

    rate: float
    until: float


@dataclass
class Policy:
    """A policy change in force from ``effective_at``: a new rate table and/or newly required fields."""

    effective_at: float
    tax_rates: list[TaxRate] | None
    required_fields: tuple[str, ...]


@dataclass
class Release:
    """The release profile running now."""

    name: str = "stable"
    since: float = 0.0
    leak_ms: float = 5.0
    requests: int = 0


@dataclass
class FaultModes:
    """All runtime modes of one platform process."""

    errors: ErrorInjection | None = None
    latency: AddedLatency | None = None
    ghost: GhostSuccess | None = None
    upload: UploadFailure | None = None
    stall_ms: int = 0
    stall_until: float = 0.0
    policy: Policy | None = None
    quota_suspended_until: float = 0.0
    release: Release = field(default_factory=Release)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def error_for(self, family: Family, now: float) -> ErrorInjection | None:
        injection = self.errors
        if injection is None or now >= injection.until:
            return None
        if injection.families is not None and family not in injection.families:
            return None
        return injection if self.rng.random() < injection.rate else None

    def added_latency_s(self, family: Family, now: float) -> float:
        from taxstorm.mock_platform.sampling import sample_ms

        delay = 0.0
        mode = self.latency
        if mode is not None and now < mode.until and (mode.families is None or family in mode.families):
            delay += sample_ms(mode.service_time, self.rng) / 1000.0
        if self.release.name == "latency-leak":
            self.release.requests += 1
            delay += self.release.leak_ms * (self.release.requests // 100) / 1000.0
        return delay

    def ghost_active(self, now: float) -> bool:
        return self.ghost is not None and now < self.ghost.until

    def ghost_for(self, now: float) -> GhostSuccess | None:
        ghost = self.ghost
        if ghost is None or now >= ghost.until:
            return None
        return ghost if self.rng.random() < ghost.rate else None

    def upload_down(self, now: float) -> bool:
        return self.upload is not None and now < self.upload.until

    def upload_fails(self, now: float) -> bool:
        """Whether the upload of an invoice issued now fails."""
        upload = self.upload
        return upload is not None and now < upload.until and self.rng.random() < upload.rate

    def commits_before(self, injection: ErrorInjection) -> bool:
        """Whether this write answered with ``injection``'s error was served (committed) first."""
        return injection.commit_rate > 0 and self.rng.random() < injection.commit_rate

    def stall_s(self, now: float) -> float:
        return self.stall_ms / 1000.0 if now < self.stall_until else 0.0

    def policy_at(self, now: float) -> Policy | None:
        return self.policy if self.policy is not None and now >= self.policy.effective_at else None

    def quota_suspended(self, now: float) -> bool:
        return now < self.quota_suspended_until

    def switch_release(self, name: str, now: float, leak_ms: float = 5.0) -> str:
        previous = self.release.name
        self.release = Release(name, now, leak_ms)
        return previous

    def active(self, now: float) -> list[dict[str, Any]]:
        """What ``/status`` shows about the modes in force."""
        shown: list[dict[str, Any]] = []
        if self.errors is not None and now < self.errors.until:
            shown.append({"mode": "error_injection", "code": self.errors.code.code, "rate": self.errors.rate})
        if self.latency is not None and now < self.latency.until:
            shown.append({"mode": "added_latency", "medianMs": self.latency.service_time.median_ms})
        if self.ghost is not None and now < self.ghost.until:
            shown.append({"mode": "ghost_success", "rate": self.ghost.rate, "answer": self.ghost.mode})
        if self.upload_down(now):
            shown.append({"mode": "upload_failure", "rate": self.upload.rate if self.upload else 0.0})
        if self.stall_s(now):
            shown.append({"mode": "ledger_stall", "stallMs": self.stall_ms})
        if self.policy is not None:
            shown.append({"mode": "policy_change", "effective": self.policy_at(now) is not None})
        if self.quota_suspended(now):
            shown.append({"mode": "quota_suspension"})
        if self.release.name != "stable":
            shown.append({"mode": "release", "name": self.release.name})
        return shown

    def clear(self) -> None:
        self.errors = self.latency = self.ghost = self.upload = None
        self.stall_ms, self.stall_until, self.quota_suspended_until = 0, 0.0, 0.0
        self.policy = None
        self.release = Release()


def rates_for(policy: Policy | None, default: list[TaxRate]) -> list[TaxRate]:
    """The rate table in force: the policy's when it has one."""
    return policy.tax_rates if policy is not None and policy.tax_rates is not None else default
