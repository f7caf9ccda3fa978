"""Client of the mock platform's admin API (always direct, never through Toxiproxy)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import urllib3

from taxstorm.chaos.tls import requests_verify

LANDED_CHUNK = 5000  # order refs per look-up request


class PlatformAdminError(RuntimeError):
    """The admin API could not be reached or refused the call."""


class PlatformAdmin:
    """Counters, ledger export and reset of one platform at ``base_url``."""

    def __init__(self, base_url: str, token: str, timeout_s: float = 10.0, ca_file: Path | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self._session = requests.Session()
        self._verify: str | bool = requests_verify(ca_file)  # given with every request
        self._session.headers["Authorization"] = f"Bearer {token}"

    def verify_with(self, ca_file: Path | None, verify: bool = True) -> None:
        """Check the platform's certificate against ``ca_file`` (the default store without one), or, with
        ``verify`` False, not at all: only while a fault serves a certificate the harness made bad on purpose."""
        self._verify = requests_verify(ca_file) if verify else False

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One admin request; PlatformAdminError unless it answers 200."""
        try:
            with warnings.catch_warnings():
                if self._verify is False:  # a certificate made bad on purpose: no warning on every sample
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                response = self._session.request(
                    method, self.base_url + path, timeout=self.timeout_s, verify=self._verify, **kwargs
                )
        except requests.RequestException as exc:
            raise PlatformAdminError(f"{method} {path}: {exc}") from exc
        if response.status_code != 200:
            raise PlatformAdminError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response

    def _get(self, path: str, **kwargs: Any) -> requests.Response:
        return self._send("GET", path, **kwargs)

    def healthy(self) -> bool:
        try:
            return bool(self._get("/health").json().get("status") == "UP")
        except (PlatformAdminError, ValueError):
            return False

    def tls_refusal(self) -> str | None:
        """Why this client refuses the platform's certificate (None: it does not, or the platform does not answer)."""
        try:
            self._get("/health")
        except PlatformAdminError as exc:
            if isinstance(exc.__cause__, requests.exceptions.SSLError):
                return str(exc.__cause__)
        return None

    def irp_public_key(self) -> str:
        """The platform's RSA public key (PEM) that IRP clients encrypt their credentials with."""
        return str(self._get("/admin/dialects/irp/public-key").json()["publicKey"])

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self._get("/admin/stats").json()
        return data

    def ledger(self, since: float | None = None, until: float | None = None) -> Iterator[dict[str, Any]]:
        """Stream the ledger export row by row; raise PlatformAdminError if the export does not arrive whole
        (its last line counts the rows: a stream cut short must never pass for a smaller ledger)."""
        params = {k: v for k, v in (("since", since), ("until", until)) if v is not None}
        response = self._get("/admin/ledger", params=params, stream=True)
        rows = 0
        try:
            for line in response.iter_lines():
                if not line:
                    continue
                row = json.loads(line)
                if row.get("end") is True and "orderRef" not in row:
                    if int(row.get("rows", -1)) != rows:
                        raise PlatformAdminError(f"ledger export: {rows} rows arrived, the platform sent {row['rows']}")
                    return
                rows += 1
                yield row
        except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError) as exc:
            raise PlatformAdminError(f"ledger export broke off after {rows} rows: {exc}") from exc
        finally:
            response.close()
        raise PlatformAdminError(f"ledger export ended after {rows} rows without its end line (cut short)")

    def landed(self, order_refs: list[str]) -> set[str]:
        """The orders among ``order_refs`` that have a blue invoice in the ledger that is (or will be) ISSUED."""
        found: set[str] = set()
        for start in range(0, len(order_refs), LANDED_CHUNK):
            answer = self.call("POST", "/admin/ledger/landed", {"orderRefs": order_refs[start : start + LANDED_CHUNK]})
            found.update(answer["landed"])
        return found

    def upload_failed(self) -> set[str]:
        """The orders whose ISSUED blue invoice has an upload that FAILED and was never repeated."""
        return set(self.call("GET", "/admin/ledger/upload-failed")["orderRefs"])

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Any admin call with a JSON body; raise PlatformAdminError unless it answers 200."""
        data: dict[str, Any] = self._send(method, path, json=body).json()
        return data

    def reset(self) -> None:
        self._send("POST", "/admin/reset")

    def close(self) -> None:
        self._session.close()
