"""Dialects: real platforms' wire protocols, each translated at the edge onto the one platform core.

A dialect is an ASGI gateway in front of the native application: it checks its own authentication and signatures,
translates a request into native calls (which pass through the capacity model, every fault mode and the ledger
unchanged), and translates the native answers and errors back into its own envelope and codes. The ledger holds
every dialect's invoices alike; a dialect chooses the native request serial and order reference from its own
business key, so reconciliation works on every dialect.
"""

from __future__ import annotations

from typing import Literal

Dialect = Literal["native", "nuonuo"]
DIALECTS: tuple[Dialect, ...] = ("native", "nuonuo")
BUSINESS_KEYS: dict[Dialect, str] = {"native": "orderRef", "nuonuo": "orderNo"}
