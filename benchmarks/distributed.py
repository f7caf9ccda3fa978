"""Aggregate load from Locust's distributed mode: operations per second of ``taxstorm run`` in one process and with
1, 2 and 4 local worker processes (``--workers N``), against a fast platform (zero service time), offered far
more than any of them can deliver; each figure as a ratio to the single-process one, all measured in this run.

Everything (platform, Toxiproxy, master, workers) shares this machine's cores, so the aggregate should grow with
workers only until the cores are saturated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SECONDS = 20
OFFERED_PER_S = 8000


def scenario(directory: Path) -> Path:
    data = {
        "name": "bench-distributed",
        "duration_s": SECONDS,
        "drain_s": 10,
        "load": {"users": 64, "rate_per_s": OFFERED_PER_S, "seed": 1, "max_in_flight_per_user": 50},
        "gates": [{"type": "integrity"}],
    }
    path = directory / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def measure(path: Path, report_dir: Path, workers: int | None) -> dict[str, float]:
    args = [sys.executable, "-m", "taxstorm", "run", str(path), "--report-dir", str(report_dir)]
    if workers is not None:
        args += ["--workers", str(workers)]
    env = {**os.environ, "PATH": f"{REPO / '.bin'}:{os.environ['PATH']}"}
    before = os.times()
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=SECONDS + 240)
    after = os.times()
    run_dirs = sorted(report_dir.iterdir(), key=lambda p: p.stat().st_mtime)
    result = json.loads((run_dirs[-1] / "result.json").read_text())
    if done.returncode not in (0, 1):
        raise SystemExit(f"run with workers={workers} errored: {result.get('reason')}\n{done.stdout[-2000:]}")
    whole = next(w for w in result["windows"] if w["window"]["name"] == "all")
    span = whole["window"]["end_s"] - whole["window"]["start_s"]
    rec = result["reconciliation"]
    return {
        "ops_per_s": whole["operations"] / span,
        "p95_ms": whole["latency_ms"]["p95"],
        "lost_or_duplicated": len(rec["lost"]) + len(rec["duplicates"]),
        "cpu_s": (after.children_user + after.children_system) - (before.children_user + before.children_system),
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="taxstorm-bench-dist-") as tmp:
        path = scenario(Path(tmp))
        figures = {
            label: measure(path, Path(tmp) / label, n)
            for label, n in [("single", None)] + [(f"{n} worker{'s' if n > 1 else ''}", n) for n in (1, 2, 4)]
        }
    base = figures["single"]["ops_per_s"]
    print(
        f"offered {OFFERED_PER_S}/s for {SECONDS} s on {os.cpu_count()} cores (platform, Toxiproxy and load share them)"
    )
    for label, figure in figures.items():
        print(
            f"{label:>10}: {figure['ops_per_s']:7.0f} operations/s  ratio {figure['ops_per_s'] / base:4.2f}  "
            f"p95 {figure['p95_ms']:7.0f} ms  lost+duplicated {figure['lost_or_duplicated']:.0f}  "
            f"CPU {figure['cpu_s']:5.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
