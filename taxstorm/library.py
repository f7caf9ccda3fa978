"""The scenario library shipped with taxstorm (package data): a scenario by file path or by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from taxstorm.errors import InvalidInputError


def library_dir() -> Path:
    """Where the installed package keeps its scenarios (``scenarios/`` of the checkout when run from one)."""
    return Path(str(resources.files("taxstorm").joinpath("scenarios")))


def scenario_names() -> list[str]:
    """The library's scenario names (file names without ``.yaml``), sorted."""
    return sorted(path.stem for path in library_dir().glob("*.yaml"))


def resolve_scenario(reference: Path | str) -> Path:
    """A scenario file: ``reference`` when it names a file, else the library's scenario of that name."""
    path = Path(reference)
    if path.exists() or path.parent != Path(".") or path.suffix in (".yaml", ".yml"):
        return path  # a file (a missing one is reported by the loader, as any unreadable scenario)
    shipped = library_dir() / f"{path.name}.yaml"
    if shipped.is_file():
        return shipped
    names = ", ".join(scenario_names())
    raise InvalidInputError(
        f"{reference}: no such file, and no scenario of that name in the library ({names}); "
        "give a path to a YAML file, or one of those names ('taxstorm list' describes them)"
    )
