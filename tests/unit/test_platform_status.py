"""The client's reading of /status and /notices, with fake fetches and clocks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from taxstorm.clients.platform_status import PlatformStatus


class Fake:
    def __init__(self) -> None:
        self.features = {"issue": "UP"}
        self.notices: list[dict[str, Any]] = []
        self.reads = 0
        self.broken = False

    def __call__(self, path: str) -> dict[str, Any]:
        self.reads += 1
        if self.broken:
            raise OSError("unreachable")
        return {"features": self.features} if path.endswith("status") else {"notices": self.notices}


def test_a_down_feature_closes_it_and_reads_are_cached() -> None:
    fake, now, wall = Fake(), [0.0], [1_800_000_000.0]
    later: list[Callable[[], None]] = []
    status = PlatformStatus(fake, refresh_s=5, clock=lambda: now[0], wall=lambda: wall[0], spawn=later.append)
    assert status.closed("issue") is None and fake.reads == 2  # the first read is synchronous
    fake.features = {"issue": "DOWN"}
    assert status.closed("issue") is None and fake.reads == 2  # cached for refresh_s
    now[0] = 5
    assert status.closed("issue") is None and len(later) == 1  # stale: refreshed in the background …
    assert status.closed("issue") is None and len(later) == 1  # … one refresh at a time
    later.pop()()
    assert "DOWN" in (status.closed("issue") or "") and fake.reads == 4
    fake.features = {"issue": "UP"}
    now[0] = 10
    status.closed("issue")
    later.pop()()
    assert status.closed("issue") is None


def test_notice_window_and_portal_only_notices() -> None:
    fake, wall = Fake(), [0.0]
    start = datetime.fromisoformat("2027-01-15T16:00:00+08:00").timestamp()
    fake.notices = [
        {
            "id": "n1",
            "start": "2027-01-15T16:00:00+08:00",
            "end": "2027-01-15T18:00:00+08:00",
            "affectedFeatures": ["issue"],
            "directConnectAffected": True,
        }
    ]
    status = PlatformStatus(fake, refresh_s=0, wall=lambda: wall[0])
    wall[0] = start - 1
    assert status.closed("issue") is None
    wall[0] = start + 60
    assert "n1" in (status.closed("issue") or "")
    assert status.closed("red") is None
    fake.notices[0]["directConnectAffected"] = False
    assert status.closed("issue") is None


def test_unreadable_status_never_blocks() -> None:
    fake = Fake()
    fake.broken = True
    assert PlatformStatus(fake, refresh_s=0).closed("issue") is None
