"""A seeded order generator: valid tax ids, rates and totals, the same orders for the same seed."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from decimal import Decimal

from taxstorm.clients.orders import Order, OrderLine
from taxstorm.mock_platform.dialects import Regime
from taxstorm.mock_platform.taxid import gstin_check_char

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_RATES = tuple(Decimal(r) for r in ("0.13", "0.09", "0.06", "0.03", "0.01"))
_ITEMS = ("咖啡 coffee", "茶叶 tea", "软件服务 software", "运输服务 freight", "图书 books", "文具 stationery")
_GST_RATES = tuple(Decimal(r) for r in ("0.05", "0.12", "0.18", "0.28"))
_GST_ITEMS = ("Consulting services", "Software licence", "Freight", "Office chairs", "Printed books", "Tea")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE36 = "0123456789" + _LETTERS


def make_gstin(rng: random.Random) -> str:
    """A random Indian GSTIN: state code, a PAN (5 letters, 4 digits, a letter), entity number, Z, check char."""
    pan = "".join(rng.choice(_LETTERS) for _ in range(5)) + f"{rng.randrange(10_000):04d}" + rng.choice(_LETTERS)
    body = f"{rng.randint(1, 37):02d}{pan}{rng.choice('123456789')}Z"
    return body + gstin_check_char(body)


def short_tag(run_tag: str) -> str:
    """Five base-36 characters for a run: IRP document numbers hold 16 characters at most."""
    value = int(hashlib.sha256(run_tag.encode()).hexdigest(), 16)
    return "".join(_BASE36[(value // 36**i) % 36] for i in range(5)).replace("0", "Z")


def make_uscc(rng: random.Random) -> str:
    """A random 18-character unified social credit code with a correct GB 32100 check character."""
    body = "91" + "".join(rng.choice("0123456789") for _ in range(6)) + "".join(rng.choice(_CHARSET) for _ in range(9))
    weighted = sum(_CHARSET.index(ch) * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return body + _CHARSET[-weighted % 31]


@dataclass(frozen=True)
class Seller:
    """A seller identity: one point of sale or ERP tenant."""

    tax_id: str
    name: str


class OrderGenerator:
    """Orders for many sellers; ``orderRef`` values are unique within a run and reproducible by seed. Regime ``IN``
    (the irp dialect): GSTIN sellers and buyers, GST rates, every order B2B (India e-invoices B2B supplies), and
    order references that fit an IRP document number (``<5-char run tag>/<7 digits>``)."""

    def __init__(self, seed: int, run_tag: str, regime: Regime = "CN") -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._run_tag = short_tag(run_tag) if regime == "IN" else run_tag
        self._separator = "/" if regime == "IN" else "-"
        self._regime = regime
        self._count = 0

    def _tax_id(self, rng: random.Random) -> str:
        return make_gstin(rng) if self._regime == "IN" else make_uscc(rng)

    def seller(self, index: int) -> Seller:
        rng = random.Random(f"{self._seed}-seller-{index}")
        return Seller(self._tax_id(rng), f"taxstorm seller {index:04d}")

    def buyer(self, index: int) -> Seller:
        """A business buyer (it has a tax id): B2B orders are invoiced to one, and it verifies what it gets."""
        rng = random.Random(f"{self._seed}-buyer-{index}")
        return Seller(self._tax_id(rng), f"taxstorm buyer {index:04d}")

    def order(self, seller: Seller) -> Order:
        """A point-of-sale (B2C) order: one to four small lines, an ordinary invoice to a consumer (in India, a
        B2B invoice to one of 50 business buyers: e-invoicing is for B2B supplies)."""
        order = self._order(seller, lines=self._rng.randint(1, 4), max_price_cents=500_000, max_quantity=20)
        if self._regime == "IN":
            buyer = self.buyer(self._rng.randrange(50))
            return replace(order, buyer_name=buyer.name, buyer_tax_id=buyer.tax_id, invoice_type="01")
        return order

    def b2b_order(self, seller: Seller, buyers: int = 50) -> Order:
        """An ERP (B2B) order: many larger lines, a special VAT invoice (专票) to a business buyer."""
        buyer = self.buyer(self._rng.randrange(buyers))
        order = self._order(seller, lines=self._rng.randint(5, 20), max_price_cents=500_000, max_quantity=20)
        return replace(order, buyer_name=buyer.name, buyer_tax_id=buyer.tax_id, invoice_type="01")

    def _order(self, seller: Seller, lines: int, max_price_cents: int, max_quantity: int) -> Order:
        self._count += 1
        rng = self._rng
        return Order(
            order_ref=f"{self._run_tag}{self._separator}{self._count:07d}",
            seller_tax_id=seller.tax_id,
            seller_name=seller.name,
            buyer_name="个人 consumer",
            lines=tuple(
                OrderLine(
                    item_name=rng.choice(_GST_ITEMS if self._regime == "IN" else _ITEMS),
                    quantity=Decimal(rng.randint(1, max_quantity)),
                    unit_price=Decimal(rng.randint(100, max_price_cents)) / 100,
                    tax_rate=rng.choice(_GST_RATES if self._regime == "IN" else _RATES),
                )
                for _ in range(lines)
            ),
        )
