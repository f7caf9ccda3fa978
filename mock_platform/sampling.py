"""Random service and processing times: lognormal, parameterised by median and p99 (a long right tail)."""

from __future__ import annotations

import math
import random

from taxstorm.mock_platform.settings import ServiceTime

Z99 = 2.3263478740408408


def sample_ms(spec: ServiceTime, rng: random.Random) -> float:
    """One draw in milliseconds; 0 when the median is 0, the median itself when p99 ≤ median."""
    if spec.median_ms <= 0:
        return 0.0
    if spec.p99_ms <= spec.median_ms:
        return spec.median_ms
    sigma = math.log(spec.p99_ms / spec.median_ms) / Z99
    return spec.median_ms * math.exp(sigma * rng.gauss(0.0, 1.0))
