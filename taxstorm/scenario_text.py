"""Reading a scenario file defensively: bytes to text, text to data, before any of it is validated.

A scenario file may come from anyone (a colleague's editor, a generator, an attacker's pull request), so nothing
in it may cost unbounded memory or time or end in a traceback: the size is capped, the encoding is UTF-8 (a
GBK file is named as such), nesting is bounded, anchors and aliases may not expand beyond a budget or loop,
a key may appear once per mapping, and every number is finite. Each refusal names the file, the line and the
fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from taxstorm.errors import InvalidInputError

MAX_BYTES = 1_000_000  # the library's largest story is ~3 kB
MAX_DEPTH = 64  # mappings and sequences inside each other
MAX_VALUES = 100_000  # values once every alias is expanded (an alias bomb expands to billions)


def read_scenario_text(path: Path) -> str:
    """The file's text: at most MAX_BYTES of UTF-8 (a byte-order mark is allowed), no binary content."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise InvalidInputError(f"{path}: is a folder; give a scenario file (e.g. {path}/smoke.yaml)") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read scenario ({exc.strerror}); check the path") from None
    if len(raw) > MAX_BYTES:
        raise InvalidInputError(f"{path}: larger than {MAX_BYTES:,} bytes; a scenario is a few kB of YAML")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InvalidInputError(f"{path}:{line}: binary content (a NUL byte); a scenario is a YAML text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = "save it as UTF-8"
        if _decodes_as_gb18030(raw):
            hint = "it looks like GBK/GB18030 (a Chinese editor's default): save it as UTF-8"
        raise InvalidInputError(
            f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x} at column {column}); {hint}"
        ) from None


def _decodes_as_gb18030(raw: bytes) -> bool:
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def load_scenario_data(text: str, source: str) -> Any:
    """Parse YAML text into data after checking its shape: bounded nesting, no alias loop or bomb, no key twice
    in one mapping, finite numbers only."""
    try:
        _check_depth(text, source)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{source}: not valid YAML: {exc}") from None
    if root is None:
        return None
    _check_nodes(root, source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{source}: not valid YAML: {exc}") from None
    _check_numbers(root, source)
    return data


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting from the event stream (the parser is iterative; composing and loading recurse)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark is not None else 1
                raise InvalidInputError(
                    f"{source}:{line}: nested more than {MAX_DEPTH} levels deep; a scenario needs a handful"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_nodes(root: yaml.Node, source: str) -> None:
    """Count the values the document expands to (each node once, aliases by reference), refuse an alias that
    contains itself, and a key given twice in one mapping."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            line = node.start_mark.line + 1
            raise InvalidInputError(f"{source}:{line}: an alias refers to the node that contains it (an alias loop)")
        open_nodes.add(id(node))
        total = 1
        for child in _children(node, source):
            total += size(child)
            if total > MAX_VALUES:
                line = node.start_mark.line + 1
                raise InvalidInputError(
                    f"{source}:{line}: anchors and aliases expand to more than {MAX_VALUES:,} values "
                    "(an alias bomb?); write the values out or use fewer aliases"
                )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


def _children(node: yaml.Node, source: str) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    raise InvalidInputError(
                        f"{source}:{key.start_mark.line + 1}: key {key.value!r} is given twice in one mapping "
                        f"(first at line {seen[key.value]}); keep one"
                    )
                seen[key.value] = key.start_mark.line + 1
            yield key
            yield value


def _check_numbers(root: yaml.Node, source: str) -> None:
    """A .nan or .inf is never a meaningful duration, rate or threshold."""
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    seen: set[int] = set()
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:float":
            value = yaml.safe_load(node.value) if node.style is None else None
            if isinstance(value, float) and not math.isfinite(value):
                field = f"{where}: " if where else ""
                raise InvalidInputError(
                    f"{source}:{node.start_mark.line + 1}: {field}{node.value} is not a number; give a finite value"
                )
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                stack.append((value, f"{where}.{name}" if where else name))
