"""Small builders shared by tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from taxstorm.chaos.registry import Fault, FaultContext, default_registry
from taxstorm.clients.orders import Order, OrderLine
from taxstorm.clients.protocol import ClientConfig
from taxstorm.clients.resilient import ResilientOptions
from taxstorm.loadtests.orders import OrderGenerator, Seller
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for

SELLER = OrderGenerator(seed=7, run_tag="t").seller(0)


def order(ref: str = "ORD-1", price: str = "10.50", quantity: int = 2, rate: str = "0.13") -> Order:
    """A valid single-line order of the test seller."""
    line = OrderLine("茶叶 tea", Decimal(quantity), Decimal(price), Decimal(rate))
    return Order(ref, SELLER.tax_id, SELLER.name, "buyer", (line,))


def fetch(taxpayer: str = SELLER.tax_id, key: str = DEV_CREDENTIAL_KEY) -> dict[str, str]:
    """The body of a token request with the taxpayer's own credential (a platform on ``key``)."""
    client_id, secret = credentials_for(key, taxpayer)
    return {"clientId": client_id, "clientSecret": secret, "taxpayerId": taxpayer}


def client_config(base_url: str, state_dir: Path, seller: Seller = SELLER, **changes: Any) -> ClientConfig:
    """A client's config for ``seller`` with its own credential on a platform with the development key."""
    client_id, secret = credentials_for(DEV_CREDENTIAL_KEY, seller.tax_id)
    return ClientConfig(base_url, seller.tax_id, seller.name, state_dir, client_id, secret, **changes)


def http_token(url: str, taxpayer: str = SELLER.tax_id) -> dict[str, str]:
    """Authorization headers for a taxpayer from a running platform."""
    import httpx

    answer = httpx.post(f"{url}/api/v1/auth/token", json=fetch(taxpayer), timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['data']['accessToken']}"}


def build_fault(context: FaultContext, **spec: Any) -> Fault[Any]:
    """A registered fault from its scenario form (``type`` plus parameters), applied at 0 by default."""
    registry = default_registry()
    parsed = registry.get(spec["type"]).spec_type.model_validate({"at_s": 0, **spec})
    return registry.create(parsed, context, spec["type"])


def fast_resilient(**changes: Any) -> ResilientOptions:
    """Resilient client options for tests: short timeouts and backoffs, a quick drain; ``changes`` on top."""
    fast: dict[str, Any] = {
        "connect_timeout_s": 0.5,
        "read_timeout_s": 0.5,
        "issue_budget_s": 2.0,
        "max_attempts": 3,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.2,
        "breaker_fail_max": 20,
        "drain_rate_per_s": 50,
    }
    return ResilientOptions(**{**fast, **changes})
