"""``taxstorm doctor``: is this machine ready to run scenarios?"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from harness.versions import package_versions


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def toxiproxy_check(bin_dir: Path) -> Check:
    from chaos.toxiproxy import install

    found = install.locate(bin_dir)
    if found is None:
        return Check("toxiproxy", False, "no v2.x toxiproxy-server (TOXIPROXY_SERVER, .bin/, PATH); run 'make demo'")
    return Check("toxiproxy", True, f"{found.version} at {found.server} ({found.source}); cli {found.cli}")


def docker_check() -> Check:
    try:
        import docker

        client = docker.from_env(timeout=3)
        version = client.version()
        client.close()
    except Exception as exc:  # any failure means "not available", with the reason
        return Check("docker engine", False, f"not available: {str(exc)[:160]}")
    return Check("docker engine", True, f"{version.get('Version', '?')} (API {version.get('ApiVersion', '?')})")


def run_checks(bin_dir: Path) -> list[Check]:
    versions = package_versions()
    checks = [Check("python", sys.version_info >= (3, 11), f"{versions.pop('python')} at {sys.executable}")]
    missing = [name for name, version in versions.items() if version == "missing"]
    listed = ", ".join(f"{name} {version}" for name, version in versions.items())
    checks.append(Check("packages", not missing, listed))
    checks.append(toxiproxy_check(bin_dir))
    checks.append(docker_check())
    return checks
