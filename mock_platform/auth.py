"""Who is calling: bearer tokens checked against the shared token table, with a one-second cache."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from taxstorm.mock_platform.clock import Clock
from taxstorm.mock_platform.credentials import bound_taxpayer, secret_for
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.settings import PlatformSettings
from taxstorm.mock_platform.store import tokens
from taxstorm.mock_platform.store.db import Database
from taxstorm.mock_platform.store.tokens import TokenInfo
from taxstorm.mock_platform.taxid import is_valid_tax_id

CACHE_S = 1.0
EVERY_TAXPAYER = "*"  # in ``reverify``: every taxpayer must re-verify


@dataclass(frozen=True)
class Caller:
    """The authenticated taxpayer of a request."""

    taxpayer_id: str
    client_id: str
    token: str


class Authenticator:
    """Issues tokens and resolves ``Authorization: Bearer`` headers to callers."""

    def __init__(self, db: Database, settings: PlatformSettings, clock: Clock) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._cache: dict[str, tuple[float, TokenInfo | None]] = {}
        self._lock = threading.Lock()
        self.reverify: set[str] = set()  # taxpayers who must pass face / real-name verification first

    def issue(self, client_id: str, client_secret: str, taxpayer_id: str, ttl_s: int | None = None) -> TokenInfo:
        """A new token for ``taxpayer_id``, living ``ttl_s`` (the platform's token_ttl_s unless a dialect says)."""
        expected = self._secret_of(client_id)
        if expected is None or not secrets.compare_digest(expected.encode(), client_secret.encode()):
            raise ApiError(ErrorCode.BAD_CREDENTIALS, "unknown clientId or wrong clientSecret", "clientSecret")
        if not is_valid_tax_id(taxpayer_id):
            raise ApiError(ErrorCode.BAD_TAX_ID, f"{taxpayer_id!r} fails the GB 32100 check", "taxpayerId")
        if not self._may_act_for(client_id, taxpayer_id):
            raise ApiError(
                ErrorCode.SELLER_MISMATCH,
                f"client {client_id} is not authorized by taxpayer {taxpayer_id}",
                "taxpayerId",
            )
        if taxpayer_id in self.reverify or EVERY_TAXPAYER in self.reverify:
            raise ApiError(ErrorCode.REVERIFY, "a person must verify on the tax bureau's app before new tokens")
        with self._db.write() as tx:
            return tokens.issue(
                tx,
                client_id,
                taxpayer_id,
                self._clock(),
                ttl_s or self._settings.token_ttl_s,
                self._settings.token_fetch_cap_30d,
            )

    def secret_of(self, client_id: str) -> str | None:
        """The secret of a client credential, None for a client the platform does not know (dialects sign with it)."""
        return self._secret_of(client_id)

    def taxpayer_of(self, client_id: str) -> str | None:
        """The one taxpayer a credential acts for (a derived credential's, or a static one's only), else None."""
        bound = bound_taxpayer(client_id)
        if bound is not None or client_id not in self._settings.credentials:
            return bound
        allowed = self._settings.credential_taxpayers.get(client_id, [])
        return allowed[0] if len(allowed) == 1 and allowed[0] != "*" else None

    def _secret_of(self, client_id: str) -> str | None:
        static = self._settings.credentials.get(client_id)
        if static is not None:
            return static
        return secret_for(self._settings.credential_key, client_id) if bound_taxpayer(client_id) else None

    def _may_act_for(self, client_id: str, taxpayer_id: str) -> bool:
        if client_id in self._settings.credentials:
            allowed = self._settings.credential_taxpayers.get(client_id, [])
            return "*" in allowed or taxpayer_id in allowed
        return bound_taxpayer(client_id) == taxpayer_id

    def rate_key(self, authorization: str) -> str:
        """Whose requests a rate limit counts together: the token's client credential × taxpayer (a token of no
        one counts for itself)."""
        token = authorization.removeprefix("Bearer ").strip()
        info = self._lookup(token) if token else None
        return f"{info.client_id}:{info.taxpayer_id}" if info is not None else f"token:{token[-24:]}"

    def caller(self, authorization: str | None) -> Caller:
        """The caller behind a header, or E1001 / E1002 / E1003."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(
                ErrorCode.BAD_CREDENTIALS, "send 'Authorization: Bearer <token>' from POST /api/v1/auth/token"
            )
        token = authorization.removeprefix("Bearer ").strip()
        info = self._lookup(token)
        now = self._clock()
        if info is None:
            raise ApiError(ErrorCode.BAD_CREDENTIALS, "unknown token")
        if info.revoked_at is not None:
            raise ApiError(ErrorCode.TOKEN_REVOKED, "token revoked", data={"disconnFlag": 1})
        if now >= info.expires_at:
            raise ApiError(ErrorCode.TOKEN_EXPIRED, "token expired")
        return Caller(info.taxpayer_id, info.client_id, token)

    def forget(self) -> None:
        """Drop cached lookups (after a revocation or reset)."""
        with self._lock:
            self._cache.clear()

    def _lookup(self, token: str) -> TokenInfo | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(token)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        with self._db.read() as tx:
            info = tokens.lookup(tx, token)
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[token] = (now, info)
        return info
