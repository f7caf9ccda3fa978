"""A Docker engine for the container tests: the running one, or a dockerd this session starts and stops."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.toxiproxy.install import DEFAULT_VERSION
from taxstorm.chaos.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
IMAGES = {"taxstorm-platform:v1": "stable", "taxstorm-platform:v2": "renamed-field"}


def _client() -> Any:
    client = docker.from_env(timeout=10)
    client.ping()
    return client


@contextmanager
def docker_engine() -> Iterator[Any]:
    """Yield a docker client; start dockerd (as root) when none answers, stop it afterwards."""
    try:
        yield _client()
        return
    except docker.errors.DockerException:
        pass
    dockerd = shutil.which("dockerd")
    if dockerd is None or os.geteuid() != 0:
        raise RuntimeError("no Docker engine answers, and dockerd cannot be started here (needs root and docker.io)")
    log = Path(tempfile.mkdtemp(prefix="taxstorm-dockerd-")) / "dockerd.log"
    daemon = ManagedProcess("dockerd", [dockerd, "--host", "unix:///var/run/docker.sock"], log)
    daemon.start()
    try:
        wait_until(lambda: bool(_client()), 60, "dockerd")
        yield _client()
    finally:
        daemon.stop(timeout_s=20)


@contextmanager
def building() -> Iterator[None]:
    """One image build at a time on this machine: the suite's pytest-xdist workers (and two checkouts' suites)
    would otherwise build the same tags at once."""
    with open(Path(tempfile.gettempdir()) / "taxstorm-test-images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_images(client: Any) -> None:
    """The container-fault tests' two platform releases: this working tree's project image, as ``v1`` on the
    stable release and ``v2`` on the renamed-field one (an upgrade that breaks clients)."""
    base = project_image(client)
    with building():
        for tag, release in IMAGES.items():
            dockerfile = f"FROM {base}\nENV TAXSTORM_PLATFORM_RELEASE={release}\n".encode()
            client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True)


TOXIPROXY_IMAGE = f"ghcr.io/shopify/toxiproxy:{DEFAULT_VERSION}"  # made by scripts/build-images.sh, as upstream's
IMAGE_SOURCES = (
    "Dockerfile",
    "pyproject.toml",
    "taxstorm",
    "mock_platform",
    "chaos",
    "loadtests",
    "scenarios",
)


@functools.cache
def source_digest() -> str:
    """A digest of what goes into the project image: an image tagged with it was built from this very code."""
    digest = hashlib.sha256()
    for top in IMAGE_SOURCES:
        root = REPO / top
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def project_image(client: Any) -> str:
    """This working tree's project image (``taxstorm:src-<digest>``), built by scripts/build-images.sh if missing."""
    tag = f"taxstorm:src-{source_digest()}"
    with building():
        _build_missing(client, tag)
    return tag


def _build_missing(client: Any, tag: str) -> None:
    try:
        for needed in (tag, TOXIPROXY_IMAGE):
            client.images.get(needed)
    except docker.errors.ImageNotFound:
        subprocess.run(
            [str(REPO / "scripts" / "build-images.sh"), tag],
            check=True,
            env={**os.environ, "PYTHON": sys.executable},
            timeout=1500,
        )
        tags = [name for image in client.images.list(name="taxstorm") for name in image.tags]
        for old in [name for name in tags if name.startswith("taxstorm:src-") and name != tag]:
            client.images.remove(old)  # the images of older working trees
