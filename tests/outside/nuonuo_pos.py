"""An outside system on the Nuonuo dialect for passive runs: a POS built on the unmodified ``nuonuo-sdk`` (it imports
nothing of taxstorm), pointed at a passive run by the ``platform.json`` the run writes; trust comes from the usual
``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE``.

Each sale's order number is its own reference, so a retry can never make a second invoice (Nuonuo refuses a known
order number with E9106, which this POS reads as "the platform has it"). A sale the platform does not take now is
queued and sent again, one at a time, once a second. It prints what it did as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from nuonuo import Nuonuo, NuonuoError, TransportError

TAKEN = frozenset({"E0000", "E9106"})  # accepted now, or accepted before under this order number


def sale(number: int, tax_id: str) -> dict[str, Any]:
    return {
        "orderNo": f"POS{number:06d}",
        "invoiceDate": time.strftime("%Y-%m-%d %H:%M:%S"),
        "invoiceType": "1",
        "invoiceLine": "pc",
        "salerTaxNum": tax_id,
        "salerTel": "027-86000000",
        "salerAddress": "武汉市",
        "buyerName": "个人",
        "clerk": "收银员",
        "pushMode": "-1",
        "invoiceDetail": [{"goodsName": "咖啡", "num": "1", "price": "30", "withTaxFlag": "1", "taxRate": "0.06"}],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("info", type=Path)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--rate", type=float, default=3.0)
    parser.add_argument("--drain-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    info = json.loads(args.info.read_text(encoding="utf-8"))
    seller = info["sellers"][0]
    sdk = Nuonuo(
        seller["client_id"],
        seller["client_secret"],
        tax_number=seller["tax_id"],
        base_url=info["endpoints"]["services"],
        token_url=info["endpoints"]["token"],
        timeout=(3, 3),
    )
    sdk.get_merchant_token()
    queue: deque[int] = deque()
    done = {"issued": 0, "queued": 0}
    paused_until = 0.0

    def send(number: int) -> bool:
        nonlocal paused_until
        try:
            answer = sdk.nst.issue(sale(number, seller["tax_id"]))
        except (TransportError, NuonuoError):
            answer = {"code": "unknown"}
        if str(answer.get("code")) in TAKEN:
            return True
        paused_until = time.monotonic() + 1.0
        return False

    start = time.monotonic()
    number = 0
    while (now := time.monotonic()) < start + args.seconds + args.drain_s:
        if now < start + args.seconds and number < (now - start) * args.rate:
            number += 1
            if now >= paused_until and send(number):
                done["issued"] += 1
            else:
                queue.append(number)
                done["queued"] += 1
        elif queue and now >= paused_until and send(queue[0]):
            queue.popleft()
            done["issued"] += 1
        time.sleep(0.02)
    print(json.dumps({**done, "left": len(queue)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
