"""Business validation of an issue request: Decimal money with ROUND_HALF_UP, effective rates, tax ids."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.models import InvoiceLine, IssueInvoiceRequest
from taxstorm.mock_platform.settings import TaxRate
from taxstorm.mock_platform.taxid import is_valid_tax_id

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Round to cents the way the tax authority does (half up)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """Money as the platform answers it: two decimals, no exponent, no negative zero (``1E+2`` → ``100.00``)."""
    return str(money(value) + 0)


def rates_on(table: Collection[TaxRate], on: date) -> set[Decimal]:
    """The rates in force on a date."""
    return {r.rate for r in table if r.effective_from <= on and (r.effective_to is None or on < r.effective_to)}


@dataclass(frozen=True)
class Rules:
    """What validation needs to know besides the request."""

    max_lines: int
    allowed_rates: set[Decimal]
    line_tax_tolerance: Decimal = Decimal("0.00")
    required_fields: tuple[str, ...] = ()


def _require_cents(value: Decimal, field: str) -> None:
    if not value.is_finite() or value != value.quantize(CENT):
        raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"{value} must have at most 2 decimals", field)


def _check_ids(request: IssueInvoiceRequest) -> None:
    seller_id = request.seller.taxId
    if not seller_id or not is_valid_tax_id(seller_id):
        raise ApiError(ErrorCode.BAD_TAX_ID, f"seller {seller_id!r} fails the GB 32100 check", "seller.taxId")
    buyer_id = request.buyer.taxId
    if request.invoiceType == "01" and not buyer_id:
        raise ApiError(ErrorCode.BAD_TAX_ID, "special invoices (01 专票) need the buyer's tax id", "buyer.taxId")
    if buyer_id and not is_valid_tax_id(buyer_id):
        raise ApiError(ErrorCode.BAD_TAX_ID, f"buyer {buyer_id!r} fails the GB 32100 check", "buyer.taxId")


def _check_required(request: IssueInvoiceRequest, required: tuple[str, ...]) -> None:
    """Fields a policy change made mandatory (``lines.x`` means every line's ``x``)."""
    for name in required:
        if name.startswith("lines."):
            attribute = name.removeprefix("lines.")
            for index, line in enumerate(request.lines):
                if not getattr(line, attribute, None):
                    raise ApiError(ErrorCode.SCHEMA, "required by the new policy", f"lines[{index}].{attribute}")
            continue
        value: object = request
        for part in name.split("."):
            value = getattr(value, part, None)
        if not value:
            raise ApiError(ErrorCode.SCHEMA, "required by the new policy", name)


MAX_PRICE_DECIMALS = 13  # quantity and unit price (DOMAIN.md §A)


def _check_quantities(line: InvoiceLine, path: str) -> None:
    """Quantity and unit price: finite, at most 13 decimals, and not negative on a line that is not a discount
    (a negative quantity times a negative price must not make a positive blue line)."""
    for name, value in (("quantity", line.quantity), ("unitPrice", line.unitPrice)):
        if value is None:
            continue
        exponent = value.as_tuple().exponent
        if not value.is_finite() or (isinstance(exponent, int) and exponent < -MAX_PRICE_DECIMALS):
            raise ApiError(ErrorCode.SCHEMA, f"{value}: at most {MAX_PRICE_DECIMALS} decimals", f"{path}.{name}")
        if line.lineNature != "1" and value < 0:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"{name} {value} is negative on a blue line", f"{path}.{name}")


def validate_issue(request: IssueInvoiceRequest, rules: Rules) -> None:
    """Raise ApiError naming the first offending field; return quietly when the invoice is sound."""
    try:
        _validate(request, rules)
    except InvalidOperation:  # a product beyond what money can hold (1e15 × 1e11): a refusal, never a crash
        raise ApiError(ErrorCode.AMOUNT_MISMATCH, "amounts out of range", "lines") from None


def _validate(request: IssueInvoiceRequest, rules: Rules) -> None:
    _check_ids(request)
    _check_required(request, rules.required_fields)
    if len(request.lines) > rules.max_lines:
        raise ApiError(ErrorCode.SCHEMA, f"{len(request.lines)} lines, at most {rules.max_lines}", "lines")
    sum_net = Decimal(0)
    sum_tax = Decimal(0)
    for index, line in enumerate(request.lines):
        path = f"lines[{index}]"
        _require_cents(line.amount, f"{path}.amount")
        _require_cents(line.taxAmount, f"{path}.taxAmount")
        if line.taxCategoryCode is not None and not (
            len(line.taxCategoryCode) == 19 and line.taxCategoryCode.isdigit()
        ):
            raise ApiError(ErrorCode.BAD_CATEGORY, "taxCategoryCode has 19 digits", f"{path}.taxCategoryCode")
        if line.taxRate not in rules.allowed_rates:
            allowed = ", ".join(str(r) for r in sorted(rules.allowed_rates))
            raise ApiError(ErrorCode.BAD_RATE, f"{line.taxRate} is not in force; allowed: {allowed}", f"{path}.taxRate")
        if (line.amount < 0) != (line.lineNature == "1"):
            raise ApiError(
                ErrorCode.AMOUNT_MISMATCH, "only discount lines (lineNature 1) are negative", f"{path}.amount"
            )
        _check_quantities(line, path)
        if line.zeroRateMark is not None and line.taxRate != 0:
            raise ApiError(ErrorCode.BAD_RATE, "zeroRateMark goes with taxRate 0 only", f"{path}.zeroRateMark")
        if line.quantity is not None and line.unitPrice is not None:
            expected = money(line.quantity * line.unitPrice)
            if abs(expected - line.amount) > CENT:
                raise ApiError(
                    ErrorCode.AMOUNT_MISMATCH,
                    f"quantity × unitPrice = {expected}, amount says {line.amount}",
                    f"{path}.amount",
                )
        if request.priceIncludesTax:
            net = money(line.amount / (1 + line.taxRate))
            expected_tax = line.amount - net
        else:
            net = line.amount
            expected_tax = money(line.amount * line.taxRate)
        if abs(expected_tax - line.taxAmount) > rules.line_tax_tolerance:
            raise ApiError(
                ErrorCode.AMOUNT_MISMATCH,
                f"tax should be {expected_tax} (half-up), taxAmount says {line.taxAmount}",
                f"{path}.taxAmount",
            )
        sum_net += net
        sum_tax += line.taxAmount

    totals = request.totals
    for name, given, expected in (
        ("amount", totals.amount, sum_net),
        ("tax", totals.tax, sum_tax),
        ("totalWithTax", totals.totalWithTax, sum_net + sum_tax),
    ):
        if given != expected:
            raise ApiError(ErrorCode.AMOUNT_MISMATCH, f"expected {expected}, got {given}", f"totals.{name}")
    if totals.totalWithTax <= 0:
        raise ApiError(ErrorCode.AMOUNT_MISMATCH, "a blue invoice totals more than zero", "totals.totalWithTax")
