"""An outside system for passive runs: a small ERP written from the platform's API docs alone (it imports nothing of
taxstorm), pointed at a passive run by the ``platform.json`` the run writes.

By default it keeps each order's serial, looks a lost answer up, queues orders while the platform refuses them and
sends the queue when it is back (DESIGN's client contract); ``--sloppy`` retries at once under a new serial, as
integrations often do; ``--stuck`` is careful but its circuit breaker never closes once opened. It runs for
``--seconds`` at ``--rate`` orders a second, then drains its queue for ``--drain-s`` and prints what it did as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests


class Platform:
    """The platform's native API as its docs describe it: a token per seller, issue, look-up by serial."""

    def __init__(self, info: dict[str, Any], timeout_s: float) -> None:
        seller = info["sellers"][0]
        self.url = info["client_url"]
        self.seller = seller
        self.verify: str | bool = info["ca_file"] or True
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.token = ""

    def _authorize(self) -> None:
        body = {
            "clientId": self.seller["client_id"],
            "clientSecret": self.seller["client_secret"],
            "taxpayerId": self.seller["tax_id"],
        }
        answer = self.http.post(f"{self.url}/api/v1/auth/token", json=body, timeout=self.timeout_s, verify=self.verify)
        answer.raise_for_status()
        self.token = answer.json()["data"]["accessToken"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        if not self.token:
            self._authorize()
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = self.http.request(
            method, f"{self.url}{path}", json=body, headers=headers, timeout=self.timeout_s, verify=self.verify
        )
        if answer.status_code == 401:
            self._authorize()
            return self.call(method, path, body)
        return answer


def order(seller: dict[str, str], number: int, serial: str) -> dict[str, Any]:
    """One B2C order of a single line at 13% VAT."""
    amount = Decimal("100.00") + number % 50
    tax = (amount * Decimal("0.13")).quantize(Decimal("0.01"))
    return {
        "requestSerialNo": serial,
        "orderRef": f"ERP-{number:06d}",
        "invoiceType": "02",
        "seller": {"taxId": seller["tax_id"], "name": "Outside ERP Ltd"},
        "buyer": {"name": "Walk-in customer"},
        "lines": [
            {
                "lineNo": 1,
                "itemName": "*服务*咨询费",
                "quantity": "1",
                "unitPrice": str(amount),
                "amount": str(amount),
                "taxRate": "0.13",
                "taxAmount": str(tax),
            }
        ],
        "totals": {"amount": str(amount), "tax": str(tax), "totalWithTax": str(amount + tax)},
    }


def careful(platform: Platform, seconds: float, rate: float, drain_s: float, stuck: bool = False) -> dict[str, int]:
    """Persist the serial, look an unknown outcome up, queue while refused, probe once a second, drain after.
    ``stuck``: its circuit breaker never closes again once the platform refused it (no probe, ever)."""
    queue: deque[tuple[int, str]] = deque()
    done: dict[str, int] = {"issued": 0, "queued": 0, "rejected": 0}
    paused_until = 0.0

    def send(number: int, serial: str) -> str:
        nonlocal paused_until
        try:
            answer = platform.call("POST", "/api/v1/invoices", order(platform.seller, number, serial))
        except requests.RequestException:
            return lookup(number, serial)
        if answer.status_code in (200, 202):
            return "issued"
        if answer.status_code in (500, 504):
            return lookup(number, serial)
        if answer.status_code in (429, 503):
            paused_until = float("inf") if stuck else time.monotonic() + float(answer.headers.get("Retry-After") or 1)
            return "queued"
        return "rejected"

    def lookup(number: int, serial: str) -> str:
        try:
            found = platform.call("GET", f"/api/v1/invoices/by-serial/{serial}")
        except requests.RequestException:
            return "queued"
        return "issued" if found.status_code == 200 else "queued"

    def settle(number: int, serial: str) -> None:
        outcome = send(number, serial)
        if outcome == "queued":
            queue.append((number, serial))
        done[outcome] += 1

    start = time.monotonic()
    number = 0
    while (now := time.monotonic()) < start + seconds + drain_s:
        if now < start + seconds and number < (now - start) * rate:
            number += 1
            serial = f"ERP-S-{number:06d}"
            if now < paused_until:
                queue.append((number, serial))
                done["queued"] += 1
            else:
                settle(number, serial)
        if queue and time.monotonic() >= paused_until:  # one queued order at a time: a probe while it refuses
            done["queued"] -= 1
            settle(*queue.popleft())
        time.sleep(0.02)
    return {**done, "left": len(queue)}


def sloppy(platform: Platform, seconds: float, rate: float) -> dict[str, int]:
    """Retry at once, up to eight times, under a new serial each time (the first answer may have been lost)."""
    done = {"issued": 0, "failed": 0}
    start = time.monotonic()
    number = 0
    while (now := time.monotonic()) < start + seconds:
        if number < (now - start) * rate:
            number += 1
            for attempt in range(8):
                try:
                    answer = platform.call(
                        "POST", "/api/v1/invoices", order(platform.seller, number, f"S{number}-{attempt}")
                    )
                except requests.RequestException:
                    continue
                if answer.status_code in (200, 202):
                    done["issued"] += 1
                    break
            else:
                done["failed"] += 1
        time.sleep(0.02)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("info", type=Path, help="the passive run's platform.json")
    parser.add_argument("--sloppy", action="store_true")
    parser.add_argument("--stuck", action="store_true", help="careful, but its breaker never closes after a refusal")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--drain-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    info = json.loads(args.info.read_text(encoding="utf-8"))
    if args.sloppy:
        result = sloppy(Platform(info, timeout_s=1.0), args.seconds, args.rate)
    else:
        result = careful(Platform(info, timeout_s=3.0), args.seconds, args.rate, args.drain_s, args.stuck)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
