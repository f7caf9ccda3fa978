"""授信额度 (credit quota) in download mode: the query fields, download and return, no overdraw (E4001), risk
suspension (E4002), expiry after the filing deadline until adjust-period (E4003), no carry-over between months,
red invoices giving quota back. The platform clock starts each test on the 10th of the month."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conformance.support import Answer, Api, Item, Taxpayer, invoice, serial

pytestmark = pytest.mark.integration

MONTHLY = Decimal("1000.00")
DEADLINE_DAY = 15
ITEMS = (Item("2", "10.50", "0.13"),)  # hjje 21.00


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    return {"quota_mode": "download", "monthly_quota": str(MONTHLY), "filing_deadline_day": str(DEADLINE_DAY)}


def on_day(api: Api, day: int, hour: int = 10, months_ahead: int = 0) -> datetime:
    """A moment of this month (or a later one) on the platform's calendar."""
    now = api.now()
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months_ahead):
        first = (first + timedelta(days=32)).replace(day=1)
    return first.replace(day=day, hour=hour)


@pytest.fixture(autouse=True)
def tenth_of_the_month(api: Api) -> Iterator[None]:
    api.set_clock(on_day(api, 10))
    yield


def quota(api: Api, who: Taxpayer) -> dict[str, Any]:
    answer = api.call("GET", "/quota", who=who)
    assert answer.status == 200, answer
    return dict(answer.data)


def amounts(view: dict[str, Any], *names: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(view[name]) for name in names)


def money(*values: str | int | Decimal) -> tuple[Decimal, ...]:
    return tuple(Decimal(value) for value in values)


def download(api: Api, who: Taxpayer, amount: str) -> Answer:
    return api.call("POST", "/quota/download", who=who, json={"amount": amount})


def issue(api: Api, who: Taxpayer) -> Answer:
    return api.issue(who, invoice(who.tax_id, items=ITEMS))


def test_the_quota_query_has_the_documented_fields(api: Api, seller: Taxpayer) -> None:
    view = quota(api, seller)
    assert amounts(view, "bysxed", "kysyed", "yxzed", "yxzwsyed") == money(MONTHLY, MONTHLY, 0, 0)
    assert view["sq"] == api.now().strftime("%Y%m") and view["ztsxbz"] == "N"


def test_download_answers_with_its_usage_window(api: Api, seller: Taxpayer) -> None:
    view = download(api, seller, "100.00").data
    today = api.now().strftime("%Y-%m-%d")
    assert view["syqjq"] <= today <= view["syqjz"]


def test_issuing_without_downloaded_quota_is_e4001(api: Api, seller: Taxpayer) -> None:
    assert issue(api, seller).refused("E4001", 422)


def test_download_moves_quota_from_available_to_downloaded(api: Api, seller: Taxpayer) -> None:
    view = download(api, seller, "300.00").data
    assert amounts(view, "yxzed", "yxzwsyed", "kysyed") == money(300, 300, 700)
    assert amounts(quota(api, seller), "yxzed", "yxzwsyed", "kysyed") == money(300, 300, 700)


def test_download_accepts_the_pinyin_amount(api: Api, seller: Taxpayer) -> None:
    answer = api.call("POST", "/quota/download", who=seller, json={"sqed": "50.00"})
    assert answer.status == 200 and Decimal(answer.data["yxzed"]) == 50


def test_a_quota_amount_below_a_cent_is_refused(api: Api, seller: Taxpayer) -> None:
    answer = download(api, seller, "0.001")
    assert answer.status in (400, 422) and answer.code in ("E2001", "E2002"), answer


def test_an_issue_draws_its_net_amount_from_downloaded_quota(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "300.00")
    assert issue(api, seller).status == 200
    assert amounts(quota(api, seller), "yxzed", "yxzwsyed") == money(300, "279.00")


def test_an_issue_beyond_the_downloaded_quota_is_e4001(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "20.99")
    assert issue(api, seller).refused("E4001", 422)
    assert amounts(quota(api, seller), "yxzwsyed") == money("20.99")


def test_downloading_beyond_the_monthly_quota_is_e4001(api: Api, seller: Taxpayer) -> None:
    assert download(api, seller, str(MONTHLY + Decimal("0.01"))).refused("E4001", 422)
    assert download(api, seller, str(MONTHLY)).status == 200
    assert download(api, seller, "0.01").refused("E4001", 422)


def test_returning_gives_back_unused_quota(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "300.00")
    view = api.call("POST", "/quota/return", who=seller, json={"amount": "100.00"}).data
    assert amounts(view, "yxzed", "yxzwsyed", "kysyed") == money(200, 200, 800)


def test_returning_more_than_is_unused_is_refused(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "50.00")
    assert issue(api, seller).status == 200
    answer = api.call("POST", "/quota/return", who=seller, json={"amount": "29.01"})
    assert answer.status == 422 and answer.code == "E4001", answer
    assert api.call("POST", "/quota/return", who=seller, json={"amount": "29.00"}).status == 200


def test_a_suspended_quota_shows_ztsxbz_and_refuses_issuing_with_e4002(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    api.admin("PUT", "/admin/faults/quota-suspension", {"taxpayers": [seller.tax_id]})
    try:
        assert quota(api, seller)["ztsxbz"] == "Y"
        assert issue(api, seller).refused("E4002", 403)
        assert download(api, seller, "10.00").refused("E4002", 403)
    finally:
        api.admin("DELETE", "/admin/faults/quota-suspension", {"taxpayers": [seller.tax_id]})
    assert issue(api, seller).status == 200


def test_a_platform_wide_suspension_shows_in_ztsxbz(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    api.admin("PUT", "/admin/faults/quota-suspension", {"for_s": 600})
    try:
        assert issue(api, seller).refused("E4002", 403)
        assert quota(api, seller)["ztsxbz"] == "Y"
    finally:
        api.admin("DELETE", "/admin/faults/quota-suspension")


def test_quota_holds_through_the_filing_deadline_day(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    api.set_clock(on_day(api, DEADLINE_DAY, hour=23))
    assert issue(api, api.taxpayer(seller.tax_id)).status == 200


def test_quota_expires_after_the_filing_deadline_with_e4003(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    api.set_clock(on_day(api, DEADLINE_DAY + 1))
    seller = api.taxpayer(seller.tax_id)
    assert issue(api, seller).refused("E4003", 409)


def test_adjust_period_after_the_deadline_makes_quota_usable_again(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    api.set_clock(on_day(api, DEADLINE_DAY + 1))
    seller = api.taxpayer(seller.tax_id)
    assert issue(api, seller).refused("E4003")
    assert api.call("POST", "/quota/adjust-period", who=seller).status == 200
    assert issue(api, seller).status == 200


def test_adjusting_before_the_deadline_does_not_carry_past_it(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    assert api.call("POST", "/quota/adjust-period", who=seller).status == 200
    api.set_clock(on_day(api, DEADLINE_DAY + 1))
    assert issue(api, api.taxpayer(seller.tax_id)).refused("E4003", 409)


def test_nothing_carries_over_into_the_next_month(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "300.00")
    api.set_clock(on_day(api, 1, hour=0, months_ahead=1).replace(second=30))
    seller = api.taxpayer(seller.tax_id)
    view = quota(api, seller)
    assert view["sq"] == api.now().strftime("%Y%m")
    assert amounts(view, "bysxed", "kysyed", "yxzed", "yxzwsyed") == money(MONTHLY, MONTHLY, 0, 0)
    assert issue(api, seller).refused("E4001", 422)


def test_a_red_invoice_gives_its_quota_back(api: Api, seller: Taxpayer) -> None:
    download(api, seller, "100.00")
    number = issue(api, seller).data["invoiceNo"]
    assert amounts(quota(api, seller), "yxzwsyed") == money("79.00")
    confirmation = api.call(
        "POST", "/red-confirmations", who=seller, json={"blueInvoiceNo": number, "reasonCode": "02"}
    )
    body = {"confirmationUuid": confirmation.data["uuid"], "requestSerialNo": serial("RED")}
    assert api.call("POST", f"/invoices/{number}/red", who=seller, json=body).status == 200
    assert amounts(quota(api, seller), "yxzwsyed") == money("100.00")
