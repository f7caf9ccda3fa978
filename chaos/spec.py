"""Fault steps as validated data: when (``at_s``, ``for_s``) and what (the subclass's typed fields)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

Target = Literal["primary", "secondary"]
# Every field in seconds says whether it is story time (``--scale`` stretches it with the run) or a physical
# property that keeps its value: ``json_schema_extra=TIMELINE`` / ``PHYSICAL`` (tests/unit/test_scaling.py
# fails when a field ending in ``_s`` says neither). ``taxstorm schema`` shows it as ``x-timeline``.
TIMELINE: JsonDict = {"x-timeline": True}
PHYSICAL: JsonDict = {"x-timeline": False}
INVERSE: JsonDict = {"x-timeline": "inverse"}  # a rate of story time (a shape's time_scale)


class FaultSpec(BaseModel):
    """Base of every fault step; subclasses add ``type: Literal[...]`` and their parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="name in reports")
    at_s: float = Field(
        ge=0, description="seconds after the run starts when the fault is applied", json_schema_extra=TIMELINE
    )
    for_s: float | None = Field(
        None,
        gt=0,
        description="seconds the fault stays applied; omitted = until the run ends",
        json_schema_extra=TIMELINE,
    )
    target: Target = Field(
        "primary", description="which platform (and its proxy) it hits: primary, or secondary (platform.secondary)"
    )

    def label(self, index: int) -> str:
        """The fault's name in reports: its ``id`` or ``<type>-<index>``."""
        return self.id or f"{self.type}-{index}"

    def slot(self) -> str | None:
        """The one piece of platform state this fault sets and its revert clears (a fault mode, the release, a
        family's capacity), or None when faults of its kind stack. Two faults of one slot must not overlap:
        reverting the first would silently end the second."""
        return None
