"""Access tokens, shared through the database so a token from one platform process works on another."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.store.db import Tx

THIRTY_DAYS_S = 30 * 86_400


@dataclass(frozen=True)
class TokenInfo:
    """Who a token acts for and until when."""

    token: str
    client_id: str
    taxpayer_id: str
    expires_at: float
    revoked_at: float | None


def issue(tx: Tx, client_id: str, taxpayer: str, now: float, ttl_s: int, cap_30d: int | None) -> TokenInfo:
    """A new token; refuses past the per-taxpayer fetch cap (E9001)."""
    if cap_30d is not None:
        row = tx.one(
            "SELECT COUNT(*) FROM tokens WHERE taxpayer_id = ? AND issued_at > ?", (taxpayer, now - THIRTY_DAYS_S)
        )
        if row is not None and int(row[0]) >= cap_30d:
            limits = {"X-RateLimit-Limit": str(cap_30d), "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "86400"}
            raise ApiError(
                ErrorCode.RATE_LIMITED,
                f"{cap_30d} token fetches in 30 days; cache and share tokens",
                retry_after_s=86_400,
                headers=limits,
            )
    token = secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO tokens (token, client_id, taxpayer_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (token, client_id, taxpayer, now, now + ttl_s),
    )
    return TokenInfo(token, client_id, taxpayer, now + ttl_s, None)


def lookup(tx: Tx, token: str) -> TokenInfo | None:
    row = tx.one("SELECT token, client_id, taxpayer_id, expires_at, revoked_at FROM tokens WHERE token = ?", (token,))
    return TokenInfo(*row) if row else None


def revoke(tx: Tx, now: float, taxpayers: list[str] | None = None) -> int:
    """Revoke every live token, or those of some taxpayers; returns how many."""
    if taxpayers is None:
        cursor = tx.execute("UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ?", (now, now))
    else:
        marks = ", ".join("?" * len(taxpayers))
        cursor = tx.execute(
            "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ? "
            f"AND taxpayer_id IN ({marks})",
            (now, now, *taxpayers),
        )
    return cursor.rowcount
