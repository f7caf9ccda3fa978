"""A passive run's verdict (the load was a system of the user's own): every gate it can judge from the platform's
side fails as well as passes, and the ones it cannot are named, never passed."""

from __future__ import annotations

from dataclasses import replace

from taxstorm.chaos.executor import FaultEvent
from taxstorm.gates import (
    AmplificationGateSpec,
    ErrorRateGateSpec,
    GracefulGateSpec,
    IntegrityGateSpec,
    RecoveryTimeGateSpec,
    judged_gates,
)
from taxstorm.passive_verdict import (
    PlatformView,
    answer_kind,
    passive_gates,
    platform_recovery_times,
    platform_view,
)
from taxstorm.platform_side import PlatformSideVerdict
from taxstorm.sampler import CumulativeTraffic, IssueTraffic, issue_traffic

DOWN = FaultEvent("down", "maintenance", {}, 10.0, 20.0, applied_s=10.0, reverted_s=20.0)


def ledger(
    invoices: int = 100, submissions: int = 110, duplicated: dict[str, int] | None = None
) -> PlatformSideVerdict:
    return PlatformSideVerdict(invoices, invoices, duplicated or {}, submissions, {})


def samples(per_second: list[dict[int, int]]) -> list[tuple[float, dict[int, int]]]:
    """Cumulative samples a second apart from per-second answers by status."""
    total: dict[int, int] = {}
    taken: list[tuple[float, dict[int, int]]] = [(0.0, {})]
    for t, answers in enumerate(per_second, start=1):
        for status, count in answers.items():
            total[status] = total.get(status, 0) + count
        taken.append((float(t), dict(total)))
    return taken


def view(
    per_second: list[dict[int, int]],
    faults: list[FaultEvent],
    side: PlatformSideVerdict,
    lookups_per_second: int = 0,
) -> PlatformView:
    answers = samples(per_second)
    lookups = [(t, int(t) * lookups_per_second) for t, _ in answers]
    end_s = float(len(per_second))
    return platform_view(answers, lookups, faults, side, end_s, end_s)


def healthy(n: int = 4) -> dict[int, int]:
    return {202: n}


def test_answers_are_sorted_by_kind_as_users_outcomes() -> None:
    assert [answer_kind(s) for s in (200, 202, 400, 409, 422, 429, 500, 503, 504)] == [
        "issued",
        "issued",
        "rejected",
        "rejected",
        "rejected",
        "failed",
        "failed",
        "failed",
        "failed",
    ]


def test_the_sampler_counts_submissions_by_status() -> None:
    stats = {
        "requests": [
            {"method": "POST", "route": "/api/v1/invoices", "status": 202, "count": 5},
            {"method": "POST", "route": "/api/v1/invoices/batch", "status": 503, "count": 2},
            {"method": "POST", "route": "/api/v1/invoices", "status": 503, "count": 1},
            {"method": "GET", "route": "/api/v1/invoices/by-serial/{serial}", "status": 200, "count": 9},
            {"method": "POST", "route": "/api/v1/auth/token", "status": 200, "count": 3},
        ]
    }
    assert issue_traffic(stats) == IssueTraffic(8, 9, ((202, 5), (503, 3)))


def test_windows_and_series_come_from_the_counters_at_their_edges() -> None:
    seconds = [healthy()] * 10 + [{503: 1}] * 10 + [healthy(6)] * 10
    got = view(seconds, [DOWN], ledger())
    by_name = {w.window.name: w for w in got.windows}
    assert by_name["baseline"].operations == 40 and by_name["baseline"].outcomes["issued"] == 40
    assert by_name["down"].outcomes == {"issued": 0, "rejected": 0, "failed": 10}
    assert by_name["recovery:down"].operations == 60
    assert got.series[1].issued == 4 and got.series[15].failed == 1 and got.series[0].operations == 0


def test_a_clean_session_passes_and_what_it_cannot_see_is_not_judged() -> None:
    seconds = [healthy()] * 10 + [{}] * 10 + [healthy(8)] * 5 + [healthy()] * 5
    specs = judged_gates(
        [
            AmplificationGateSpec(window="all", max_ratio=1.5),
            AmplificationGateSpec(window="down", max_ratio=2.0),
            RecoveryTimeGateSpec(fault="down", within_s=5),
            GracefulGateSpec(budget_ms=5000),
            ErrorRateGateSpec(window="all", max_rate=0.01),
        ]
    )
    results = passive_gates(specs, view(seconds, [DOWN], ledger()))
    judged = {r.kind: r for r in results if r.judged}
    assert all(r.passed for r in results)
    assert set(judged) == {"amplification", "recovery_time", "integrity"}
    assert {r.kind for r in results if not r.judged} == {"graceful", "error_rate", "contract"}
    assert all("a passive run cannot" in r.message for r in results if not r.judged)
    # the answers of the second after the revert are read by the next sample: counted a second late, never early
    assert judged["recovery_time"].observed == 1.0


def test_a_duplicated_order_fails_integrity() -> None:
    result = passive_gates([IntegrityGateSpec()], view([healthy()] * 5, [], ledger(duplicated={"ERP-7": 2})))[0]
    assert not result.passed and result.observed == 1.0 and "ERP-7 ×2" in result.message


def test_a_retry_storm_fails_amplification_over_the_session_and_in_the_fault_window() -> None:
    storm = [healthy()] * 10 + [{503: 40}] * 10 + [healthy()] * 10
    got = view(storm, [DOWN], ledger(invoices=80, submissions=480))
    results = passive_gates(
        [AmplificationGateSpec(window="all", max_ratio=1.5), AmplificationGateSpec(window="down", max_ratio=2)], got
    )
    assert [r.passed for r in results] == [False, False]
    assert results[0].observed == 6.0
    assert results[1].observed == 10.0  # 400 submissions where the baseline's 4/s would have sent 40


def test_a_system_that_never_comes_back_fails_recovery_and_one_that_comes_back_late_fails_its_bound() -> None:
    never = [healthy()] * 10 + [{503: 1}] * 10 + [{}] * 10  # its breaker stays open: it never sends again
    late = [healthy()] * 10 + [{503: 1}] * 10 + [{}] * 6 + [healthy()] * 4
    gate = RecoveryTimeGateSpec(fault="down", within_s=5)
    assert passive_gates([gate], view(never, [DOWN], ledger()))[0].observed is None
    assert not passive_gates([gate], view(never, [DOWN], ledger()))[0].passed
    result = passive_gates([gate], view(late, [DOWN], ledger()))[0]
    assert not result.passed and result.observed == 7.0  # back 6 s after the revert, read by the next sample
    assert platform_recovery_times(view(late, [DOWN], ledger())) == {"down": 7.0}


def test_refusals_after_the_revert_delay_the_recovery() -> None:
    flaky = [healthy()] * 10 + [{503: 4}] * 10 + [{503: 2, 202: 2}] * 3 + [healthy()] * 7
    result = passive_gates([RecoveryTimeGateSpec(fault="down", within_s=5)], view(flaky, [DOWN], ledger()))[0]
    assert result.passed and result.observed == 4.0


def test_no_baseline_traffic_is_no_data_not_a_pass() -> None:
    quiet: list[dict[int, int]] = [{}] * 10 + [healthy()] * 20
    result = passive_gates([AmplificationGateSpec(window="down", max_ratio=2)], view(quiet, [DOWN], ledger()))[0]
    assert not result.passed and "no data" in result.message
    none_issued = passive_gates([AmplificationGateSpec(max_ratio=2)], view(quiet, [], ledger(invoices=0)))[0]
    assert not none_issued.passed and "no invoice" in none_issued.message


def test_counting_requests_counts_look_ups_too() -> None:
    polling = view([healthy()] * 30, [DOWN], ledger(invoices=100, submissions=100), lookups_per_second=20)
    polling = replace(polling, ledger=replace(polling.ledger, lookups=600))
    gates = [AmplificationGateSpec(window=w, max_ratio=2, count="requests") for w in ("all", "down")]
    every, window = passive_gates(gates, polling)
    assert not every.passed and every.observed == 7.0 and "look-ups too" in every.message  # (100 + 600) / 100
    assert window.passed and window.observed == 1.0  # as many look-ups in the fault as in the baseline
    storm = view([healthy()] * 10 + [healthy()] * 10 + [healthy()] * 10, [DOWN], ledger(), lookups_per_second=0)
    storm = replace(storm, lookups=[(float(t), 0 if t <= 10 else 200 * (t - 10)) for t in range(31)])
    assert not passive_gates(gates[1:], storm)[0].passed  # 2000 look-ups in the fault against none before


def test_the_baseline_rate_counts_from_the_systems_first_submission() -> None:
    late_start: list[dict[int, int]] = (
        [{}] * 6 + [healthy()] * 4 + [healthy()] * 10 + [healthy()] * 10
    )  # a game day: it came at 6 s
    result = passive_gates([AmplificationGateSpec(window="down", max_ratio=1.5)], view(late_start, [DOWN], ledger()))
    assert result[0].passed and result[0].observed == 1.0, result[0]  # not 2.5: the idle 6 s are not its rate


def test_counters_that_start_again_after_a_restart_are_carried() -> None:
    traffic = CumulativeTraffic()

    def stats(epoch: str, accepted: int, refused: int, lookups: int) -> dict[str, object]:
        rows = [
            {"method": "POST", "route": "/api/v1/invoices", "status": 202, "count": accepted},
            {"method": "POST", "route": "/api/v1/invoices", "status": 503, "count": refused},
            {"method": "GET", "route": "/api/v1/invoices/by-serial/{serial}", "status": 200, "count": lookups},
        ]
        return {"requests": rows, "epoch": epoch}

    assert traffic(stats("a", 100, 10, 5)).submissions == 110
    assert traffic(stats("a", 90, 10, 5)).submissions == 100  # a read that came back late: as it was read
    restarted = traffic(stats("b", 3, 400, 1))  # the platform crashed and came back: its counts start from zero
    assert (restarted.submissions, restarted.lookups) == (513, 6)
    assert dict(restarted.answers) == {202: 103, 503: 410}
    assert traffic(stats("b", 10, 400, 1)).submissions == 520
    two = CumulativeTraffic()  # a secondary platform is carried on its own
    assert two(stats("a", 1, 0, 0), stats("x", 2, 0, 0)).submissions == 3
    assert two(stats("a", 1, 0, 0), stats("y", 1, 0, 0)).submissions == 4


def test_a_recovery_is_never_read_before_the_revert() -> None:
    # the platform answered every submission during the fault (a network fault it did not notice)
    answered = [healthy()] * 30
    late_revert = FaultEvent("down", "maintenance", {}, 10.0, 20.5, applied_s=10.0, reverted_s=20.5)
    gate = RecoveryTimeGateSpec(fault="down", within_s=5)
    result = passive_gates([gate], view(answered, [late_revert], ledger()))[0]
    assert result.passed and result.observed == 1.5  # the first interval that begins after the revert ends at 22


def test_a_next_fault_too_soon_after_the_revert_is_not_judged_not_failed() -> None:
    soon = FaultEvent("again", "maintenance", {}, 22.0, 28.0, applied_s=22.0, reverted_s=28.0)
    seconds = [healthy()] * 10 + [{503: 4}] * 10 + [{503: 4}] * 2 + [{503: 4}] * 8
    result = passive_gates([RecoveryTimeGateSpec(fault="down", within_s=5)], view(seconds, [DOWN, soon], ledger()))
    assert not result[0].judged and "too soon" in result[0].message
