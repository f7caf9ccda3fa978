"""Client credentials bound to taxpayers.

Every taxpayer's integration has its own credential, as on real platforms (an app key authorized by one
taxpayer): ``client_id = "tp-<taxpayerId>"`` and a secret derived from the platform's ``credential_key``
(HMAC-SHA256), so any process that knows the key can hand out credentials without a registry, and a credential
can never fetch a token for another taxpayer. The harness uses a key of its own per run; the default key is
public (development only).
"""

from __future__ import annotations

import hashlib
import hmac

DEV_CREDENTIAL_KEY = "taxstorm-dev-credentials"
PREFIX = "tp-"


def client_id_for(taxpayer: str) -> str:
    """The client id of a taxpayer's integration."""
    return f"{PREFIX}{taxpayer}"


def secret_for(key: str, client_id: str) -> str:
    """The secret of ``client_id`` under ``key``."""
    return hmac.new(key.encode(), client_id.encode(), hashlib.sha256).hexdigest()[:32]


def credentials_for(key: str, taxpayer: str) -> tuple[str, str]:
    """(client id, secret) of a taxpayer's integration under ``key``."""
    client_id = client_id_for(taxpayer)
    return client_id, secret_for(key, client_id)


def bound_taxpayer(client_id: str) -> str | None:
    """The taxpayer a derived client id is bound to (None: not a derived id)."""
    return client_id.removeprefix(PREFIX) if client_id.startswith(PREFIX) else None


def irp_user_for(taxpayer: str) -> str:
    """The IRP API user of a taxpayer (the irp dialect's ``UserName``)."""
    return f"API_{taxpayer}"


def irp_password_for(key: str, taxpayer: str) -> str:
    """The IRP API user's password under ``key`` (the irp dialect's ``Password``)."""
    return secret_for(key, f"irp-user:{taxpayer}")
