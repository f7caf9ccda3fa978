"""Accepting invoices: validation, idempotency on (seller, requestSerialNo), quota, numbers, async outcome.

The outcome of an accepted request is decided and committed at acceptance (quota drawn, number assigned,
``due_at`` set); the row reads PROCESSING until ``due_at`` and its final status after. So an acknowledged
request survives ``kill -9``, and every platform process sharing the ledger tells the same story.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import threading
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from taxstorm.mock_platform.clock import Clock, local_date
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.fault_modes import FaultModes, rates_for
from taxstorm.mock_platform.models import IssueInvoiceRequest
from taxstorm.mock_platform.sampling import sample_ms
from taxstorm.mock_platform.settings import PlatformSettings
from taxstorm.mock_platform.store import invoices
from taxstorm.mock_platform.store.db import Database, Tx
from taxstorm.mock_platform.store.group_commit import GroupCommit
from taxstorm.mock_platform.store.invoices import Invoice
from taxstorm.mock_platform.store.numbers import Numbering
from taxstorm.mock_platform.store.quota import QuotaBook
from taxstorm.mock_platform.taxid import is_gstin
from taxstorm.mock_platform.validation import CENT, Rules, money_text, rates_on, validate_issue


def canonical_json(payload: dict[str, Any]) -> str:
    """The canonical JSON of a request body: sorted keys, no spaces (stored, and hashed for idempotency)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _truncated(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def _sorted_digest(canonical: str) -> str:
    """The digest a ledger written before model-order canonical JSON holds for the same request (sorted keys)."""
    return payload_hash(json.loads(canonical))


def payload_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a request body."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class Accepted:
    """An invoice row and whether this request replayed an earlier one."""

    invoice: Invoice
    replayed: bool
    quota_after: Decimal | None = None  # the seller's quota left after this invoice (a new one only)


@dataclass(frozen=True)
class NewRow:
    """What differs between a blue and a red row at acceptance."""

    seller: str
    serial: str
    digest: str
    order_ref: str
    kind: str
    invoice_type: str
    buyer_tax_id: str | None
    amount: Decimal
    tax: Decimal
    payload: str
    blue_invoice_no: str | None = None
    batch_id: str | None = None


class IssuingService:
    """The issue path shared by single, batch and red issuing."""

    def __init__(
        self,
        db: Database,
        settings: PlatformSettings,
        clock: Clock,
        quota: QuotaBook,
        numbering: Numbering,
        modes: FaultModes,
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.quota = quota
        self.numbering = numbering
        self.modes = modes
        self.writer = GroupCommit(db)
        self._rng = random.Random(settings.seed)
        self._rng_lock = threading.Lock()
        self._rules: tuple[tuple[date, int], Rules] | None = None
        self._pending: list[float] = []  # due times of this process's jobs still PROCESSING (a heap)

    def rules(self) -> Rules:
        """The rules in force now: today's rates, or a policy change's (recomputed when either changes)."""
        now = self.clock()
        policy = self.modes.policy_at(now)
        key = (local_date(now), id(policy))
        if self._rules is None or self._rules[0] != key:
            rates = rates_on(rates_for(policy, self.settings.tax_rates), key[0])
            required = tuple(policy.required_fields) if policy is not None else ()
            rules = Rules(self.settings.max_lines, rates, self.settings.line_tax_tolerance, required)
            self._rules = (key, rules)
        return self._rules[1]

    def issue_blue(self, request: IssueInvoiceRequest, taxpayer: str, batch_id: str | None = None) -> Accepted:
        """Validate and accept a blue invoice for the calling taxpayer, in a transaction of its own."""
        row = self.blue_row(request, taxpayer, batch_id)
        with self.db.write() as tx:
            return self.accept(tx, row)

    async def issue_blue_grouped(self, request: IssueInvoiceRequest, taxpayer: str) -> Accepted:
        """The same, its ledger write shared with the concurrent requests' (group commit)."""
        row = self.blue_row(request, taxpayer)
        return await self.writer.run(lambda tx: self.accept(tx, row))

    def blue_row(self, request: IssueInvoiceRequest, taxpayer: str, batch_id: str | None = None) -> NewRow:
        """Validate a blue invoice request of the calling taxpayer into the row to accept (no ledger access)."""
        seller = request.seller.taxId or ""
        rules = self.rules()
        if is_gstin(seller):  # an Indian seller: GST rates (the policy's required fields still apply)
            rules = replace(rules, allowed_rates=set(self.settings.gst_rates))
        validate_issue(request, rules)
        if seller != taxpayer:
            raise ApiError(ErrorCode.SELLER_MISMATCH, f"token acts for {taxpayer}, seller is {seller}", "seller.taxId")
        if self.modes.quota_suspended(self.clock()):
            raise ApiError(ErrorCode.QUOTA_SUSPENDED, "quota suspended by the tax bureau (ztsxbz=Y)")
        tax = request.totals.tax
        if self.modes.release.name == "wrong-rounding":  # a bad release: truncates instead of rounding half up
            tax = sum((_truncated(line.amount * line.taxRate) for line in request.lines), Decimal(0))
        canonical = request.model_dump_json()  # canonical: fields in model order, extra fields are refused
        return NewRow(
            seller=seller,
            serial=request.requestSerialNo,
            digest=hashlib.sha256(canonical.encode()).hexdigest(),
            order_ref=request.orderRef,
            kind="blue",
            invoice_type=request.invoiceType,
            buyer_tax_id=request.buyer.taxId,
            amount=request.totals.amount,
            tax=tax,
            payload=canonical,
            batch_id=batch_id,
        )

    def accept(self, tx: Tx, row: NewRow) -> Accepted:
        """Replay, conflict, or a new row with its outcome decided now (inside the caller's transaction)."""
        now = self.clock()
        existing = invoices.find(tx, row.seller, row.serial)
        if existing is not None:
            return Accepted(self._replay(existing, row, now), replayed=True)
        with self._rng_lock:
            delay_s = self._processing_s(now)
            fails = self._rng.random() < self.settings.issue_failure_rate
            upload_s = sample_ms(self.settings.upload_ms, self._rng) / 1000.0
        upload_failed = not fails and self.modes.upload_fails(now)
        quota_after = None
        if row.kind == "blue":  # E4001/E4002/E4003 refuse synchronously
            quota_after = self.quota.remaining(self.quota.consume(tx, row.seller, row.amount, now))
        number: str | None = None
        if fails:
            if row.kind == "blue":
                self.quota.restore(tx, row.seller, row.amount, now)
        else:
            if row.kind == "red":
                self.quota.restore(tx, row.seller, -row.amount, now)  # red invoices give quota back
            if self.settings.numbering == "segments":
                number = self.numbering.take_from_segment(tx, row.seller, now)
            else:
                number = self.numbering.next_number(tx, now)
        invoice = Invoice(
            seller_tax_id=row.seller,
            request_serial_no=row.serial,
            payload_hash=row.digest,
            order_ref=row.order_ref,
            kind=row.kind,
            invoice_type=row.invoice_type,
            invoice_no=number,
            blue_invoice_no=row.blue_invoice_no,
            final_status="FAILED" if fails else "ISSUED",
            fail_code=ErrorCode.INTERNAL.code if fails else None,
            fail_reason="tax bureau side abnormal (税局异常): no invoice; submit again under a new serial"
            if fails
            else None,
            buyer_tax_id=row.buyer_tax_id,
            total_amount=money_text(row.amount),  # 2.730 and 1E+2 are stored and answered as 2.73 and 100.00
            total_tax=money_text(row.tax),
            total_with_tax=money_text(row.amount + row.tax),
            created_at=now,
            due_at=now + delay_s,
            batch_id=row.batch_id,
            instance=self.settings.instance,
            payload=row.payload,
            upload_state="FAILED" if upload_failed else "UPLOADED",
            uploaded_at=None if upload_failed else now + delay_s + upload_s,
        )
        invoices.insert(tx, invoice)
        return Accepted(invoice, replayed=False, quota_after=quota_after)

    def _processing_s(self, now: float) -> float:
        """How long a job accepted now stays PROCESSING: a draw of ``processing_ms`` plus the platform's own backlog
        (``processing_per_pending_ms`` for each job of this process still PROCESSING). Under ``_rng_lock``."""
        pending = self._pending
        while pending and pending[0] <= now:
            heapq.heappop(pending)
        delay_s = sample_ms(self.settings.processing_ms, self._rng) / 1000.0
        if delay_s <= 0:
            return 0.0
        delay_s += len(pending) * self.settings.processing_per_pending_ms / 1000.0
        heapq.heappush(pending, now + delay_s)
        return delay_s

    def reupload(self, invoice_no: str, taxpayer: str) -> Invoice:
        """Upload an issued invoice again after its upload FAILED (idempotent: an uploaded one is answered as is)."""
        now = self.clock()
        with self.db.write() as tx:
            invoice = invoices.by_number(tx, invoice_no)
            if invoice is None or invoice.seller_tax_id != taxpayer or invoice.status_at(now) != "ISSUED":
                raise ApiError(ErrorCode.NOT_FOUND, f"no issued invoice {invoice_no} of this seller", "invoiceNo")
            if invoice.upload_at(now) != "FAILED":
                return invoice
            if self.modes.upload_down(now):
                raise ApiError(
                    ErrorCode.FEATURE_DISABLED,
                    "the upload channel to the tax bureau is down; try again later",
                    retry_after_s=5,
                )
            invoices.mark_uploaded(tx, invoice_no, now)
            return invoices.by_number(tx, invoice_no) or invoice

    def _replay(self, existing: Invoice, row: NewRow, now: float) -> Invoice:
        if existing.payload_hash != row.digest and existing.payload_hash != _sorted_digest(row.payload):
            raise ApiError(
                ErrorCode.SERIAL_REUSED,
                f"serial already used for orderRef {existing.order_ref}; mint a new serial for a new invoice",
                "requestSerialNo",
            )
        if existing.status_at(now) == "PROCESSING":
            wait = max(1, int(existing.due_at - now + 0.999))
            raise ApiError(
                ErrorCode.IN_PROGRESS,
                "query GET /api/v1/invoices/by-serial/{serial}",
                "requestSerialNo",
                data={"requestSerialNo": existing.request_serial_no, "status": "PROCESSING"},
                retry_after_s=wait,
            )
        return existing
