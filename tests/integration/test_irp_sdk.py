"""PyPI's gst-e-invoicing 0.9.0 (gst_irn), unmodified, against the irp dialect through a real Toxiproxy to a real
HTTPS platform with the run's CA: auth, IRN generation, the duplicate, look-ups; and what taxstorm finds in it (no
timeout on its requests: a black hole holds a call until the network comes back)."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from gst_irn import Session
from gst_irn.session import RequestError

from taxstorm.chaos.tls import trusted
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for, irp_password_for, irp_user_for
from tests.conftest import REPO
from tests.integration.test_cli_run import only_run
from tests.integration.test_tls import HttpsPlatform, https_platform  # noqa: F401  (the fixture)
from tests.irp_helpers import SELLER_GSTIN, irp_invoice


def session_for(platform: HttpsPlatform) -> Session:
    client_id, secret = credentials_for(DEV_CREDENTIAL_KEY, SELLER_GSTIN)
    admin = platform.process.admin
    assert admin is not None
    return Session(
        SELLER_GSTIN,
        client_id,
        secret,
        irp_user_for(SELLER_GSTIN),
        irp_password_for(DEV_CREDENTIAL_KEY, SELLER_GSTIN),
        admin.irp_public_key(),
        base_url=platform.client_url,
    )


def test_the_unmodified_gst_irn_sdk_registers_invoices_through_toxiproxy_over_tls(
    https_platform: HttpsPlatform,  # noqa: F811
    toxiproxy: ToxiproxyAPI,
    tmp_path: Path,
) -> None:
    platform = https_platform
    with trusted(platform.ca.ca_file):
        session = session_for(platform)
        session.generate_token(cache_dir=str(tmp_path / "tokens"))
        doc_no = f"T{uuid.uuid4().hex[:8].upper()}"
        einvoice = session.generate_e_invoice(irp_invoice(doc_no))
        assert einvoice["Status"] == "ACT" and len(einvoice["Irn"]) == 64 and len(str(einvoice["AckNo"])) == 15
        assert session.get_e_invoice_by_irn(einvoice["Irn"]) == einvoice  # as the SDK's own sandbox test asserts
        by_document = f"{platform.client_url}/eicore/v1.03/Invoice/irnbydocdetails?doctype=inv&docnum={doc_no}"
        assert session.get(f"{by_document}&docdate=18/11/2026")["Irn"] == einvoice["Irn"]
        with pytest.raises(RequestError) as duplicate:
            session.generate_e_invoice(irp_invoice(doc_no))
        message, body = duplicate.value.args
        assert message == "action failed" and body["ErrorDetails"][0]["ErrorCode"] == "2150"
        assert body["InfoDtls"][0]["Desc"]["Irn"] == einvoice["Irn"]  # NIC's DUPIRN: the original
        cancel = {"Irn": einvoice["Irn"], "CnlRsn": "1", "CnlRem": "Wrong entry"}  # as the SDK's own test cancels
        assert "CancelDate" in session.post(f"{platform.client_url}/eicore/v1.03/Invoice/Cancel", cancel)
        assert session.get_e_invoice_by_irn(einvoice["Irn"])["Status"] == "CNL"

        # the SDK sets no timeout: a black hole for answers holds its call (here: the TLS handshake of the new
        # connection it opens for every request) until the network comes back
        done: dict[str, Any] = {}

        def call() -> None:
            try:
                done["answer"] = session.generate_e_invoice(irp_invoice("HOLE1"))
            except Exception as exc:  # the connection Toxiproxy drops when the toxic goes
                done["error"] = exc

        toxiproxy.add_toxic(platform.proxy, "hole", "timeout", {"timeout": 0})
        try:
            caller = threading.Thread(target=call, daemon=True)
            caller.start()
            caller.join(timeout=4.0)
            assert caller.is_alive() and not done  # still waiting, with nothing to stop it
        finally:
            toxiproxy.remove_toxic(platform.proxy, "hole")
        caller.join(timeout=30.0)
        assert not caller.is_alive() and "error" in done  # only the network's return ended it
        assert session.generate_e_invoice(irp_invoice("HOLE1"))["Status"] == "ACT"  # the handshake never finished


def test_a_client_trusting_the_sdk_to_return_is_caught_by_a_black_hole(tmp_path: Path) -> None:
    """The finding, as a verdict: network_partition on the irp dialect fails the unbounded integration's contract
    (its users waited past the answer budget) while the bounded one (examples.gst_irn_client:create) passes."""
    runs = {}
    for name in ("create_unbounded", "create"):
        args = ["run", "network_partition", "--dialect", "irp", "--tls", "--scale", "0.3"]
        args += ["--client", f"examples.gst_irn_client:{name}", "--report-dir", str(tmp_path / name)]
        with (tmp_path / f"{name}.txt").open("w") as output:  # a file, not a pipe: both run at once, unread
            runs[name] = subprocess.Popen(
                [sys.executable, "-m", "taxstorm", *args], cwd=REPO, stdout=output, stderr=subprocess.STDOUT
            )
    for proc in runs.values():
        proc.wait(timeout=300)
    unbounded, _ = only_run(tmp_path / "create_unbounded")
    assert runs["create_unbounded"].returncode == 1
    failed = {g["kind"] for g in unbounded["gates"] if not g["passed"]}
    assert "contract" in failed and any(d["kind"] == "no_answer" for d in unbounded["client_defects"]), failed
    bounded, _ = only_run(tmp_path / "create")
    assert runs["create"].returncode == 0, [g for g in bounded["gates"] if not g["passed"]]
