"""Taxpayer identifiers: the 18-char unified social credit code (GB 32100) and legacy formats."""

from __future__ import annotations

import functools
import re

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_LEGACY = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{17}$|^[0-9A-Z]{20}$")
_GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
GSTIN_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    total = sum(USCC_CHARSET.index(ch) * weight for ch, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True for an 18-character code whose charset and check character are right."""
    if len(code) != 18 or any(ch not in USCC_CHARSET for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


@functools.lru_cache(maxsize=65_536)
def is_valid_tax_id(code: str) -> bool:
    """A USCC with a correct checksum, or a legacy 15/17/20-character id (format only)."""
    if len(code) == 18:
        return is_valid_uscc(code)
    return bool(_LEGACY.match(code))


def gstin_check_char(first14: str) -> str:
    """The check character of an Indian GSTIN (base 36, factors alternating 1 and 2, digits of products summed)."""
    total = 0
    for position, ch in enumerate(first14):
        product = GSTIN_CHARSET.index(ch) * (2 if position % 2 else 1)
        total += product // 36 + product % 36
    return GSTIN_CHARSET[(36 - total % 36) % 36]


def is_gstin(code: str) -> bool:
    """An Indian GSTIN: state code, PAN, entity number, Z and a correct check character. Its invoices follow GST
    rules (the rates of ``gst_rates``)."""
    return bool(_GSTIN.match(code)) and gstin_check_char(code[:14]) == code[14]
