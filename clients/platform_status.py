"""What the platform says about itself: ``/status`` and ``/notices`` (DOMAIN.md §D9).

A careful client reads them, at most every ``refresh_s``, and does not send into a maintenance window or to
a feature marked DOWN: it queues the order instead and drains after the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any


class PlatformStatus:
    """Caches the platform's feature states and notices; says whether a feature is closed right now."""

    def __init__(
        self,
        fetch: Callable[[str], dict[str, Any]],
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self._refresh_s = refresh_s
        self._clock = clock
        self._wall = wall
        self._read_at = float("-inf")
        self._features: dict[str, str] = {}
        self._notices: list[dict[str, Any]] = []

    def closed(self, feature: str) -> str | None:
        """Why ``feature`` should not be called now, or None (also None when the status cannot be read)."""
        if self._clock() - self._read_at >= self._refresh_s:
            self._refresh()
        if self._features.get(feature) == "DOWN":
            return f"/status says {feature} is DOWN"
        now = self._wall()
        for notice in self._notices:
            if not notice.get("directConnectAffected", True) or feature not in notice.get("affectedFeatures", []):
                continue
            start, end = (datetime.fromisoformat(notice[k]).timestamp() for k in ("start", "end"))
            if start <= now < end:
                return f"maintenance notice {notice.get('id')} until {notice['end']}"
        return None

    def _refresh(self) -> None:
        self._read_at = self._clock()
        try:
            self._features = dict(self._fetch("/api/v1/status").get("features", {}))
            self._notices = list(self._fetch("/api/v1/notices").get("notices", []))
        except Exception:  # unreadable status must never block issuing: the call itself will tell
            self._features, self._notices = {}, []
