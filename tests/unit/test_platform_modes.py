"""Maintenance notices, switched-off features and re-verification: E9002, E9006, E1004 and /status."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests import helpers
from tests.conftest import Ledger
from tests.helpers import SELLER, order
from tests.platform_helpers import ADMIN, platform_app, token


def issue(client: TestClient, headers: dict[str, str], serial: str = "S-1") -> Any:
    return client.post("/api/v1/invoices", json=order("A").invoice_payload(serial), headers=headers)


def test_maintenance_is_announced_ahead_then_refuses_with_retry_after(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, clock):
        headers = token(client)
        notice = client.post(
            "/admin/maintenance",
            json={"start_in_s": 3600, "duration_s": 7200, "features": ["red", "verify"]},
            headers=ADMIN,
        ).json()
        published = client.get("/api/v1/notices").json()["data"]["notices"]
        assert [n["id"] for n in published] == [notice["id"]]
        assert published[0]["affectedFeatures"] == ["red", "verify"] and published[0]["directConnectAffected"]
        body = {"invoiceNo": "26421000000000000001", "issueDate": "2026-11-18", "totalWithTax": "1.00"}
        assert client.post("/api/v1/verify", json=body, headers=headers).status_code == 200  # not yet
        clock.advance(3600)
        refused = client.post("/api/v1/verify", json=body, headers=token(client))
        assert refused.status_code == 503 and refused.json()["code"] == "E9002"
        assert refused.json()["data"]["noticeId"] == notice["id"] and refused.headers["Retry-After"] == "7200"
        assert issue(client, token(client)).status_code == 200  # issuing is not in this window
        status = client.get("/api/v1/status").json()["data"]["features"]
        assert status["verify"] == "DOWN" and status["red"] == "DOWN" and status["issue"] == "UP"
        clock.advance(7200)
        assert client.post("/api/v1/verify", json=body, headers=token(client)).status_code == 200
        assert client.get("/api/v1/notices").json()["data"]["notices"] == []


def test_portal_only_maintenance_leaves_the_api_up_but_degraded(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        client.post(
            "/admin/maintenance",
            json={"duration_s": 60, "features": ["issue"], "direct_connect_affected": False},
            headers=ADMIN,
        )
        assert issue(client, token(client)).status_code == 200
        assert client.get("/api/v1/status").json()["data"]["features"]["issue"] == "DEGRADED"


def test_whole_platform_maintenance_stops_even_auth_until_withdrawn(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        headers = token(client)
        notice = client.post("/admin/maintenance", json={"duration_s": 600}, headers=ADMIN).json()
        assert issue(client, headers).json()["code"] == "E9002"
        fetch = helpers.fetch(SELLER.tax_id)
        assert client.post("/api/v1/auth/token", json=fetch).json()["code"] == "E9002"
        assert client.get("/health").status_code == 200  # liveness is not an API feature
        rows = client.get("/admin/stats", headers=ADMIN).json()["requests"]
        counted = {(r["method"], r["route"], r["status"]): r["count"] for r in rows}
        assert counted[("POST", "/api/v1/invoices", 503)] == 1  # refused before routing, counted on its route
        assert client.delete(f"/admin/maintenance/{notice['id']}", headers=ADMIN).json() == {"withdrawn": True}
        assert issue(client, headers).status_code == 200


def test_feature_switched_off_answers_e9006_for_a_while(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, clock):
        headers = token(client)
        client.put("/admin/features/issue", json={"down": True, "for_s": 30}, headers=ADMIN)
        refused = issue(client, headers)
        assert refused.status_code == 503 and refused.json()["code"] == "E9006"
        assert client.get("/api/v1/invoices/by-serial/S-1", headers=headers).json()["code"] == "E9006"
        assert client.get("/api/v1/status").json()["data"]["features"]["issue"] == "DOWN"
        clock.advance(30)
        assert issue(client, headers).status_code == 200
        client.put("/admin/features/quota", json={"down": True}, headers=ADMIN)
        assert client.get("/api/v1/quota", headers=headers).json()["code"] == "E9006"
        client.put("/admin/features/quota", json={"down": False}, headers=ADMIN)
        assert client.get("/api/v1/quota", headers=headers).status_code == 200


def test_reverification_blocks_new_tokens_with_e1004(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        client.post("/admin/tokens/revoke", json={"taxpayers": [SELLER.tax_id]}, headers=ADMIN)
        client.post("/admin/reverify", json={"taxpayers": [SELLER.tax_id]}, headers=ADMIN)
        fetch = helpers.fetch(SELLER.tax_id)
        refused = client.post("/api/v1/auth/token", json=fetch)
        assert refused.status_code == 403 and refused.json()["code"] == "E1004"
        client.post("/admin/reverify", json={"taxpayers": [SELLER.tax_id], "required": False}, headers=ADMIN)
        assert client.post("/api/v1/auth/token", json=fetch).status_code == 200


def test_unexpected_errors_are_e9005_never_a_bare_500(ledger: Ledger) -> None:
    with platform_app(ledger) as (client, _):
        state = client.app.state.platform  # type: ignore[attr-defined]

        def broken(*_: object) -> None:
            raise RuntimeError("disk on fire")

        state.issuing.accept = broken  # inside the shared transaction of a group commit
        answer = issue(client, token(client))
        assert answer.status_code == 500 and answer.json()["code"] == "E9005"
        assert "query by serial" in answer.json()["message"]
        assert answer.headers["X-Api-Version"] and answer.headers["X-Trace-Id"]
