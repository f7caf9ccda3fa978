"""查验 (verification): consistent / mismatch / not_found, at most 5 checks per invoice per day (E6001, until the
next day on the platform clock) and no checks of invoices older than 5 years (E6002)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conformance.support import RATE_LIMIT_HEADERS, Answer, Api, Taxpayer

pytestmark = pytest.mark.integration

DAILY_LIMIT = 5


def check(api: Api, who: Taxpayer, number: str, issue_date: str, total: str) -> Answer:
    body = {"invoiceNo": number, "issueDate": issue_date, "totalWithTax": total}
    return api.call("POST", "/verify", who=who, json=body)


def facts(issued: dict[str, Any]) -> tuple[str, str, str]:
    """(number, issue date in China Standard Time, total with tax) as printed on the invoice."""
    day = datetime.fromisoformat(issued["issueTime"]).strftime("%Y-%m-%d")
    return str(issued["invoiceNo"]), day, str(issued["totals"]["totalWithTax"])


def test_the_invoice_as_issued_is_consistent(api: Api, seller: Taxpayer) -> None:
    number, day, total = facts(api.issued(seller))
    answer = check(api, api.taxpayer(), number, day, total)
    assert answer.status == 200 and answer.data["result"] == "consistent"


def test_another_total_is_a_mismatch(api: Api, seller: Taxpayer) -> None:
    number, day, _ = facts(api.issued(seller))
    answer = check(api, seller, number, day, "999.99")
    assert answer.status == 200 and answer.data["result"] == "mismatch"


def test_another_issue_date_is_a_mismatch(api: Api, seller: Taxpayer) -> None:
    number, day, total = facts(api.issued(seller))
    other_day = (datetime.fromisoformat(day) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert check(api, seller, number, other_day, total).data["result"] == "mismatch"


def test_an_unknown_number_is_not_found(api: Api, seller: Taxpayer) -> None:
    answer = check(api, seller, "26" + "8" * 18, "2026-01-05", "1.00")
    assert answer.status == 200 and answer.data["result"] == "not_found"


def exhaust(api: Api, who: Taxpayer, number: str, day: str, total: str) -> Answer:
    for _ in range(DAILY_LIMIT):
        assert check(api, who, number, day, total).status == 200
    return check(api, who, number, day, total)


def test_a_sixth_check_of_one_invoice_in_a_day_is_e6001_until_tomorrow(api: Api, seller: Taxpayer) -> None:
    number, day, total = facts(api.issued(seller))
    refused = exhaust(api, seller, number, day, total)
    assert refused.refused("E6001", 429)
    now = api.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(int(refused.header("Retry-After") or "0") - (midnight - now).total_seconds()) <= 5


def test_the_daily_limit_counts_per_invoice(api: Api, seller: Taxpayer) -> None:
    first, second = facts(api.issued(seller)), facts(api.issued(seller))
    assert exhaust(api, seller, *first).refused("E6001")
    assert check(api, seller, *second).data["result"] == "consistent"


def test_the_daily_limit_counts_every_checker(api: Api, seller: Taxpayer) -> None:
    number, day, total = facts(api.issued(seller))
    for _ in range(DAILY_LIMIT):
        assert check(api, api.taxpayer(), number, day, total).status == 200
    assert check(api, api.taxpayer(), number, day, total).refused("E6001", 429)


def test_checks_are_allowed_again_the_next_day(api: Api, seller: Taxpayer, moves_clock: None) -> None:
    number, day, total = facts(api.issued(seller))
    assert exhaust(api, seller, number, day, total).refused("E6001")
    now = api.now()
    api.set_clock((now + timedelta(days=1)).replace(hour=0, minute=0, second=30, microsecond=0))
    seller = api.taxpayer(seller.tax_id)
    assert check(api, seller, number, day, total).data["result"] == "consistent"


def test_an_invoice_older_than_five_years_is_e6002(api: Api, seller: Taxpayer, moves_clock: None) -> None:
    number, day, total = facts(api.issued(seller))
    api.advance_clock(4 * 366 * 86_400)
    seller = api.taxpayer(seller.tax_id)
    assert check(api, seller, number, day, total).data["result"] == "consistent"
    api.advance_clock(2 * 366 * 86_400)
    seller = api.taxpayer(seller.tax_id)
    assert check(api, seller, number, day, total).refused("E6002", 422)


def test_the_verification_limit_answer_carries_rate_limit_headers(api: Api, seller: Taxpayer) -> None:
    refused = exhaust(api, seller, *facts(api.issued(seller)))
    assert refused.refused("E6001", 429)
    assert all(refused.header(name) is not None for name in RATE_LIMIT_HEADERS), dict(refused.headers)
