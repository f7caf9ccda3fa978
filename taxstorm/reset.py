"""``taxstorm reset``: undo what killed runs left behind, from the state files they wrote.

A run records its Toxiproxy, proxy, platform admin URL, its own and its children's PIDs in
``<run dir>/state.json`` and marks it finished when it stops. For every run still marked running that is
provably abandoned (its process gone, and on a shared Toxiproxy its lease ended: taxstorm.chaos.toxiproxy.lease), reset
resumes and stops its child processes (only if they still are the processes it started), deletes its proxy (and
so its toxics) from Toxiproxy, and reverts the platform's fault modes if the platform is still up. A run still
alive is left alone, and said so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taxstorm.chaos.platform_admin import PlatformAdmin, PlatformAdminError
from taxstorm.chaos.toxiproxy.api import NotFound, ToxiproxyAPI, ToxiproxyError
from taxstorm.chaos.toxiproxy.lease import LEASE_PREFIX, PREFIX, live_runs, owner

MARKERS = {"platform": b"mock_platform", "secondary": b"mock_platform", "toxiproxy": b"toxiproxy"}


@dataclass
class ResetReport:
    """What reset did and what it could not do."""

    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what belongs to a run still alive, left alone


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def process_started(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc): with its PID, names it beyond PID reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def _stop_pid(name: str, pid: int, report: ResetReport) -> None:
    if MARKERS.get(name, b"") not in _cmdline(pid):
        return  # gone, or the PID now belongs to someone else: not ours to touch
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)  # a hung (SIGSTOPped) child cannot act on SIGTERM
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and MARKERS[name] in _cmdline(pid):
        time.sleep(0.05)
    if MARKERS[name] in _cmdline(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    report.actions.append(f"stopped {name} (pid {pid})")


def _clean_proxy(url: str, proxy: str, state: dict[str, Any], report: ResetReport) -> None:
    """Delete the run's own proxy; of a proxy it only borrowed (compose's), remove the run's toxics and enable it."""
    api = ToxiproxyAPI(url, timeout_s=3)
    try:
        if not api.ping():
            return  # that Toxiproxy is gone, and its proxies and toxics with it
        if state.get("proxy_owned", True):
            api.delete_proxy(proxy)
            report.actions.append(f"deleted proxy {proxy} and its toxics from {url}")
            return
        mine = [name for name in api.toxics(proxy) if name.startswith(f"{state.get('run_id')}-")]
        for name in mine:
            api.remove_toxic(proxy, name)
        api.set_enabled(proxy, True)
        report.actions.append(f"removed the run's toxics {mine} from the shared proxy {proxy} at {url} and enabled it")
        upstream = state.get("proxy_upstream")
        if upstream and api.proxies()[proxy].upstream != upstream:  # a handshake stall pointed it elsewhere
            api.set_upstream(proxy, upstream)
            report.actions.append(f"pointed the shared proxy {proxy} back at {upstream}")
    except NotFound:
        pass
    except ToxiproxyError as exc:
        report.problems.append(f"could not clean up proxy {proxy} at {url}: {exc}")
    finally:
        api.close()


def _delete_fault_proxies(url: str, run_id: str, report: ResetReport) -> None:
    """The proxies a run's faults made (``taxstorm-<run id>-<label>``: a handshake stall's), deleted."""
    api = ToxiproxyAPI(url, timeout_s=3)
    try:
        if not api.ping():
            return
        for name in [n for n in api.proxies() if n.startswith(f"{PREFIX}{run_id}-")]:
            with contextlib.suppress(NotFound):
                api.delete_proxy(name)
            report.actions.append(f"deleted the fault's proxy {name} from {url}")
    except ToxiproxyError as exc:
        report.problems.append(f"could not delete the run's fault proxies at {url}: {exc}")
    finally:
        api.close()


def _revert_platform(state: dict[str, Any], report: ResetReport) -> None:
    url, token = state.get("platform_url"), state.get("admin_token")
    if not url or not token:
        return
    ca_file = Path(state["ca_file"]) if state.get("ca_file") else None  # an HTTPS platform: the run's own CA
    admin = PlatformAdmin(url, token, timeout_s=3, ca_file=ca_file)
    try:
        if not admin.healthy():
            return
        admin.call("DELETE", "/admin/faults")
        report.actions.append(f"reverted the fault modes of the platform at {url}")
    except PlatformAdminError as exc:
        report.problems.append(f"could not revert the platform's fault modes at {url}: {exc}")
    finally:
        admin.close()


def _alive(state: dict[str, Any]) -> str | None:
    """Why the run of ``state`` is still alive (None: provably abandoned)."""
    pid, host, started = state.get("runner_pid"), state.get("host"), state.get("runner_started")
    if pid and host == socket.gethostname() and started is not None:  # its process tells, alive or gone
        return f"its process (pid {pid}) still runs" if process_started(int(pid)) == started else None
    url = state.get("toxiproxy_url") if state.get("lease") else None  # another machine's run: its lease tells
    if url:
        api = ToxiproxyAPI(url, timeout_s=3)
        try:
            until = live_runs(api.proxies(), time.time()).get(str(state.get("run_id")))
        except ToxiproxyError:
            until = None  # that Toxiproxy is gone, and the lease with it
        finally:
            api.close()
        if until is not None:
            return f"its lease on {url} runs until {_when(until)}"
    return None


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


def reset_run(state_path: Path, report: ResetReport, force: bool = False) -> None:
    """Clean up one run if its state says it never finished and it is not alive (``force``: the run itself,
    abandoning its stuck loop)."""
    state = json.loads(state_path.read_text())
    if state.get("status") != "running":
        return
    alive = None if force else _alive(state)
    if alive is not None:
        report.kept.append(f"run {state.get('run_id')} is still running ({alive}): left alone")
        return
    _revert_platform(state, report)
    for name, pid in state.get("pids", {}).items():
        if pid:
            _stop_pid(name, int(pid), report)
    if state.get("toxiproxy_url") and state.get("proxy"):
        _clean_proxy(state["toxiproxy_url"], state["proxy"], state, report)
    if state.get("toxiproxy_url") and state.get("secondary_proxy"):
        _clean_proxy(state["toxiproxy_url"], state["secondary_proxy"], {**state, "proxy_owned": True}, report)
    if state.get("toxiproxy_url") and state.get("lease"):
        _clean_proxy(state["toxiproxy_url"], state["lease"], {**state, "proxy_owned": True}, report)
    if state.get("toxiproxy_url") and state.get("run_id"):
        _delete_fault_proxies(state["toxiproxy_url"], str(state["run_id"]), report)
    state["status"] = "reset"
    state_path.write_text(json.dumps(state, indent=2))
    report.actions.append(f"run {state.get('run_id')} marked reset")


def reset_containers(project: str, report: ResetReport) -> None:
    """Unpause and start again every container of a compose project that a killed run left paused or stopped."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        containers = client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
    except Exception as exc:  # no engine, no permission: say so, never crash
        report.problems.append(f"could not reach the Docker engine for project {project}: {exc}")
        return
    for container in containers:
        if container.status == "paused":
            container.unpause()
            report.actions.append(f"unpaused container {container.name}")
        elif container.status in ("exited", "created"):
            container.start()
            report.actions.append(f"started container {container.name}")


def reset_all(report_dir: Path, toxiproxy_url: str | None = None, compose_project: str | None = None) -> ResetReport:
    """Every unfinished run under ``report_dir``; with ``toxiproxy_url``, also every ``taxstorm-*`` proxy there;
    with ``compose_project``, also that project's paused or stopped containers."""
    report = ResetReport()
    if compose_project:
        reset_containers(compose_project, report)
    for state_path in sorted(report_dir.glob("*/state.json")):
        try:
            reset_run(state_path, report)
        except (OSError, ValueError) as exc:
            report.problems.append(f"{state_path}: {exc}")
    if toxiproxy_url:
        _sweep(toxiproxy_url, report)
    return report


def _sweep(toxiproxy_url: str, report: ResetReport) -> None:
    """Delete the ``taxstorm-*`` proxies of runs that are provably abandoned: no lease, or a lease long ended."""
    api = ToxiproxyAPI(toxiproxy_url, timeout_s=3)
    try:
        proxies = api.proxies()
        live = live_runs(proxies, time.time())
        for name in proxies:
            run = live.get(name.removeprefix(LEASE_PREFIX)) if name.startswith(LEASE_PREFIX) else None
            owner_run = owner(name, live)
            if run is not None or not name.startswith(PREFIX):
                continue  # a live run's lease, or not ours
            if owner_run is not None:
                until = _when(live[owner_run])
                report.kept.append(f"kept proxy {name}: run {owner_run} is alive (its lease runs until {until})")
                continue
            _clean_proxy(toxiproxy_url, name, {}, report)  # ours by name, its run gone: deleted
    except ToxiproxyError as exc:
        report.problems.append(f"could not list proxies at {toxiproxy_url}: {exc}")
    finally:
        api.close()
