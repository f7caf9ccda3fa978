"""The platform's fault modes as one table: the generic admin routes behave as the per-mode ones did."""

from __future__ import annotations

from typing import Any

from tests.platform_helpers import platform_app, token

ADMIN = {"Authorization": "Bearer admin-secret"}
SQLITE: dict[str, Any] = {}


def test_an_empty_family_list_means_every_family_and_a_delete_ignores_a_body() -> None:
    with platform_app(SQLITE) as (client, _):
        seller = token(client)  # before the mode: token fetches are a family too
        mode = {"code": "E9003", "rate": 1, "families": []}
        assert client.put("/admin/faults/errors", json=mode, headers=ADMIN).status_code == 200
        refused = client.get("/api/v1/invoices", headers=seller)
        assert refused.status_code == 503 and refused.json()["code"] == "E9003"
        status = client.get("/admin/faults", headers=ADMIN).json()["faults"]
        assert status == [{"mode": "error_injection", "code": "E9003", "rate": 1.0}]
        deleted = client.request("DELETE", "/admin/faults/errors", json={}, headers=ADMIN)
        assert deleted.status_code == 200 and deleted.json() == {"mode": "error_injection", "status": "reverted"}
        assert client.get("/admin/faults", headers=ADMIN).json()["faults"] == []
        assert client.get("/api/v1/invoices", headers=seller).status_code == 200


def test_a_mode_body_is_validated_with_the_field_named() -> None:
    with platform_app(SQLITE) as (client, _):
        answer = client.put("/admin/faults/ledger-stall", json={"stall_ms": 0}, headers=ADMIN)
        assert answer.status_code in (400, 422) and "stall_ms" in answer.text
        answer = client.put("/admin/faults/errors", json={"code": "E0000", "rate": 1}, headers=ADMIN)
        assert answer.status_code in (400, 422) and "unknown code 'E0000'" in answer.text
