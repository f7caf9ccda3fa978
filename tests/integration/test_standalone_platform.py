"""``taxstorm platform``: the mock platform behind Toxiproxy for a client system pointed at it by hand; the
printed (and written) URLs and credentials work, Toxiproxy's faults act on it, Ctrl-C judges the session from
the platform's side and leaves nothing behind."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.waiting import wait_until
from tests.conftest import REPO
from tests.helpers import order
from tests.integration.test_cli_run import assert_no_child_left, taxstorm


def standing(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``taxstorm platform`` with ``flags``, once it has written its info file (the process and the info)."""
    info_file = tmp_path / "platform.json"
    args = ["platform", *flags, "--info-file", str(info_file), "--dir", str(tmp_path / "p")]
    proc = taxstorm(*args, "--toxiproxy-bin-dir", str(REPO / ".bin"), start_new_session=True)
    wait_until(lambda: info_file.exists() or proc.poll() is not None, 60, "the platform's info file")
    if proc.poll() is not None:
        raise AssertionError(proc.communicate()[0])
    return proc, json.loads(info_file.read_text())


def test_a_standing_tls_platform_serves_a_client_of_ones_own_until_ctrl_c(tmp_path: Path) -> None:
    info_file = tmp_path / "platform.json"
    proc, info = standing(tmp_path, "--tls", "--sellers", "2")
    try:
        assert oct(info_file.stat().st_mode & 0o777) == "0o600"  # it holds the admin token and secrets
        trust = ssl.create_default_context(cafile=info["ca_file"])
        seller = info["sellers"][1]
        body = {
            "clientId": seller["client_id"],
            "clientSecret": seller["client_secret"],
            "taxpayerId": seller["tax_id"],
        }
        answer = httpx.post(f"{info['client_url']}/api/v1/auth/token", json=body, verify=trust, timeout=10)
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['data']['accessToken']}"}
        assert httpx.get(f"{info['client_url']}/api/v1/invoices", headers=headers, verify=trust, timeout=10).is_success
        mine = replace(order("ORD-HAND-1"), seller_tax_id=seller["tax_id"])
        for serial in ("first-try", "second-try"):  # a lost answer resubmitted under a new serial: a duplicate
            issued = httpx.post(
                f"{info['client_url']}/api/v1/invoices",
                json=mine.invoice_payload(serial),
                headers=headers,
                verify=trust,
                timeout=10,
            )
            assert issued.status_code in (200, 202), issued.text
        toxiproxy = ToxiproxyAPI(info["toxiproxy_url"])
        toxiproxy.add_toxic(info["proxy"], "slow", "latency", {"latency": 300})
        started = time.perf_counter()
        httpx.get(f"{info['client_url']}/health", verify=trust, timeout=10)
        assert time.perf_counter() - started >= 0.3  # a fault of the operator's own, through Toxiproxy's API
        state = json.loads((tmp_path / "p" / "state.json").read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert f"clients:   {info['client_url']}" in output and "stopped by SIGINT" in output
    assert seller["client_secret"] in output and "clean-up:" not in output
    assert "duplicate: order ORD-HAND-1 has 2 live invoices" in output  # judged from the platform's side
    verdict = json.loads((tmp_path / "p" / "verdict.json").read_text())
    assert verdict["duplicated_orders"] == {"ORD-HAND-1": 2} and verdict["submissions"] == 2
    assert_no_child_left(state)


def test_a_standing_platform_serves_an_unmodified_nuonuo_sdk_by_its_printed_endpoints(tmp_path: Path) -> None:
    from nuonuo import Nuonuo

    from taxstorm.chaos.tls import trusted
    from tests.nuonuo_helpers import nuonuo_order

    proc, info = standing(tmp_path, "--dialect", "nuonuo", "--tls")
    try:
        assert info["dialect"] == "nuonuo" and info["endpoints"]["services"].endswith("/open/v1/services")
        seller = info["sellers"][0]
        sdk = Nuonuo(
            seller["client_id"],
            seller["client_secret"],
            tax_number=seller["tax_id"],
            base_url=info["endpoints"]["services"],
            token_url=info["endpoints"]["token"],
        )
        with trusted(Path(info["ca_file"])), sdk:
            sdk.get_merchant_token()
            for order_no in ("ERP-1", "ERP-1", "ERP-2"):  # the second is refused: E9106, no second invoice
                sdk.nst.issue(nuonuo_order(order_no, salerTaxNum=seller["tax_id"]))
            state = json.loads((tmp_path / "p" / "state.json").read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "dialect:   nuonuo" in output and f"appKey {seller['client_id']}" in output
    verdict = json.loads((tmp_path / "p" / "verdict.json").read_text())
    assert verdict["invoices"] == 2 and verdict["orders"] == 2 and verdict["duplicated_orders"] == {}
    assert verdict["submissions"] == 3  # what the platform's side can tell: three tries for two invoices
    assert_no_child_left(state)


def test_a_standing_platform_serves_an_unmodified_gst_irn_sdk_by_its_printed_credentials(tmp_path: Path) -> None:
    from gst_irn import Session

    from taxstorm.chaos.tls import trusted
    from tests.irp_helpers import irp_invoice

    proc, info = standing(tmp_path, "--dialect", "irp", "--tls")
    try:
        seller = info["sellers"][0]
        public_key = Path(info["endpoints"]["public key"]).read_text(encoding="utf-8")
        assert info["endpoints"]["auth"].endswith("/eivital/v1.04/auth") and "BEGIN PUBLIC KEY" in public_key
        session = Session(
            seller["tax_id"],
            seller["client_id"],
            seller["client_secret"],
            seller["user_name"],
            seller["password"],
            public_key,
            base_url=info["client_url"],
        )
        invoice = irp_invoice("ERP/1", SellerDtls={"Gstin": seller["tax_id"], "LglNm": "Seller"})
        with trusted(Path(info["ca_file"])):
            session.generate_token(cache_dir=str(tmp_path / "tokens"))
            assert len(session.generate_e_invoice(invoice)["Irn"]) == 64
        state = json.loads((tmp_path / "p" / "state.json").read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "dialect:   irp" in output and f"user_name {seller['user_name']}" in output
    verdict = json.loads((tmp_path / "p" / "verdict.json").read_text())
    assert verdict["invoices"] == 1 and verdict["orders"] == 1
    assert_no_child_left(state)
