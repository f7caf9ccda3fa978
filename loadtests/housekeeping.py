"""Period-start housekeeping: every seller's quota (授信额度) and number segments (预赋码) made ready.

At the start of a period (the run's start) a seller's back office checks its quota, downloads quota when
the platform works in download mode, renews an expired quota period after filing, and downloads invoice
numbers when the platform pre-assigns them. Issuing users wait until the first round is done; later rounds
top up every ``every_s`` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from locust import User, constant, task

from taxstorm.loadtests.context import LoadContext, fire
from taxstorm.loadtests.orders import Seller
from taxstorm.loadtests.platform_session import CallResult, PlatformSession


@dataclass(frozen=True)
class HousekeepingPlan:
    """What to keep ready per seller, and how often to look."""

    sellers: int
    segments: bool = False  # the platform pre-assigns invoice numbers (numbering: segments)
    every_s: float = 30.0
    quota_download: Decimal = Decimal("1000000000.00")  # downloaded when less than half of it is left unused
    segment_size: int = 1000  # numbers downloaded when fewer than a fifth of it are left


def make_housekeeping_user(context: LoadContext, plan: HousekeepingPlan) -> type[User]:
    """One back-office user for every seller of the run; clears ``context.period_open`` until round one."""
    context.period_open.clear()

    class HousekeepingUser(User):
        wait_time = constant(plan.every_s)  # between rounds; the first runs at once
        fixed_count = 1

        def on_start(self) -> None:
            self.round = 0

        @task
        def housekeeping_round(self) -> None:
            for index in range(plan.sellers):
                seller = context.generator.seller(index)
                start_s, started = context.clock(), time.perf_counter()
                outcome, error = keep_ready(context.session(), seller, plan)
                context.record("housekeeping", start_s, outcome, f"housekeeping-{self.round}-{index}", error=error)
                fire(self.environment, "housekeeping", outcome, started, error, seller.tax_id)
            self.round += 1
            context.period_open.set()

        def on_stop(self) -> None:
            context.period_open.set()  # never leave issuing users waiting

    return HousekeepingUser


def keep_ready(session: PlatformSession, seller: Seller, plan: HousekeepingPlan) -> tuple[str, str | None]:
    """Check and top up one seller's quota and numbers: ("ok" | "error" | "failed", error)."""
    quota = session.call(seller.tax_id, "GET", "/api/v1/quota")
    if not quota.ok:
        return _failed(quota)
    if quota.data.get("expired"):
        renewed = session.call(seller.tax_id, "POST", "/api/v1/quota/adjust-period")
        if not renewed.ok:
            return _failed(renewed)
    if quota.data.get("mode") == "download" and Decimal(str(quota.data["downloadedUnused"])) < plan.quota_download / 2:
        wanted = min(plan.quota_download, Decimal(str(quota.data["remaining"])))
        if wanted > 0:
            downloaded = session.call(seller.tax_id, "POST", "/api/v1/quota/download", {"amount": str(wanted)})
            if not downloaded.ok:
                return _failed(downloaded)
    if plan.segments:
        segments = session.call(seller.tax_id, "GET", "/api/v1/number-segments")
        if not segments.ok:
            return _failed(segments)
        left = sum(int(s["remaining"]) for s in segments.data.get("segments", []))
        if left < plan.segment_size // 5:
            fetched = session.call(seller.tax_id, "POST", "/api/v1/number-segments", {"count": plan.segment_size})
            if not fetched.ok:
                return _failed(fetched)
    return "ok", None


def _failed(result: CallResult) -> tuple[str, str]:
    return ("error" if result.status in (0, 429) or result.status >= 500 else "failed"), result.error
