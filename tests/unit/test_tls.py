"""A run's certificate authority: the platform's certificate names loopback and chains to the run's CA, an
expired one can be issued, and a process trusts the CA only while a run needs it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import certifi
from cryptography import x509

from taxstorm.chaos.tls import TRUST_VARIABLES, RunCA, trusted


def test_the_platform_certificate_names_loopback_and_chains_to_the_run_ca(tmp_path: Path) -> None:
    ca = RunCA(tmp_path / "tls")
    cert = ca.issue()
    leaf = x509.load_pem_x509_certificates(cert.cert_file.read_bytes())[0]
    authority = x509.load_pem_x509_certificate(ca.ca_file.read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert leaf.issuer == authority.subject and leaf.subject != authority.subject
    assert oct(cert.key_file.stat().st_mode & 0o777) == "0o600"
    assert ca.issue().cert_file != cert.cert_file  # every issue is a file of its own (a restart may swap it)


def test_a_certificate_can_be_issued_already_expired(tmp_path: Path) -> None:
    ago = datetime.now(UTC) - timedelta(days=2)
    cert = RunCA(tmp_path).issue(not_before=ago - timedelta(days=1), not_after=ago)
    leaf = x509.load_pem_x509_certificates(cert.cert_file.read_bytes())[0]
    assert leaf.not_valid_after_utc < datetime.now(UTC)


def test_trust_is_set_for_the_run_and_restored_after(tmp_path: Path) -> None:
    os.environ["SSL_CERT_FILE"] = "/somewhere/else.pem"
    os.environ.pop("REQUESTS_CA_BUNDLE", None)
    try:
        ca = RunCA(tmp_path)
        with trusted(ca.ca_file):
            bundle = Path(os.environ["SSL_CERT_FILE"])
            assert all(os.environ[name] == str(bundle) for name in TRUST_VARIABLES)
            assert bundle.read_bytes().endswith(ca.ca_file.read_bytes())  # the run's CA, after the public ones
            assert bundle.read_bytes().startswith(Path(certifi.where()).read_bytes())
        assert os.environ["SSL_CERT_FILE"] == "/somewhere/else.pem" and "REQUESTS_CA_BUNDLE" not in os.environ
        with trusted(None):
            assert os.environ["SSL_CERT_FILE"] == "/somewhere/else.pem"
    finally:
        os.environ.pop("SSL_CERT_FILE", None)
