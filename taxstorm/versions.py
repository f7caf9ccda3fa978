"""Versions of the tools a run used, copied into every RunResult and shown by ``taxstorm doctor``."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = (
    "taxstorm",
    "locust",
    "fastapi",
    "uvicorn",
    "pydantic",
    "toxiproxy-python",
    "tenacity",
    "httpx",
    "docker",
    "psycopg",
)
OPTIONAL_PACKAGES = frozenset({"docker", "psycopg"})  # the [docker] and [postgres] extras


def package_versions() -> dict[str, str]:
    """Installed versions of the packages taxstorm is built on ("missing" when not installed)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    return found
