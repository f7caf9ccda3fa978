"""Liveness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from mock_platform.state import PlatformState, get_state

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and the running release profile")
def health(state: Annotated[PlatformState, Depends(get_state)]) -> dict[str, str]:
    return {"status": "UP", "release": state.settings.release}
