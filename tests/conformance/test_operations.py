"""Reference data and the platform's bad days: tax rates, status, notices, maintenance (E9002), features switched
off (E9006), upstream busy (E9003) and throttling (E9001 with ``Retry-After`` and ``X-RateLimit-*``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.conformance.support import RATE_LIMIT_HEADERS, Answer, Api, Taxpayer, invoice, uscc, wait_for

pytestmark = pytest.mark.integration

FEATURES = {"issue", "red", "verify", "quota", "delivery", "auth"}
NOTICE_FIELDS = {"id", "start", "end", "affectedFeatures", "directConnectAffected"}


@pytest.fixture
def notices(api: Api) -> Iterator[list[str]]:
    """Maintenance notices a test publishes; withdrawn afterwards."""
    published: list[str] = []
    yield published
    for notice_id in published:
        api.admin("DELETE", f"/admin/maintenance/{notice_id}")


def announce(api: Api, published: list[str], **request: object) -> dict[str, object]:
    notice = api.admin("POST", "/admin/maintenance", request)
    published.append(str(notice["id"]))
    return notice


def features(api: Api) -> dict[str, str]:
    return dict(api.call("GET", "/status").data["features"])


def verify_any(api: Api, who: Taxpayer) -> Answer:
    body = {"invoiceNo": "1" * 20, "issueDate": "2024-01-01", "totalWithTax": "1.00"}
    return api.call("POST", "/verify", who=who, json=body)


def test_tax_rates_are_public_and_list_every_rate_in_force(api: Api) -> None:
    answer = api.call("GET", "/tax-rates")
    assert answer.status == 200
    rows = answer.data["rates"]
    today = api.now().date()
    in_force = {
        Decimal(row["rate"])
        for row in rows
        if date.fromisoformat(row["effectiveFrom"]) <= today
        and (row["effectiveTo"] is None or today < date.fromisoformat(row["effectiveTo"]))
    }
    assert {Decimal(r) for r in ("0.13", "0.09", "0.06", "0.05", "0.03", "0.01", "0")} <= in_force


def test_status_shows_every_feature_up_on_a_quiet_platform(api: Api) -> None:
    answer = api.call("GET", "/status")
    assert answer.data["features"] == dict.fromkeys(FEATURES, "UP")
    datetime.fromisoformat(answer.data["time"])


def test_notices_are_public_and_empty_on_a_quiet_platform(api: Api) -> None:
    assert api.call("GET", "/notices").data["notices"] == []


def test_a_notice_is_published_ahead_and_enforced_when_its_window_opens(
    api: Api, seller: Taxpayer, notices: list[str], moves_clock: None
) -> None:
    notice = announce(api, notices, start_in_s=3600, duration_s=600, features=["issue"])
    listed = api.call("GET", "/notices").data["notices"]
    assert [n["id"] for n in listed] == [notice["id"]]
    assert set(listed[0]) >= NOTICE_FIELDS and listed[0]["affectedFeatures"] == ["issue"]
    assert datetime.fromisoformat(listed[0]["start"]) > api.now()
    assert api.issue(seller, invoice(seller.tax_id)).status == 200  # announced, not yet in force
    api.advance_clock(3600)
    seller = api.taxpayer(seller.tax_id)
    refused = api.issue(seller, invoice(seller.tax_id))
    assert refused.refused("E9002", 503) and refused.data["noticeId"] == notice["id"]


def test_maintenance_answers_e9002_with_the_notice_and_retry_after_until_its_end(
    api: Api, seller: Taxpayer, notices: list[str]
) -> None:
    notice = announce(api, notices, start_in_s=0, duration_s=120, features=["issue"])
    answer = api.issue(seller, invoice(seller.tax_id))
    assert answer.refused("E9002", 503)
    assert answer.data["noticeId"] == notice["id"]
    retry_after = int(answer.header("Retry-After") or "0")
    assert 110 <= retry_after <= 120  # the time left to the window's end
    assert features(api)["issue"] == "DOWN"


def test_status_and_notices_stay_readable_during_a_full_maintenance(api: Api, notices: list[str]) -> None:
    notice = announce(api, notices, start_in_s=0, duration_s=120)
    assert set(features(api).values()) == {"DOWN"}
    assert [n["id"] for n in api.call("GET", "/notices").data["notices"]] == [notice["id"]]
    assert api.call("GET", "/tax-rates").status == 200
    assert api.raw("GET", "/health").status_code == 200


def test_maintenance_refuses_only_the_features_it_names(api: Api, seller: Taxpayer, notices: list[str]) -> None:
    announce(api, notices, start_in_s=0, duration_s=120, features=["verify"])
    assert verify_any(api, seller).refused("E9002", 503)
    assert api.issue(seller, invoice(seller.tax_id)).status == 200
    assert features(api)["verify"] == "DOWN" and features(api)["issue"] == "UP"


def test_maintenance_of_the_portal_only_leaves_direct_connect_clients_working(
    api: Api, seller: Taxpayer, notices: list[str]
) -> None:
    announce(api, notices, start_in_s=0, duration_s=120, features=["issue"], direct_connect_affected=False)
    assert api.issue(seller, invoice(seller.tax_id)).status == 200
    assert features(api)["issue"] == "DEGRADED"


def test_maintenance_of_auth_refuses_token_fetches(api: Api, notices: list[str]) -> None:
    announce(api, notices, start_in_s=0, duration_s=120, features=["auth"])
    assert api.fetch_token(uscc()).refused("E9002", 503)


def test_a_withdrawn_notice_ends_maintenance(api: Api, seller: Taxpayer, notices: list[str]) -> None:
    notice = announce(api, notices, start_in_s=0, duration_s=120, features=["issue"])
    assert api.issue(seller, invoice(seller.tax_id)).refused("E9002")
    api.admin("DELETE", f"/admin/maintenance/{notice['id']}")
    assert api.issue(seller, invoice(seller.tax_id)).status == 200
    assert api.call("GET", "/notices").data["notices"] == []


def test_a_feature_switched_off_answers_e9006_and_shows_down(api: Api, seller: Taxpayer) -> None:
    api.admin("PUT", "/admin/features/verify", {"down": True})
    try:
        assert verify_any(api, seller).refused("E9006", 503)
        assert features(api)["verify"] == "DOWN"
        assert api.issue(seller, invoice(seller.tax_id)).status == 200  # only that feature is off
    finally:
        api.admin("PUT", "/admin/features/verify", {"down": False})
    assert verify_any(api, seller).status == 200


def test_upstream_busy_e9003_carries_retry_after(api: Api, seller: Taxpayer) -> None:
    api.admin("PUT", "/admin/faults/errors", {"code": "E9003", "rate": 1, "families": ["verify"], "retry_after_s": 7})
    try:
        answer = verify_any(api, seller)
    finally:
        api.admin("DELETE", "/admin/faults/errors")
    assert answer.refused("E9003", 503) and answer.header("Retry-After") == "7"


@pytest.mark.parametrize(("code", "status"), [("E9004", 504), ("E9005", 500)])
def test_unknown_outcome_errors_come_in_the_envelope(api: Api, seller: Taxpayer, code: str, status: int) -> None:
    api.admin("PUT", "/admin/faults/errors", {"code": code, "rate": 1, "families": ["verify"], "commit_rate": 0})
    try:
        answer = verify_any(api, seller)
    finally:
        api.admin("DELETE", "/admin/faults/errors")
    assert answer.refused(code, status)


def exhaust(api: Api, who: Taxpayer, limit: int) -> Answer:
    """Query until throttled (at most a few windows' worth); the 429."""
    for _ in range(3 * limit + 3):
        answer = api.call("GET", "/invoices", who=who)
        if answer.status == 429:
            return answer
    raise AssertionError(f"never throttled at {limit}/min")


def test_throttling_answers_e9001_with_retry_after_and_rate_limit_headers(api: Api, seller: Taxpayer) -> None:
    with api.capacity("query", rate_per_min=3):
        answer = exhaust(api, seller, 3)
    assert answer.refused("E9001", 429)
    assert 1 <= int(answer.header("Retry-After") or "0") <= 60
    assert all(answer.header(name) is not None for name in RATE_LIMIT_HEADERS), dict(answer.headers)
    assert answer.header("X-RateLimit-Limit") == "3" and answer.header("X-RateLimit-Remaining") == "0"
    assert 1 <= int(answer.header("X-RateLimit-Reset") or "0") <= 60


def test_a_new_token_does_not_reset_the_rate_limit(api: Api, seller: Taxpayer) -> None:
    with api.capacity("query", rate_per_min=3):
        throttled = exhaust(api, seller, 3)
        if int(throttled.header("X-RateLimit-Reset") or "0") < 3:  # the window is about to roll: use the next one
            wait_for(lambda: api.call("GET", "/invoices", who=seller).status == 200 or None, 10, "the next window")
            exhaust(api, seller, 3)
        fresh = api.taxpayer(seller.tax_id)
        assert api.call("GET", "/invoices", who=fresh).refused("E9001", 429)


def test_rate_limits_count_per_taxpayer(api: Api, seller: Taxpayer) -> None:
    with api.capacity("query", rate_per_min=3):
        exhaust(api, seller, 3)
        other = api.taxpayer()
        assert api.call("GET", "/invoices", who=other).status == 200
