"""Find or install the real Toxiproxy server and CLI (v2.12.0 by default).

Order: ``$TOXIPROXY_SERVER`` / the project bin folder (``.bin`` of a checkout) / the user cache
(:func:`user_bin_dir`) / ``PATH`` if it is v2.x; else ``go install`` when Go is present; else the official
release binaries, verified against the release's SHA-256 checksums. ``taxstorm doctor --install-toxiproxy``
(and the first run that finds none) installs into the user cache; a checkout's ``make setup`` runs
``python -m taxstorm.chaos.toxiproxy.install --bin-dir .bin``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VERSION = "2.12.0"
MODULE = "github.com/Shopify/toxiproxy/v2"
RELEASES = "https://github.com/Shopify/toxiproxy/releases/download"
SERVER = "toxiproxy-server"
CLI = "toxiproxy-cli"


class ToxiproxyInstallError(RuntimeError):
    """No usable Toxiproxy could be found or installed; the message says what was tried."""


@dataclass(frozen=True)
class ToxiproxyBinaries:
    """Where the server and CLI are and which version the server reports."""

    server: Path
    cli: Path | None
    version: str
    source: str


def server_version(binary: Path) -> str | None:
    """The version a server binary reports, or None if it cannot run.

    A ``go install`` without ldflags reports ``git``; then the module version is read from the build info.
    """
    try:
        out = subprocess.run([str(binary), "-version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version\s+v?(\S+)", out)
    if match and match.group(1) != "git":
        return match.group(1)
    go = shutil.which("go")
    if go:
        info = subprocess.run([go, "version", "-m", str(binary)], capture_output=True, text=True, timeout=10)
        build = re.search(rf"\bmod\s+{re.escape(MODULE)}\s+v(\S+)", info.stdout)
        if build:
            return build.group(1)
    return match.group(1) if match else None


def _is_v2(version: str | None) -> bool:
    return version is not None and version.startswith("2.")


def user_bin_dir() -> Path:
    """Where taxstorm installs Toxiproxy for its user: ``$TAXSTORM_CACHE_DIR/bin``, else
    ``$XDG_CACHE_HOME/taxstorm/bin``, else ``~/.cache/taxstorm/bin``."""
    cache = os.environ.get("TAXSTORM_CACHE_DIR")
    if cache:
        return Path(cache) / "bin"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taxstorm" / "bin"


def candidates(bin_dir: Path) -> list[tuple[Path, str]]:
    """Existing servers worth checking, in order of preference."""
    found: list[tuple[Path, str]] = []
    env = os.environ.get("TOXIPROXY_SERVER")
    if env:
        found.append((Path(env), "TOXIPROXY_SERVER"))
    found.append((bin_dir / SERVER, "project bin folder"))
    found.append((user_bin_dir() / SERVER, "user cache"))
    on_path = shutil.which(SERVER)
    if on_path:
        found.append((Path(on_path), "PATH"))
    return found


def _cli_near(server: Path) -> Path | None:
    beside = server.with_name(CLI)
    if beside.exists():
        return beside
    on_path = shutil.which(CLI)
    return Path(on_path) if on_path else None


def locate(bin_dir: Path) -> ToxiproxyBinaries | None:
    """The first v2.x server already present, with the CLI next to it if there is one."""
    for path, source in candidates(bin_dir):
        if not path.exists():
            continue
        version = server_version(path)
        if _is_v2(version):
            assert version is not None
            return ToxiproxyBinaries(path, _cli_near(path), version, source)
    return None


def _go_install(go: str, bin_dir: Path, version: str) -> None:
    ldflags = f"-X {MODULE}.Version={version}"
    with tempfile.TemporaryDirectory() as gobin:
        env = {**os.environ, "GOBIN": gobin, "CGO_ENABLED": "0"}
        for cmd, target in (("server", SERVER), ("cli", CLI)):
            result = subprocess.run(
                [go, "install", "-ldflags", ldflags, f"{MODULE}/cmd/{cmd}@v{version}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if result.returncode != 0:
                raise ToxiproxyInstallError(f"go install {cmd}@v{version} failed:\n{result.stderr[-2000:]}")
            shutil.move(str(Path(gobin) / cmd), bin_dir / target)


def _release_asset(name: str, version: str) -> str:
    system = platform.system().lower()
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "amd64": "amd64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    return f"{name}-{system}-{machine}"


def download_release(bin_dir: Path, version: str, releases_url: str = RELEASES) -> None:
    """Fetch the official release binaries and verify each against the release's ``checksums.txt``."""
    base = f"{releases_url}/v{version}"
    with urllib.request.urlopen(f"{base}/checksums.txt", timeout=60) as response:
        sums = dict(reversed(line.split()) for line in response.read().decode().splitlines() if line.strip())
    for name in (SERVER, CLI):
        asset = _release_asset(name, version)
        if asset not in sums:
            raise ToxiproxyInstallError(f"release v{version} has no {asset} (checksums list {sorted(sums)})")
        with urllib.request.urlopen(f"{base}/{asset}", timeout=300) as response:
            data = response.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != sums[asset]:
            raise ToxiproxyInstallError(f"{asset}: sha256 {digest} does not match the release's {sums[asset]}")
        target = bin_dir / name
        target.write_bytes(data)
        target.chmod(0o755)


def ensure(bin_dir: Path, version: str = DEFAULT_VERSION, search: bool = True) -> ToxiproxyBinaries:
    """Return a usable v2.x Toxiproxy, installing ``version`` into ``bin_dir`` if none is present (or, without
    ``search``, whatever is present: a fresh static build, as the Toxiproxy image needs)."""
    present = locate(bin_dir) if search else None
    if present is not None:
        return present
    bin_dir.mkdir(parents=True, exist_ok=True)
    tried: list[str] = []
    go = shutil.which("go")
    if go:
        try:
            _go_install(go, bin_dir, version)
            return _installed(bin_dir, "go install")
        except (ToxiproxyInstallError, OSError, subprocess.SubprocessError) as exc:
            tried.append(f"go install: {exc}")
    else:
        tried.append("go install: no 'go' on PATH")
    try:
        download_release(bin_dir, version)
        return _installed(bin_dir, "release download")
    except (ToxiproxyInstallError, OSError, ValueError) as exc:
        tried.append(f"release download: {exc}")
    raise ToxiproxyInstallError(
        "no Toxiproxy v2.x server found or installable. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nFix: install Go, or put toxiproxy-server v2.x on PATH, or set TOXIPROXY_SERVER (target {bin_dir})."
    )


def _installed(bin_dir: Path, source: str) -> ToxiproxyBinaries:
    server = bin_dir / SERVER
    version = server_version(server)
    if not _is_v2(version):
        raise ToxiproxyInstallError(f"{server} was installed by {source} but reports version {version!r}")
    assert version is not None
    return ToxiproxyBinaries(server, bin_dir / CLI, version, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taxstorm.chaos.toxiproxy.install", description=__doc__)
    parser.add_argument("--bin-dir", type=Path, default=Path(".bin"))
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument(
        "--no-search", action="store_true", help="install into --bin-dir even when a server is found elsewhere"
    )
    parser.add_argument("--print-default-version", action="store_true", help="print the version installed by default")
    args = parser.parse_args(argv)
    if args.print_default_version:
        print(DEFAULT_VERSION)
        return 0
    try:
        found = ensure(args.bin_dir.resolve(), args.version, search=not args.no_search)
    except ToxiproxyInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(f"toxiproxy-server {found.version} at {found.server} ({found.source}); cli: {found.cli}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
