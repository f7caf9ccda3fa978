"""Clients broken the crude way (they raise, or return something that is not an Outcome): each must end its run
with exit 1 and its defect in the report — never exit 3 ("environment"), never a traceback on stderr only."""

from __future__ import annotations

from typing import Any

from taxstorm.clients.orders import Order
from taxstorm.clients.protocol import ClientConfig, Outcome


class _Quiet:
    """backlog, drain and close that keep the protocol: only ``issue`` is broken."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def backlog(self) -> int:
        return 0

    def drain(self, budget_s: float) -> list[Outcome]:
        return []

    def close(self) -> None:
        return None


class RaisingIssue(_Quiet):
    def issue(self, order: Order) -> Outcome:
        return self._send(order)

    def _send(self, order: Order) -> Outcome:
        raise ValueError(f"ERP adapter: cannot map order {order.order_ref} (no tax category for item)")


class DictIssue(_Quiet):
    def issue(self, order: Order) -> Any:
        return {"status": "issued", "order_ref": order.order_ref, "invoice_no": "12345"}


class NoneIssue(_Quiet):
    def issue(self, order: Order) -> Any:
        return None


def raising_factory(config: ClientConfig) -> Any:
    raise RuntimeError(f"cannot read erp.ini for seller {config.seller_tax_id}")


def raising_issue(config: ClientConfig) -> RaisingIssue:
    return RaisingIssue(config)


def dict_issue(config: ClientConfig) -> DictIssue:
    return DictIssue(config)


def none_issue(config: ClientConfig) -> NoneIssue:
    return NoneIssue(config)
