"""Settings of one mock platform process (environment prefix ``TAXSTORM_PLATFORM_``, nested with ``__``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY

Family = Literal["auth", "issue", "query", "red", "verify", "quota"]
FAMILIES: tuple[Family, ...] = ("auth", "issue", "query", "red", "verify", "quota")


class ServiceTime(BaseModel):
    """Simulated service time of one request: lognormal around ``median_ms`` with a long tail to ``p99_ms``."""

    model_config = ConfigDict(extra="forbid")

    median_ms: float = Field(0.0, ge=0, le=600_000)
    p99_ms: float = Field(0.0, ge=0, le=600_000)


class FamilyCapacity(BaseModel):
    """Capacity of one endpoint family: concurrency, wait queue, overload policy, per-client rate limit."""

    model_config = ConfigDict(extra="forbid")

    service_time: ServiceTime = ServiceTime()
    concurrency: int | None = Field(None, ge=1, le=100_000, description="requests in service at once")
    queue: int = Field(1000, ge=0, le=1_000_000, description="requests that may wait for a slot")
    policy: Literal["shed", "queue", "collapse"] = "queue"
    collapse_factor: float = Field(
        4.0, ge=0, description="collapse: service time grows by (1 + f·overload²) as the queue fills"
    )
    retry_after_s: int = Field(2, ge=0, le=86_400)
    rate_per_min: int | None = Field(
        None, ge=1, description="per client credential × taxpayer per family, fixed window (a new token resets nothing)"
    )


DEFAULT_RATE_PER_MIN: dict[Family, int] = {  # per client credential × taxpayer (DOMAIN.md §B1: a GSP's 60/min)
    "auth": 30,
    "issue": 600,
    "query": 3000,
    "red": 300,
    "verify": 300,
    "quota": 120,
}


def _default_capacity() -> dict[Family, FamilyCapacity]:
    return {family: FamilyCapacity(rate_per_min=DEFAULT_RATE_PER_MIN[family]) for family in FAMILIES}


class TaxRate(BaseModel):
    """One row of the effective-dated tax-rate table."""

    model_config = ConfigDict(extra="forbid")

    rate: Decimal
    name: str
    effective_from: date = date(2019, 4, 1)
    effective_to: date | None = None


def _default_rates() -> list[TaxRate]:
    names = {
        "0.13": "一般税率 13%",
        "0.09": "一般税率 9%",
        "0.06": "一般税率 6%",
        "0.05": "简易征收 5%",
        "0.03": "简易征收 3%",
        "0.01": "小规模优惠 1%",
        "0": "零税率 0%",
    }
    return [TaxRate(rate=Decimal(rate), name=name) for rate, name in names.items()]


# GstRt values the NIC schema allows (0, 0.1, 0.25, 1, 1.5, 3, 5, 6, 7.5, 12, 18, 28 %), as fractions
GST_RATES = ("0", "0.001", "0.0025", "0.01", "0.015", "0.03", "0.05", "0.06", "0.075", "0.12", "0.18", "0.28")
DEFAULT_ADMIN_TOKEN = "change-me"
# Admin tokens anyone can read in this repository: refused when the platform listens beyond loopback.
PUBLIC_ADMIN_TOKENS = frozenset({DEFAULT_ADMIN_TOKEN, "taxstorm-admin-change-me"})


class PlatformSettings(BaseSettings):
    """Everything one platform process needs; built once and passed down (no globals)."""

    model_config = SettingsConfigDict(env_prefix="TAXSTORM_PLATFORM_", env_nested_delimiter="__", extra="forbid")

    ledger_path: Path = Field(Path("taxstorm-ledger.sqlite3"), description="SQLite ledger file (WAL mode)")
    database_url: str | None = Field(
        None, pattern=r"^postgres(ql)?://", description="PostgreSQL instead of SQLite, for several replicas"
    )
    admin_token: str = Field(DEFAULT_ADMIN_TOKEN, min_length=8, description="Bearer token for /admin/*")
    instance: str = Field("primary", description="name of this process when two share a ledger")
    region_code: str = Field("42", pattern=r"^\d{2}$", description="2-digit provincial region of numbers")
    channel_code: str = Field("1", pattern=r"^\d$", description="1-digit issuing channel of numbers")
    release: str = Field("stable", description="release profile name reported by /health")
    max_lines: int = Field(100, ge=1, le=2000, description="most lines one invoice may carry")
    line_tax_tolerance: Decimal = Field(
        Decimal("0.01"),
        ge=0,
        le=Decimal("0.06"),
        description="a line's tax may differ this much from half-up (legacy 税控: 0.06)",
    )

    credential_key: str = Field(
        DEV_CREDENTIAL_KEY,
        min_length=8,
        description="derives each taxpayer's credential (client id tp-<taxpayerId>); the default key is public",
    )
    credentials: dict[str, str] = Field(
        default_factory=dict, description="further client_id → client_secret, each for credential_taxpayers only"
    )
    credential_taxpayers: dict[str, list[str]] = Field(
        default_factory=dict, description="client_id → the taxpayers it may act for ('*': any; omitted: none)"
    )
    token_ttl_s: int = Field(7200, ge=1)
    token_fetch_cap_30d: int | None = Field(
        50, ge=1, description="token fetches per taxpayer per 30 days (Nuonuo: 50): cache and share tokens"
    )
    nuonuo_timestamp_window_s: int = Field(
        600, ge=1, description="nuonuo dialect: a call's timestamp may differ this much from the wall clock (070601)"
    )

    processing_ms: ServiceTime = Field(
        ServiceTime(median_ms=300, p99_ms=1500),
        description="time an async issue stays PROCESSING before its final status (0: final at once)",
    )
    processing_per_pending_ms: float = Field(
        5.0, ge=0, le=60_000, description="added to that for every job still PROCESSING: a busy platform is slower"
    )
    sync_timeout_s: float = Field(10.0, gt=0, description="?mode=sync waits this long, then 504 E9004")
    upload_ms: ServiceTime = Field(
        ServiceTime(median_ms=100, p99_ms=500),
        description="after ISSUED, the invoice is UPLOADING to the tax bureau this long (乐企 issue-then-upload)",
    )
    issue_failure_rate: float = Field(0.0, ge=0, le=1, description="share of async jobs ending FAILED (E9005)")
    batch_max: int = Field(100, ge=1, le=1000)

    numbering: Literal["platform", "segments"] = Field(
        "platform", description="platform: numbers assigned on issue; segments: seller must pre-download (预赋码)"
    )
    segment_max: int = Field(5000, ge=1)
    monthly_quota: Decimal = Field(
        Decimal("1000000000000.00"), ge=0, description="授信额度 per taxpayer per month (default: effectively none)"
    )
    quota_mode: Literal["auto", "download"] = Field(
        "auto", description="auto: issue draws on the monthly quota; download: on quota downloaded in advance"
    )
    filing_deadline_day: int | None = Field(
        None, ge=1, le=28, description="day after which downloaded quota expires until adjust-period (e.g. 15)"
    )
    red_confirmation_void_h: float = Field(72.0, gt=0)
    verify_daily_limit: int = Field(5, ge=1)
    verify_max_age_days: int = Field(5 * 366, ge=1)

    tax_rates: list[TaxRate] = Field(default_factory=_default_rates)
    gst_rates: list[Decimal] = Field(
        default_factory=lambda: [Decimal(r) for r in GST_RATES],
        description="the GST rates an Indian seller's (a GSTIN's) invoice lines may carry (the irp dialect)",
    )
    capacity: dict[Family, FamilyCapacity] = Field(default_factory=_default_capacity)
    seed: int = 0

    @field_validator("capacity", mode="before")
    @classmethod
    def _default_rate_limits(cls, value: Any) -> Any:
        """A family given without ``rate_per_min`` keeps its default limit (``rate_per_min: null`` switches it off)."""
        if not isinstance(value, dict):
            return value
        filled = {}
        for family, config in value.items():
            if isinstance(config, dict) and "rate_per_min" not in config and family in DEFAULT_RATE_PER_MIN:
                config = {**config, "rate_per_min": DEFAULT_RATE_PER_MIN[family]}
            filled[family] = config
        return filled

    @field_validator("capacity")
    @classmethod
    def _every_family(cls, value: dict[Family, FamilyCapacity]) -> dict[Family, FamilyCapacity]:
        """Families left out keep the default capacity (unlimited concurrency, the default rate limit)."""
        defaults = _default_capacity()
        return {family: value.get(family, defaults[family]) for family in FAMILIES}
