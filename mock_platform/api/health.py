"""Liveness and Prometheus metrics (never throttled or authenticated): ``/health`` is the bare probe of
orchestrators (docker's HEALTHCHECK), ``/api/v1/health`` the same answer in the API's envelope."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from taxstorm.mock_platform.api.responses import EVERY_ANSWER, ok, responses
from taxstorm.mock_platform.api.schemas import Health
from taxstorm.mock_platform.metrics import CONTENT_TYPE
from taxstorm.mock_platform.state import StateDep

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


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus text exposition")
def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
