"""A compressed soak: the operations of a 30-minute game day in a few minutes, the runner's memory sampled.

One real ``taxstorm run`` (mock platform, toxiproxy-server, Locust in the runner's process, the resilient
client) at a high rate with a fault in the middle; the runner's resident memory (VmRSS from /proc) is
sampled every half second. Printed, all from this one run:

- the operations, and the memory kept per operation between the middle and the end of the load (the
  bytes the runner grows by for each further operation; with every record in memory it was ~1,800);
- the ratio of the runner's memory at the end of the load to the middle of it (target <= 1.15: bounded);
- the ratio of the peak while judging (reconcile, windows, series, reports) to the end of the load.

``--seconds`` and ``--rate`` change the soak (default 400 s at 90 operations/s: 36,000 operations, what a
30-minute game day at 20/s issues; 2 shared cores sustain about 90/s with platform, Toxiproxy and load on them).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROGRESS = re.compile(r"^load\s+([0-9.]+)/")

SCENARIO = """
name: soak
description: a compressed soak for the runner's memory
duration_s: {seconds}
drain_s: 30
load:
  users: {users}
  rate_per_s: {rate}
  max_in_flight_per_user: 200
client:
  ref: resilient
limits:
  max_run_s: {max_run_s}
faults:
  - type: latency
    id: slow-network
    at_s: {fault_at}
    for_s: {fault_for}
    latency_ms: 300
gates:
  - type: integrity
"""


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=400.0)
    parser.add_argument("--rate", type=float, default=90.0)
    args = parser.parse_args()
    seconds, rate = args.seconds, args.rate
    with tempfile.TemporaryDirectory(prefix="taxstorm-soak-") as tmp:
        folder = Path(tmp)
        scenario = folder / "soak.yaml"
        text = SCENARIO.format(
            seconds=seconds,
            rate=rate,
            users=max(4, int(rate // 10)),
            max_run_s=int(seconds * 3 + 300),
            fault_at=round(seconds * 0.4),
            fault_for=round(seconds * 0.1),
        )
        scenario.write_text(text, encoding="utf-8")
        command = [str(Path(sys.executable).parent / "taxstorm"), "run", str(scenario), "--report-dir", tmp]
        runner = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        progress: list[tuple[float, float]] = []  # (monotonic time, load seconds) from the runner's progress lines
        output: list[str] = []
        reader = threading.Thread(target=_read_progress, args=(runner, progress, output), daemon=True)
        reader.start()
        samples: list[tuple[float, int]] = []
        while runner.poll() is None:
            value = rss_kb(runner.pid)
            if value is not None:
                samples.append((time.monotonic(), value))
            time.sleep(0.5)
        reader.join(10)
        results = list(folder.glob("*/result.json"))
        if not results or not progress or not samples:
            print(f"the soak run left no result (exit {runner.returncode}):\n{''.join(output[-30:])}")
            return 1
        result = json.loads(results[0].read_text(encoding="utf-8"))
    operations = sum(second["operations"] for second in result["series"])

    def at(load_s: float) -> int:
        """The runner's memory when the load had run ``load_s`` seconds."""
        when = next((t for t, elapsed in progress if elapsed >= load_s), progress[-1][0])
        return next((value for t, value in samples if t >= when), samples[-1][1])

    middle, end = at(seconds * 0.5), at(seconds * 0.98)
    peak = max(value for _, value in samples)
    ops_between = operations * 0.48
    per_op = (end - middle) * 1024 / ops_between if ops_between else 0.0
    print(f"soak: {operations:,} issue operations in {seconds:g} s, {rate:g}/s offered")
    print(f"the run: {result['status']} ({result['reason']})")
    print(f"runner memory, middle of the load  : {middle / 1024:7.1f} MB")
    print(f"runner memory, end of the load     : {end / 1024:7.1f} MB")
    print(f"kept per further operation         : {per_op:7.0f} bytes   (every record in memory: ~1,800)")
    print(f"end / middle of the load           : {end / middle:7.2f}   (target <= 1.15: bounded)")
    print(f"peak while judging / end of load   : {peak / end:7.2f}")
    return 0


def _read_progress(runner: subprocess.Popen[str], progress: list[tuple[float, float]], output: list[str]) -> None:
    """The runner prints ``load  12.3/180 s …`` once a second when its output is not a terminal."""
    assert runner.stdout is not None
    for line in runner.stdout:
        output.append(line)
        match = PROGRESS.match(line)
        if match:
            progress.append((time.monotonic(), float(match.group(1))))


if __name__ == "__main__":
    sys.exit(main())
