"""Liveness and Prometheus metrics (never throttled or authenticated): ``/health`` is the bare probe of
orchestrators (docker's HEALTHCHECK), ``/api/v1/health`` the same answer in the API's envelope."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from taxstorm.mock_platform.api.responses import EVERY_ANSWER, ok, responses
from taxstorm.mock_platform.api.schemas import Health
from taxstorm.mock_platform.state import StateDep
from taxstorm.mock_platform.store import invoices

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    responses={200: {"headers": EVERY_ANSWER}},
    summary="Liveness and the running release profile (a bare probe for orchestrators)",
)
def health(state: StateDep) -> Health:
    return Health(status="UP", release=state.modes.release.name, instance=state.settings.instance)


@router.get("/api/v1/health", responses=responses(200, data=Health), summary="Liveness, in the API's envelope")
def api_health(state: StateDep) -> JSONResponse:
    return ok(health(state).model_dump())


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus text exposition")
def metrics(state: StateDep) -> str:
    lines = ["# TYPE taxstorm_requests_total counter"]
    snapshot = state.counters.snapshot()
    for row in snapshot["requests"]:
        lines.append(
            f'taxstorm_requests_total{{method="{row["method"]}",route="{_label(row["route"])}",'
            f'status="{row["status"]}"}} {row["count"]}'
        )
    lines += ["# TYPE taxstorm_in_flight gauge", f"taxstorm_in_flight {snapshot['inFlight']}"]
    for metric, key, kind in (
        ("taxstorm_family_in_service", "inService", "gauge"),
        ("taxstorm_family_waiting", "waiting", "gauge"),
        ("taxstorm_family_shed_total", "shed", "counter"),
        ("taxstorm_family_rate_limited_total", "rateLimited", "counter"),
    ):
        lines.append(f"# TYPE {metric} {kind}")
        for family, gate in state.capacity.snapshot().items():
            lines.append(f'{metric}{{family="{family}"}} {gate[key]}')
    with state.db.read() as tx:
        lines += ["# TYPE taxstorm_ledger_invoices gauge", f"taxstorm_ledger_invoices {invoices.count(tx)}"]
    return "\n".join(lines) + "\n"
