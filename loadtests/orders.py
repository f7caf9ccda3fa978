"""A seeded order generator: valid tax ids, rates and totals, the same orders for the same seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal

from taxstorm.clients.orders import Order, OrderLine

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_RATES = tuple(Decimal(r) for r in ("0.13", "0.09", "0.06", "0.03", "0.01"))
_ITEMS = ("咖啡 coffee", "茶叶 tea", "软件服务 software", "运输服务 freight", "图书 books", "文具 stationery")


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
    """Orders for many sellers; ``orderRef`` values are unique within a run and reproducible by seed."""

    def __init__(self, seed: int, run_tag: str) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._run_tag = run_tag
        self._count = 0

    def seller(self, index: int) -> Seller:
        rng = random.Random(f"{self._seed}-seller-{index}")
        return Seller(make_uscc(rng), f"taxstorm seller {index:04d}")

    def buyer(self, index: int) -> Seller:
        """A business buyer (it has a tax id): B2B orders are invoiced to one, and it verifies what it gets."""
        rng = random.Random(f"{self._seed}-buyer-{index}")
        return Seller(make_uscc(rng), f"taxstorm buyer {index:04d}")

    def order(self, seller: Seller) -> Order:
        """A point-of-sale (B2C) order: one to four small lines, an ordinary invoice to a consumer."""
        return self._order(seller, lines=self._rng.randint(1, 4), max_price_cents=500_000, max_quantity=20)

    def b2b_order(self, seller: Seller, buyers: int = 50) -> Order:
        """An ERP (B2B) order: many larger lines, a special VAT invoice (专票) to a business buyer."""
        buyer = self.buyer(self._rng.randrange(buyers))
        order = self._order(seller, lines=self._rng.randint(5, 20), max_price_cents=500_000, max_quantity=20)
        return replace(order, buyer_name=buyer.name, buyer_tax_id=buyer.tax_id, invoice_type="01")

    def _order(self, seller: Seller, lines: int, max_price_cents: int, max_quantity: int) -> Order:
        self._count += 1
        rng = self._rng
        return Order(
            order_ref=f"{self._run_tag}-{self._count:07d}",
            seller_tax_id=seller.tax_id,
            seller_name=seller.name,
            buyer_name="个人 consumer",
            lines=tuple(
                OrderLine(
                    item_name=rng.choice(_ITEMS),
                    quantity=Decimal(rng.randint(1, max_quantity)),
                    unit_price=Decimal(rng.randint(100, max_price_cents)) / 100,
                    tax_rate=rng.choice(_RATES),
                )
                for _ in range(lines)
            ),
        )
