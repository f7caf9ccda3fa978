"""A per-instance adapter over ``toxiproxy-python``.

The 2019 client keeps host and port in class attributes (one server per process), has no request timeouts
and ignores 5xx answers. This adapter keeps its data classes (``Proxy``, ``Toxic``) and error mapping
(``validate_response``: 404 NotFound, 409 ProxyExists, 400 InvalidToxic) and adds what it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from toxiproxy.api import validate_response
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy
from toxiproxy.toxic import Toxic

__all__ = ["InvalidToxic", "NotFound", "ProxyExists", "ToxiproxyAPI", "ToxiproxyError"]


class ToxiproxyError(RuntimeError):
    """Toxiproxy could not be reached, timed out or answered 5xx."""


@dataclass(frozen=True)
class ServerVersion:
    """The parsed ``/version`` answer."""

    version: str

    @property
    def major(self) -> int:
        head = self.version.lstrip("v").split(".")[0]
        return int(head) if head.isdigit() else 0


class ToxiproxyAPI:
    """One Toxiproxy server at ``base_url`` (``http://127.0.0.1:8474``); no process-wide state."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()

    def _call(self, method: str, path: str, json: Any = None) -> requests.Response:
        try:
            response = self._session.request(method, self.base_url + path, json=json, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"{method} {self.base_url}{path}: {exc}") from exc
        if response.status_code >= 500:
            raise ToxiproxyError(f"{method} {path}: HTTP {response.status_code} {response.text.strip()}")
        validated: requests.Response = validate_response(response)
        return validated

    def version(self) -> ServerVersion:
        """The server's version; a 2.x server answers JSON, 1.x plain text."""
        response = self._call("GET", "/version")
        try:
            return ServerVersion(str(response.json()["version"]))
        except (ValueError, KeyError, TypeError):
            return ServerVersion(response.text.strip())

    def ping(self) -> bool:
        """True if the server answers."""
        try:
            self.version()
        except ToxiproxyError:
            return False
        return True

    def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy(**info) for name, info in self._call("GET", "/proxies").json().items()}

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True) -> Proxy:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy(**self._call("POST", "/proxies", body).json())

    def set_upstream(self, name: str, upstream: str) -> None:
        self._call("POST", f"/proxies/{name}", {"upstream": upstream})

    def populate(self, proxies: list[dict[str, Any]]) -> list[Proxy]:
        """Server-side ``/populate``: create or replace several proxies in one call."""
        answer = self._call("POST", "/populate", proxies).json()
        return [Proxy(**info) for info in answer.get("proxies", [])]

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def toxics(self, proxy: str) -> dict[str, Toxic]:
        return {t["name"]: Toxic(**t) for t in self._call("GET", f"/proxies/{proxy}/toxics").json()}

    def add_toxic(
        self,
        proxy: str,
        name: str,
        toxic_type: str,
        attributes: dict[str, Any],
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        body = {
            "name": name,
            "type": toxic_type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes,
        }
        return Toxic(**self._call("POST", f"/proxies/{proxy}/toxics", body).json())

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, Any], toxicity: float | None = None) -> Toxic:
        """PATCH a live toxic (the 2019 client cannot)."""
        body: dict[str, Any] = {"attributes": attributes}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return Toxic(**self._call("PATCH", f"/proxies/{proxy}/toxics/{name}", body).json())

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def close(self) -> None:
        self._session.close()
