"""One Locust process of ``load_generation.py``: runs a mode and prints JSON (CPU seconds, operations, RSS).

Modes: ``taxstorm`` (our user + resilient client, open model), ``bare`` (FastHttpUser posting the same
payloads at the same rate), ``idle`` (N users that only create their client, for memory per user).
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for


def token_request(taxpayer: str) -> dict[str, str]:
    """The token request of a taxpayer's own credential (a platform on the development key)."""
    client_id, secret = credentials_for(DEV_CREDENTIAL_KEY, taxpayer)
    return {"clientId": client_id, "clientSecret": secret, "taxpayerId": taxpayer}


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from locust import FastHttpUser, constant, constant_throughput, task
    from locust.env import Environment

    from taxstorm.clients.protocol import load_factory
    from taxstorm.loadtests.context import LoadContext
    from taxstorm.loadtests.orders import OrderGenerator
    from taxstorm.loadtests.records import Recorder
    from taxstorm.loadtests.shapes import Steady
    from taxstorm.loadtests.users import make_issuing_user

    mode, url, users, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    generator = OrderGenerator(7, f"{mode}{uuid.uuid4().hex[:6]}")
    recorder = Recorder()
    t0 = time.monotonic()
    context = LoadContext(
        client_factory=load_factory("resilient"),
        base_url=url,
        state_dir=Path(tempfile.mkdtemp(prefix="taxstorm-probe-")),
        generator=generator,
        recorder=recorder,
        clock=lambda: time.monotonic() - t0,
    )
    if mode == "bare":
        seller = generator.seller(0)
        token = {"value": ""}

        class Bare(FastHttpUser):
            host = url
            wait_time = constant_throughput(rate / users) if rate > 0 else constant(0)

            def on_start(self) -> None:
                if not token["value"]:
                    answer = self.client.post(
                        "/api/v1/auth/token",
                        json=token_request(seller.tax_id),
                    )
                    token["value"] = answer.json()["data"]["accessToken"]

            @task
            def issue(self) -> None:
                order = generator.order(seller)
                self.client.post(
                    "/api/v1/invoices",
                    json=order.invoice_payload(f"B{uuid.uuid4().hex[:20]}"),
                    headers={"Authorization": f"Bearer {token['value']}"},
                )

        user_class: type = Bare
    else:
        shape_rate = rate if mode == "taxstorm" else 1e-9
        user_class = make_issuing_user(context, Steady(rate_per_s=max(shape_rate, 1e-9)), users, 1000)
    environment = Environment(user_classes=[user_class], stop_timeout=10)
    runner = environment.create_local_runner()
    before_rss = rss_kb()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    runner.start(users, spawn_rate=max(users, 1))
    gevent.sleep(seconds)
    spawned_rss = rss_kb()
    runner.stop()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    runner.quit()
    ops = environment.stats.total.num_requests
    print(
        json.dumps(
            {
                "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
                "ops": ops,
                "seconds": seconds,
                "rss_delta_kb": spawned_rss - before_rss,
                "users": users,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
