"""Settings of one mock platform process (environment prefix ``TAXSTORM_PLATFORM_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Everything one platform process needs; built once and passed down (no globals)."""

    model_config = SettingsConfigDict(env_prefix="TAXSTORM_PLATFORM_", extra="forbid")

    ledger_path: Path = Field(Path("taxstorm-ledger.sqlite3"), description="SQLite ledger file (WAL mode)")
    admin_token: str = Field("change-me", min_length=8, description="Bearer token for /admin/*")
    region_code: str = Field("42", pattern=r"^\d{2}$", description="2-digit provincial region of numbers")
    channel_code: str = Field("1", pattern=r"^\d$", description="1-digit issuing channel of numbers")
    release: str = Field("stable", description="Release profile name reported by /health")
    max_lines: int = Field(100, ge=1, le=2000, description="Most lines one invoice may carry")
