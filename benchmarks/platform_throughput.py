"""Issue throughput of one platform process, on its realistic defaults, against a bare FastAPI endpoint, and p99
at half load.

Both servers run the same way (one uvicorn process, same socket set-up) on this machine; the load comes from
``wrk`` (Debian's package; a C program in its own process, so the load tool is not the bottleneck). The
platform runs as a client meets it by default: an asynchronous issue (202 PROCESSING, final status later),
full validation, the idempotency check, the throttle per credential × taxpayer, the fault gates and the
durable ledger write (SQLite WAL) on every request, each with a fresh request serial; the load comes from
``SELLERS`` sellers, each with its own credential and token, so no seller reaches the default rate limit.

The machine is shared and noisy, so the two servers are measured in alternating rounds (bare, platform, platform
at half load), each round's ratio taken against the bare run just before it; the verdict is the median round.
Prints, from this one run: each round, then the median requests/s of each, the median ratio (target >= 0.5) and
the median p99 latency of the platform offered about half its saturation rate (target <= 15 ms).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from taxstorm.mock_platform.credentials import DEV_CREDENTIAL_KEY, credentials_for

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from taxstorm.chaos.children import ManagedProcess  # noqa: E402
from taxstorm.chaos.toxiproxy.server import free_port  # noqa: E402
from taxstorm.chaos.waiting import wait_until  # noqa: E402
from taxstorm.loadtests.orders import OrderGenerator  # noqa: E402

DURATION_S = int(os.environ.get("BENCH_DURATION_S", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNECTIONS = 32
RUN_TAGS = (str(n) for n in itertools.count())
SELLERS = 100  # each below the default issue limit of 600 per minute at any rate this machine reaches

LUA = r"""
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  delay_ms = tonumber(args[1])
  run = args[2]
  sellers = {}
  for i = 3, #args, 2 do
    table.insert(sellers, {template = args[i], token = args[i + 1]})
  end
end
function request()
  counter = counter + 1
  local seller = sellers[(counter % #sellers) + 1]
  local serial = "W" .. run .. "t" .. tid .. "x" .. counter
  local body = string.gsub(seller.template, "SERIALX", serial)
  return wrk.format("POST", "/api/v1/invoices",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. seller.token}, body)
end
function delay()
  return delay_ms
end
"""


def token_request(taxpayer: str) -> dict[str, str]:
    """The token request of a taxpayer's own credential (a platform on the development key)."""
    client_id, secret = credentials_for(DEV_CREDENTIAL_KEY, taxpayer)
    return {"clientId": client_id, "clientSecret": secret, "taxpayerId": taxpayer}


def start(name: str, argv: list[str], workdir: Path, env: dict[str, str], url: str) -> ManagedProcess:
    process = ManagedProcess(name, argv, workdir / f"{name}.log", env=env)
    process.start()
    wait_until(lambda: httpx.get(f"{url}/docs", timeout=1).status_code == 200, 30, name)
    return process


def wrk(
    url: str, script: Path, sellers: list[tuple[str, str]], connections: int, delay_ms: float
) -> tuple[float, float]:
    """(requests/s, p99 ms) of one wrk run over ``sellers`` (body template, token); every answer must be 2xx."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{DURATION_S}s",
            "--latency",
            "-s",
            str(script),
            url,
            "--",
            str(delay_ms),
            next(RUN_TAGS),  # every run's serials are new (a replay of a warm-up serial is not an issue)
            *[part for seller in sellers for part in seller],
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=DURATION_S + 60,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rps, float(p99.group(1)) * scale


@dataclass(frozen=True)
class Round:
    """One round: the bare server, then the platform at saturation, then the platform at about half of it."""

    bare_rps: float
    platform_rps: float
    half_rps: float
    half_p99: float

    @property
    def ratio(self) -> float:
        return self.platform_rps / self.bare_rps


def measure_round(bare_url: str, platform_url: str, script: Path, sellers: list[tuple[str, str]]) -> Round:
    bare_rps, _ = wrk(bare_url, script, sellers, CONNECTIONS, 0)
    platform_rps, _ = wrk(platform_url, script, sellers, CONNECTIONS, 0)
    half_connections = 8
    delay_ms = max(0.0, half_connections / (platform_rps / 2) * 1000 - 1000 / platform_rps)
    half_rps, half_p99 = wrk(platform_url, script, sellers, half_connections, delay_ms)
    return Round(bare_rps, platform_rps, half_rps, half_p99)


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is missing: 'make bench' installs Debian's wrk (apt-get install wrk)")
        return 3
    generator = OrderGenerator(seed=1, run_tag="bench")
    templates = []
    for index in range(SELLERS):
        order = generator.order(generator.seller(index))
        body = json.dumps(order.invoice_payload("SERIALX"), ensure_ascii=False).replace(order.order_ref, "SERIALX")
        templates.append((generator.seller(index).tax_id, body))
    with tempfile.TemporaryDirectory(prefix="taxstorm-bench-") as tmp:
        workdir = Path(tmp)
        script = workdir / "issue.lua"
        script.write_text(LUA)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TAXSTORM_PLATFORM_ADMIN_TOKEN": "bench-admin-token",
            "TAXSTORM_PLATFORM_LEDGER_PATH": str(workdir / "ledger.sqlite3"),
        }
        platform_port, bare_port = free_port(), free_port()
        platform_url, bare_url = f"http://127.0.0.1:{platform_port}", f"http://127.0.0.1:{bare_port}"
        processes = [
            start(
                "platform",
                [sys.executable, "-m", "taxstorm.mock_platform", "--port", str(platform_port)],
                workdir,
                env,
                platform_url,
            ),
            start(
                "bare",
                [sys.executable, str(REPO / "benchmarks" / "bare_server.py"), "--port", str(bare_port)],
                workdir,
                env,
                bare_url,
            ),
        ]
        try:
            sellers = [
                (
                    body,
                    httpx.post(f"{platform_url}/api/v1/auth/token", json=token_request(tax_id)).json()["data"][
                        "accessToken"
                    ],
                )
                for tax_id, body in templates
            ]
            wrk(platform_url, script, sellers, 8, 0)  # warm-up: first connections, SQLite pages
            rounds = [measure_round(bare_url, platform_url, script, sellers) for _ in range(ROUNDS)]
            stored = httpx.get(
                f"{platform_url}/admin/stats", headers={"Authorization": "Bearer bench-admin-token"}
            ).json()["ledgerSize"]
        finally:
            for process in processes:
                process.stop()
    for number, r in enumerate(rounds, 1):
        print(
            f"round {number}: bare {r.bare_rps:6.0f} req/s, platform {r.platform_rps:6.0f} req/s, "
            f"ratio {r.ratio:4.2f}; at half load {r.half_rps:5.0f} req/s, p99 {r.half_p99:5.1f} ms"
        )
    median = statistics.median
    print(f"bare FastAPI echo (validate + return) : {median(r.bare_rps for r in rounds):8.0f} req/s")
    print(f"platform issue, defaults (full path)  : {median(r.platform_rps for r in rounds):8.0f} req/s")
    print(f"ratio platform / bare (median round)  : {median(r.ratio for r in rounds):8.2f}   (target >= 0.5)")
    print(f"platform at ~half saturation, p99     : {median(r.half_p99 for r in rounds):8.1f} ms (target <= 15 ms)")
    print(f"invoices written to the ledger        : {stored}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
