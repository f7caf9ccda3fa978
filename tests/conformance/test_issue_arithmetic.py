"""Issue validation, the money rules of DOMAIN.md §A: cents, half-up tax, exact totals, quantity × unit price,
rates in force on the day, tax category codes, negative (discount) lines and tax-included prices."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conformance.support import API, Answer, Api, Item, Taxpayer, envelope_problems, invoice, retotal

pytestmark = pytest.mark.integration

IN_FORCE = ("0.13", "0.09", "0.06", "0.05", "0.03", "0.01", "0")


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    """The default table plus a rate that ended (16 %, until 2019-04-01) and one that starts in 2099 (11 %)."""
    rows: list[dict[str, Any]] = [{"rate": rate, "name": f"rate {rate}"} for rate in IN_FORCE]
    rows.append({"rate": "0.16", "name": "old 16%", "effective_from": "2018-05-01", "effective_to": "2019-04-01"})
    rows.append({"rate": "0.11", "name": "future 11%", "effective_from": "2099-01-01"})
    return {"tax_rates": json.dumps(rows)}


def issue(api: Api, who: Taxpayer, *items: Item, **options: Any) -> Answer:
    return api.issue(who, invoice(who.tax_id, items=items or (Item(),), **options))


def issue_edited(api: Api, who: Taxpayer, line: dict[str, Any], *items: Item, **options: Any) -> Answer:
    """Issue with the first line changed as given and the totals recomputed from the lines as sent."""
    body = invoice(who.tax_id, items=items or (Item(),), **options)
    body["lines"][0].update(line)
    return api.issue(who, retotal(body))


def test_a_sound_invoice_is_issued_at_once_with_its_totals(api: Api, seller: Taxpayer) -> None:
    answer = issue(api, seller, Item("2", "10.50", "0.13"), Item("3", "0.99", "0.06"))
    assert answer.status == 200 and answer.data["status"] == "ISSUED"
    assert answer.data["totals"] == {"amount": "23.97", "tax": "2.91", "totalWithTax": "26.88"}


@pytest.mark.parametrize("field", ["amount", "taxAmount"])
def test_money_has_at_most_two_decimals(api: Api, seller: Taxpayer, field: str) -> None:
    change = {"amount": "21.001"} if field == "amount" else {"taxAmount": "2.731"}
    answer = issue_edited(api, seller, change)
    assert answer.code in ("E2001", "E2002") and answer.field == f"lines[0].{field}", answer


ROUNDING = [  # (unit price, rate, the tax rounded half up); half even or truncation would give a cent less
    ("0.50", "0.09", "0.05"),
    ("1.50", "0.03", "0.05"),
    ("2.50", "0.13", "0.33"),
    ("0.50", "0.01", "0.01"),
]


@pytest.mark.parametrize(("price", "rate", "half_up"), ROUNDING)
def test_line_tax_rounded_half_up_is_accepted(api: Api, seller: Taxpayer, price: str, rate: str, half_up: str) -> None:
    answer = issue(api, seller, Item("1", price, rate))
    assert answer.status == 200 and answer.data["totals"]["tax"] == half_up


@pytest.mark.parametrize("delta", ["0.02", "-0.02", "0.10"])
def test_line_tax_beyond_the_tolerance_is_e2002(api: Api, seller: Taxpayer, delta: str) -> None:
    tax = str(Decimal("2.73") + Decimal(delta))  # 21.00 × 0.13 = 2.73
    answer = issue_edited(api, seller, {"taxAmount": tax}, Item("2", "10.50", "0.13"))
    assert answer.refused("E2002", 422, "lines[0].taxAmount"), answer


def test_line_tax_within_one_cent_is_accepted_by_default(api: Api, seller: Taxpayer) -> None:
    answer = issue_edited(api, seller, {"taxAmount": "0.04"}, Item("1", "0.50", "0.09"))
    assert answer.status == 200, answer


@pytest.mark.parametrize("field", ["amount", "tax", "totalWithTax"])
def test_totals_must_add_up_exactly(api: Api, seller: Taxpayer, field: str) -> None:
    body = invoice(seller.tax_id, items=(Item("2", "10.50", "0.13"), Item("1", "5.00", "0.06")))
    body["totals"][field] = str(Decimal(body["totals"][field]) + Decimal("0.01"))
    assert api.issue(seller, body).refused("E2002", 422, f"totals.{field}")


def test_amount_must_be_quantity_times_unit_price(api: Api, seller: Taxpayer) -> None:
    answer = issue_edited(api, seller, {"amount": "21.02", "taxAmount": "2.73"}, Item("2", "10.50", "0.13"))
    assert answer.refused("E2002", 422, "lines[0].amount"), answer


def test_amount_within_a_cent_of_quantity_times_unit_price_is_accepted(api: Api, seller: Taxpayer) -> None:
    answer = issue_edited(api, seller, {"amount": "21.01", "taxAmount": "2.73"}, Item("2", "10.50", "0.13"))
    assert answer.status == 200, answer


def test_quantity_times_unit_price_is_rounded_half_up(api: Api, seller: Taxpayer) -> None:
    answer = issue(api, seller, Item("3", "0.335", "0.13"))  # 1.005 → 1.01
    assert answer.status == 200 and answer.data["totals"]["amount"] == "1.01"


def test_quantity_and_unit_price_take_13_decimals(api: Api, seller: Taxpayer) -> None:
    answer = issue(api, seller, Item("1.0000000000001", "10.0000000000000", "0.13"))
    assert answer.status == 200, answer


@pytest.mark.parametrize("field", ["quantity", "unitPrice"])
def test_quantity_or_unit_price_with_14_decimals_is_refused(api: Api, seller: Taxpayer, field: str) -> None:
    answer = issue_edited(api, seller, {field: "1.00000000000001"}, Item("1", "1", "0.13"))
    assert answer.status in (400, 422) and answer.code in ("E2001", "E2002"), answer
    assert answer.field == f"lines[0].{field}"


def test_an_absurd_quantity_times_unit_price_is_refused_as_a_4xx(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    body["lines"][0].update(quantity="1000000000000000", unitPrice="100000000000")
    with httpx.Client(base_url=api.platform.url, timeout=30) as fresh:  # the platform may drop the connection
        response = fresh.post(f"{API}/invoices", json=body, headers=seller.auth)
    assert envelope_problems(response) == []
    assert response.status_code in (400, 422) and response.json()["code"] in ("E2001", "E2002"), response.text


@pytest.mark.parametrize("rate", IN_FORCE)
def test_every_rate_in_force_is_accepted(api: Api, seller: Taxpayer, rate: str) -> None:
    answer = issue(api, seller, Item("4", "25.25", rate))
    assert answer.status == 200, answer


@pytest.mark.parametrize("rate", ["0.17", "0.10", "0.15", "-0.13"])
def test_a_rate_outside_the_table_is_e2004(api: Api, seller: Taxpayer, rate: str) -> None:
    assert issue(api, seller, Item("1", "100.00", rate)).refused("E2004", 422, "lines[0].taxRate")


@pytest.mark.parametrize("rate", ["0.16", "0.11"], ids=["ended", "not-yet-in-force"])
def test_a_rate_out_of_its_effective_dates_is_e2004(api: Api, seller: Taxpayer, rate: str) -> None:
    assert issue(api, seller, Item("1", "100.00", rate)).refused("E2004", 422, "lines[0].taxRate")


def test_tax_rates_lists_the_effective_dates(api: Api) -> None:
    rows = {row["rate"]: row for row in api.call("GET", "/tax-rates").data["rates"]}
    assert rows["0.16"]["effectiveTo"] == "2019-04-01" and rows["0.11"]["effectiveFrom"] == "2099-01-01"


def test_an_exempt_line_is_rate_zero_with_its_mark(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, items=(Item("1", "80.00", "0"),))
    body["lines"][0]["zeroRateMark"] = "1"  # 免税 exempt
    answer = api.issue(seller, body)
    assert answer.status == 200 and answer.data["totals"]["tax"] == "0.00", answer


def test_a_tax_category_code_of_19_digits_is_accepted(api: Api, seller: Taxpayer) -> None:
    answer = issue_edited(api, seller, {"taxCategoryCode": "1030201010000000000"})
    assert answer.status == 200, answer


@pytest.mark.parametrize("code", ["103020101000000000", "A030201010000000000"], ids=["18-digits", "letter"])
def test_a_tax_category_code_other_than_19_digits_is_e2005(api: Api, seller: Taxpayer, code: str) -> None:
    answer = issue_edited(api, seller, {"taxCategoryCode": code})
    assert answer.refused("E2005", 422, "lines[0].taxCategoryCode"), answer


def test_a_negative_normal_line_is_refused(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, items=(Item("2", "50.00", "0.13"), Item("-1", "10.00", "0.13")))
    answer = api.issue(seller, body)
    assert answer.refused("E2002", 422) and answer.field in ("lines[1].amount", "lines[1].quantity"), answer


def test_a_discount_line_is_negative_after_its_discounted_line(api: Api, seller: Taxpayer) -> None:
    discounted = Item("2", "50.00", "0.13", nature="2")
    discount = Item(None, None, "0.13", amount="-10.00", nature="1", name="折扣 discount")
    answer = issue(api, seller, discounted, discount)
    assert answer.status == 200, answer
    assert answer.data["totals"] == {"amount": "90.00", "tax": "11.70", "totalWithTax": "101.70"}


def test_tax_included_prices_derive_the_net_amount_half_up(api: Api, seller: Taxpayer) -> None:
    answer = issue(api, seller, Item("2", "5.00", "0.13"), includes_tax=True)  # gross 10.00 → net 8.849… → 8.85
    assert answer.status == 200, answer
    assert answer.data["totals"] == {"amount": "8.85", "tax": "1.15", "totalWithTax": "10.00"}


def test_tax_included_totals_must_be_net_of_tax(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, items=(Item("2", "5.00", "0.13"),), includes_tax=True)
    body["totals"] = {"amount": "10.00", "tax": "1.15", "totalWithTax": "11.15"}
    assert api.issue(seller, body).refused("E2002", 422, "totals.amount")


def test_tax_included_tax_computed_on_the_gross_is_e2002(api: Api, seller: Taxpayer) -> None:
    answer = issue_edited(api, seller, {"taxAmount": "1.30"}, Item("2", "5.00", "0.13"), includes_tax=True)
    assert answer.refused("E2002", 422, "lines[0].taxAmount"), answer
