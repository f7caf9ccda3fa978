"""Dialects: real platforms' wire protocols, each translated at the edge onto the one platform core.

A dialect is an ASGI gateway in front of the native application: it checks its own authentication and signatures,
translates a request into native calls (which pass through the capacity model, every fault mode and the ledger
unchanged), and translates the native answers and errors back into its own envelope and codes. The ledger holds
every dialect's invoices alike; a dialect chooses the native request serial and order reference from its own
business key, so reconciliation works on every dialect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

Dialect = Literal["native", "nuonuo", "irp"]
DIALECTS: tuple[Dialect, ...] = ("native", "nuonuo", "irp")
BUSINESS_KEYS: dict[Dialect, str] = {"native": "orderRef", "nuonuo": "orderNo", "irp": "DocDtls.No"}
# the ledger field that is the number a client of the dialect holds for an invoice (IRP clients hold the IRN)
HELD_NUMBERS: dict[Dialect, str] = {"native": "invoiceNo", "nuonuo": "invoiceNo", "irp": "requestSerialNo"}
Regime = Literal["CN", "IN"]  # whose taxpayers and rates a run's orders have
REGIMES: dict[Dialect, Regime] = {"native": "CN", "nuonuo": "CN", "irp": "IN"}


def held_numbers(dialect: Dialect, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Ledger export rows with ``invoiceNo`` the number a client of ``dialect`` holds (the IRN for irp)."""
    field = HELD_NUMBERS[dialect]
    for row in rows:
        yield row if field == "invoiceNo" or row.get("kind") == "red" else {**row, "invoiceNo": row.get(field)}
