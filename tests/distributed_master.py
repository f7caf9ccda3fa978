"""A Locust master in library mode for the distributed-records test (run as its own gevent process).

Usage: python tests/distributed_master.py PORT WORKERS USERS DURATION_S OUT.json
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict


def main() -> int:
    from gevent import monkey

    monkey.patch_all()
    import gevent
    from locust import User, task
    from locust.env import Environment

    from chaos.waiting import wait_until
    from loadtests.distributed import MasterCollector
    from loadtests.records import Recorder

    port, workers, users, duration_s, out = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
        sys.argv[5],
    )

    class IssuingUser(User):  # the master only needs the class name the workers register
        @task
        def arrive(self) -> None:
            pass

    recorder = Recorder()
    environment = Environment(user_classes=[IssuingUser], stop_timeout=30.0)
    collector = MasterCollector(environment, recorder)
    runner = environment.create_master_runner("127.0.0.1", port)
    wait_until(lambda: runner.worker_count >= workers, 60, "workers", sleep=gevent.sleep)
    runner.start(users, spawn_rate=users)
    gevent.sleep(duration_s)
    runner.stop()
    wait_until(lambda: collector.complete(workers), 60, "every worker's last records", sleep=gevent.sleep)
    runner.quit()
    with open(out, "w") as handle:
        json.dump(
            {
                "records": [asdict(r) for r in recorder.records],
                "expected": {ref: str(total) for ref, total in recorder.expected_totals.items()},
                "arrivals": recorder.arrivals,
            },
            handle,
        )
    time.sleep(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
