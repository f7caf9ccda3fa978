"""A Locust worker process for taxstorm's distributed mode: ``python -m loadtests.worker_main --master-port P ...``.

It builds the same issuing user as the harness (client by reference, open-model arrivals) with orderRefs
tagged by worker, connects to the master and ships its records with Locust's worker reports.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from locust.env import Environment

    from clients.protocol import load_factory
    from loadtests.context import LoadContext
    from loadtests.distributed import WorkerShipper
    from loadtests.orders import OrderGenerator
    from loadtests.records import Recorder
    from loadtests.shapes import Steady
    from loadtests.users import make_issuing_user

    parser = argparse.ArgumentParser(prog="python -m loadtests.worker_main")
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, required=True)
    parser.add_argument("--base-url", required=True, help="the platform as clients see it (Toxiproxy)")
    parser.add_argument("--client", default="resilient")
    parser.add_argument("--rate-per-s", type=float, required=True, help="the whole run's rate")
    parser.add_argument("--users", type=int, required=True, help="the whole run's users")
    parser.add_argument("--tag", required=True, help="unique per worker: orderRefs are <tag>-<n>")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    recorder = Recorder()
    context = LoadContext(
        client_factory=load_factory(args.client),
        base_url=args.base_url,
        state_dir=args.state_dir,
        generator=OrderGenerator(args.seed, args.tag),
        recorder=recorder,
        clock=lambda: time.monotonic() - t0,
    )
    user = make_issuing_user(context, Steady(rate_per_s=args.rate_per_s), args.users, 100)
    environment = Environment(user_classes=[user], stop_timeout=30.0)
    WorkerShipper(environment, recorder)
    runner = environment.create_worker_runner(args.master_host, args.master_port)
    try:
        runner.greenlet.join()
    finally:
        for client in context.clients:
            client.close()
    gevent.sleep(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
