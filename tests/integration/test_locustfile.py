"""``locust -f loadtests/locustfile.py``: taxstorm's users under plain Locust, as a real process."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from pathlib import Path

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.toxiproxy.server import free_port
from tests.conftest import REPO, running_platform

LOCUST = [sys.executable, "-m", "locust", "-f", str(REPO / "loadtests" / "locustfile.py")]


def locust(*args: str) -> subprocess.CompletedProcess[str]:
    command = [*LOCUST, "--headless", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)


def test_every_user_runs_under_plain_locust(tmp_path: Path) -> None:
    with running_platform(
        tmp_path / "platform",
        numbering="segments",
        quota_mode="download",
        processing_ms='{"median_ms": 10, "p99_ms": 30}',
    ) as platform:
        records = tmp_path / "operations.csv"
        done = locust(
            *("-u", "12", "-r", "12", "-t", "8s", "--stop-timeout", "15", "--host", platform.url),
            *("--segments", "--pos-rate", "2", "--erp-rate", "5", "--batch-size", "5"),
            *("--verify-rate", "3", "--returns-rate", "1", "--records", str(records), "--only-summary"),
        )
        assert done.returncode == 0, done.stderr[-3000:]
        rows = list(csv.DictReader(records.open(encoding="utf-8")))
        ledger = list(platform.admin.ledger())
    outcomes = Counter((r["operation"], r["outcome"]) for r in rows)
    assert outcomes[("housekeeping", "ok")] >= 9, outcomes  # every seller's quota and numbers made ready
    assert outcomes[("issue", "issued")] > 20 and outcomes[("batch", "issued")] >= 5, outcomes
    assert outcomes[("verify", "consistent")] > 3 and outcomes[("red", "issued")] >= 1, outcomes  # each user ran
    assert not {o for (_, o) in outcomes} & {"failed", "error", "mismatch", "not_found", "queued"}, outcomes
    issued = {r["invoice_no"] for r in rows if r["operation"] in ("issue", "batch")}
    blue = {row["invoiceNo"] for row in ledger if row["kind"] == "blue" and row["status"] == "ISSUED"}
    red = {row["invoiceNo"] for row in ledger if row["kind"] == "red"}
    assert issued == blue and len(red) == outcomes[("red", "issued")]


def test_a_bad_option_is_one_clear_line(tmp_path: Path) -> None:
    done = locust("-u", "1", "-t", "1s", "--host", "http://127.0.0.1:9", "--client-options", "{oops")
    assert done.returncode == 2
    assert "--client-options: not JSON" in done.stderr and "Traceback" not in done.stderr
    done = locust("-u", "1", "-t", "1s", "--host", "http://127.0.0.1:9", "--client", "nowhere:factory")
    assert done.returncode == 2 and "cannot import 'nowhere'" in done.stderr and "Traceback" not in done.stderr


def test_distributed_locustfile_records_reach_the_master_once(tmp_path: Path) -> None:
    port = str(free_port())
    records = tmp_path / "operations.csv"
    common = ["--pos-rate", "3", "--state-dir"]
    with running_platform(tmp_path / "platform") as platform:
        workers = [
            ManagedProcess(
                f"worker-{n}",
                [*LOCUST, "--worker", "--master-port", port, "--host", platform.url, *common, str(tmp_path / f"w{n}")],
                tmp_path / f"worker-{n}.log",
            )
            for n in (1, 2)
        ]
        try:
            for worker in workers:
                worker.start()
            done = locust(
                *("--master", "--master-bind-port", port, "--expect-workers", "2", "--host", platform.url),
                *("-u", "6", "-r", "6", "-t", "6s", "--stop-timeout", "10", "--records", str(records)),
                *common,
                str(tmp_path / "master"),
                "PointOfSale",
            )
            assert done.returncode == 0, done.stderr[-3000:] + "".join(w.log_tail() for w in workers)
        finally:
            for worker in workers:
                worker.stop()
        ledger = list(platform.admin.ledger())
    rows = list(csv.DictReader(records.open(encoding="utf-8")))
    refs = Counter(r["order_ref"] for r in rows)
    twice = [r for r in rows if refs[r["order_ref"]] > 1]
    assert len(rows) > 20 and not twice, twice  # every record once
    assert {r["operation"] for r in rows} == {"issue"} and {r["outcome"] for r in rows} == {"issued"}
    assert set(refs) == {row["orderRef"] for row in ledger}  # nothing lost between workers and master
