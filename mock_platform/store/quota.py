"""授信额度 (credit quota): monthly, no overdraw, no carry-over, suspension, expiry after the filing deadline."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from taxstorm.mock_platform.clock import local, local_date, period
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.store.db import Tx


@dataclass(frozen=True)
class QuotaRules:
    """How quota behaves on this platform."""

    monthly: Decimal
    mode: Literal["auto", "download"]
    filing_deadline_day: int | None


@dataclass
class QuotaRow:
    """One taxpayer's quota in one period."""

    taxpayer_id: str
    period: str
    monthly: Decimal
    downloaded: Decimal
    used: Decimal
    suspended: bool
    adjusted_at: float | None


def _cents(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class QuotaBook:
    """Quota operations; each runs inside the caller's write transaction."""

    def __init__(self, rules: QuotaRules) -> None:
        self.rules = rules

    def row(self, tx: Tx, taxpayer: str, now: float) -> QuotaRow:
        """This period's row, created with a fresh monthly quota on first use (nothing carries over)."""
        sq = period(now)
        found = tx.one(
            "SELECT monthly, downloaded, used, suspended, adjusted_at FROM quota WHERE taxpayer_id = ? AND period = ?",
            (taxpayer, sq),
        )
        if found is None:
            tx.execute(
                "INSERT INTO quota (taxpayer_id, period, monthly, downloaded, used) VALUES (?, ?, ?, '0', '0')",
                (taxpayer, sq, str(self.rules.monthly)),
            )
            return QuotaRow(taxpayer, sq, self.rules.monthly, Decimal(0), Decimal(0), False, None)
        return QuotaRow(
            taxpayer,
            sq,
            Decimal(found["monthly"]),
            Decimal(found["downloaded"]),
            Decimal(found["used"]),
            bool(found["suspended"]),
            found["adjusted_at"],
        )

    def _save(self, tx: Tx, row: QuotaRow) -> None:
        tx.execute(
            "UPDATE quota SET monthly = ?, downloaded = ?, used = ?, suspended = ?, adjusted_at = ? "
            "WHERE taxpayer_id = ? AND period = ?",
            (
                str(row.monthly),
                str(row.downloaded),
                str(row.used),
                int(row.suspended),
                row.adjusted_at,
                row.taxpayer_id,
                row.period,
            ),
        )

    def expired(self, row: QuotaRow, now: float) -> bool:
        """After the filing deadline the quota is invalid until adjust-period is called in this period."""
        deadline = self.rules.filing_deadline_day
        if deadline is None or local_date(now).day <= deadline:
            return False
        adjusted = row.adjusted_at
        return adjusted is None or period(adjusted) != row.period or local_date(adjusted).day <= deadline

    def _available(self, row: QuotaRow) -> Decimal:
        if self.rules.mode == "download":
            return row.downloaded - row.used
        return row.monthly - row.used

    def consume(self, tx: Tx, taxpayer: str, amount: Decimal, now: float) -> QuotaRow:
        """Draw ``amount`` for an invoice or raise E4002 / E4003 / E4001."""
        row = self.row(tx, taxpayer, now)
        if row.suspended:
            raise ApiError(ErrorCode.QUOTA_SUSPENDED, f"quota of {taxpayer} is suspended (ztsxbz=Y)")
        if self.expired(row, now):
            raise ApiError(
                ErrorCode.QUOTA_PERIOD_EXPIRED, f"filing deadline day {self.rules.filing_deadline_day} passed"
            )
        available = self._available(row)
        if amount > available:
            hint = "; POST /quota/download first" if self.rules.mode == "download" else ""
            raise ApiError(ErrorCode.QUOTA_EXCEEDED, f"needs {amount}, {available} available{hint}", "totals.amount")
        row.used += amount
        tx.execute(  # the only column an invoice changes
            "UPDATE quota SET used = ? WHERE taxpayer_id = ? AND period = ?", (str(row.used), taxpayer, row.period)
        )
        return row

    def remaining(self, row: QuotaRow) -> Decimal:
        """What the seller may still issue this period (kysyed)."""
        return self._available(row)

    def restore(self, tx: Tx, taxpayer: str, amount: Decimal, now: float) -> None:
        """Give back quota (a failed job, or a red invoice)."""
        row = self.row(tx, taxpayer, now)
        row.used = max(Decimal(0), row.used - amount)
        self._save(tx, row)

    def download(self, tx: Tx, taxpayer: str, amount: Decimal, now: float) -> QuotaRow:
        row = self.row(tx, taxpayer, now)
        if row.suspended:
            raise ApiError(ErrorCode.QUOTA_SUSPENDED, f"quota of {taxpayer} is suspended (ztsxbz=Y)")
        if amount > row.monthly - row.downloaded:
            raise ApiError(
                ErrorCode.QUOTA_EXCEEDED, f"{row.monthly - row.downloaded} left to download this month", "amount"
            )
        row.downloaded += amount
        self._save(tx, row)
        return row

    def give_back(self, tx: Tx, taxpayer: str, amount: Decimal, now: float) -> QuotaRow:
        row = self.row(tx, taxpayer, now)
        unused = row.downloaded - row.used
        if amount > unused:
            raise ApiError(ErrorCode.QUOTA_EXCEEDED, f"only {unused} downloaded and unused", "amount")
        row.downloaded -= amount
        self._save(tx, row)
        return row

    def adjust_period(self, tx: Tx, taxpayer: str, now: float) -> QuotaRow:
        row = self.row(tx, taxpayer, now)
        row.adjusted_at = now
        self._save(tx, row)
        return row

    def set_suspended(self, tx: Tx, taxpayer: str, suspended: bool, now: float) -> None:
        row = self.row(tx, taxpayer, now)
        row.suspended = suspended
        self._save(tx, row)

    def view(self, row: QuotaRow, now: float, suspended_everywhere: bool = False) -> dict[str, Any]:
        """The query fields of 乐企 (bysxed, kysyed, yxzed, yxzwsyed, sq, ztsxbz, syqjq–syqjz) plus English names;
        ``suspended_everywhere``: a platform-wide suspension (the fault mode) is in force."""
        suspended = row.suspended or suspended_everywhere
        start = local(now).replace(day=1)
        last = calendar.monthrange(start.year, start.month)[1]
        downloaded = row.downloaded if self.rules.mode == "download" else row.used
        remaining = row.monthly - downloaded
        unused = row.downloaded - row.used if self.rules.mode == "download" else Decimal(0)
        return {
            "period": row.period,
            "monthly": _cents(row.monthly),
            "remaining": _cents(remaining),
            "downloaded": _cents(row.downloaded),
            "downloadedUnused": _cents(unused),
            "used": _cents(row.used),
            "suspended": suspended,
            "expired": self.expired(row, now),
            "mode": self.rules.mode,
            "bysxed": _cents(row.monthly),
            "kysyed": _cents(remaining),
            "yxzed": _cents(row.downloaded),
            "yxzwsyed": _cents(unused),
            "sq": row.period,
            "ztsxbz": "Y" if suspended else "N",
            "syqjq": f"{start:%Y-%m-%d}",
            "syqjz": f"{start:%Y-%m}-{last:02d}",
        }
