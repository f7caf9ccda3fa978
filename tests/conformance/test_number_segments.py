"""预赋码 (pre-assigned number segments, ``numbering=segments``): at most 5000 numbers per call, numbers of this
year only, issuing draws on them in order, and E4004 when none are left."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conformance.support import Answer, Api, Taxpayer, invoice

pytestmark = pytest.mark.integration

SEGMENT_MAX = 5000


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    return {"numbering": "segments"}


def take(api: Api, who: Taxpayer, count: int, name: str = "count") -> Answer:
    return api.call("POST", "/number-segments", who=who, json={name: count})


def segments(api: Api, who: Taxpayer) -> list[dict[str, object]]:
    answer = api.call("GET", "/number-segments", who=who)
    assert answer.status == 200, answer
    return list(answer.data["segments"])


def issue(api: Api, who: Taxpayer) -> Answer:
    return api.issue(who, invoice(who.tax_id))


def test_issuing_without_a_segment_is_e4004(api: Api, seller: Taxpayer) -> None:
    assert issue(api, seller).refused("E4004", 409)


def test_a_segment_is_a_range_of_20_digit_numbers_of_this_year(api: Api, seller: Taxpayer) -> None:
    answer = take(api, seller, 3)
    assert answer.status == 200, answer
    start, end = str(answer.data["startNo"]), str(answer.data["endNo"])
    yy = api.now().strftime("%y")
    assert len(start) == len(end) == 20 and start.isdigit() and end.isdigit()
    assert start[:2] == end[:2] == yy and start[:5] == end[:5]
    assert int(end[5:]) - int(start[5:]) == 2
    assert answer.data["count"] == 3 and str(answer.data["year"]) == api.now().strftime("%Y")


def test_the_count_takes_its_pinyin_name(api: Api, seller: Taxpayer) -> None:
    answer = take(api, seller, 2, name="lysl")
    assert answer.status == 200 and answer.data["count"] == 2


def test_issuing_draws_the_segments_numbers_in_order_then_e4004(api: Api, seller: Taxpayer) -> None:
    segment = take(api, seller, 3).data
    numbers = [issue(api, seller).data["invoiceNo"] for _ in range(3)]
    first = int(str(segment["startNo"])[5:])
    assert numbers == [str(segment["startNo"])[:5] + f"{first + i:015d}" for i in range(3)]
    assert numbers[-1] == segment["endNo"]
    assert issue(api, seller).refused("E4004", 409)


def test_the_segment_list_counts_the_numbers_left(api: Api, seller: Taxpayer) -> None:
    segment = take(api, seller, 4).data
    issue(api, seller)
    listed = segments(api, seller)
    assert [(s["startNo"], s["endNo"], s["remaining"]) for s in listed] == [(segment["startNo"], segment["endNo"], 3)]


def test_segments_belong_to_their_seller(api: Api, seller: Taxpayer) -> None:
    take(api, seller, 2)
    other = api.taxpayer()
    assert segments(api, other) == []
    assert issue(api, other).refused("E4004", 409)


def test_segments_of_two_sellers_never_overlap(api: Api, seller: Taxpayer) -> None:
    first = take(api, seller, 10).data
    second = take(api, api.taxpayer(), 10).data
    assert first["endNo"] < second["startNo"] or second["endNo"] < first["startNo"]


def test_a_call_takes_at_most_5000_numbers(api: Api, seller: Taxpayer) -> None:
    refused = take(api, seller, SEGMENT_MAX + 1)
    assert refused.status in (400, 422) and refused.code in ("E2001", "E4004"), refused
    assert take(api, seller, SEGMENT_MAX).data["count"] == SEGMENT_MAX


@pytest.mark.parametrize("count", [0, -1])
def test_a_count_below_one_is_e2001(api: Api, seller: Taxpayer, count: int) -> None:
    assert take(api, seller, count).refused("E2001", 400, "count")


def test_last_years_numbers_are_not_used_after_new_year(api: Api, seller: Taxpayer, moves_clock: None) -> None:
    now = api.now()
    api.set_clock(datetime(now.year, 12, 31, 23, 59, 0, tzinfo=now.tzinfo))
    seller = api.taxpayer(seller.tax_id)
    take(api, seller, 5)
    assert issue(api, seller).status == 200
    api.set_clock(datetime(now.year + 1, 1, 1, 0, 0, 30, tzinfo=now.tzinfo))
    seller = api.taxpayer(seller.tax_id)
    assert segments(api, seller) == []
    assert issue(api, seller).refused("E4004", 409)
    fresh = take(api, seller, 1).data
    assert str(fresh["startNo"])[:2] == f"{(now.year + 1) % 100:02d}"
    assert issue(api, seller).data["invoiceNo"] == fresh["startNo"]
