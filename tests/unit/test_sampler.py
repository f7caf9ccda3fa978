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
    assert issue_traffic(primary)[:2] == (13, 10)  # (submissions, look-ups)
    assert issue_traffic(primary, secondary)[:2] == (18, 11)
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


def test_a_sample_taken_at_the_same_moment_as_an_earlier_one_goes_after_it() -> None:
    owed = iter([100, 0])  # a drain that took no time on the run clock: the last word is 0, whatever the values
    sampler = Sampler(lambda: 60.0, lambda: next(owed), lambda: 0, lambda: IssueTraffic(0, 0))
    sampler.sample()
    sampler.sample()
    assert sampler.backlog == [(60.0, 100), (60.0, 0)]


def test_started_on_a_loop_it_samples_at_once_then_every_period_and_survives_a_failing_hook() -> None:
    from taxstorm.run_loop import VirtualLoop

    loop = VirtualLoop(start_s=0.0)
    ticks: list[float] = []

    def on_sample(now: float) -> None:
        ticks.append(now)
        raise RuntimeError("a progress line that breaks")

    sampler = Sampler(loop.monotonic, lambda: 1, lambda: 2, lambda: IssueTraffic(0, 0), on_sample)
    sampler.start(loop)
    loop.sleep(3.5)
    sampler.stop()
    assert ticks == [0.0, 1.0, 2.0, 3.0] and sampler.errors == {"on_sample": 4}
    assert [t for t, _ in sampler.backlog] == [0.0, 1.0, 2.0, 3.0, 3.5]  # and one more as it stops


def test_the_platforms_counters_name_their_epoch_which_a_reset_or_a_new_process_changes() -> None:
    from taxstorm.mock_platform.stats import RequestCounters

    counters = RequestCounters()
    counters.started()
    counters.finished("POST", "/api/v1/invoices", 202)
    first = counters.snapshot()
    assert first["requests"][0]["count"] == 1 and first["epoch"] == counters.snapshot()["epoch"]
    counters.reset()
    assert counters.snapshot()["epoch"] != first["epoch"] and counters.snapshot()["requests"] == []
    assert RequestCounters().snapshot()["epoch"] != first["epoch"]  # a restarted platform's process
