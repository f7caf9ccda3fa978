"""Offered-load shapes: the arrival rate (operations per second) as a pure function of elapsed run time.

Simulated business time runs ``time_scale`` times faster than the run (720: one simulated day in two
minutes), so a whole month-end or an intraday curve fits in a CI run. Profiles follow DOMAIN.md §C.
"""

from __future__ import annotations

import bisect
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from taxstorm.chaos.spec import INVERSE, TIMELINE

# Intraday profiles: (hour, share of the base rate), interpolated linearly between points (DOMAIN.md §C).
B2B_DAY = (
    (0, 0.02),
    (7, 0.02),
    (8, 0.30),
    (9, 1.0),
    (11, 1.2),
    (12, 0.5),
    (13, 0.5),
    (14, 1.3),
    (16, 1.3),
    (17, 0.9),
    (18, 0.4),
    (20, 0.4),
    (21, 0.1),
    (24, 0.02),
)
B2C_DAY = ((0, 0.3), (7, 0.2), (9, 0.8), (12, 1.0), (18, 1.0), (20, 1.5), (23, 1.5), (24, 0.3))


def interpolate(points: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise-linear value of ``points`` at ``x`` (clamped at the ends)."""
    xs = [p[0] for p in points]
    i = bisect.bisect_right(xs, x)
    if i == 0:
        return points[0][1]
    if i >= len(points):
        return points[-1][1]
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


class Shape(BaseModel):
    """Base of every shape."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def rate_at(self, elapsed_s: float) -> float:
        raise NotImplementedError


class SimulatedTime(Shape):
    """Shapes that follow business time: simulated clock = start + elapsed × time_scale."""

    time_scale: float = Field(
        720.0, gt=0, le=1_000_000, description="simulated seconds per real second", json_schema_extra=INVERSE
    )
    start_hour: float = Field(9.0, ge=0, lt=24, description="simulated hour of day at the start of the run")

    def sim_hours(self, elapsed_s: float) -> float:
        """Simulated hours since midnight of the first simulated day."""
        return self.start_hour + elapsed_s * self.time_scale / 3600.0


class Steady(Shape):
    """A constant rate."""

    type: Literal["steady"] = "steady"
    rate_per_s: float = Field(gt=0, le=100_000)

    def rate_at(self, elapsed_s: float) -> float:
        return self.rate_per_s


class Step(Shape):
    """Start at ``start_per_s`` and add ``step_per_s`` every ``every_s`` up to ``max_per_s`` (a capacity probe)."""

    type: Literal["step"] = "step"
    start_per_s: float = Field(gt=0)
    step_per_s: float = Field(gt=0)
    every_s: float = Field(gt=0, json_schema_extra=TIMELINE)
    max_per_s: float = Field(100_000, gt=0)

    def rate_at(self, elapsed_s: float) -> float:
        return min(self.max_per_s, self.start_per_s + self.step_per_s * int(elapsed_s // self.every_s))


class Spike(Shape):
    """``base_per_s`` with a jump to ``peak_per_s`` during [at_s, at_s + for_s)."""

    type: Literal["spike"] = "spike"
    base_per_s: float = Field(gt=0)
    peak_per_s: float = Field(gt=0)
    at_s: float = Field(ge=0, json_schema_extra=TIMELINE)
    for_s: float = Field(gt=0, json_schema_extra=TIMELINE)

    def rate_at(self, elapsed_s: float) -> float:
        return self.peak_per_s if self.at_s <= elapsed_s < self.at_s + self.for_s else self.base_per_s


class Diurnal(SimulatedTime):
    """The intraday curve (B2B office hours, or B2C with an evening peak) around ``base_per_s``."""

    type: Literal["diurnal"] = "diurnal"
    base_per_s: float = Field(gt=0)
    profile: Literal["b2b", "b2c"] = "b2b"

    def rate_at(self, elapsed_s: float) -> float:
        table = B2B_DAY if self.profile == "b2b" else B2C_DAY
        return self.base_per_s * interpolate(table, self.sim_hours(elapsed_s) % 24)


class PeakSeason(SimulatedTime):
    """Month-end on the intraday B2B curve: the last three business days at 1.5×, 2× and 3× a normal day, the
    last day's afternoon up to 5×; ``start_day`` is the simulated day of the month the run starts on."""

    type: Literal["peak_season"] = "peak_season"
    base_per_s: float = Field(gt=0)
    start_day: int = Field(27, ge=1, le=31)
    month_days: int = Field(30, ge=28, le=31)

    def day_factor(self, day: int, hour: float) -> float:
        to_end = self.month_days - day
        if to_end == 0:
            return 5.0 if 14 <= hour < 17 else 3.0
        return {1: 2.0, 2: 1.5}.get(to_end, 1.0)

    def rate_at(self, elapsed_s: float) -> float:
        hours = self.sim_hours(elapsed_s)
        day = (self.start_day - 1 + int(hours // 24)) % self.month_days + 1
        hour = hours % 24
        return self.base_per_s * self.day_factor(day, hour) * interpolate(B2B_DAY, hour)


class YearEnd(SimulatedTime):
    """December's last week at 2–3×, 31 December at 3–4×, then the 1 January small hours: quiet but for the
    number-segment refills (modelled here as a short burst right after midnight)."""

    type: Literal["year_end"] = "year_end"
    base_per_s: float = Field(gt=0)
    start_day: int = Field(28, ge=25, le=31, description="simulated December day at the start")

    def rate_at(self, elapsed_s: float) -> float:
        hours = self.sim_hours(elapsed_s)
        day = self.start_day + int(hours // 24)
        hour = hours % 24
        if day > 31:  # 1 January
            return self.base_per_s * (4.0 if hour < 0.5 else 0.2)
        factor = 3.5 if day == 31 else 2.5
        return self.base_per_s * factor * interpolate(B2B_DAY, hour)


class FlashSale(SimulatedTime):
    """Singles' Day: B2C issuing at ``multiplier`` × the B2C curve for ``sale_hours`` simulated hours."""

    type: Literal["flash_sale"] = "flash_sale"
    base_per_s: float = Field(gt=0)
    multiplier: float = Field(7.0, ge=1, le=100)
    sale_hours: float = Field(24.0, gt=0)

    def rate_at(self, elapsed_s: float) -> float:
        hours = self.sim_hours(elapsed_s) - self.start_hour
        factor = self.multiplier if hours < self.sale_hours else 1.0
        return self.base_per_s * factor * interpolate(B2C_DAY, self.sim_hours(elapsed_s) % 24)


class RecoverySurge(Shape):
    """Normal load, then at ``at_s`` (the end of an outage) ``backlog_ops`` extra operations within ``for_s``."""

    type: Literal["recovery_surge"] = "recovery_surge"
    base_per_s: float = Field(gt=0)
    at_s: float = Field(ge=0, json_schema_extra=TIMELINE)
    backlog_ops: int = Field(gt=0)
    for_s: float = Field(gt=0, json_schema_extra=TIMELINE)

    def rate_at(self, elapsed_s: float) -> float:
        surge = self.backlog_ops / self.for_s if self.at_s <= elapsed_s < self.at_s + self.for_s else 0.0
        return self.base_per_s + surge


ShapeSpec = Annotated[
    Steady | Step | Spike | Diurnal | PeakSeason | YearEnd | FlashSale | RecoverySurge, Field(discriminator="type")
]
