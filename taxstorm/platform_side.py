"""A session judged from the platform's side alone: its ledger by business key and its request counters.

What ``taxstorm platform`` reports at Ctrl-C, and what a passive run (``taxstorm run --passive``: the load comes
from a system of the user's own) is judged on. Pure functions: no server is needed to test them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from taxstorm.sampler import issue_traffic

LIVE = frozenset({"ISSUED", "PROCESSING"})  # an invoice that is (or will be) valid for its order
NOT_JUDGED = (
    "lost invoices (what the client told its users is unknown: an order it dropped leaves no trace here)",
    "latency and graceful answers as users saw them",
    "the client's backlog and its drain",
)


@dataclass(frozen=True)
class PlatformSideVerdict:
    """What a session can be judged on without knowing what the client told its users: the ledger by business
    key (orders with more than one live invoice are duplicates) and the platform's own request counters."""

    invoices: int  # blue invoices issued (or being issued)
    orders: int  # distinct orderRef among them
    duplicated_orders: dict[str, int]  # orderRef → live invoices, for those with more than one
    submissions: int  # POSTs on the issue family (issues, batches, red invoices, re-uploads)
    answers_by_status: dict[str, int]  # every request the platform answered, by HTTP status
    not_judged: tuple[str, ...] = field(default=NOT_JUDGED)
    lookups: int = 0  # GETs on the issue family (following invoices, unknown outcomes)

    @property
    def submissions_per_invoice(self) -> float | None:
        return round(self.submissions / self.invoices, 2) if self.invoices else None


def platform_side_verdict(ledger: Iterable[Mapping[str, Any]], stats: Mapping[str, Any]) -> PlatformSideVerdict:
    """Judge a session from the platform's ledger export and counters alone."""
    blues: list[tuple[str, str]] = []  # (orderRef, invoice number) of blue invoices that are or will be issued
    reversed_numbers: set[str] = set()  # blue invoices a red one cancelled: no longer live
    for row in ledger:
        status = str(row.get("finalStatus", row.get("status")))
        if row.get("kind", "blue") == "red":
            if status == "ISSUED" and row.get("blueInvoiceNo"):
                reversed_numbers.add(str(row["blueInvoiceNo"]))
        elif status in LIVE:
            blues.append((str(row.get("orderRef")), str(row.get("invoiceNo") or "")))
    live = Counter(ref for ref, number in blues if not number or number not in reversed_numbers)
    answers: Counter[str] = Counter()
    for request in stats.get("requests", []):
        answers[str(request["status"])] += int(request["count"])
    traffic = issue_traffic(stats)
    duplicated = {ref: count for ref, count in sorted(live.items()) if count > 1}
    return PlatformSideVerdict(
        sum(live.values()),
        len(live),
        duplicated,
        traffic.submissions,
        dict(sorted(answers.items())),
        lookups=traffic.lookups,
    )


def verdict_lines(verdict: PlatformSideVerdict) -> list[str]:
    """The terminal's account of a session judged from the platform's side."""
    per = verdict.submissions_per_invoice
    lines = [
        f"ledger:    {verdict.invoices} invoices for {verdict.orders} orders; "
        f"{len(verdict.duplicated_orders)} orders duplicated",
        f"requests:  {verdict.submissions} submissions ({per if per is not None else '-'} per invoice); "
        f"answers by status {verdict.answers_by_status}",
    ]
    lines += [f"duplicate: order {ref} has {count} live invoices" for ref, count in verdict.duplicated_orders.items()]
    lines += [f"not judged: {what}" for what in verdict.not_judged]
    return lines
