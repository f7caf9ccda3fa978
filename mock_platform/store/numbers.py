"""20-digit invoice numbers: YY + region + channel + a 15-digit sequence; 预赋码 number segments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taxstorm.mock_platform.clock import local_date
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.store.db import Tx


@dataclass(frozen=True)
class Numbering:
    """Number layout of one platform."""

    region: str
    channel: str

    def prefix(self, now: float) -> str:
        return f"{local_date(now).year % 100:02d}{self.region}{self.channel}"

    def next_number(self, tx: Tx, now: float) -> str:
        """A fresh number from the platform's own sequence."""
        prefix = self.prefix(now)
        return f"{prefix}{tx.next_value(f'numbers-{prefix}'):015d}"

    def allocate_segment(self, tx: Tx, seller: str, count: int, now: float) -> dict[str, Any]:
        """Reserve ``count`` consecutive numbers of this year for a seller."""
        prefix = self.prefix(now)
        end = tx.next_value(f"numbers-{prefix}", count)
        start = end - count + 1
        row = {"start_no": f"{prefix}{start:015d}", "end_no": f"{prefix}{end:015d}"}
        tx.execute(
            "INSERT INTO segments (seller_tax_id, year, start_no, end_no, next_seq, end_seq, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seller, f"{local_date(now).year}", row["start_no"], row["end_no"], start, end, now),
        )
        return {"startNo": row["start_no"], "endNo": row["end_no"], "count": count, "year": f"{local_date(now).year}"}

    def take_from_segment(self, tx: Tx, seller: str, now: float) -> str:
        """The next unused number of the seller's segments of this year, or E4004."""
        row = tx.one(
            "SELECT start_no, next_seq FROM segments WHERE seller_tax_id = ? AND year = ? AND next_seq <= end_seq "
            "ORDER BY start_no LIMIT 1",
            (seller, f"{local_date(now).year}"),
        )
        if row is None:
            raise ApiError(
                ErrorCode.SEGMENT_EXHAUSTED, f"no unused numbers of {local_date(now).year}; POST /number-segments"
            )
        tx.execute(
            "UPDATE segments SET next_seq = next_seq + 1 WHERE seller_tax_id = ? AND start_no = ?",
            (seller, row["start_no"]),
        )
        return f"{self.prefix(now)}{int(row['next_seq']):015d}"


def segments_of(tx: Tx, seller: str, now: float) -> list[dict[str, Any]]:
    """The seller's segments of this year with how many numbers are left."""
    rows = tx.all(
        "SELECT start_no, end_no, next_seq, end_seq, year FROM segments WHERE seller_tax_id = ? AND year = ? "
        "ORDER BY start_no",
        (seller, f"{local_date(now).year}"),
    )
    return [
        {
            "startNo": r["start_no"],
            "endNo": r["end_no"],
            "year": r["year"],
            "remaining": max(0, int(r["end_seq"]) - int(r["next_seq"]) + 1),
        }
        for r in rows
    ]
