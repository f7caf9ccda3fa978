"""Idempotency on (seller, requestSerialNo), the ``Idempotency-Key`` alias, 20-digit numbers, look-ups by serial
and by number, and the paged list for reconciliation (instant processing)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance.support import API, Api, Item, Taxpayer, envelope_problems, invoice, serial, wait_for
from tests.conftest import running_platform

pytestmark = pytest.mark.integration


def listed(api: Api, who: Taxpayer, **params: object) -> dict[str, Any]:
    answer = api.call("GET", "/invoices", who=who, params=dict(params))
    assert answer.status == 200, answer
    return dict(answer.data)


def test_a_replay_answers_200_with_the_original_result(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    first = api.issue(seller, body)
    again = api.issue(seller, body)
    assert first.status == 200 and again.status == 200
    assert first.data["replayed"] is False and again.data["replayed"] is True
    for key in ("invoiceNo", "issueTime", "totals", "status", "requestSerialNo"):
        assert again.data[key] == first.data[key], key
    assert listed(api, seller)["total"] == 1


def test_the_same_serial_with_another_payload_is_e3002(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    assert api.issue(seller, body).status == 200
    changed = invoice(seller.tax_id, body["requestSerialNo"], items=(Item("1", "99.00", "0.13"),))
    assert api.issue(seller, changed).refused("E3002", 409)
    assert listed(api, seller)["total"] == 1


def test_a_replay_with_the_keys_in_another_order_is_the_same_payload(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    first = api.issue(seller, body)
    shuffled = {key: body[key] for key in reversed(list(body))}
    shuffled["lines"] = [{key: line[key] for key in reversed(list(line))} for line in body["lines"]]
    again = api.issue(seller, shuffled)
    assert again.status == 200 and again.data["replayed"] is True
    assert again.data["invoiceNo"] == first.data["invoiceNo"]


def test_a_serial_is_remembered_for_a_year(api: Api, seller: Taxpayer, moves_clock: None) -> None:
    body = invoice(seller.tax_id)
    first = api.issue(seller, body)
    api.advance_clock(366 * 86_400)
    again = api.issue(api.taxpayer(seller.tax_id), body)
    assert again.status == 200 and again.data["replayed"] is True
    assert again.data["invoiceNo"] == first.data["invoiceNo"]


def test_the_same_serial_of_two_sellers_makes_two_invoices(api: Api, seller: Taxpayer) -> None:
    other = api.taxpayer()
    shared = serial("SHARED")
    first = api.issue(seller, invoice(seller.tax_id, shared))
    second = api.issue(other, invoice(other.tax_id, shared))
    assert first.status == 200 and second.status == 200 and second.data["replayed"] is False
    assert first.data["invoiceNo"] != second.data["invoiceNo"]


def test_the_idempotency_key_header_stands_for_the_request_serial(api: Api, seller: Taxpayer) -> None:
    key = serial("IDEM")
    body = invoice(seller.tax_id)
    del body["requestSerialNo"]
    first = api.issue(seller, body, headers={"Idempotency-Key": key})
    assert first.status == 200 and first.data["requestSerialNo"] == key
    again = api.issue(seller, body, headers={"Idempotency-Key": key})
    assert again.status == 200 and again.data["replayed"] is True
    assert again.data["invoiceNo"] == first.data["invoiceNo"]
    assert api.by_serial(seller, key).data["invoiceNo"] == first.data["invoiceNo"]


def contradicting_key(api: Api, who: Taxpayer) -> httpx.Response:
    """An issue whose Idempotency-Key header names another serial than its body."""
    headers = {**who.auth, "Idempotency-Key": serial("OTHER")}
    return api.http.post(f"{API}/invoices", json=invoice(who.tax_id), headers=headers)


def test_an_idempotency_key_contradicting_the_body_serial_is_refused(api: Api, seller: Taxpayer) -> None:
    response = contradicting_key(api, seller)
    assert response.status_code in (400, 409) and response.json()["code"] in ("E2001", "E3002"), response.text
    assert listed(api, seller)["total"] == 0


def test_the_idempotency_key_refusal_is_a_full_envelope(api: Api, seller: Taxpayer) -> None:
    assert envelope_problems(contradicting_key(api, seller)) == []


def test_invoice_numbers_are_yy_region_channel_and_a_15_digit_sequence(api: Api, seller: Taxpayer) -> None:
    year = api.now().strftime("%y")
    numbers = [str(api.issue(seller, invoice(seller.tax_id)).data["invoiceNo"]) for _ in range(3)]
    for number in numbers:
        assert len(number) == 20 and number.isdigit(), number
        assert number[:2] == year and number[2:4] == "42", number  # Hubei (Wuhan) by default
    assert len({n[:5] for n in numbers}) == 1  # one channel
    sequences = [int(n[5:]) for n in numbers]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


def test_region_and_channel_of_numbers_are_settings(tmp_path: Path) -> None:
    with running_platform(tmp_path, region_code="31", channel_code="7") as platform:
        api = Api(platform)
        try:
            who = api.taxpayer()
            number = str(api.issue(who, invoice(who.tax_id)).data["invoiceNo"])
            assert number[:5] == api.now().strftime("%y") + "317" and len(number) == 20
        finally:
            api.close()


def test_issue_time_is_on_the_platform_clock_in_china_standard_time(api: Api, seller: Taxpayer) -> None:
    before = api.now()
    issued = datetime.fromisoformat(str(api.issue(seller, invoice(seller.tax_id)).data["issueTime"]))
    offset = issued.utcoffset()
    assert offset is not None and offset.total_seconds() == 8 * 3600
    assert 0 <= (issued - before).total_seconds() < 30


def test_an_issue_draws_its_amount_from_the_monthly_quota(api: Api, seller: Taxpayer) -> None:
    before = Decimal(api.call("GET", "/quota", who=seller).data["kysyed"])
    body = invoice(seller.tax_id, items=(Item("3", "33.33", "0.13"),))
    assert api.issue(seller, body).status == 200
    after = Decimal(api.call("GET", "/quota", who=seller).data["kysyed"])
    assert before - after == Decimal(body["totals"]["amount"])  # hjje, DOMAIN.md §A quota rules


def test_an_issued_invoice_is_uploaded_with_its_delivery_urls(api: Api, seller: Taxpayer) -> None:
    issued = api.issued(seller)
    assert issued["uploadState"] == "UPLOADED"
    for kind in ("pdf", "ofd", "xml"):
        url = issued[f"{kind}Url"]
        assert isinstance(url, str) and url
        document = api.raw("GET", url, who=seller)
        assert document.status_code == 200 and document.content, kind


def test_the_issue_answer_reports_the_quota_left(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(seller.tax_id))
    assert answer.status == 200 and answer.data.get("quotaAfter") is not None


def test_a_failed_issue_has_a_reason_and_no_number(tmp_path: Path) -> None:
    with running_platform(tmp_path, issue_failure_rate="1") as platform:
        api = Api(platform)
        try:
            who = api.taxpayer()
            body = invoice(who.tax_id)
            failed = api.issued(who, body)
            assert failed["status"] == "FAILED" and failed["invoiceNo"] is None
            assert failed["failReason"] and failed["failCode"]
            assert api.call("GET", "/invoices", who=who, params={"status": "FAILED"}).data["total"] == 1
        finally:
            api.close()


def test_by_serial_finds_the_invoice(api: Api, seller: Taxpayer) -> None:
    issued = api.issued(seller)
    found = api.by_serial(seller, issued["requestSerialNo"])
    assert found.status == 200 and found.data["invoiceNo"] == issued["invoiceNo"]
    assert found.data["replayed"] is False and found.data["status"] == "ISSUED"


def test_by_serial_of_an_unknown_serial_is_e3004(api: Api, seller: Taxpayer) -> None:
    assert api.by_serial(seller, serial("NEVER")).refused("E3004", 404)


def test_by_number_gives_the_invoice_with_its_lines(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, items=(Item("2", "10.50", "0.13"), Item("1", "4.00", "0.06")))
    number = api.issue(seller, body).data["invoiceNo"]
    detail = api.call("GET", f"/invoices/{number}", who=seller)
    assert detail.status == 200 and detail.data["invoiceNo"] == number
    assert [line["amount"] for line in detail.data["lines"]] == ["21.00", "4.00"]
    assert detail.data["totals"] == body["totals"] and detail.data["status"] == "ISSUED"


def test_by_number_of_an_unknown_number_is_e3004(api: Api, seller: Taxpayer) -> None:
    assert api.call("GET", f"/invoices/{'9' * 20}", who=seller).refused("E3004", 404)


def test_the_list_holds_only_the_callers_invoices(api: Api, seller: Taxpayer) -> None:
    other = api.taxpayer()
    mine = {api.issued(seller)["invoiceNo"] for _ in range(3)}
    api.issued(other)
    page = listed(api, seller)
    assert page["total"] == 3
    assert {item["invoiceNo"] for item in page["items"]} == mine


def test_the_list_pages_through_every_invoice_once(api: Api, seller: Taxpayer) -> None:
    serials = [api.issued(seller)["requestSerialNo"] for _ in range(5)]
    seen: list[str] = []
    for page in (1, 2, 3):
        data = listed(api, seller, page=page, pageSize=2)
        assert data["total"] == 5 and data["page"] == page and data["pageSize"] == 2
        seen += [item["requestSerialNo"] for item in data["items"]]
    assert seen == serials  # oldest first, none twice, none missed
    assert listed(api, seller, page=4, pageSize=2)["items"] == []


def test_the_list_takes_a_page_size_of_100(api: Api, seller: Taxpayer) -> None:
    assert listed(api, seller, pageSize=100)["pageSize"] == 100


@pytest.mark.parametrize("size", [101, 0])
def test_a_page_size_outside_1_to_100_is_e2001(api: Api, seller: Taxpayer, size: int) -> None:
    answer = api.call("GET", "/invoices", who=seller, params={"pageSize": size})
    assert answer.refused("E2001", 400, "pageSize")


def test_the_list_filters_by_status(api: Api, seller: Taxpayer) -> None:
    api.issued(seller)
    assert listed(api, seller, status="ISSUED")["total"] == 1
    assert listed(api, seller, status="FAILED")["total"] == 0
    assert listed(api, seller, status="PROCESSING")["total"] == 0


def test_the_list_filters_by_time(api: Api, seller: Taxpayer) -> None:
    early = api.issued(seller)
    issued_at = datetime.fromisoformat(early["issueTime"])

    def later() -> datetime | None:  # a cut strictly after the first invoice on the platform clock
        now = api.now()
        return now if (now - issued_at).total_seconds() >= 0.01 else None

    cut = wait_for(later, 5, "the platform clock to move on").timestamp()
    late = api.issued(seller)
    after = listed(api, seller, **{"from": cut})  # epoch seconds
    before = listed(api, seller, to=cut)
    assert [item["invoiceNo"] for item in after["items"]] == [late["invoiceNo"]]
    assert [item["invoiceNo"] for item in before["items"]] == [early["invoiceNo"]]
