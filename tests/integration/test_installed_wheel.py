"""taxstorm as a user installs it: a wheel built from this tree, in a fresh venv, used from a folder of their own.

Nothing of the checkout is on the path: the scenario library, the client protocol and every dependency must
come from the wheel and what it declares. The user's Toxiproxy is where ``taxstorm doctor --install-toxiproxy``
puts it (the user cache; seeded here with the suite's build: ``go install`` itself is tested in
tests/unit/test_toxiproxy_install.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from taxstorm import __version__

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
NOT_SOURCE = (".git", ".venv", ".bin", "build", "reports", "wheelhouse", "*.egg-info", "__pycache__", ".*_cache")

USER_CLIENT = '''
"""A client system of the user's own, outside the taxstorm repo: the reference client behind a wrapper that
notes every order it was asked to issue (so the test can tell it was this module that ran)."""

from pathlib import Path

from taxstorm.clients import ClientConfig, InvoiceClient, Order, Outcome
from taxstorm.clients.resilient import create_client as resilient


class NotingClient:
    def __init__(self, config: ClientConfig) -> None:
        self.inner: InvoiceClient = resilient(config)
        self.notes = Path(config.state_dir) / "my_erp.txt"

    def issue(self, order: Order) -> Outcome:
        with self.notes.open("a") as notes:
            notes.write(order.order_ref + "\\n")
        return self.inner.issue(order)

    def backlog(self) -> int:
        return self.inner.backlog()

    def drain(self, budget_s: float, **kwargs: object) -> list[Outcome]:
        return self.inner.drain(budget_s, **kwargs)

    def close(self) -> None:
        self.inner.close()


def create(config: ClientConfig) -> NotingClient:
    return NotingClient(config)
'''


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_wheel_installs_and_runs_a_library_scenario_with_a_users_client(
    tmp_path: Path, toxiproxy_binary: Path
) -> None:
    source = tmp_path / "source"  # a copy: an in-tree build leaves build/ behind, and a stale one leaks into wheels
    skip = shutil.ignore_patterns(
        ".git", ".venv", ".bin", "build", "reports", "wheelhouse", "*.egg-info", "__pycache__"
    )
    shutil.copytree(REPO, source, symlinks=True, ignore=skip)
    dist = tmp_path / "dist"
    wheel_command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)]
    built = _run(wheel_command, tmp_path, dict(os.environ), 600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("taxstorm-*.whl")
    assert wheel.name.startswith(f"taxstorm-{__version__}-")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "TOXIPROXY_SERVER", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["TAXSTORM_CACHE_DIR"] = str(tmp_path / "cache")
    installed = _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile", str(wheel)], tmp_path, env, 900)
    assert installed.returncode == 0, installed.stderr[-3000:]

    home = tmp_path / "work"  # the user's folder: no checkout, no scenarios/, no .bin/
    home.mkdir()
    taxstorm = str(venv / "bin" / "taxstorm")
    version = _run([taxstorm, "--version"], home, env, 60)
    assert version.stdout.strip() == f"taxstorm {__version__}", version.stdout + version.stderr

    names = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.distribution('taxstorm').read_text('top_level.txt'))",
        ],
        home,
        env,
        60,
    )
    assert names.stdout.split() == ["taxstorm"]  # no generic top-level names (chaos, loadtests …)
    typed = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import taxstorm, pathlib; print(pathlib.Path(taxstorm.__file__).with_name('py.typed').exists())",
        ],
        home,
        env,
        60,
    )
    assert typed.stdout.strip() == "True"
    page = "from taxstorm.gameday.page import chaos_page; print('HALT' in chaos_page() and 'refresh' in chaos_page())"
    chaos = _run([str(venv / "bin" / "python"), "-c", page], home, env, 60)  # the Chaos page's template and assets
    assert chaos.stdout.strip() == "True", chaos.stderr

    listed = _run([taxstorm, "list"], home, env, 120)
    assert listed.returncode == 0 and "smoke" in listed.stdout and "network_partition" in listed.stdout, listed.stderr

    cache_bin = tmp_path / "cache" / "bin"  # what `taxstorm doctor --install-toxiproxy` leaves there
    cache_bin.mkdir(parents=True)
    shutil.copy2(toxiproxy_binary, cache_bin / "toxiproxy-server")
    doctor = _run([taxstorm, "doctor", "--install-toxiproxy"], home, env, 120)
    assert "[ok] toxiproxy: 2.12.0" in doctor.stdout and "(user cache)" in doctor.stdout, doctor.stdout + doctor.stderr

    (home / "my_erp.py").write_text(USER_CLIENT, encoding="utf-8")
    run = _run(
        [taxstorm, "run", "smoke", "--scale", "0.3", "--client", "my_erp:create", "--report-dir", "reports"],
        home,
        env,
        300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (result_file,) = (home / "reports").glob("*/result.json")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["status"] == "passed" and result["scenario"]["client"]["ref"] == "my_erp:create"
    assert "<svg" in (result_file.parent / "report.html").read_text(encoding="utf-8")  # templates from the wheel
    noted = sum(len(p.read_text().split()) for p in (home / "reports").rglob("my_erp.txt"))
    assert noted == result["reconciliation"]["orders"] > 0  # every order went through the user's module
