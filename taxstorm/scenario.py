"""Scenarios are validated data: pydantic models with ``extra="forbid"`` and units in field names."""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AwareDatetime, Field, ValidationError, field_validator, model_validator

from taxstorm.chaos.container import CONTAINER_SPECS
from taxstorm.chaos.handshake import HandshakeStallSpec
from taxstorm.chaos.network import NETWORK_SPECS
from taxstorm.chaos.platform import PLATFORM_SPECS
from taxstorm.chaos.process import PROCESS_SPECS
from taxstorm.chaos.spec import TIMELINE
from taxstorm.errors import InvalidInputError
from taxstorm.gates import GateStep, GracefulGateSpec, default_gates
from taxstorm.loadtests.shapes import Shape, ShapeSpec, Steady
from taxstorm.mock_platform.dialects import Dialect
from taxstorm.mock_platform.settings import PlatformSettings
from taxstorm.scenario_text import load_scenario_data, read_scenario_text
from taxstorm.strict import Strict

DEFAULT_ANSWER_BUDGET_S = 30.0
FaultStep = Annotated[
    NETWORK_SPECS | HandshakeStallSpec | PLATFORM_SPECS | PROCESS_SPECS | CONTAINER_SPECS, Field(discriminator="type")
]
WINDOW_KINDS = ("all", "baseline", "fault", "recovery")


RESERVED_PLATFORM_SETTINGS = frozenset({"ledger_path", "database_url", "admin_token", "instance", "credential_key"})


class PlatformSpec(Strict):
    """How the mock platform is started: its release profile and any of its settings (capacity, quota, …), and
    whether a secondary platform serves the same ledger (failover, like GSTN's NIC1/NIC2)."""

    release: str = "stable"
    secondary: bool = Field(
        False,
        description="start a second platform on the same ledger behind its own proxy (ClientConfig.secondary_url); "
        "faults with target: secondary act on it",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="mock_platform PlatformSettings fields, e.g. capacity, processing_ms"
    )
    dialect: Dialect = Field(
        "native",
        description="the wire protocol clients speak: native (/api/v1) or nuonuo (诺诺开放平台: /accessToken and "
        "/open/v1/services, signed calls, async issuing); ClientConfig.dialect tells the client",
    )
    tls: bool = Field(
        False,
        description="serve HTTPS with a certificate authority made for the run; clients get it as "
        "ClientConfig.ca_file and in SSL_CERT_FILE / REQUESTS_CA_BUNDLE",
    )

    @field_validator("settings")
    @classmethod
    def _valid_platform_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(RESERVED_PLATFORM_SETTINGS & set(value))
        if reserved:
            raise ValueError(f"{reserved} are set by the harness itself; remove them")
        try:
            PlatformSettings.model_validate({**value, "admin_token": "validation-only"})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
            )
            raise ValueError(f"invalid platform setting: {problems}") from None
        return value


class ClientSpec(Strict):
    """The client system under test: a built-in name or ``package.module:factory``."""

    ref: str = Field("resilient", description="'resilient' or an import path 'package.module:factory'")
    options: dict[str, Any] = Field(default_factory=dict)
    answer_budget_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description="the longest a user waits for issue() (ClientConfig.answer_budget_s); a call still running then "
        "is abandoned as failed. Omitted: the largest graceful gate's budget, else 30 s",
    )


class TrafficSpec(Strict):
    """One kind of traffic (open model): ``users`` sharing the arrival rate of ``shape`` (or a steady
    ``rate_per_s``)."""

    users: int = Field(1, ge=1, le=10_000)
    rate_per_s: float = Field(1.0, gt=0, le=100_000, description="steady rate when no shape is given")
    shape: ShapeSpec | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> TrafficSpec:
        if self.shape is not None and "rate_per_s" in self.model_fields_set:
            raise ValueError("give either rate_per_s (steady) or shape, not both")
        return self

    def resolved_shape(self) -> Shape:
        return self.shape if self.shape is not None else Steady(rate_per_s=self.rate_per_s)


class ErpSpec(TrafficSpec):
    """B2B ERP tenants: ``rate_per_s`` (or ``shape``) orders per second, sent in batches through the client."""

    batch_size: int = Field(20, ge=1, le=1000, description="orders per batch (the platform takes at most 100)")
    buyers: int = Field(50, ge=1, le=100_000, description="distinct business buyers invoiced")


class ReceiverSpec(TrafficSpec):
    """Receivers verifying (查验) invoices clients reported issued: ``rate_per_s`` verifications per second."""

    buyers: int = Field(50, ge=1, le=100_000, description="distinct verifying taxpayers")


class ReturnsSpec(TrafficSpec):
    """Red-letter returns of invoices clients reported issued: ``rate_per_s`` reversals per second."""


class HousekeepingSpec(Strict):
    """Period-start housekeeping for every seller: quota checked/downloaded, number segments downloaded."""

    every_s: float = Field(30.0, gt=0, le=86_400, description="how often later top-up rounds run")
    quota_download: Decimal = Field(Decimal("1000000000.00"), gt=0, description="quota downloaded per top-up")
    segment_size: int = Field(1000, ge=1, le=5000, description="numbers per segment download (预赋码)")


class LoadSpec(TrafficSpec):
    """Offered load. ``users`` point-of-sale sellers (B2C) share ``shape`` / ``rate_per_s`` orders per second;
    ERP batches, receivers, returns and housekeeping are optional further traffic on the same platform."""

    users: int = Field(4, ge=1, le=10_000)
    rate_per_s: float = Field(8.0, gt=0, le=100_000, description="steady rate when no shape is given")
    max_in_flight_per_user: int = Field(100, ge=1, le=100_000)
    seed: int = 42
    erp: ErpSpec | None = None
    receivers: ReceiverSpec | None = None
    returns: ReturnsSpec | None = None
    housekeeping: HousekeepingSpec | None = None

    @property
    def sellers(self) -> int:
        """Every seller of the run: point-of-sale users plus ERP tenants."""
        return self.users + (self.erp.users if self.erp else 0)


class ClockSpec(Strict):
    """The platform's calendar: its clock reads ``moment`` at run second ``at_s`` (set before the load; real time
    flows on from there, ``clock_jump`` steps move it further). ``at_s`` scales with ``--scale``: a story that
    crosses midnight 25 s into the run still crosses it when shortened."""

    moment: AwareDatetime = Field(description="a business moment with its zone, e.g. 2026-12-01T00:00:00+08:00")
    at_s: float = Field(
        0,
        ge=0,
        le=86_400,
        description="the run second at which the platform's clock reads it",
        json_schema_extra=TIMELINE,
    )

    def start(self) -> datetime:
        """The platform's time at run second 0."""
        return self.moment - timedelta(seconds=self.at_s)


class LimitsSpec(Strict):
    """Hard limits of a run."""

    max_run_s: float = Field(600, gt=0, le=86_400)


class ErrorRateHaltSpec(Strict):
    """Abort the run when the share of failed operations over the last ``for_s`` seconds exceeds ``above``."""

    type: Literal["error_rate"] = "error_rate"
    above: float = Field(gt=0, le=1, description="e.g. 0.5: more than half of the operations failed")
    for_s: float = Field(10, gt=0, le=3600)
    min_operations: int = Field(10, ge=1, description="fewer operations in the span never halt")


class LatencyHaltSpec(Strict):
    """Abort the run when the pNN latency over the last ``for_s`` seconds exceeds ``above_ms``."""

    type: Literal["latency"] = "latency"
    percentile: float = Field(95, gt=0, le=100)
    above_ms: float = Field(gt=0)
    for_s: float = Field(10, gt=0, le=3600)
    min_operations: int = Field(10, ge=1, description="fewer operations in the span never halt")


HaltStep = Annotated[ErrorRateHaltSpec | LatencyHaltSpec, Field(discriminator="type")]


class SteadyStateSpec(Strict):
    """The baseline must be healthy before the first fault, or the run stops as "environment not healthy"
    (exit 3) instead of blaming the client for a sick environment."""

    enabled: bool = True
    min_success: float = Field(
        0.9, ge=0, le=1, description="(issued + queued) ÷ (issued + queued + failed): users not failed"
    )
    min_issued: float = Field(
        0.5,
        ge=0,
        le=1,
        description="issued ÷ (issued + queued): a healthy platform issues; a client queuing what it could issue "
        "leaves its users without invoices, however promptly it drains later",
    )
    max_p95_ms: float = Field(5000, gt=0)
    min_operations: int = Field(1, ge=0)


class Scenario(Strict):
    """One story: platform, client, load, a fault timeline and the gates that judge it."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    description: str = ""
    duration_s: float = Field(gt=0, le=86_400)
    drain_s: float = Field(15, ge=0, le=3600, description="time the clients get to empty their backlog")
    platform: PlatformSpec = PlatformSpec()
    client: ClientSpec = ClientSpec()
    load: LoadSpec = LoadSpec()
    faults: list[FaultStep] = Field(default_factory=list)
    gates: list[GateStep] = Field(
        default_factory=default_gates,
        description="omitted: integrity, contract and graceful (30 s); integrity and contract are judged always",
    )
    halt: list[HaltStep] = Field(default_factory=list, description="conditions that abort the run early")
    steady_state: SteadyStateSpec = SteadyStateSpec()
    limits: LimitsSpec = LimitsSpec()
    clock: ClockSpec | None = Field(None, description="omitted: the platform runs on real time")

    @property
    def answer_budget_s(self) -> float:
        """The longest a user waits for an answer: the client's own setting, else the graceful gates' budget."""
        if self.client.answer_budget_s is not None:
            return self.client.answer_budget_s
        budgets = [g.budget_ms / 1000.0 for g in self.gates if isinstance(g, GracefulGateSpec)]
        return max(budgets, default=DEFAULT_ANSWER_BUDGET_S)

    def _check_slots(self, labels: list[str]) -> None:
        """Two faults that set the same platform state (one slot: a fault mode, the release, a family's capacity)
        on the same platform must not overlap in time: the first one's revert would end the second."""
        taken: dict[tuple[str, str], tuple[int, float]] = {}  # (target, slot) -> (index, end) of the latest
        ordered = sorted(range(len(self.faults)), key=lambda i: self.faults[i].at_s)
        for i in ordered:
            step = self.faults[i]
            slot = step.slot()
            if slot is None:
                continue
            end = step.at_s + step.for_s if step.for_s is not None else self.duration_s
            before = taken.get((step.target, slot))
            if before is not None and step.at_s < before[1]:
                j = before[0]
                raise ValueError(
                    f"faults[{i}] ({labels[i]}) overlaps faults[{j}] ({labels[j]}) from {step.at_s:g} s to "
                    f"{min(end, before[1]):g} s, and both set the {step.target} platform's {slot}: reverting one "
                    "would end the other. Merge them into one fault, or start the second after the first ends"
                )
            taken[(step.target, slot)] = (i, end)

    @model_validator(mode="after")
    def _check_timeline(self) -> Scenario:
        labels = [step.label(i) for i, step in enumerate(self.faults)]
        for i, step in enumerate(self.faults):
            if step.at_s >= self.duration_s:
                raise ValueError(f"faults[{i}].at_s={step.at_s} is not before duration_s={self.duration_s}")
            if step.for_s is not None and step.at_s + step.for_s > self.duration_s:
                raise ValueError(
                    f"faults[{i}] ends at {step.at_s + step.for_s}s, after duration_s={self.duration_s}; "
                    "shorten for_s or lengthen the run"
                )
        if len(set(labels)) != len(labels):
            raise ValueError(f"fault ids must be unique, got {labels}")
        self._check_slots(labels)
        for i, step in enumerate(self.faults):
            if step.target == "secondary" and not self.platform.secondary:
                raise ValueError(f"faults[{i}].target is secondary: add platform.secondary: true")
            if step.target == "secondary" and step.type.startswith("container_"):
                raise ValueError(f"faults[{i}].target: container faults name their service instead; remove target")
            if step.type in ("bad_certificate", "handshake_stall") and not self.platform.tls:
                raise ValueError(f"faults[{i}] ({step.type}) needs an HTTPS platform: add platform.tls: true")
        for i, gate in enumerate(self.gates):
            window = getattr(gate, "window", "all")
            if window not in WINDOW_KINDS and window not in labels:
                hint = difflib.get_close_matches(window, [*WINDOW_KINDS, *labels], n=1)
                fix = f"; did you mean {hint[0]!r}?" if hint else f"; use one of {[*WINDOW_KINDS, *labels]}"
                raise ValueError(f"gates[{i}].window {window!r} names no window{fix}")
        if self.duration_s + self.drain_s > self.limits.max_run_s:
            raise ValueError(
                f"duration_s + drain_s = {self.duration_s + self.drain_s}s exceeds limits.max_run_s="
                f"{self.limits.max_run_s}s"
            )
        return self


def _yaml_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """1-based line of every mapping key and sequence item in a YAML document, by path."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Pydantic's error location minus discriminator tags (``faults.0.latency.x`` → ``faults[0].x``)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part not in current and part == current.get("type"):
            continue  # the union member pydantic tried, not a key of the document
        path.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(path)


VALUE_ERROR = "Value error, "
_FIELD = re.compile(r"[a-z_]+|\[\d+\]")


def _named_path(message: str) -> tuple[str | int, ...]:
    """The field a cross-field message starts with (``faults[1].at_s=…`` → ``("faults", 1, "at_s")``)."""
    head = re.match(r"[a-z_]+(?:\[\d+\]|\.[a-z_]+)*", message.removeprefix(VALUE_ERROR))
    if head is None:
        return ()
    return tuple(int(part[1:-1]) if part.startswith("[") else part for part in _FIELD.findall(head.group()))


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "<root>"


def _hint(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return " (unknown key: remove it or fix its spelling)"
    if kind == "union_tag_invalid":
        expected = [tag.strip(" '") for tag in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(str(ctx.get("tag", "")), expected, n=1)
        return f"; did you mean {close[0]!r}?" if close else f"; use one of {expected}"
    return ""


def _format_errors(source: str, exc: ValidationError, data: Any, text: str | None) -> list[str]:
    lines = _yaml_lines(text) if text is not None else {}
    formatted = []
    for error in exc.errors():
        path = _data_path(tuple(error["loc"]), data)
        if not path:  # a check across fields: its message starts with the field it blames
            path = _named_path(error["msg"])
            error = {**error, "msg": error["msg"].removeprefix(VALUE_ERROR)}
        line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)
        where = f"{source}:{line}" if line is not None else source
        formatted.append(f"{where}: {_dotted(path)}: {error['msg']}{_hint(error)}")
    return formatted


def parse_scenario(data: Any, source: str = "<scenario>", text: str | None = None) -> Scenario:
    """Validate already-loaded data; every problem is listed with its line (given the text) and field path."""
    if not isinstance(data, dict):
        raise InvalidInputError(f"{source}: a scenario is a mapping of keys, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = _format_errors(source, exc, data, text)
        raise InvalidInputError(f"invalid scenario ({len(problems)} problems):\n  " + "\n  ".join(problems)) from None


def load_scenario(path: Path) -> Scenario:
    """Read and validate a YAML scenario file."""
    text = read_scenario_text(path)
    data = load_scenario_data(text, str(path))
    return parse_scenario(data, str(path), text)
