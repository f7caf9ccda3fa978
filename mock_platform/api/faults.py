"""Admin control of the runtime fault modes (token-protected, like every /admin route).

The PUT/DELETE pair of every mode is made from the table in ``fault_modes``: one pair of handlers, registered
once per mode with that mode's request model, so each route validates and documents its own body.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from taxstorm.mock_platform.api.admin import require_admin
from taxstorm.mock_platform.api.responses import responses
from taxstorm.mock_platform.fault_modes import MODES, RELEASES, REQUIRABLE_FIELDS, Mode, one_of
from taxstorm.mock_platform.state import PlatformState

router = APIRouter(prefix="/admin", tags=["admin: faults"], responses=responses(401))
AdminDep = Annotated[PlatformState, Depends(require_admin)]


class ReleaseSwitch(BaseModel):
    """Switch to a release profile."""

    model_config = ConfigDict(extra="forbid")
    name: str
    leak_ms: float = Field(5.0, ge=0, le=10_000)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        return one_of(value, RELEASES, "release")


@router.get("/faults", summary="The fault modes in force")
def active(state: AdminDep) -> dict[str, Any]:
    return {"faults": state.modes.active(state.clock()), "releases": RELEASES, "requirable": REQUIRABLE_FIELDS}


@router.delete("/faults", summary="Revert every fault mode")
def clear(state: AdminDep) -> dict[str, str]:
    state.modes.clear()
    return {"status": "cleared"}


def _read_as(handler: Callable[..., Any], parameters: list[inspect.Parameter]) -> None:
    """FastAPI reads a handler's parameters from its signature: give the generic handler this mode's model."""
    handler.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]


def _register(kind: type[Mode]) -> None:
    """PUT and DELETE /admin/faults/<route> for one mode; the body is validated against the mode's model."""

    def switch_on(mode: Mode, state: PlatformState) -> dict[str, str]:
        mode.begin(state)
        return {"mode": kind.shown_as}

    def switch_off(state: PlatformState, mode: Mode | None = None) -> dict[str, str]:
        kind.end(state, mode)
        return {"mode": kind.shown_as, "status": "reverted"}

    body = inspect.Parameter("mode", inspect.Parameter.KEYWORD_ONLY, annotation=kind)
    admin = inspect.Parameter("state", inspect.Parameter.KEYWORD_ONLY, annotation=AdminDep)
    _read_as(switch_on, [body, admin])
    ending = [body.replace(annotation=Annotated[kind | None, Body()], default=None)] if kind.ends_with_body else []
    _read_as(switch_off, [admin, *ending])
    path = f"/faults/{kind.route}"
    router.add_api_route(path, switch_on, methods=["PUT"], summary=kind.summary)
    router.add_api_route(path, switch_off, methods=["DELETE"], summary=f"End the {kind.shown_as} mode")


for _kind in MODES.values():
    _register(_kind)


@router.put("/release", summary="Switch to a release profile (a bad upgrade) or back (rollback)")
def put_release(switch: ReleaseSwitch, state: AdminDep) -> dict[str, str]:
    previous = state.modes.switch_release(switch.name, state.clock(), switch.leak_ms)
    return {"release": switch.name, "previous": previous}
