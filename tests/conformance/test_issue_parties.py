"""Issue validation beyond the arithmetic: tax ids and their GB 32100 check character, the buyer of a 专票 (01),
the invoice type, the line limit, the request serial's format, required fields and the 乐企 pinyin aliases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance.support import Api, Item, Taxpayer, invoice, serial, uscc, wrong_check_char

pytestmark = pytest.mark.integration

MAX_LINES = 100


def with_buyer(api: Api, who: Taxpayer, buyer_tax_id: str, invoice_type: str = "02") -> Any:
    return api.issue(who, invoice(who.tax_id, buyer_tax_id=buyer_tax_id, invoice_type=invoice_type))


def test_a_buyer_tax_id_with_the_right_check_character_is_accepted(api: Api, seller: Taxpayer) -> None:
    buyer = uscc()
    answer = with_buyer(api, seller, buyer)
    assert answer.status == 200 and answer.data["buyerTaxId"] == buyer


def test_a_buyer_tax_id_with_a_wrong_check_character_is_e2003(api: Api, seller: Taxpayer) -> None:
    assert with_buyer(api, seller, wrong_check_char(uscc())).refused("E2003", 422, "buyer.taxId")


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_a_buyer_tax_id_with_a_letter_outside_the_charset_is_e2003(api: Api, seller: Taxpayer, letter: str) -> None:
    code = uscc()
    bad = code[:10] + letter + code[11:]
    assert with_buyer(api, seller, bad).refused("E2003", 422, "buyer.taxId")


@pytest.mark.parametrize("length", [15, 17, 20])
def test_legacy_tax_ids_of_15_17_and_20_characters_pass_on_format(api: Api, seller: Taxpayer, length: int) -> None:
    legacy = ("420106" + "7" * 20)[:length]
    assert with_buyer(api, seller, legacy).status == 200


@pytest.mark.parametrize("length", [14, 16, 19])
def test_tax_ids_of_other_lengths_are_e2003(api: Api, seller: Taxpayer, length: int) -> None:
    assert with_buyer(api, seller, ("420106" + "7" * 20)[:length]).refused("E2003", 422, "buyer.taxId")


def test_a_seller_tax_id_with_a_wrong_check_character_is_refused(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(wrong_check_char(seller.tax_id)))
    assert answer.code in ("E2003", "E1005") and answer.field == "seller.taxId", answer


def test_a_special_invoice_needs_the_buyer_tax_id(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(seller.tax_id, invoice_type="01"))
    assert answer.refused("E2003", 422, "buyer.taxId"), answer


def test_a_special_invoice_with_the_buyer_tax_id_is_issued(api: Api, seller: Taxpayer) -> None:
    answer = with_buyer(api, seller, uscc(), invoice_type="01")
    assert answer.status == 200 and answer.data["invoiceType"] == "01"


def test_an_ordinary_invoice_to_a_consumer_needs_no_buyer_tax_id(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(seller.tax_id, invoice_type="02"))
    assert answer.status == 200 and answer.data["invoiceType"] == "02"


def test_an_invoice_type_other_than_01_or_02_is_e2001(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    body["invoiceType"] = "03"
    assert api.issue(seller, body).refused("E2001", 400, "invoiceType")


def test_an_invoice_of_100_lines_is_issued(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, items=[Item("1", "1.00", "0.13")] * MAX_LINES)
    answer = api.issue(seller, body)
    assert answer.status == 200 and answer.data["totals"]["amount"] == "100.00"


def test_an_invoice_of_101_lines_is_refused(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, items=[Item("1", "1.00", "0.13")] * (MAX_LINES + 1))
    assert api.issue(seller, body).refused("E2001", 400, "lines")


def test_an_invoice_without_lines_is_refused(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id)
    body["lines"] = []
    assert api.issue(seller, body).refused("E2001", 400, "lines")


def test_a_request_serial_of_64_allowed_characters_is_accepted(api: Api, seller: Taxpayer) -> None:
    answer = api.issue(seller, invoice(seller.tax_id, ("aZ09_-" * 11)[:64]))
    assert answer.status == 200


@pytest.mark.parametrize("bad", ["x" * 65, "", "S 1", "S.1", "流水号1", "S/1"])
def test_a_request_serial_outside_the_format_is_e2001(api: Api, seller: Taxpayer, bad: str) -> None:
    body = invoice(seller.tax_id)
    body["requestSerialNo"] = bad
    assert api.issue(seller, body).refused("E2001", 400, "requestSerialNo")


@pytest.mark.parametrize("field", ["requestSerialNo", "seller", "buyer", "lines", "totals"])
def test_a_missing_required_field_is_e2001_naming_it(api: Api, seller: Taxpayer, field: str) -> None:
    body = invoice(seller.tax_id)
    del body[field]
    assert api.issue(seller, body).refused("E2001", 400, field)


def test_every_optional_field_of_the_spec_is_accepted(api: Api, seller: Taxpayer) -> None:
    body = invoice(seller.tax_id, buyer_tax_id=uscc())
    contact = {"address": "武汉市江汉区", "phone": "027-12345678", "bank": "工商银行", "account": "6222020200012345678"}
    body["seller"].update(contact)
    body["buyer"].update(contact, naturalPerson=False)
    body.update(issuer="张三", remarks="备注 remarks", priceIncludesTax=False)
    body["lines"][0].update(spec="500g", unit="盒", taxCategoryCode="1030201010000000000")
    answer = api.issue(seller, body)
    assert answer.status == 200, answer
    detail = api.call("GET", f"/invoices/{answer.data['invoiceNo']}", who=seller).data
    assert detail["seller"]["address"] == "武汉市江汉区" and detail["lines"][0]["unit"] == "盒"


def pinyin(body: dict[str, Any], includes_tax: bool = False) -> dict[str, Any]:
    """The same request under the 乐企 names of DOMAIN.md §A."""
    return {
        "fpqqlsh": body["requestSerialNo"],
        "orderRef": body["orderRef"],
        "fppz": body["invoiceType"],
        "seller": {"xsfnsrsbh": body["seller"]["taxId"], "xsfmc": body["seller"]["name"]},
        "buyer": {"gmfmc": body["buyer"]["name"], "gmfzrrbz": "Y"},
        "kpr": "张三",
        "hsbz": "1" if includes_tax else "0",
        "bz": "备注 remarks",
        "lines": [
            {
                "xh": line["lineNo"],
                "xmmc": line["itemName"],
                "ggxh": "500g",
                "dw": "盒",
                "spsl": line["quantity"],
                "dj": line["unitPrice"],
                "je": line["amount"],
                "slv": line["taxRate"],
                "se": line["taxAmount"],
                "fphxz": line["lineNature"],
            }
            for line in body["lines"]
        ],
        "totals": {
            "hjje": body["totals"]["amount"],
            "hjse": body["totals"]["tax"],
            "jshj": body["totals"]["totalWithTax"],
        },
    }


def test_pinyin_field_names_are_accepted(api: Api, seller: Taxpayer) -> None:
    english = invoice(seller.tax_id, items=(Item("2", "10.50", "0.13"), Item("1", "3.00", "0.06")))
    answer = api.issue(seller, pinyin(english))
    assert answer.status == 200, answer
    assert answer.data["requestSerialNo"] == english["requestSerialNo"]
    assert answer.data["totals"] == english["totals"]


def test_pinyin_tax_included_flag_is_honoured(api: Api, seller: Taxpayer) -> None:
    english = invoice(seller.tax_id, items=(Item("2", "5.00", "0.13"),), includes_tax=True)
    answer = api.issue(seller, pinyin(english, includes_tax=True))
    assert answer.status == 200, answer
    assert answer.data["totals"] == {"amount": "8.85", "tax": "1.15", "totalWithTax": "10.00"}


def test_the_pinyin_buyer_tax_id_is_required_for_a_special_invoice(api: Api, seller: Taxpayer) -> None:
    body = pinyin(invoice(seller.tax_id))
    body["fppz"] = "01"
    assert api.issue(seller, body).refused("E2003", 422, "buyer.taxId")
    body["buyer"]["gmfnsrsbh"] = uscc()
    body["fpqqlsh"] = serial()
    assert api.issue(seller, body).status == 200
