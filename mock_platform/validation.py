"""Business validation of an issue request: Decimal money with ROUND_HALF_UP, rates, tax ids."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from mock_platform.errors import ApiError, ErrorCode
from mock_platform.models import IssueInvoiceRequest
from mock_platform.taxid import is_valid_tax_id

CENT = Decimal("0.01")
ALLOWED_RATES = frozenset(Decimal(r) for r in ("0.13", "0.09", "0.06", "0.05", "0.03", "0.01", "0"))


def money(value: Decimal) -> Decimal:
    """Round to cents the way the tax authority does (half up)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _require_cents(value: Decimal, field: str) -> None:
    if value != value.quantize(CENT) or not value.is_finite():
        raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"{value} must have at most 2 decimals", field)


def validate_issue(request: IssueInvoiceRequest, max_lines: int) -> None:
    """Raise ApiError naming the first offending field; return quietly when the invoice is sound."""
    seller_id = request.seller.taxId
    if not seller_id or not is_valid_tax_id(seller_id):
        raise ApiError(ErrorCode.BAD_SELLER, f"{seller_id!r} fails the GB 32100 check", "seller.taxId")
    buyer_id = request.buyer.taxId
    if request.invoiceType == "01" and not buyer_id:
        raise ApiError(ErrorCode.BAD_BUYER, "special invoices (01) need the buyer's tax id", "buyer.taxId")
    if buyer_id and not is_valid_tax_id(buyer_id):
        raise ApiError(ErrorCode.BAD_BUYER, f"{buyer_id!r} fails the GB 32100 check", "buyer.taxId")
    if len(request.lines) > max_lines:
        raise ApiError(ErrorCode.SCHEMA, f"{len(request.lines)} lines, at most {max_lines}", "lines")

    sum_amount = Decimal(0)
    sum_tax = Decimal(0)
    for index, line in enumerate(request.lines):
        path = f"lines[{index}]"
        _require_cents(line.amount, f"{path}.amount")
        _require_cents(line.taxAmount, f"{path}.taxAmount")
        if line.taxRate not in ALLOWED_RATES:
            allowed = ", ".join(str(r) for r in sorted(ALLOWED_RATES))
            raise ApiError(ErrorCode.BAD_RATE, f"{line.taxRate} is not one of {allowed}", f"{path}.taxRate")
        if line.quantity is not None and line.unitPrice is not None:
            expected = money(line.quantity * line.unitPrice)
            if abs(expected - line.amount) > CENT:
                raise ApiError(
                    ErrorCode.AMOUNT_MISMATCH,
                    f"quantity × unitPrice = {expected}, amount says {line.amount}",
                    f"{path}.amount",
                )
        expected_tax = money(line.amount * line.taxRate)
        if expected_tax != line.taxAmount:
            raise ApiError(
                ErrorCode.AMOUNT_MISMATCH,
                f"round(amount × taxRate) = {expected_tax}, taxAmount says {line.taxAmount}",
                f"{path}.taxAmount",
            )
        sum_amount += line.amount
        sum_tax += line.taxAmount

    totals = request.totals
    for name, given, expected in (
        ("amount", totals.amount, sum_amount),
        ("tax", totals.tax, sum_tax),
        ("totalWithTax", totals.totalWithTax, sum_amount + sum_tax),
    ):
        if given != expected:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"expected {expected}, got {given}", f"totals.{name}")
