"""The ``X-Nuonuo-Sign`` signature of a ``/open/v1/services`` call: base64 HMAC-SHA1 over the call's identity."""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(secret: str, app_key: str, senid: str, nonce: str, content: str, timestamp: str) -> str:
    """Sign the exact body text sent (as UTF-8) with the app's secret, as Nuonuo's published samples do."""
    message = f"a=services&l=v1&p=open&k={app_key}&i={senid}&n={nonce}&t={timestamp}&f={content}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(given: str, secret: str, app_key: str, senid: str, nonce: str, content: str, ts: str) -> bool:
    """Whether ``given`` is the signature of the call (compared in constant time)."""
    expected = signature(secret, app_key, senid, nonce, content, ts)
    return hmac.compare_digest(given.encode(), expected.encode())
