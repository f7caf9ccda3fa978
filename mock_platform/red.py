"""红字 (red-letter) flow: confirmations with their state machine, the 72 h void, and red invoices."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from taxstorm.mock_platform.auth import Caller
from taxstorm.mock_platform.clock import iso
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.issuing import Accepted, IssuingService, NewRow, payload_hash
from taxstorm.mock_platform.models import RedConfirmationRequest, RedInvoiceRequest
from taxstorm.mock_platform.store import invoices
from taxstorm.mock_platform.store.db import Tx
from taxstorm.mock_platform.validation import money_text

AWAITING = ("02", "03")
USABLE = ("01", "04")
STATUS_TEXT = {
    "01": "no confirmation needed",
    "02": "entered by seller, awaiting buyer",
    "03": "entered by buyer, awaiting seller",
    "04": "confirmed",
    "05": "rejected by buyer",
    "06": "rejected by seller",
    "07": "void: not confirmed within the deadline",
    "08": "withdrawn by seller",
    "09": "withdrawn by buyer",
}
_COLUMNS = (
    "uuid, seller_tax_id, buyer_tax_id, blue_invoice_no, applicant, reason_code, amount, tax, status, created_at, "
    "decided_at, red_invoice_no"
)


@dataclass(frozen=True)
class Confirmation:
    """One 红字确认单."""

    uuid: str
    seller_tax_id: str
    buyer_tax_id: str | None
    blue_invoice_no: str
    applicant: str
    reason_code: str
    amount: str
    tax: str
    status: str
    created_at: float
    decided_at: float | None
    red_serial: str | None

    def status_at(self, now: float, void_after_s: float) -> str:
        if self.status in AWAITING and now - self.created_at >= void_after_s:
            return "07"
        return self.status

    def view(self, now: float, void_after_s: float) -> dict[str, Any]:
        status = self.status_at(now, void_after_s)
        return {
            "uuid": self.uuid,
            "blueInvoiceNo": self.blue_invoice_no,
            "sellerTaxId": self.seller_tax_id,
            "buyerTaxId": self.buyer_tax_id,
            "applicant": self.applicant,
            "reasonCode": self.reason_code,
            "amount": self.amount,
            "tax": self.tax,
            "status": status,
            "statusText": STATUS_TEXT[status],
            "createdAt": iso(self.created_at),
            "voidAt": iso(self.created_at + void_after_s) if status in AWAITING else None,
            "redRequestSerialNo": self.red_serial,
        }


class RedLetterService:
    """Confirmations and red invoices; every state change is one write transaction."""

    def __init__(self, issuing: IssuingService) -> None:
        self.issuing = issuing
        self.void_after_s = issuing.settings.red_confirmation_void_h * 3600

    def _load(self, tx: Tx, confirmation_id: str, caller: Caller) -> Confirmation:
        row = tx.one(f"SELECT {_COLUMNS} FROM red_confirmations WHERE uuid = ?", (confirmation_id,))
        if row is None:
            raise ApiError(ErrorCode.NOT_FOUND, f"no red-letter confirmation {confirmation_id}", "uuid")
        found = Confirmation(*row)
        if caller.taxpayer_id not in (found.seller_tax_id, found.buyer_tax_id):
            raise ApiError(ErrorCode.NOT_FOUND, f"no red-letter confirmation {confirmation_id}", "uuid")
        return found

    def _set(self, tx: Tx, confirmation_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in fields)
        tx.execute(f"UPDATE red_confirmations SET {sets} WHERE uuid = ?", (*fields.values(), confirmation_id))

    def create(self, request: RedConfirmationRequest, caller: Caller) -> dict[str, Any]:
        now = self.issuing.clock()
        with self.issuing.db.write() as tx:
            blue = invoices.by_number(tx, request.blueInvoiceNo)
            if blue is None or blue.kind != "blue" or blue.status_at(now) != "ISSUED":
                raise ApiError(
                    ErrorCode.BLUE_NOT_FOUND, f"no issued blue invoice {request.blueInvoiceNo}", "blueInvoiceNo"
                )
            party = blue.seller_tax_id if request.applicant == "0" else blue.buyer_tax_id
            if caller.taxpayer_id != party:
                role = "seller" if request.applicant == "0" else "buyer"
                raise ApiError(
                    ErrorCode.SELLER_MISMATCH, f"applicant {request.applicant} must be the {role}", "applicant"
                )
            amount = request.amount if request.amount is not None else -Decimal(blue.total_amount)
            tax = request.tax
            if tax is None:
                ratio = Decimal(blue.total_tax) / Decimal(blue.total_amount)
                tax = (amount * ratio).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            remaining = Decimal(blue.total_amount) + invoices.red_total(tx, blue.invoice_no or "", now)
            if -amount > remaining:
                raise ApiError(ErrorCode.RED_EXCEEDS_BLUE, f"{-amount} > {remaining} remaining", "amount")
            status = "01" if not blue.buyer_tax_id else ("02" if request.applicant == "0" else "03")
            confirmation = Confirmation(
                str(uuid.uuid4()),
                blue.seller_tax_id,
                blue.buyer_tax_id,
                request.blueInvoiceNo,
                request.applicant,
                request.reasonCode,
                money_text(amount),
                money_text(tax),
                status,
                now,
                None,
                None,
            )
            tx.execute(
                f"INSERT INTO red_confirmations ({_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                (
                    confirmation.uuid,
                    confirmation.seller_tax_id,
                    confirmation.buyer_tax_id,
                    confirmation.blue_invoice_no,
                    confirmation.applicant,
                    confirmation.reason_code,
                    confirmation.amount,
                    confirmation.tax,
                    confirmation.status,
                    now,
                    None,
                    None,
                ),
            )
        return confirmation.view(now, self.void_after_s)

    def get(self, confirmation_id: str, caller: Caller) -> dict[str, Any]:
        with self.issuing.db.read() as tx:
            found = self._load(tx, confirmation_id, caller)
        return found.view(self.issuing.clock(), self.void_after_s)

    def confirm(self, confirmation_id: str, accept: bool, caller: Caller) -> dict[str, Any]:
        now = self.issuing.clock()
        with self.issuing.db.write() as tx:
            found = self._load(tx, confirmation_id, caller)
            status = found.status_at(now, self.void_after_s)
            if status not in AWAITING:
                raise ApiError(ErrorCode.RED_CONFIRMATION_VOID, f"status {status} ({STATUS_TEXT[status]})", "uuid")
            other = found.buyer_tax_id if status == "02" else found.seller_tax_id
            if caller.taxpayer_id != other:
                raise ApiError(ErrorCode.SELLER_MISMATCH, "only the other party confirms", "uuid")
            new = "04" if accept else ("05" if status == "02" else "06")
            self._set(tx, confirmation_id, status=new, decided_at=now)
            found = self._load(tx, confirmation_id, caller)
        return found.view(now, self.void_after_s)

    def revoke(self, confirmation_id: str, caller: Caller) -> dict[str, Any]:
        now = self.issuing.clock()
        with self.issuing.db.write() as tx:
            found = self._load(tx, confirmation_id, caller)
            status = found.status_at(now, self.void_after_s)
            applicant = found.seller_tax_id if found.applicant == "0" else found.buyer_tax_id
            if caller.taxpayer_id != applicant:
                raise ApiError(ErrorCode.SELLER_MISMATCH, "only the applicant withdraws", "uuid")
            if status not in ("01", "02", "03", "04") or found.red_serial is not None:
                raise ApiError(ErrorCode.RED_CONFIRMATION_VOID, f"cannot withdraw in status {status}", "uuid")
            self._set(tx, confirmation_id, status="08" if found.applicant == "0" else "09", decided_at=now)
            found = self._load(tx, confirmation_id, caller)
        return found.view(now, self.void_after_s)

    def issue_red(self, blue_no: str, request: RedInvoiceRequest, caller: Caller) -> Accepted:
        now = self.issuing.clock()
        body = {"blueInvoiceNo": blue_no, **request.model_dump(mode="json")}
        with self.issuing.db.write() as tx:
            blue = invoices.by_number(tx, blue_no)
            if blue is None or blue.kind != "blue":
                raise ApiError(ErrorCode.BLUE_NOT_FOUND, f"no blue invoice {blue_no}", "invoiceNo")
            if caller.taxpayer_id != blue.seller_tax_id:
                raise ApiError(ErrorCode.SELLER_MISMATCH, "only the seller issues the red invoice", "invoiceNo")
            existing = invoices.find(tx, caller.taxpayer_id, request.requestSerialNo)
            if existing is None:
                found = self._load(tx, request.confirmationUuid, caller)
                self._check_usable(found, blue_no, now)
                remaining = Decimal(blue.total_amount) + invoices.red_total(tx, blue_no, now)
                if -Decimal(found.amount) > remaining:
                    raise ApiError(ErrorCode.RED_EXCEEDS_BLUE, f"{found.amount} > {remaining} remaining", "invoiceNo")
                self._set(tx, found.uuid, red_invoice_no=request.requestSerialNo)
            else:
                found = self._load(tx, request.confirmationUuid, caller)
            row = NewRow(
                seller=blue.seller_tax_id,
                serial=request.requestSerialNo,
                digest=payload_hash(body),
                order_ref=request.orderRef or f"{blue.order_ref}-red",
                kind="red",
                invoice_type=blue.invoice_type,
                buyer_tax_id=blue.buyer_tax_id,
                amount=Decimal(found.amount),
                tax=Decimal(found.tax),
                payload=json.dumps(body, ensure_ascii=False),
                blue_invoice_no=blue_no,
            )
            return self.issuing.accept(tx, row)

    def _check_usable(self, found: Confirmation, blue_no: str, now: float) -> None:
        if found.blue_invoice_no != blue_no:
            raise ApiError(
                ErrorCode.RED_CONFIRMATION_NEEDED, "confirmation belongs to another invoice", "confirmationUuid"
            )
        status = found.status_at(now, self.void_after_s)
        if status in AWAITING:
            raise ApiError(
                ErrorCode.RED_CONFIRMATION_NEEDED, f"awaiting the other party ({status})", "confirmationUuid"
            )
        if status not in USABLE:
            raise ApiError(
                ErrorCode.RED_CONFIRMATION_VOID, f"status {status}: {STATUS_TEXT[status]}", "confirmationUuid"
            )
        if found.red_serial is not None:
            raise ApiError(
                ErrorCode.RED_CONFIRMATION_VOID, f"already used by serial {found.red_serial}", "confirmationUuid"
            )
