"""GB 32100 unified social credit codes: the platform's validator against the load generator."""

from __future__ import annotations

import random

from taxstorm.loadtests.orders import make_uscc
from taxstorm.mock_platform.taxid import is_valid_tax_id, is_valid_uscc, uscc_check_char


def test_known_code_passes_and_a_changed_check_char_fails() -> None:
    code = "91350100M000100Y43"
    assert is_valid_uscc(code)
    assert not is_valid_uscc(code[:-1] + "4")


def test_forbidden_letters_and_lengths_fail() -> None:
    assert not is_valid_uscc("91350100M000100YI3")  # I is not in the charset
    assert not is_valid_uscc("91350100M000100Y4")


def test_generated_codes_are_valid_and_single_char_changes_are_caught() -> None:
    rng = random.Random(1)
    for _ in range(200):
        code = make_uscc(rng)
        assert is_valid_uscc(code)
        assert uscc_check_char(code[:17]) == code[17]
        position = rng.randrange(17)
        replacement = "0" if code[position] != "0" else "1"
        assert not is_valid_uscc(code[:position] + replacement + code[position + 1 :])


def test_legacy_formats_are_format_checked() -> None:
    assert is_valid_tax_id("110101123456789")  # 15
    assert is_valid_tax_id("11010112345678901")  # 17
    assert is_valid_tax_id("11010112345678901234")  # 20
    assert not is_valid_tax_id("1101011234")
    assert not is_valid_tax_id("110101-23456789")
