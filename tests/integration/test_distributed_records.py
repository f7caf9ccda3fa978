"""Distributed mode: a Locust master and two worker processes; every operation's record reaches the master
exactly once (compared with the platform's ledger)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from chaos.processes import ManagedProcess
from chaos.toxiproxy.server import free_port
from tests.conftest import REPO, Proxied


def test_master_and_two_workers_lose_and_double_count_nothing(proxied: Proxied, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "collected.json"
    master = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "distributed_master.py"), str(port), "2", "4", "5", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    workers = [
        ManagedProcess(
            f"worker-{n}",
            [
                sys.executable,
                "-m",
                "loadtests.worker_main",
                "--master-port",
                str(port),
                "--base-url",
                proxied.client_url,
                "--rate-per-s",
                "20",
                "--users",
                "4",
                "--tag",
                f"w{n}",
                "--seed",
                str(n),
                "--state-dir",
                str(tmp_path / f"w{n}"),
            ],
            tmp_path / f"worker-{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            worker.start()
        output, _ = master.communicate(timeout=120)
        assert master.returncode == 0, output + "".join(w.log_tail() for w in workers)
    finally:
        master.kill()
        for worker in workers:
            worker.stop()
    collected = json.loads(out.read_text())
    per_order = Counter(r["order_ref"] for r in collected["records"] if r["operation"] == "issue")
    expected = set(collected["expected"])
    assert len(expected) >= 50, "both workers issued at the offered rate"
    assert {ref.split("-")[0] for ref in expected} == {"w1", "w2"}
    assert set(per_order) == expected and set(per_order.values()) == {1}, "each operation recorded once"
    assert collected["arrivals"] == len(expected)
    ledger = Counter(row["orderRef"] for row in proxied.platform.admin.ledger())
    assert set(ledger) == expected and set(ledger.values()) == {1}, "nothing lost between workers and master"
