"""Abandoning a run whose event loop is stuck: from the watchdog's OS thread, with the loop frozen.

Nothing that needs the loop can run: the cleanup is ``taxstorm reset``'s, from the run's state file (platform
fault modes reverted, the run's children stopped by PID, its toxics and proxy removed, a compose project's
paused or stopped containers started), then the reports are written and the process ends. A loop stuck inside
a call of the client under test is the client's defect (the run fails); stuck anywhere else, the harness's
(the run errors).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from gevent import monkey

from taxstorm.errors import ExitCode
from taxstorm.loadtests.defects import DefectRow
from taxstorm.reset import ResetReport, reset_containers, reset_run
from taxstorm.result import RunResult
from taxstorm.watchdog import client_method, stuck_frames

_waitpid = monkey.get_original("os", "waitpid")  # gevent's waits on the stuck loop
ADVICE = (
    "a call that blocks in a system call stops the load, the fault timeline and signal handling with it: make the "
    "client's I/O cooperative (gevent-patched sockets, no C driver waiting without a timeout) or bound it by the "
    "answer budget"
)


def _reap(pids: list[int]) -> None:
    """Collect the exit status of the children reset stopped (no one else will: the loop that would is stuck)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            _waitpid(pid, 0)


def blocked(why: str, thread_id: int, at_s: float) -> tuple[str, DefectRow | None]:
    """Why a thread's loop is stuck, in words, and the client's defect when it is stuck inside a client call."""
    frames = stuck_frames(thread_id)
    where = frames[-1] if frames else "an unknown place"
    method = client_method(thread_id)
    if method is None:
        return f"the run's event loop stopped turning: {why}; stuck at {where}", None
    reason = f"the client under test blocked the whole run in {method}(): {why}; stuck at {where}"
    return reason, DefectRow(method, "blocked", "system call", 1, round(at_s, 3), f"{reason}. {ADVICE}", frames)


def abandon_run(
    result: RunResult,
    why: str,
    thread_id: int,
    at_s: float,
    state_path: Path | None,
    compose_project: str | None,
    write_reports: Callable[[], None],
) -> NoReturn:
    """Record why, clean up as ``taxstorm reset`` would, write the reports, end the process (never returns)."""
    reason, defect = blocked(why, thread_id, at_s)
    if defect is not None:
        result.client_defects.append(defect.as_dict())
        status, code = "failed", ExitCode.GATES_FAILED
    else:
        status, code = "errored", ExitCode.ENVIRONMENT_ERROR
    print(f"taxstorm: abandoning the run: {reason}", file=sys.stderr, flush=True)
    report = ResetReport()
    if compose_project:
        reset_containers(compose_project, report)
    if state_path is not None and state_path.exists():
        try:
            pids = json.loads(state_path.read_text()).get("pids", {}).values()
            reset_run(state_path, report, force=True)
        except (OSError, ValueError) as exc:
            report.problems.append(f"{state_path}: {exc}")
        else:
            _reap([int(pid) for pid in pids if pid])
    result.errors += [f"abandoned: {reason}", *report.problems]
    result.notes.append({"at_s": round(at_s, 3), "text": "cleaned up after abandoning: " + "; ".join(report.actions)})
    if report.problems:
        status, code = "errored", ExitCode.REVERT_FAILED
    result.status = status  # type: ignore[assignment]
    result.exit_code = int(code)
    result.reason = f"abandoned: {reason}"
    result.duration_s = round(at_s, 3)
    try:
        write_reports()
        print(f"json report: {result.reports.get('json', '')}", file=sys.stderr, flush=True)
    finally:
        os._exit(int(code))
