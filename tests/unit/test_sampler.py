"""The sampler's issue-family counts: submissions (POST) apart from look-ups (GET), summed over platforms."""

from __future__ import annotations

from typing import Any

from taxstorm.sampler import IssueTraffic, Sampler, issue_traffic


def stats(*rows: tuple[str, str, int]) -> dict[str, Any]:
    return {"requests": [{"method": m, "route": r, "status": 200, "count": n} for m, r, n in rows]}


def test_issue_traffic_splits_submissions_from_look_ups_and_ignores_other_families() -> None:
    primary = stats(
        ("POST", "/api/v1/invoices", 10),
        ("POST", "/api/v1/invoices/batch", 2),
        ("POST", "/api/v1/invoices/{invoiceNo}/red", 1),
        ("GET", "/api/v1/invoices/by-serial/{serial}", 7),
        ("GET", "/api/v1/invoices", 3),
        ("POST", "/api/v1/auth/token", 50),
        ("GET", "/api/v1/status", 40),
    )
    secondary = stats(("POST", "/api/v1/invoices", 5), ("GET", "/api/v1/invoices/by-serial/{serial}", 1))
    assert issue_traffic(primary) == IssueTraffic(submissions=13, lookups=10)
    assert issue_traffic(primary, secondary) == IssueTraffic(submissions=18, lookups=11)
    assert issue_traffic() == IssueTraffic(0, 0)


def test_a_failed_read_is_counted_and_skipped_in_both_series() -> None:
    now = [0.0]
    reads = iter([IssueTraffic(3, 4), None, IssueTraffic(9, 12)])

    def traffic() -> IssueTraffic:
        value = next(reads)
        if value is None:
            raise ConnectionError("platform down")
        return value

    sampler = Sampler(lambda: now[0], lambda: 0, lambda: 0, traffic)
    for t in (1.0, 2.0, 3.0):
        now[0] = t
        sampler.sample()
    assert sampler.platform_submissions == [(1.0, 3), (3.0, 9)]
    assert sampler.platform_lookups == [(1.0, 4), (3.0, 12)]
    assert sampler.errors == {"platform_requests": 1}
