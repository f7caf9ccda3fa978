"""Third-party code, unmodified, against the nuonuo dialect: PyPI's nuonuo-sdk 0.2.0 and taxstorm's reference wire
(taxstorm.clients.nuonuo_transport) issue through a real Toxiproxy to a real HTTPS platform with the run's CA, and
Toxiproxy's toxics act on them as on any client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nuonuo import Nuonuo, TransportError

from taxstorm.chaos.tls import trusted
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.clients.nuonuo_transport import NuonuoHTTP
from taxstorm.clients.transport import TransientError
from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for
from tests.helpers import SELLER, order
from tests.integration.test_tls import HttpsPlatform, https_platform  # noqa: F401  (the fixture)
from tests.nuonuo_helpers import nuonuo_order


def until(check: Callable[[], Any], deadline_s: float = 15.0) -> Any:
    """Poll ``check`` until it returns something truthy, within a deadline."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("no answer before the deadline")


def sdk_for(url: str, timeout: tuple[float, float] = (2, 3)) -> Nuonuo:
    app_key, secret = credentials_for(DEV_CREDENTIAL_KEY, SELLER.tax_id)
    return Nuonuo(
        app_key,
        secret,
        tax_number=SELLER.tax_id,
        base_url=f"{url}/open/v1/services",
        token_url=f"{url}/accessToken",
        timeout=timeout,
    )


def test_the_unmodified_nuonuo_sdk_issues_through_toxiproxy_over_tls(
    https_platform: HttpsPlatform,  # noqa: F811
    toxiproxy: ToxiproxyAPI,
) -> None:
    platform = https_platform
    with pytest.raises(ValueError, match="HTTPS"):
        sdk_for(platform.client_url.replace("https://", "http://"))  # the SDK speaks HTTPS only
    with trusted(platform.ca.ca_file), sdk_for(platform.client_url) as sdk:
        token = sdk.get_merchant_token()
        assert token["access_token"] and token["expires_in"] == "7200"
        accepted = sdk.nst.issue(nuonuo_order("SDK-1"))
        assert accepted["code"] == "E0000" and accepted["result"]["invoiceSerialNum"]

        def issued() -> dict[str, Any] | None:
            item: dict[str, Any] = sdk.nst.query(order_nos=["SDK-1"])["result"][0]
            return item if item["status"] == "2" else None

        item = until(issued)
        assert len(item["allElectronicInvoiceNumber"]) == 20 and item["orderAmount"] == "106.00"
        by_serial = sdk.nst.query(serial_nos=[accepted["result"]["invoiceSerialNum"]])
        assert by_serial["result"][0]["orderNo"] == "SDK-1"
        assert sdk.nst.issue(nuonuo_order("SDK-1"))["code"] == "E9106"  # the order number is the business key

        # a black hole for the answers (downstream): the order reaches the platform, its answer never comes back
        toxiproxy.add_toxic(platform.proxy, "hole", "timeout", {"timeout": 0})
        try:
            started = time.monotonic()
            with pytest.raises(TransportError, match="outcome may be unknown"):
                sdk.nst.issue(nuonuo_order("SDK-2"))
            assert time.monotonic() - started < 10  # its own read timeout (3 s) ended the wait
        finally:
            toxiproxy.remove_toxic(platform.proxy, "hole")
        assert sdk.nst.query(order_nos=["SDK-2"])["code"] == "E0000"  # unknown to the SDK, known to the platform


def test_the_reference_wire_answers_a_known_order_as_a_replay(
    https_platform: HttpsPlatform,  # noqa: F811
    toxiproxy: ToxiproxyAPI,
    tmp_path: Path,
) -> None:
    platform = https_platform
    app_key, secret = credentials_for(DEV_CREDENTIAL_KEY, SELLER.tax_id)
    wire = NuonuoHTTP(
        platform.client_url, (app_key, secret, SELLER.tax_id), 2.0, 3.0, stack="httpx", ca_file=platform.ca.ca_file
    )
    try:
        payload = order("REF-1").invoice_payload("TS-ignored")
        first = wire.submit(payload)
        assert first.status == "PROCESSING" and not first.replayed
        done = until(lambda: (a := wire.lookup("TS-ignored", "REF-1")) and a.status == "ISSUED" and a)
        assert done.invoice_no and done.upload_state in ("UPLOADING", "UPLOADED")
        again = wire.submit(payload)  # E9106 on the wire: the order's state, as a native replay
        assert again.replayed and again.invoice_no == done.invoice_no
        assert wire.lookup("x", "REF-never") is None
        # no batch call on Nuonuo: the wire asks once for what the platform has, then sends only the others
        bodies = [json.dumps(order(ref).invoice_payload(f"TS-{ref}")) for ref in ("REF-1", "REF-3")]
        batch = wire.submit_batch(bodies)
        known, new = batch.items
        assert known["accepted"] and known["invoice"]["status"] == "ISSUED" and known["invoice"]["replayed"]
        assert new["accepted"] and new["invoice"]["status"] == "PROCESSING" and new["requestSerialNo"] == "TS-REF-3"
        followed = until(lambda: all(i["invoice"]["status"] == "ISSUED" for i in wire.batch(batch.batch_id).items))
        assert followed
        toxiproxy.add_toxic(platform.proxy, "hole", "timeout", {"timeout": 0})
        try:
            with pytest.raises(TransientError) as caught:
                wire.submit(order("REF-2").invoice_payload("TS-2"))
            assert caught.value.unknown_outcome
        finally:
            toxiproxy.remove_toxic(platform.proxy, "hole")
    finally:
        wire.close()
