"""Every platform fault on the Nuonuo dialect, expressed as Nuonuo expresses it: each row puts one condition in
force through the admin API and asserts what a Nuonuo client sees. A fault mode added to the platform without a
row here fails the completeness test."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from taxstorm.mock_platform.dialects.nuonuo import codes
from taxstorm.mock_platform.errors import ErrorCode
from taxstorm.mock_platform.fault_modes import MODES, RELEASES
from tests.nuonuo_helpers import ISSUE, NuonuoCaller, nuonuo_order, nuonuo_platform
from tests.platform_helpers import ADMIN


@dataclass(frozen=True)
class Row:
    """A condition (admin calls), then what an issue and a query of order NN-1 answer under it."""

    admin: list[tuple[str, str, dict[str, Any]]]
    issue: str  # the issue's code ("504": HTTP 504 and no JSON)
    query: str | None = None  # the query's code, or "status:<s>" for an E0000 with that status
    check: Callable[[NuonuoCaller, dict[str, Any]], None] | None = None
    before: list[str] = field(default_factory=list)  # order numbers issued before the condition


def _slow(ms: float) -> Callable[[NuonuoCaller, dict[str, Any]], None]:
    def check(nn: NuonuoCaller, _: dict[str, Any]) -> None:
        started = time.monotonic()
        assert nn.issue(nuonuo_order("NN-slow"))["code"] == "E0000"
        assert time.monotonic() - started >= ms / 1000  # the fault's wait is in the answer

    return check


def _no_number(nn: NuonuoCaller, answer: dict[str, Any]) -> None:
    (item,) = answer["result"]
    assert item["status"] == "2" and item["invoiceNo"] == ""  # the bad release lost the number: a client must see it


def _wrong_total(nn: NuonuoCaller, answer: dict[str, Any]) -> None:
    (item,) = answer["result"]
    assert item["orderAmount"] != "106.00"  # truncated tax: a careful client compares the total


def _named(text: str) -> Callable[[NuonuoCaller, dict[str, Any]], None]:
    def check(nn: NuonuoCaller, _: dict[str, Any]) -> None:
        refused = nn.issue(nuonuo_order("NN-named"))
        assert text in refused["describe"], refused

    return check


def _token_refused(code: str) -> Callable[[NuonuoCaller, dict[str, Any]], None]:
    def check(nn: NuonuoCaller, _: dict[str, Any]) -> None:
        assert nn.fetch_token()["error"] == code

    return check


def _concurrently_shed(nn: NuonuoCaller) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda i: nn.issue(nuonuo_order(f"NN-shed-{i}"))["code"], range(4)))
    assert "070203" in answers and "E0000" in answers, answers  # 服务器忙 for what the full platform sheds


def fault(route: str, **body: Any) -> tuple[str, str, dict[str, Any]]:
    return ("PUT", f"/admin/faults/{route}", body)


ROWS: dict[str, Row] = {
    "errors:busy": Row([fault("errors", code="E9003", rate=1)], "070203", "070203"),
    "errors:rate": Row(
        [fault("errors", code="E9001", rate=1, families=["issue"])], "070202", "status:2", before=["NN-1"]
    ),
    "errors:internal": Row(
        [fault("errors", code="E9005", rate=1, commit_rate=1, families=["issue"])], "0203", "status:2"
    ),
    "errors:timeout": Row([fault("errors", code="E9004", rate=1, commit_rate=0, families=["issue"])], "504", "E9500"),
    "errors:maintenance": Row([fault("errors", code="E9002", rate=1)], "040102", "040102"),
    "latency": Row([fault("latency", median_ms=40, families=["issue"])], "E0000", "status:2", _slow(40)),
    "ghost": Row([fault("ghost", rate=1)], "504", "status:2"),  # committed, the answer lost at the gateway
    "upload": Row([fault("upload", rate=1)], "E0000", "status:24"),
    "ledger-stall": Row([fault("ledger-stall", stall_ms=40)], "E0000", "status:2", _slow(40)),
    "policy": Row([fault("policy", required_fields=["remarks"])], "E4000", "E9500", _named("remarks")),
    "quota-suspension": Row([fault("quota-suspension")], "-1", "E9500", _named("授信额度已暂停")),
    "maintenance": Row(
        [("POST", "/admin/maintenance", {"duration_s": 600})], "040102", "040102", _token_refused("040102")
    ),
    "feature-off": Row([("PUT", "/admin/features/issue", {"down": True})], "040102", "040102"),
    "rate-limit": Row(
        [("PUT", "/admin/capacity/issue", {"rate_per_min": 1})],
        "E0000",
        "status:2",
        lambda nn, _: (nn.issue(nuonuo_order("NN-2"))["code"] == "070202") or pytest.fail("not limited"),
    ),
    "shed": Row(
        [
            (
                "PUT",
                "/admin/capacity/issue",
                {"concurrency": 1, "queue": 0, "policy": "shed", "service_time": {"median_ms": 300, "p99_ms": 300}},
            )
        ],
        "E0000",
        "status:2",
        lambda nn, _: _concurrently_shed(nn),
    ),
    "token-revocation": Row([("POST", "/admin/tokens/revoke", {})], "070301", "070301"),
    "reverify": Row([("POST", "/admin/reverify", {})], "E0000", "status:2", _token_refused("-1")),
    "release:bad-5xx-by-serial": Row([("PUT", "/admin/release", {"name": "bad-5xx-by-serial"})], "E0000", "0203"),
    "release:renamed-field": Row(
        [("PUT", "/admin/release", {"name": "renamed-field"})], "E0000", "status:2", _no_number
    ),
    "release:latency-leak": Row([("PUT", "/admin/release", {"name": "latency-leak"})], "E0000", "status:2"),
    "release:wrong-rounding": Row(
        [("PUT", "/admin/release", {"name": "wrong-rounding"})], "E0000", "status:2", _wrong_total
    ),
    "release:stable": Row([("PUT", "/admin/release", {"name": "stable"})], "E0000", "status:2"),
}


def test_every_fault_mode_and_release_has_a_row() -> None:
    assert {key.split(":")[0] for key in ROWS} >= set(MODES)
    assert {key.removeprefix("release:") for key in ROWS if key.startswith("release:")} == set(RELEASES)


def test_every_native_error_has_a_nuonuo_expression_or_is_named_undocumented() -> None:
    undocumented = {e for e in ErrorCode if codes.for_native(e) is codes.UNKNOWN}
    # what Nuonuo publishes no code for: it reaches a Nuonuo client as -1 未知异常 with the platform's words
    assert undocumented == {
        ErrorCode.REVERIFY,
        ErrorCode.QUOTA_EXCEEDED,
        ErrorCode.QUOTA_SUSPENDED,
        ErrorCode.QUOTA_PERIOD_EXPIRED,
        ErrorCode.SEGMENT_EXHAUSTED,
        ErrorCode.RED_CONFIRMATION_NEEDED,
        ErrorCode.RED_CONFIRMATION_VOID,
        ErrorCode.RED_EXCEEDS_BLUE,
        ErrorCode.BLUE_NOT_FOUND,
        ErrorCode.VERIFY_LIMIT,
        ErrorCode.VERIFY_TOO_OLD,
        ErrorCode.TIMEOUT,  # not an envelope at all: the gateway's 504
    }


@pytest.mark.parametrize("name", list(ROWS))
def test_a_fault_reaches_a_nuonuo_client_in_nuonuo_terms(tmp_path: Path, name: str) -> None:
    row = ROWS[name]
    with nuonuo_platform(tmp_path) as nn:
        for order_no in row.before:
            assert nn.issue(nuonuo_order(order_no))["code"] == "E0000"
        for method, path, body in row.admin:
            answer = nn.client.request(method, path, json=body, headers=ADMIN)
            assert answer.status_code == 200, answer.text
        issued = nn.call(ISSUE, {"order": nuonuo_order("NN-1")})
        if row.issue == "504":
            assert issued.status_code == 504 and not issued.headers["content-type"].startswith("application/json")
        else:
            assert issued.status_code == 200 and issued.json()["code"] == row.issue, issued.text
        if row.query is not None:
            queried = nn.query("NN-1")
            if row.query.startswith("status:"):
                assert queried["code"] == "E0000", queried
                assert queried["result"][0]["status"] == row.query.removeprefix("status:")
            else:
                assert queried["code"] == row.query, queried
        if row.check is not None:
            row.check(nn, nn.query("NN-1") if row.query and row.query.startswith("status:") else {})
