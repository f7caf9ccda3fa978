"""The certificate authority a TLS run makes for itself, and the platform certificates it issues.

Clients trust the run's CA (``ClientConfig.ca_file``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``) and nothing
else needs changing: Toxiproxy passes the TLS bytes through, and the certificate names the address clients
connect to (the proxy's, on loopback).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost")
TRUST_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")  # httpx and the ssl module; requests


@dataclass(frozen=True)
class ServerCert:
    """A certificate chain and its private key, as files a TLS server loads."""

    cert_file: Path
    key_file: Path


class RunCA:
    """A CA of one run (its key never leaves memory) and the folder its files go to."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="taxstorm run CA")
        self.ca_file = folder / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self._issued = 0

    def issue(
        self,
        names: tuple[str, ...] = LOOPBACK_NAMES,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> ServerCert:
        """A server certificate for ``names`` (valid from ``not_before`` to ``not_after``: trustme's defaults
        when omitted), as new files."""
        self._issued += 1
        leaf = self._ca.issue_cert(*names, not_before=not_before, not_after=not_after)
        cert = ServerCert(self.folder / f"server-{self._issued}.pem", self.folder / f"server-{self._issued}.key")
        for blob in leaf.cert_chain_pems:
            with cert.cert_file.open("ab") as out:
                out.write(blob.bytes())
        leaf.private_key_pem.write_to_path(str(cert.key_file))
        os.chmod(cert.key_file, 0o600)
        return cert


def trust_bundle(ca_file: Path) -> Path:
    """The public CAs (certifi's) plus the run's, beside the run's CA: what the trust variables name, so that a
    client's other HTTPS calls keep working while it trusts the run's platform."""
    import certifi

    bundle = ca_file.with_name("trust-bundle.pem")
    if not bundle.exists():
        bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca_file.read_bytes())
    return bundle


def trust_from(ca_file: Path) -> None:
    """Set the trust variables of this process to the run's bundle (a worker process serving one run)."""
    os.environ.update({name: str(trust_bundle(ca_file)) for name in TRUST_VARIABLES})


def requests_verify(ca_file: Path | None) -> str | bool:
    """requests' ``verify`` for a platform: the run's CA, else the default store. Give it with every request:
    requests lets a machine's REQUESTS_CA_BUNDLE override a session's own ``verify``."""
    return str(ca_file) if ca_file is not None else True


@contextmanager
def trusted(ca_file: Path | None) -> Iterator[None]:
    """Add ``ca_file`` to the trust of this process's HTTP libraries for the duration (nothing without one)."""
    if ca_file is None:
        yield
        return
    previous = {name: os.environ.get(name) for name in TRUST_VARIABLES}
    trust_from(ca_file)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
