"""Whether a listening address is reachable from this machine only (the platform's and the game day's checks)."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """``host`` (an address or a loopback name, any case) listens on loopback only; any other name may resolve
    anywhere, so it is not."""
    name = host.strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
