"""What the load generator costs, measured in one run against a fast platform process (zero service time):

- CPU seconds the Locust process spends per issued invoice with our user + resilient client, as a ratio of a
  bare ``FastHttpUser`` posting the same kind of payloads to the same endpoint at the same rate, so both pay
  the same fixed Locust overhead per second (target <= 2.0);
- the operations per second one Locust process sustains with our user + client;
- the memory per simulated user with 2,000 idle users (target <= 150 KB).
Each variant runs in its own process; CPU is that process's user + system time. Bare and ours alternate three
times and the median ratio is printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from taxstorm.chaos.platform_process import PlatformProcess  # noqa: E402

SECONDS = 10.0


def probe(mode: str, url: str, users: int, rate: float, seconds: float = SECONDS) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "locust_probe.py"), mode, url, str(users), str(rate), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
        cwd=REPO,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="taxstorm-bench-") as tmp:
        platform = PlatformProcess(Path(tmp), "bench-admin-token", {"ledger_path": f"{tmp}/ledger.sqlite3"})
        platform.start()
        try:
            pairs = [(probe("bare", platform.url, 20, 400), probe("taxstorm", platform.url, 20, 400)) for _ in range(3)]
            saturated = probe("taxstorm", platform.url, 50, 5000)
            idle = probe("idle", platform.url, 2000, 0, seconds=20)
        finally:
            platform.close()
    # alternate the two variants and keep the pair with the median ratio: this VM's CPU speed drifts
    ratios = sorted(((o["cpu_s"] / max(1, o["ops"])) / (b["cpu_s"] / max(1, b["ops"])), b, o) for b, o in pairs)
    _, bare, ours = ratios[len(ratios) // 2]
    bare_cpu = bare["cpu_s"] / max(1, bare["ops"])
    our_cpu = ours["cpu_s"] / max(1, ours["ops"])
    print(f"bare FastHttpUser (400/s)    : {bare['ops']:6.0f} invoices, {bare_cpu * 1e6:7.0f} µs CPU each")
    print(f"taxstorm + resilient (400/s) : {ours['ops']:6.0f} invoices, {our_cpu * 1e6:7.0f} µs CPU each")
    spread = ", ".join(f"{r:.2f}" for r, _, _ in ratios)
    print(f"CPU per invoice ratio        : {our_cpu / bare_cpu:6.2f}   (target <= 2.0; median of {spread})")
    print(f"one Locust process sustains  : {saturated['ops'] / saturated['seconds']:6.0f} invoices/s (offered 5000/s)")
    print(f"memory per idle user (2000)  : {idle['rss_delta_kb'] / idle['users']:6.1f} KB   (target <= 150 KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
