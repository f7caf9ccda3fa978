"""How punctual the fault timeline is, and what the Toxiproxy hop costs.

Against a real toxiproxy-server and platform process on this machine, in one run:
- a timeline of 60 latency faults planned 100 ms apart (each reverted 50 ms later) runs on the real clock while
  a background thread keeps the platform busy; prints the p50/p99 lag between planned and actual apply times
  (target p99 <= 50 ms);
- 400 keep-alive GET /api/v1/status direct and 400 through the Toxiproxy proxy with no toxic, interleaved:
  prints both p50 latencies and the ratio proxy / direct.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from taxstorm.chaos.network import LatencyFault, LatencySpec  # noqa: E402
from taxstorm.chaos.platform_process import PlatformProcess  # noqa: E402
from taxstorm.chaos.registry import FaultContext  # noqa: E402
from taxstorm.chaos.timeline import FaultScheduler  # noqa: E402
from taxstorm.chaos.toxiproxy import install  # noqa: E402
from taxstorm.chaos.toxiproxy.server import LocalToxiproxy  # noqa: E402

FAULTS = 60
SPACING_S = 0.1
REQUESTS = 400


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def interleaved_p50_ms(client: httpx.Client, direct_url: str, proxied_url: str) -> tuple[float, float]:
    """p50 of each, alternating requests so that drift on a shared machine hits both alike."""
    samples: dict[str, list[float]] = {direct_url: [], proxied_url: []}
    for _ in range(REQUESTS):
        for url in (direct_url, proxied_url):
            started = time.perf_counter()
            client.get(url)
            samples[url].append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[direct_url]), statistics.median(samples[proxied_url])


def main() -> int:
    found = install.locate(REPO / ".bin")
    if found is None:
        print("toxiproxy-server not found: run 'make setup'")
        return 3
    with tempfile.TemporaryDirectory(prefix="taxstorm-bench-") as tmp:
        workdir = Path(tmp)
        toxiproxy = LocalToxiproxy(found.server, workdir / "toxiproxy.log")
        api = toxiproxy.start()
        platform = PlatformProcess(workdir, "bench-admin-token", {"ledger_path": str(workdir / "l.sqlite3")})
        try:
            platform.start()
            proxy = api.create_proxy("bench", platform.url.removeprefix("http://"))
            proxied = f"http://{proxy.listen}"
            context = FaultContext("bench", api, "bench")
            faults = [
                (LatencyFault(LatencySpec(at_s=0, latency_ms=1), context, f"f{i}"), 0.5 + i * SPACING_S, 0.05)
                for i in range(FAULTS)
            ]
            stop = threading.Event()

            def background_load() -> None:
                with httpx.Client(timeout=5) as client:
                    while not stop.is_set():
                        client.get(f"{proxied}/health")

            load = threading.Thread(target=background_load, daemon=True)
            load.start()
            t0 = time.monotonic()
            scheduler = FaultScheduler(faults, lambda: time.monotonic() - t0)
            scheduler.run(0.5 + FAULTS * SPACING_S + 0.2, lambda: False, max_sleep_s=0.02)
            scheduler.revert_all()
            stop.set()
            load.join()
            lags = [(e.applied_s - e.planned_apply_s) * 1000 for e in scheduler.events if e.applied_s is not None]
            reverts = [
                (e.reverted_s - e.planned_revert_s) * 1000
                for e in scheduler.events
                if e.reverted_s is not None and e.planned_revert_s is not None
            ]
            assert api.toxics("bench") == {}, "every fault reverted"
            with httpx.Client(timeout=5) as client:
                interleaved_p50_ms(client, f"{platform.url}/api/v1/status", f"{proxied}/api/v1/status")  # warm-up
                direct, through = interleaved_p50_ms(
                    client, f"{platform.url}/api/v1/status", f"{proxied}/api/v1/status"
                )
        finally:
            platform.close()
            toxiproxy.stop()
    print(f"faults applied on time          : {len(lags)}/{FAULTS}")
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    print(f"apply lag  p50 / p99            : {p50:6.2f} / {p99:6.2f} ms (target p99 <= 50)")
    print(f"revert lag p50 / p99            : {percentile(reverts, 50):6.2f} / {percentile(reverts, 99):6.2f} ms")
    print(f"GET /status p50 direct          : {direct:6.2f} ms")
    print(f"GET /status p50 through proxy   : {through:6.2f} ms")
    print(f"Toxiproxy hop (no toxic)        : +{through - direct:.2f} ms, ratio {through / direct:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
