"""The once-a-second progress figures and the status line built from them."""

from __future__ import annotations

from taxstorm.loadtests.records import Recorder
from taxstorm.progress import Progress
from taxstorm.report.live import status_line
from tests.unit.test_gates_and_windows import op


def test_progress_reports_rates_since_the_last_tick_and_totals() -> None:
    recorder = Recorder()
    active: list[str] = []
    progress = Progress(60, recorder, lambda: active)
    recorder.arrivals = 10
    for i in range(8):
        recorder.add(op(i / 8, 20 if i < 7 else 400, f"o{i}", "issued" if i < 6 else "failed"))
    first = progress.tick(2.0, [(1.0, 0), (2.0, 3)])
    assert first["offered_per_s"] == 5.0 and first["achieved_per_s"] == 4.0 and first["failed"] == 2
    assert first["p95_ms"] == 400 and first["backlog"] == 3 and first["phase"] == "load"
    active.append("slow-network")
    recorder.arrivals = 14
    recorder.add(op(2.5, 10, "o9", "failed"))
    second = progress.tick(3.0, [])
    assert second["offered_per_s"] == 4.0 and second["achieved_per_s"] == 1.0 and second["failed"] == 3
    line = status_line(second).plain
    assert "3.0/60 s" in line and "failed 3" in line and "faults: slow-network" in line
    assert progress.tick(61.0, [])["phase"] == "drain"


def test_a_passive_runs_status_line_shows_what_the_platform_saw_not_users_figures() -> None:
    tick = Progress(60, Recorder(), lambda: ["down"]).tick(10.0, [])
    line = status_line({**tick, "platform_per_s": 3.5, "platform_refused": 2}).plain
    assert "your system    3.5 submissions/s" in line and "refused 2" in line and "faults: down" in line
    assert "offered" not in line and "p95" not in line and "backlog" not in line
