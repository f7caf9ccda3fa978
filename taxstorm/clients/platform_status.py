"""What the platform says about itself: ``/status`` and ``/notices`` (DOMAIN.md §D9).

A careful client reads them, at most every ``refresh_s``, and does not send into a maintenance window or to
a feature marked DOWN: it queues the order instead and drains after the window. Only the first read is made
on the caller's time; later reads happen in the background (stale-while-revalidate, one at a time), so an
issue never waits for two extra round trips on a slow network. Notices are published ahead of their window,
so a view ``refresh_s`` old is good enough. ``refresh_s`` 0 reads synchronously on every call.
"""

from __future__ import annotations

import threading
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
        spawn: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self._spawn = spawn or (lambda work: threading.Thread(target=work, daemon=True).start())
        self._refreshing = False
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
            if self._read_at == float("-inf") or self._refresh_s <= 0:
                self._refresh()  # nothing cached yet (or no caching wanted): read now
            elif not self._refreshing:
                self._refreshing = True
                self._read_at = self._clock()
                self._spawn(self._refresh)
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
            features = dict(self._fetch("/api/v1/status").get("features", {}))
            notices = list(self._fetch("/api/v1/notices").get("notices", []))
        except Exception:  # unreadable status must never block issuing: the call itself will tell
            features, notices = {}, []
        finally:
            self._refreshing = False
        self._features, self._notices = features, notices
