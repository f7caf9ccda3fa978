"""Feature availability: maintenance windows announced by notices, and features switched off.

A maintenance notice is published when it is created and covers [start, end) on the platform clock, for the
whole platform or some features, affecting direct-connect (API) clients or only portal users; during it the
affected API answers 503 E9002 with ``Retry-After`` = time to the window's end. A feature switched DOWN answers
503 E9006. Both show in ``/status``; notices show in ``/notices`` from publication.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from taxstorm.mock_platform.clock import iso
from taxstorm.mock_platform.errors import ApiError, ErrorCode
from taxstorm.mock_platform.settings import Family

Feature = Literal["issue", "red", "verify", "quota", "delivery", "auth"]
FEATURES: tuple[Feature, ...] = ("issue", "red", "verify", "quota", "delivery", "auth")
FEATURE_OF_FAMILY: dict[Family, Feature] = {
    "auth": "auth",
    "issue": "issue",
    "query": "issue",
    "red": "red",
    "verify": "verify",
    "quota": "quota",
}


@dataclass(frozen=True)
class Notice:
    """A published maintenance window."""

    id: str
    published: float
    start: float
    end: float
    features: tuple[Feature, ...]
    direct_connect_affected: bool
    title: str

    def active(self, now: float) -> bool:
        return self.start <= now < self.end

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "published": iso(self.published),
            "start": iso(self.start),
            "end": iso(self.end),
            "affectedFeatures": list(self.features),
            "directConnectAffected": self.direct_connect_affected,
        }


@dataclass
class FeatureBoard:
    """Notices and switched-off features of one platform process."""

    notices: list[Notice] = field(default_factory=list)
    down_until: dict[Feature, float] = field(default_factory=dict)

    def announce(
        self,
        now: float,
        start: float,
        end: float,
        features: tuple[Feature, ...] = FEATURES,
        direct_connect_affected: bool = True,
        title: str = "系统维护 scheduled maintenance",
    ) -> Notice:
        notice = Notice(uuid.uuid4().hex[:12], now, start, end, features, direct_connect_affected, title)
        self.notices.append(notice)
        return notice

    def withdraw(self, notice_id: str) -> bool:
        before = len(self.notices)
        self.notices = [n for n in self.notices if n.id != notice_id]
        return len(self.notices) != before

    def switch(self, feature: Feature, down: bool, until: float = float("inf")) -> None:
        if down:
            self.down_until[feature] = until
        else:
            self.down_until.pop(feature, None)

    def clear(self) -> None:
        self.notices.clear()
        self.down_until.clear()

    def refusal(self, family: Family, now: float) -> ApiError | None:
        """Why an API request of this family is refused right now, if it is."""
        return self.feature_refusal(FEATURE_OF_FAMILY[family], now)

    def feature_refusal(self, feature: Feature, now: float) -> ApiError | None:
        """Why a request of this feature is refused right now (maintenance: E9002 with its notice; switched off:
        E9006), if it is."""
        for notice in self.notices:
            if notice.active(now) and notice.direct_connect_affected and feature in notice.features:
                return ApiError(
                    ErrorCode.MAINTENANCE,
                    f"{feature} under maintenance until {iso(notice.end)}",
                    data={"noticeId": notice.id, "end": iso(notice.end)},
                    retry_after_s=max(1, int(notice.end - now + 0.999)),
                )
        until = self.down_until.get(feature)
        if until is not None and now < until:
            return ApiError(ErrorCode.FEATURE_DISABLED, f"{feature} is temporarily disabled", data={"feature": feature})
        return None

    def state(self, feature: Feature, now: float) -> str | None:
        """DOWN when switched off or in maintenance for API clients, DEGRADED for portal-only maintenance."""
        until = self.down_until.get(feature)
        if until is not None and now < until:
            return "DOWN"
        affecting = [n for n in self.notices if n.active(now) and feature in n.features]
        if any(n.direct_connect_affected for n in affecting):
            return "DOWN"
        return "DEGRADED" if affecting else None

    def published(self, now: float) -> list[dict[str, Any]]:
        """Notices not yet over, soonest first."""
        return [n.view() for n in sorted(self.notices, key=lambda n: n.start) if n.end > now]
