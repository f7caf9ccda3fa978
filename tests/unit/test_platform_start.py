"""The platform refuses to listen beyond loopback with an admin token anyone can read in this repository."""

from __future__ import annotations

import pytest

from taxstorm.mock_platform.__main__ import main
from taxstorm.mock_platform.loopback import is_loopback


@pytest.mark.parametrize("token", [None, "change-me", "taxstorm-admin-change-me"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "platform"])
def test_a_public_admin_token_beyond_loopback_is_refused_before_anything_listens(
    host: str, token: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAXSTORM_PLATFORM_ADMIN_TOKEN", raising=False)
    if token is not None:
        monkeypatch.setenv("TAXSTORM_PLATFORM_ADMIN_TOKEN", token)
    with pytest.raises(SystemExit) as exited:
        main(["--host", host, "--port", "0"])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert f"refusing to listen on {host}" in said and "TAXSTORM_PLATFORM_ADMIN_TOKEN" in said


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("LocalHost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("example.test", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
