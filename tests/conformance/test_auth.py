"""Tokens: their fields and expiry on the platform clock, E1001–E1005, credentials bound to their taxpayer, the
auth family's own rate limit and the cap of 50 fetches per taxpayer per 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conformance.support import (
    RATE_LIMIT_HEADERS,
    Answer,
    Api,
    Taxpayer,
    invoice,
    uscc,
    wrong_check_char,
)
from tests.conftest import running_platform
from tests.helpers import fetch

pytestmark = pytest.mark.integration

TOKEN_FETCH_CAP = 50
THIRTY_DAYS_S = 30 * 86_400


def business_call(api: Api, who: Taxpayer) -> Answer:
    return api.call("GET", "/invoices", who=who)


def test_token_answer_has_the_documented_fields(api: Api) -> None:
    tax_id = uscc()
    before = api.now()
    answer = api.fetch_token(tax_id)
    assert answer.status == 200
    data = answer.data
    assert isinstance(data["accessToken"], str) and len(data["accessToken"]) >= 16
    assert data["tokenType"] == "Bearer" and data["expiresIn"] == 7200 and data["taxpayerId"] == tax_id
    expires_at = datetime.fromisoformat(data["expiresAt"])
    assert timedelta(seconds=7195) <= expires_at - before <= timedelta(seconds=7205)


def test_token_request_accepts_snake_case_and_pinyin_names(api: Api) -> None:
    tax_id = uscc()
    given = fetch(tax_id)
    body = {"client_id": given["clientId"], "client_secret": given["clientSecret"], "nsrsbh": tax_id}
    answer = api.call("POST", "/auth/token", json=body)
    assert answer.status == 200 and answer.data["taxpayerId"] == tax_id
    assert business_call(api, Taxpayer(tax_id, answer.data["accessToken"])).status == 200


def test_each_fetch_gives_a_new_working_token(api: Api, seller: Taxpayer) -> None:
    again = api.taxpayer(seller.tax_id)
    assert again.token != seller.token
    assert business_call(api, seller).status == 200 and business_call(api, again).status == 200


def test_wrong_secret_is_e1001(api: Api) -> None:
    body = {**fetch(uscc()), "clientSecret": "0" * 32}
    assert api.call("POST", "/auth/token", json=body).refused("E1001", 401)


def test_unknown_client_is_e1001(api: Api) -> None:
    body = {**fetch(uscc()), "clientId": "somebody-else"}
    assert api.call("POST", "/auth/token", json=body).refused("E1001", 401)


def test_missing_bearer_token_is_e1001(api: Api) -> None:
    assert api.call("GET", "/invoices").refused("E1001", 401)
    assert api.call("GET", "/quota", headers={"Authorization": "Basic Zm9vOmJhcg=="}).refused("E1001", 401)


def test_the_bearer_scheme_name_is_case_insensitive(api: Api, seller: Taxpayer) -> None:
    """RFC 7235: ``bearer`` and ``BEARER`` name the same scheme; a scheme with no token is no credential."""
    for scheme in ("bearer", "BEARER"):
        headers = {"Authorization": f"{scheme} {seller.token}"}
        assert api.call("GET", "/invoices", headers=headers).status == 200
    assert api.call("GET", "/invoices", headers={"Authorization": "Bearer"}).refused("E1001", 401)


def test_unknown_token_is_e1001(api: Api) -> None:
    assert business_call(api, Taxpayer(uscc(), "forged-token")).refused("E1001", 401)


def test_token_taxpayer_id_must_pass_the_gb32100_check(api: Api) -> None:
    tax_id = wrong_check_char(uscc())
    answer = api.call("POST", "/auth/token", json=fetch(tax_id))
    assert answer.status in (400, 422) and answer.code in ("E2001", "E2003"), answer


def test_token_expires_after_expires_in_on_the_platform_clock(api: Api, seller: Taxpayer, moves_clock: None) -> None:
    api.advance_clock(7200 - 60)
    assert business_call(api, seller).status == 200
    api.advance_clock(61)
    assert business_call(api, seller).refused("E1002", 401)
    assert business_call(api, api.taxpayer(seller.tax_id)).status == 200


def test_the_token_lifetime_is_a_setting(tmp_path: Path) -> None:
    with running_platform(tmp_path, None, token_ttl_s="600") as platform:
        api = Api(platform)
        try:
            answer = api.fetch_token(uscc())
            assert answer.data["expiresIn"] == 600
            who = Taxpayer(answer.data["taxpayerId"], answer.data["accessToken"])
            api.advance_clock(601)
            assert business_call(api, who).refused("E1002", 401)
        finally:
            api.close()


def test_revoked_token_is_e1003_with_the_disconnect_flag(api: Api, seller: Taxpayer) -> None:
    bystander = api.taxpayer()
    api.admin("POST", "/admin/tokens/revoke", {"taxpayers": [seller.tax_id]})
    answer = business_call(api, seller)
    assert answer.refused("E1003", 401)
    assert answer.data["disconnFlag"] == 1
    assert business_call(api, bystander).status == 200
    assert business_call(api, api.taxpayer(seller.tax_id)).status == 200  # re-auth once, then work


def test_reverification_refuses_new_tokens_with_e1004_until_cleared(api: Api) -> None:
    tax_id = uscc()
    api.admin("POST", "/admin/reverify", {"taxpayers": [tax_id]})
    try:
        assert api.fetch_token(tax_id).refused("E1004", 403)
        assert api.fetch_token(uscc()).status == 200  # only that taxpayer
    finally:
        api.admin("POST", "/admin/reverify", {"taxpayers": [tax_id], "required": False})
    assert api.fetch_token(tax_id).status == 200


def test_a_credential_cannot_fetch_a_token_for_another_taxpayer(api: Api) -> None:
    mine, theirs = uscc(), uscc()
    body = {**fetch(mine), "taxpayerId": theirs}
    assert api.call("POST", "/auth/token", json=body).refused("E1005", 403)


def test_a_token_cannot_issue_for_another_seller(api: Api, seller: Taxpayer) -> None:
    body = invoice(uscc())
    assert api.issue(seller, body).refused("E1005", 403, "seller.taxId")
    assert api.by_serial(seller, body["requestSerialNo"]).refused("E3004", 404)


def test_a_token_cannot_read_another_sellers_invoice(api: Api, seller: Taxpayer) -> None:
    issued = api.issued(seller)
    stranger = api.taxpayer()
    looked_up = api.call("GET", f"/invoices/{issued['invoiceNo']}", who=stranger)
    assert (looked_up.status, looked_up.code) in ((404, "E3004"), (403, "E1005"))
    assert api.by_serial(stranger, issued["requestSerialNo"]).refused("E3004", 404)


def test_token_fetches_have_their_own_rate_limit(api: Api) -> None:
    tax_id = uscc()
    with api.capacity("auth", rate_per_min=2):
        answers = [api.fetch_token(tax_id) for _ in range(6)]
    throttled = [a for a in answers if a.status == 429]
    assert throttled, "auth never throttled at 2/min"
    first = throttled[0]
    assert first.refused("E9001", 429) and int(first.header("Retry-After") or "0") >= 1
    assert all(first.header(name) is not None for name in RATE_LIMIT_HEADERS), dict(first.headers)


def fetch_until_capped(api: Api, tax_id: str) -> tuple[int, Answer]:
    """Fetch tokens for one taxpayer until refused; (fetches granted, the refusal). Call it with the auth
    family's per-minute rate limit lifted, so that only the 30-day cap can refuse."""
    granted = 0
    for _ in range(TOKEN_FETCH_CAP + 5):
        answer = api.fetch_token(tax_id)
        if answer.status != 200:
            return granted, answer
        granted += 1
    raise AssertionError(f"{granted} token fetches and still no cap")


def test_token_fetches_are_capped_at_50_per_taxpayer_per_30_days(api: Api, moves_clock: None) -> None:
    tax_id = uscc()
    with api.capacity("auth", rate_per_min=10_000):
        granted, refusal = fetch_until_capped(api, tax_id)
        assert granted == TOKEN_FETCH_CAP
        assert refusal.refused("E9001", 429) and int(refusal.header("Retry-After") or "0") >= 1
        assert api.fetch_token(uscc()).status == 200  # the cap is per taxpayer
        api.advance_clock(THIRTY_DAYS_S + 1)
        assert api.fetch_token(tax_id).status == 200


def test_token_fetch_cap_refusal_carries_rate_limit_headers(api: Api) -> None:
    with api.capacity("auth", rate_per_min=10_000):
        _, refusal = fetch_until_capped(api, uscc())
    assert refusal.refused("E9001", 429)
    assert all(refusal.header(name) is not None for name in RATE_LIMIT_HEADERS), dict(refusal.headers)
