"""A tiny invoice gateway service (the kind of client system a team would put in front of the platform),
wrapping taxstorm's resilient reference client; used by the tests of the ``http`` adapter.

Run: ``PLATFORM_URL=http://127.0.0.1:PROXY STATE_DIR=/tmp/gw uvicorn --factory examples.invoice_gateway:create_gateway``
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import Body, FastAPI

from taxstorm.clients.protocol import ClientConfig
from taxstorm.clients.resilient import ResilientClient, ResilientOptions
from taxstorm.clients.wire import order_from_json
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for


def create_gateway() -> FastAPI:
    """One resilient client per seller, created on first use."""
    platform_url = os.environ["PLATFORM_URL"]
    state_dir = Path(os.environ.get("STATE_DIR", "gateway-state"))
    credential_key = os.environ.get("CREDENTIAL_KEY", DEV_CREDENTIAL_KEY)  # the platform's credential_key
    options = ResilientOptions(read_timeout_s=float(os.environ.get("READ_TIMEOUT_S", "2")), issue_budget_s=3.0)
    clients: dict[str, ResilientClient] = {}
    app = FastAPI(title="example invoice gateway")

    def client_for(seller: dict[str, str]) -> ResilientClient:
        if seller["taxId"] not in clients:
            client_id, secret = credentials_for(credential_key, seller["taxId"])  # each seller's own credential
            config = ClientConfig(platform_url, seller["taxId"], seller["name"], state_dir, client_id, secret)
            clients[seller["taxId"]] = ResilientClient(config, options)
        return clients[seller["taxId"]]

    @app.post("/orders")
    def issue(order: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        outcome = client_for(order["seller"]).issue(order_from_json(order))
        return {
            "orderRef": outcome.order_ref,
            "status": outcome.status,
            "invoiceNo": outcome.invoice_no,
            "error": outcome.error,
        }

    @app.get("/backlog")
    def backlog() -> dict[str, int]:
        return {"backlog": sum(c.backlog() for c in clients.values())}

    @app.post("/drain")
    def drain(budgetS: float = Body(5.0, embed=True)) -> dict[str, Any]:
        outcomes = [o for c in clients.values() for o in c.drain(budgetS / max(1, len(clients)))]
        return {
            "outcomes": [
                {"orderRef": o.order_ref, "status": o.status, "invoiceNo": o.invoice_no, "error": o.error}
                for o in outcomes
            ]
        }

    return app
