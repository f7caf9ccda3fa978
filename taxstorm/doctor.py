"""``taxstorm doctor``: is this machine ready to run scenarios?"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from taxstorm.versions import OPTIONAL_PACKAGES, package_versions


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def toxiproxy_check(bin_dir: Path) -> Check:
    from taxstorm.chaos.toxiproxy import install

    found = install.locate(bin_dir)
    if found is None:
        where = f"TOXIPROXY_SERVER, {bin_dir}, {install.user_bin_dir()}, PATH"
        return Check(
            "toxiproxy", False, f"no v2.x toxiproxy-server ({where}); run 'taxstorm doctor --install-toxiproxy'"
        )
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


def compose_check() -> Check:
    """docker compose v2 (a Docker CLI plugin): what docker-compose.yml and game days on a stack need."""
    if shutil.which("docker") is None:
        return Check("docker compose", False, "no docker CLI; 'make test' installs Debian's docker.io")
    try:
        found = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("docker compose", False, f"not available: {exc}")
    if found.returncode != 0:
        return Check("docker compose", False, "missing: scripts/ensure-compose.sh builds v2 from the Go module proxy")
    return Check("docker compose", True, found.stdout.strip())


def run_checks(bin_dir: Path) -> list[Check]:
    versions = package_versions()
    checks = [Check("python", sys.version_info >= (3, 11), f"{versions.pop('python')} at {sys.executable}")]
    missing = [name for name, version in versions.items() if version == "missing" and name not in OPTIONAL_PACKAGES]
    listed = ", ".join(f"{name} {version}" for name, version in versions.items())
    checks.append(Check("packages", not missing, listed))
    checks.append(toxiproxy_check(bin_dir))
    checks.append(docker_check())
    checks.append(compose_check())
    return checks
