"""The game day's web door on a bare Flask app: requests without the session's token, foreign hosts and
cross-origin writes are refused."""

from __future__ import annotations

import pytest
from flask import Flask, Response, jsonify

from taxstorm.gameday.door import guard, host_allowed, host_name, is_loopback_bind, origin_allowed


def app(web_host: str = "127.0.0.1") -> Flask:
    made = Flask("door-test")

    @made.post("/chaos/api/apply")
    def apply() -> Response:
        return jsonify({"applied": True})

    @made.get("/chaos/api/state")
    def state() -> Response:
        response = jsonify({"halted": None})
        response.headers["Access-Control-Allow-Origin"] = "*"  # what a CORS layer might have added
        return response

    @made.post("/swarm")
    def swarm() -> Response:
        return jsonify({"success": True})

    guard(made, web_host, TOKEN)
    return made


TOKEN = "a-session-token-of-this-game-day"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("header", "name"), [("127.0.0.1:8089", "127.0.0.1"), ("[::1]:8089", "::1"), ("LocalHost", "localhost")]
)
def test_host_names(header: str, name: str) -> None:
    assert host_name(header) == name


def test_only_this_machine_by_address_loopback_name_or_its_bound_name() -> None:
    assert host_allowed("127.0.0.1:8089", "127.0.0.1") and host_allowed("localhost:8089", "0.0.0.0")
    assert host_allowed("192.168.1.20:8089", "0.0.0.0")  # an IP address: no rebinding possible
    assert host_allowed("gameday.corp:8089", "gameday.corp")
    assert not host_allowed("attacker.example:8089", "0.0.0.0")  # DNS rebinding arrives under its own name
    assert not host_allowed("attacker.example:8089", "127.0.0.1")


def test_origins() -> None:
    assert origin_allowed(None, "127.0.0.1:8089")  # curl, scripts
    assert origin_allowed("http://127.0.0.1:8089", "127.0.0.1:8089")
    assert not origin_allowed("https://evil.example", "127.0.0.1:8089")
    assert not origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8089")  # another local page


def test_a_foreign_page_cannot_apply_faults_or_start_a_swarm() -> None:
    client = app().test_client()
    here = {"Host": "127.0.0.1:8089", **AUTH}
    ok = client.post("/chaos/api/apply", headers={**here, "Origin": "http://127.0.0.1:8089"})
    assert ok.status_code == 200
    for path in ("/chaos/api/apply", "/swarm"):
        refused = client.post(path, headers={**here, "Origin": "https://evil.example"})
        assert refused.status_code == 403 and refused.get_json()["field"] == "Origin"
    rebound = client.get("/chaos/api/state", headers={**AUTH, "Host": "attacker.example:8089"})
    assert rebound.status_code == 403 and rebound.get_json()["field"] == "Host"
    read = client.get("/chaos/api/state", headers={**here, "Origin": "https://evil.example"})
    assert read.status_code == 200 and "Access-Control-Allow-Origin" not in read.headers  # no cross-origin reads


def test_binding_beyond_loopback_is_known() -> None:
    assert is_loopback_bind("127.0.0.1") and is_loopback_bind("localhost") and is_loopback_bind("::1")
    assert not is_loopback_bind("0.0.0.0") and not is_loopback_bind("192.168.1.20")


def test_every_request_needs_the_session_token() -> None:
    client = app().test_client()
    here = {"Host": "127.0.0.1:8089"}
    for method, path in (("GET", "/chaos/api/state"), ("POST", "/chaos/api/apply"), ("POST", "/swarm")):
        for headers in (here, {**here, "Authorization": "Bearer wrong-token"}, {**here, "Authorization": TOKEN}):
            refused = client.open(path, method=method, headers=headers)
            assert refused.status_code == 401 and refused.get_json()["field"] == "token", (method, path, headers)
        assert client.open(path, method=method, headers={**here, **AUTH}).status_code == 200
    assert client.post(f"/swarm?token={TOKEN}", headers=here).status_code == 401  # a link cannot carry a write
    alive = client.get("/chaos/alive", headers=here)  # a container health check knows no token
    assert alive.status_code == 200 and alive.get_json() == {"alive": True}
    assert client.post("/chaos/alive", headers=here).status_code == 401


def test_opening_the_printed_url_logs_the_browser_in_and_drops_the_token_from_the_address() -> None:
    client = app().test_client()
    here = {"Host": "127.0.0.1:8089"}
    assert client.get("/chaos/api/state?token=wrong", headers=here).status_code == 401
    login = client.get(f"/chaos/api/state?token={TOKEN}&tab=chaos", headers=here)
    assert login.status_code == 303 and login.headers["Location"] == "/chaos/api/state?tab=chaos"
    cookie = login.headers["Set-Cookie"]
    assert f"taxstorm_session={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/chaos/api/state", headers=here).status_code == 200  # the cookie, from now on
    cross = client.post("/chaos/api/apply", headers={**here, "Origin": "https://evil.example"})
    assert cross.status_code == 403  # logged in, still no cross-origin writes
