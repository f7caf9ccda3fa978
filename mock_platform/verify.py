"""查验 (verification): consistent / mismatch / not_found; a daily limit per invoice; too old is refused."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from taxstorm.mock_platform.clock import Clock, day, local
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.models import VerifyRequest
from taxstorm.mock_platform.store import invoices
from taxstorm.mock_platform.store.db import Database


class VerificationService:
    """Checks invoices for receivers."""

    def __init__(self, db: Database, clock: Clock, daily_limit: int, max_age_days: int) -> None:
        self.db = db
        self.clock = clock
        self.daily_limit = daily_limit
        self.max_age_days = max_age_days

    def verify(self, request: VerifyRequest) -> dict[str, Any]:
        now = self.clock()
        today = day(now)
        with self.db.write() as tx:
            row = tx.one("SELECT count FROM verifications WHERE invoice_no = ? AND day = ?", (request.invoiceNo, today))
            used = int(row[0]) if row else 0
            if used >= self.daily_limit:
                tomorrow = local(now).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                raise ApiError(
                    ErrorCode.VERIFY_LIMIT,
                    f"{self.daily_limit} checks of {request.invoiceNo} today; try tomorrow",
                    "invoiceNo",
                    retry_after_s=max(1, int(tomorrow.timestamp() - now)),
                )
            tx.execute(
                "INSERT INTO verifications (invoice_no, day, count) VALUES (?, ?, 1) "
                "ON CONFLICT(invoice_no, day) DO UPDATE SET count = verifications.count + 1",
                (request.invoiceNo, today),
            )
            invoice = invoices.by_number(tx, request.invoiceNo)
        checks_left = self.daily_limit - used - 1
        if invoice is None or invoice.upload_at(now) != "UPLOADED":  # the bureau knows it once it is uploaded
            return {"result": "not_found", "invoiceNo": request.invoiceNo, "checksLeftToday": checks_left}
        issued = local(invoice.due_at)
        if local(now) - issued > timedelta(days=self.max_age_days):
            raise ApiError(ErrorCode.VERIFY_TOO_OLD, f"issued {issued:%Y-%m-%d}, older than {self.max_age_days} days")
        differences = []
        if request.issueDate != f"{issued:%Y-%m-%d}":
            differences.append("issueDate")
        if request.totalWithTax != Decimal(invoice.total_with_tax):
            differences.append("totalWithTax")
        return {
            "result": "mismatch" if differences else "consistent",
            "invoiceNo": request.invoiceNo,
            "mismatchedFields": differences,
            "checksLeftToday": checks_left,
            "kind": invoice.kind,
        }
