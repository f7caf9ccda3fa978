"""What the operator can apply: every registered fault and its parameters, read from the spec's JSON schema."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import ValidationError

from taxstorm.chaos.registry import Fault, FaultContext, FaultRegistry
from taxstorm.chaos.spec import FaultSpec

ParamKind = Literal["integer", "number", "string", "boolean", "choice", "choices", "list", "json"]
TIMING_FIELDS = frozenset({"type", "at_s", "for_s", "id", "target"})  # set by the control, never by the operator
NEEDS = {  # fault family → the FaultContext field its faults act through, in words
    "platform": ("platform", "the platform's admin API"),
    "process": ("process", "the platform process (local mode)"),
    "container": ("docker", "a Docker engine and the run's compose project"),
}


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a fault as a form field: its kind, default, choices and bounds."""

    name: str
    kind: ParamKind
    description: str
    required: bool
    default: Any = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    constraint: str = ""  # the bounds in words, e.g. "≥ 0, ≤ 600000"

    def hint(self) -> str:
        """How a valid value looks, for error messages."""
        kind = "one of " + ", ".join(map(repr, self.choices)) if self.kind == "choice" and self.choices else self.kind
        if self.kind == "choices" and self.choices:
            kind = "a list of " + ", ".join(map(repr, self.choices))
        parts = [kind, self.constraint, self.description]
        return "; ".join(p for p in parts if p)


@dataclass(frozen=True)
class FaultInfo:
    """One registered fault: its type name, family (network, platform, …), summary and parameters."""

    type: str
    family: str
    summary: str
    description: str
    params: tuple[ParamInfo, ...]
    unavailable: str = ""  # why this run cannot apply it (empty: it can)

    def param(self, name: str) -> ParamInfo | None:
        return next((p for p in self.params if p.name == name), None)


def _unwrap_null(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``anyOf: [X, null]`` → (X with the outer keys, nullable)."""
    options = prop.get("anyOf")
    if not options:
        return prop, False
    non_null = [o for o in options if o.get("type") != "null"]
    nullable = len(non_null) < len(options)
    if len(non_null) == 1:
        outer = {k: v for k, v in prop.items() if k != "anyOf"}
        return {**outer, **non_null[0]}, nullable
    return prop, nullable


def _kind(schema: dict[str, Any]) -> tuple[ParamKind, tuple[Any, ...] | None]:
    if "enum" in schema:
        return "choice", tuple(schema["enum"])
    if "const" in schema:
        return "choice", (schema["const"],)
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        if "enum" in items:
            return "choices", tuple(items["enum"])
        if items.get("type") in ("string", "integer", "number"):
            return "list", None
        return "json", None
    if kind in ("integer", "number", "string", "boolean"):
        return kind, None
    return "json", None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _constraint(schema: dict[str, Any]) -> str:
    words = [
        f"{sign} {_number(schema[key])}"
        for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
        if isinstance(schema.get(key), int | float)
    ]
    if "pattern" in schema:
        words.append(f"matches {schema['pattern']}")
    return ", ".join(words)


def param_infos(spec_type: type[FaultSpec]) -> tuple[ParamInfo, ...]:
    """The operator-facing parameters of a spec (its JSON schema minus type, at_s, for_s and id)."""
    schema = spec_type.model_json_schema()
    required = set(schema.get("required", []))
    infos = []
    for name, prop in schema.get("properties", {}).items():
        if name in TIMING_FIELDS:
            continue
        inner, nullable = _unwrap_null(prop)
        kind, choices = _kind(inner)
        minimum = inner.get("minimum", inner.get("exclusiveMinimum"))
        maximum = inner.get("maximum", inner.get("exclusiveMaximum"))
        infos.append(
            ParamInfo(
                name=name,
                kind=kind,
                description=str(prop.get("description", "")),
                required=name in required,
                default=prop.get("default"),
                choices=choices,
                nullable=nullable,
                minimum=minimum if isinstance(minimum, int | float) else None,
                maximum=maximum if isinstance(maximum, int | float) else None,
                constraint=_constraint(inner),
            )
        )
    return tuple(infos)


def fault_info(fault_cls: type[Fault[Any]]) -> FaultInfo:
    spec_type = fault_cls.spec_type
    doc = (spec_type.__doc__ or "").strip().splitlines()
    return FaultInfo(
        type=str(spec_type.model_fields["type"].default),
        family=fault_cls.__module__.rsplit(".", 1)[-1],
        summary=fault_cls.summary,
        description=doc[0] if doc else "",
        params=param_infos(spec_type),
    )


def unavailable(family: str, context: FaultContext) -> str:
    """Why faults of ``family`` cannot act in ``context`` (empty when they can)."""
    need = NEEDS.get(family)
    if need is None or getattr(context, need[0]) is not None:
        return ""
    return f"needs {need[1]}, and this run has none"


def catalogue(registry: FaultRegistry, context: FaultContext | None = None) -> list[FaultInfo]:
    """Every registered fault, by type name; with a context, those it cannot serve say why."""
    infos = [fault_info(registry.get(name)) for name in registry.names()]
    if context is None:
        return infos
    return [replace(info, unavailable=unavailable(info.family, context)) for info in infos]


def _field(loc: tuple[Any, ...]) -> str:
    text = "params"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def describe_errors(info: FaultInfo, exc: ValidationError) -> tuple[str, str]:
    """(the first bad field, one message naming every bad field and how to fix it)."""
    problems: list[str] = []
    fields: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        name = str(loc[0]) if loc else ""
        field = _field(loc)
        param = info.param(name)
        if name == "for_s":
            field, fix = "for_s", "give a number of seconds > 0, or leave it empty to keep the fault until reverted"
            problems.append(f"for_s: {error['msg']}; {fix}")
        elif error["type"] == "missing":
            hint = f" ({param.hint()})" if param else ""
            problems.append(f"{field}: required; give a value{hint}")
        elif error["type"] == "extra_forbidden":
            known = [p.name for p in info.params]
            close = difflib.get_close_matches(name, known, n=1)
            fix = f"did you mean {close[0]!r}?" if close else f"{info.type} takes {', '.join(known) or 'no parameters'}"
            problems.append(f"{field}: unknown parameter; {fix}")
        else:
            hint = f" (expected {param.hint()})" if param else ""
            problems.append(f"{field}: {error['msg']}{hint}")
        fields.append(field)
    return (fields[0] if fields else "params"), f"{info.type}: " + "; ".join(problems)
