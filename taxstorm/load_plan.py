"""The Locust user classes of a scenario's load, each with a fixed count, bound to one LoadContext."""

from __future__ import annotations

from typing import Any

from locust import User

from taxstorm.loadtests.context import LoadContext
from taxstorm.loadtests.erp import make_erp_user
from taxstorm.loadtests.housekeeping import HousekeepingPlan, make_housekeeping_user
from taxstorm.loadtests.receivers import make_receiver_user
from taxstorm.loadtests.returns import make_returns_user
from taxstorm.loadtests.users import make_issuing_user
from taxstorm.scenario import LoadSpec


def user_classes(context: LoadContext, load: LoadSpec, platform_settings: dict[str, Any]) -> list[type[User]]:
    """Point-of-sale users, then ERP tenants (sellers are numbered in that order), receivers, returns, housekeeping."""
    cap = load.max_in_flight_per_user
    classes: list[tuple[type[User], int]] = [
        (make_issuing_user(context, load.resolved_shape(), load.users, cap), load.users)
    ]
    if load.erp:
        erp = load.erp
        classes.append(
            (make_erp_user(context, erp.resolved_shape(), erp.users, erp.batch_size, erp.buyers, cap), erp.users)
        )
    if load.receivers:
        receivers = load.receivers
        user = make_receiver_user(context, receivers.resolved_shape(), receivers.users, receivers.buyers, cap)
        classes.append((user, receivers.users))
    if load.returns:
        classes.append(
            (make_returns_user(context, load.returns.resolved_shape(), load.returns.users, cap), load.returns.users)
        )
    if load.housekeeping:
        chores = load.housekeeping
        plan = HousekeepingPlan(
            sellers=load.sellers,
            segments=platform_settings.get("numbering") == "segments",
            every_s=chores.every_s,
            quota_download=chores.quota_download,
            segment_size=chores.segment_size,
        )
        classes.insert(0, (make_housekeeping_user(context, plan), 1))
    for user_class, count in classes:
        user_class.fixed_count = count
    return [user_class for user_class, _ in classes]
