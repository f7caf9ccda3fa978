"""Batch issuing: at most 100 items, each accepted or refused on its own (partial success is normal), the batch's
status by id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.support import Answer, Api, Item, Taxpayer, invoice, uscc

pytestmark = pytest.mark.integration

BATCH_MAX = 100


def submit(api: Api, who: Taxpayer, items: list[dict[str, Any]]) -> Answer:
    return api.call("POST", "/invoices/batch", who=who, json={"items": items})


def test_a_batch_is_accepted_with_202_and_a_batch_id(api: Api, seller: Taxpayer) -> None:
    answer = submit(api, seller, [invoice(seller.tax_id) for _ in range(3)])
    assert answer.status == 202 and isinstance(answer.data["batchId"], str) and answer.data["batchId"]


def test_each_item_is_accepted_or_refused_on_its_own(api: Api, seller: Taxpayer) -> None:
    good = invoice(seller.tax_id)
    bad_rate = invoice(seller.tax_id, items=(Item("1", "10.00", "0.17"),))
    other_seller = invoice(uscc())
    bad_totals = invoice(seller.tax_id)
    bad_totals["totals"]["tax"] = "0.01"
    answer = submit(api, seller, [good, bad_rate, other_seller, bad_totals])
    assert answer.status == 202
    items = answer.data["items"]
    assert [item["accepted"] for item in items] == [True, False, False, False]
    assert [item.get("code") for item in items[1:]] == ["E2004", "E1005", "E2002"]
    assert [item.get("field") for item in items[1:]] == ["lines[0].taxRate", "seller.taxId", "totals.tax"]
    assert api.by_serial(seller, good["requestSerialNo"]).data["status"] == "ISSUED"
    assert api.by_serial(seller, bad_rate["requestSerialNo"]).refused("E3004", 404)


def test_an_item_that_breaks_the_schema_is_refused_alone(api: Api, seller: Taxpayer) -> None:
    broken = invoice(seller.tax_id)
    del broken["lines"]
    answer = submit(api, seller, [broken, invoice(seller.tax_id)])
    items = answer.data["items"]
    assert items[0]["accepted"] is False and items[0]["code"] == "E2001" and items[0]["field"] == "lines"
    assert items[1]["accepted"] is True


def test_the_batch_status_reports_every_item(api: Api, seller: Taxpayer) -> None:
    good = [invoice(seller.tax_id) for _ in range(2)]
    refused = invoice(seller.tax_id, items=(Item("1", "10.00", "0.17"),))
    batch_id = submit(api, seller, [*good, refused]).data["batchId"]
    status = api.call("GET", f"/invoices/batch/{batch_id}", who=seller)
    assert status.status == 200 and status.data["batchId"] == batch_id and status.data["total"] == 3
    items = status.data["items"]
    assert [item["requestSerialNo"] for item in items] == [b["requestSerialNo"] for b in [*good, refused]]
    numbers = [item["invoice"]["invoiceNo"] for item in items[:2]]
    assert all(len(n) == 20 for n in numbers) and items[2]["accepted"] is False
    assert status.data["counts"] == {"ISSUED": 2, "REJECTED": 1}


def test_a_batch_item_replaying_an_earlier_serial_is_not_issued_twice(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    first = api.issue(seller, body)
    items = submit(api, seller, [body]).data["items"]
    assert items[0]["accepted"] is True and items[0]["replayed"] is True
    assert api.call("GET", "/invoices", who=seller).data["total"] == 1
    assert api.by_serial(seller, body["requestSerialNo"]).data["invoiceNo"] == first.data["invoiceNo"]


def test_a_batch_of_100_items_is_accepted(api: Api, seller: Taxpayer) -> None:
    answer = submit(api, seller, [invoice(seller.tax_id) for _ in range(BATCH_MAX)])
    assert answer.status == 202 and all(item["accepted"] for item in answer.data["items"])


def test_a_batch_of_101_items_is_refused_whole(api: Api, seller: Taxpayer) -> None:
    answer = submit(api, seller, [invoice(seller.tax_id) for _ in range(BATCH_MAX + 1)])
    assert answer.refused("E2001", 400, "items")
    assert api.call("GET", "/invoices", who=seller).data["total"] == 0


def test_an_empty_batch_is_refused(api: Api, seller: Taxpayer) -> None:
    assert submit(api, seller, []).refused("E2001", 400)


def test_an_unknown_batch_is_e3004(api: Api, seller: Taxpayer) -> None:
    assert api.call("GET", "/invoices/batch/no-such-batch", who=seller).refused("E3004", 404)


def test_another_sellers_batch_is_not_visible(api: Api, seller: Taxpayer) -> None:
    batch_id = submit(api, seller, [invoice(seller.tax_id)]).data["batchId"]
    assert api.call("GET", f"/invoices/batch/{batch_id}", who=api.taxpayer()).refused("E3004", 404)
