"""Asynchronous issuing: 202 PROCESSING, the look-up by serial until ISSUED, E3003 while in flight, ``?mode=sync``
and its timeout (504 E9004, the outcome still decided), and the list's PROCESSING filter."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conformance.support import Api, Taxpayer, invoice
from tests.conftest import running_platform

pytestmark = pytest.mark.integration

PROCESSING_MS = 1200


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    """Every job stays PROCESSING for 1.2 s (a fixed processing time, no tail)."""
    return {"processing_ms": f'{{"median_ms": {PROCESSING_MS}}}', "processing_per_pending_ms": "0"}


@pytest.fixture(scope="module")
def slow_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A platform whose jobs take 3 s and whose synchronous mode waits 0.5 s at most."""
    settings = {"processing_ms": '{"median_ms": 3000}', "processing_per_pending_ms": "0", "sync_timeout_s": "0.5"}
    with running_platform(tmp_path_factory.mktemp("slow"), None, **settings) as platform:
        api = Api(platform)
        yield api
        api.close()


def test_an_issue_is_accepted_with_202_processing_and_retry_after(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    answer = api.issue(seller, body)
    assert answer.status == 202 and answer.code == "0000"
    assert answer.data["status"] == "PROCESSING" and answer.data["requestSerialNo"] == body["requestSerialNo"]
    assert answer.data["invoiceNo"] is None
    assert int(answer.header("Retry-After") or "0") >= 1


def test_the_202_answer_carries_an_accept_number(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(seller.tax_id))
    assert answer.status == 202 and answer.data.get("acceptNo")


def test_the_look_up_by_serial_shows_processing_then_issued(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    assert api.issue(seller, body).status == 202
    assert api.by_serial(seller, body["requestSerialNo"]).data["status"] == "PROCESSING"
    final = api.settled(seller, body["requestSerialNo"])
    assert final["status"] == "ISSUED" and len(final["invoiceNo"]) == 20 and final["issueTime"]


def test_a_replay_while_processing_is_e3003_with_retry_after(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    assert api.issue(seller, body).status == 202
    again = api.issue(seller, body)
    assert again.refused("E3003", 409)
    assert int(again.header("Retry-After") or "0") >= 1


def test_identical_concurrent_requests_make_one_invoice(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: api.issue(seller, body), range(6)))
    assert sorted(a.status for a in answers) == [202] + [409] * 5
    assert all(a.code == "E3003" for a in answers if a.status == 409)
    api.settled(seller, body["requestSerialNo"])
    assert api.call("GET", "/invoices", who=seller).data["total"] == 1


def test_a_changed_payload_while_processing_is_still_e3002(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    assert api.issue(seller, body).status == 202
    changed = {**body, "orderRef": "another order"}
    assert api.issue(seller, changed).refused("E3002", 409)


def test_a_replay_after_processing_returns_the_issued_original(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    assert api.issue(seller, body).status == 202
    final = api.settled(seller, body["requestSerialNo"])
    again = api.issue(seller, body)
    assert again.status == 200 and again.data["replayed"] is True
    assert again.data["invoiceNo"] == final["invoiceNo"] and again.data["status"] == "ISSUED"


def test_sync_mode_waits_for_the_final_status(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(seller.tax_id), mode="sync")
    assert answer.status == 200 and answer.data["status"] == "ISSUED" and len(answer.data["invoiceNo"]) == 20


def test_sync_mode_past_its_timeout_is_e9004_and_the_invoice_still_lands(slow_api: Api) -> None:
    who = slow_api.taxpayer()
    body = invoice(who.tax_id)
    answer = slow_api.issue(who, body, mode="sync")
    assert answer.refused("E9004", 504)
    final = slow_api.settled(who, body["requestSerialNo"])
    assert final["status"] == "ISSUED"


def test_the_list_filters_processing_and_issued(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    assert api.issue(seller, body).status == 202

    def count(status: str) -> int:
        return int(api.call("GET", "/invoices", who=seller, params={"status": status}).data["total"])

    assert (count("PROCESSING"), count("ISSUED")) == (1, 0)
    api.settled(seller, body["requestSerialNo"])
    assert (count("PROCESSING"), count("ISSUED")) == (0, 1)


def test_a_batch_item_goes_from_processing_to_issued(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    batch = api.call("POST", "/invoices/batch", who=seller, json={"items": [body]})
    assert batch.status == 202
    assert batch.data["items"][0]["accepted"] is True
    final = api.settled(seller, body["requestSerialNo"])
    status = api.call("GET", f"/invoices/batch/{batch.data['batchId']}", who=seller)
    assert status.data["items"][0]["invoice"]["invoiceNo"] == final["invoiceNo"]
