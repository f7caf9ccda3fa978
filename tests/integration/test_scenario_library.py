"""The scenario library judges clients right, story by story, every run of a story at once (each has its own
stack): the resilient reference client and the outsider's careful client (examples/outsider_client.py, written
from docs/writing-a-client.md alone) pass; the naive client fails on the story's gate; and every one-defect
client (tests/clients/defects.py) fails the story that exposes it, on the gate or finding that names its defect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

# scenario → (scale for the test, the gate type the naive client must fail)
STORIES = {
    "smoke": (0.4, "integrity"),
    "peak_season_filing": (0.2, "error_rate"),
    "month_end_overload": (0.25, "amplification"),
    "network_degradation": (0.25, "integrity"),
    "network_partition": (0.3, "error_rate"),  # the black hole (4.5 s) outlasts the 3 s answer budget
    "bad_upgrade": (0.25, "graceful"),
    "rolling_upgrade": (0.25, "error_rate"),
    "platform_crash": (0.25, "error_rate"),
    "maintenance_window": (0.25, "error_rate"),
    "policy_change": (0.25, "amplification"),
    "token_revocation_storm": (0.25, "error_rate"),
    "ledger_stall": (0.25, "graceful"),
    "wuhan_outage_gameday": (0.2, "error_rate"),
    "month_rollover": (0.4, "error_rate"),
    "filing_deadline": (0.4, "error_rate"),
    "new_year_segments": (0.4, "error_rate"),
    "upload_outage": (0.3, "integrity"),
    "regional_failover": (0.3, "error_rate"),
}
# each dialect's third-party SDK inside an integrator's client
SDK_CLIENTS = {"nuonuo": "examples.nuonuo_sdk_client:create", "irp": "examples.gst_irn_client:create"}
CHINA_ONLY = "its sellers issue against China's 授信额度 and 预赋码: the IRP has neither"
# stories that do not apply to a dialect, and why (README, "Dialects")
NOT_ON: dict[str, dict[str, str]] = {
    "nuonuo": {"upload_outage": "Nuonuo has no re-upload call: a failed signature (24) is the provider's to repeat"},
    "irp": {
        "upload_outage": "the IRP has no upload step",
        "policy_change": "its new rate table is China's VAT; GST rates do not change in it",
        "month_rollover": CHINA_ONLY,
        "filing_deadline": CHINA_ONLY,
        "new_year_segments": CHINA_ONLY,
        "peak_season_filing": CHINA_ONLY,
    },
}
# where a dialect expresses a story's fault so that the naive client fails another gate than on the native API
GATE_ON: dict[str, dict[str, str]] = {
    "irp": {"bad_upgrade": "error_rate"},  # the renamed field breaks the IRP's own answer (5002): no numberless ISSUED
}


def dialect_stories() -> dict[str, tuple[float, str]]:
    """Stories on another dialect ("<story>@<dialect>", run with --dialect and --tls) → (scale, the gate the naive
    client must fail: the same as on the native API). CI runs smoke on each; TAXSTORM_DIALECT_STORIES=all (make
    stories-dialects) every story that applies."""
    every = os.environ.get("TAXSTORM_DIALECT_STORIES") == "all"
    chosen = STORIES if every else {"smoke": STORIES["smoke"]}
    return {
        f"{s}@{d}": (scale, GATE_ON.get(d, {}).get(s, gate))
        for d, skip in NOT_ON.items()
        for s, (scale, gate) in chosen.items()
        if s not in skip
    }


DIALECT_STORIES = dialect_stories()
CAREFUL = "examples.outsider_client:create"
# one-defect client (tests.clients.defects) → (the story that exposes it, the gate, "integrity:<finding>", or
# "steady_state": failed before the first fault, the client blamed)
DEFECTS = {
    "drops_queue": ("maintenance_window", "integrity:never_issued"),
    "never_drains": ("platform_crash", "integrity:never_issued"),
    "queues_everything": ("peak_season_filing", "drain"),
    "queues_what_it_could_issue": ("network_degradation", "steady_state"),
    "unknown_status": ("smoke", "contract"),
    "new_serial_per_retry": ("smoke", "integrity:duplicates"),
    "acks_on_202": ("network_degradation", "integrity:no_number"),
    "shares_invoice_number": ("network_degradation", "integrity:mismatched"),
    "fabricates_number": ("network_partition", "integrity:mismatched"),
    "no_timeout": ("network_partition", "contract"),
    "no_backoff": ("month_end_overload", "amplification"),
    "ignores_retry_after": ("month_end_overload", "amplification"),
    "retries_refusals": ("policy_change", "amplification"),
    "swallows_refusals": ("policy_change", "integrity:lost"),
    "never_reauthenticates": ("token_revocation_storm", "integrity:never_issued"),
    "no_failover": ("regional_failover", "time_to_invoice"),
    "never_reuploads": ("upload_outage", "integrity:not_uploaded"),
}


ALL_STORIES = STORIES | DIALECT_STORIES
MAX_RUNS_AT_ONCE = 9  # runs of several stories overlap (each has its own stack): ~15 % of a core each


def start(story: str, scale: float, client: str, report_dir: Path) -> subprocess.Popen[str]:
    scenario, _, dialect = story.partition("@")
    command = [sys.executable, "-m", "taxstorm", "run", str(REPO / "scenarios" / f"{scenario}.yaml")]
    command += ["--scale", str(scale), "--client", client, "--report-dir", str(report_dir)]
    if dialect:
        command += ["--dialect", dialect, "--tls"]
    report_dir.mkdir(parents=True, exist_ok=True)
    # the output goes to a file, never a pipe: the runs are polled, not read, and a run that prints more than a
    # pipe holds (a client that logs every refusal) would block on its own output and never end
    with (report_dir / "output.txt").open("w") as output:
        return subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, text=True)


def finished(proc: subprocess.Popen[str], report_dir: Path) -> tuple[int, str, dict[str, Any]]:
    proc.wait(timeout=300)
    output = (report_dir / "output.txt").read_text(errors="replace")
    (result_file,) = report_dir.glob("*/result.json")
    return proc.returncode, output, json.loads(result_file.read_text())


def planned_s(story: str) -> float:
    """How long the story's load runs at its test scale."""
    scenario = story.partition("@")[0]
    data = yaml.safe_load((REPO / "scenarios" / f"{scenario}.yaml").read_text(encoding="utf-8"))
    return float(data["duration_s"]) * ALL_STORIES[story][0]


def story_clients(scenario: str) -> dict[str, str]:
    """Every client a story judges: the references, the outsider's, and the one-defect clients it exposes (on
    another dialect: the references and that dialect's SDK client)."""
    if "@" in scenario:
        return {"resilient": "resilient", "naive": "naive", "sdk": SDK_CLIENTS[scenario.partition("@")[2]]}
    clients = {"resilient": "resilient", "careful": CAREFUL, "naive": "naive"}
    return clients | {
        name: f"tests.clients.defects:{name}" for name, (story, _) in DEFECTS.items() if story == scenario
    }


Outcome = tuple[int, str, dict[str, Any]]


class Library:
    """Runs every story's clients in the background, up to MAX_RUNS_AT_ONCE processes at a time, stories in
    order; each test waits for its own story only (so the stories of the library overlap instead of queueing)."""

    def __init__(self, root: Path, stories: list[str]) -> None:
        self.root = root
        self.stories = stories  # what the selected tests judge: nothing else is run
        self.results: dict[str, dict[str, Outcome]] = {}
        self._done = {name: threading.Event() for name in ALL_STORIES}
        self._thread = threading.Thread(target=self._run_all, daemon=True)
        self._thread.start()

    def story(self, scenario: str) -> dict[str, Outcome]:
        assert self._done[scenario].wait(timeout=1800), f"{scenario} never finished"
        return self.results[scenario]

    def _run_all(self) -> None:
        # longest stories first: the short ones fill the gaps at the end instead of a long one running alone
        stories = sorted(self.stories, key=lambda story: -planned_s(story))
        pending = [(story, name, ref) for story in stories for name, ref in story_clients(story).items()]
        running: dict[tuple[str, str], subprocess.Popen[str]] = {}
        outcomes: dict[str, dict[str, Outcome]] = {story: {} for story in self.stories}
        while pending or running:
            while pending and len(running) < MAX_RUNS_AT_ONCE:
                story, name, ref = pending.pop(0)
                running[(story, name)] = start(story, ALL_STORIES[story][0], ref, self.root / story / name)
            for key, proc in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[key]
                story, name = key
                try:
                    outcomes[story][name] = finished(proc, self.root / story / name)
                except Exception as exc:  # reported by the story's test
                    outcomes[story][name] = (proc.returncode or -1, f"no result: {exc}", {})
                if len(outcomes[story]) == len(story_clients(story)):
                    self.results[story] = outcomes[story]
                    self._done[story].set()
            time.sleep(0.2)


@pytest.fixture(scope="module")
def library(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Library:
    """Runs the stories of the tests selected in this module (``-k dialect`` runs only the dialects')."""
    chosen: set[str] = set()
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        story = params.get("story", params.get("scenario"))
        if getattr(item, "module", None) is request.module and isinstance(story, str):
            chosen.add(story)
    return Library(tmp_path_factory.mktemp("library"), sorted(chosen))


def failures(result: dict[str, Any]) -> list[str]:
    return [f"{g['name']} [{g['window']}]: {g['message']}" for g in result["gates"] if not g["passed"]]


def test_every_library_scenario_has_a_story_test_and_every_defect_a_story() -> None:
    assert sorted(STORIES) == sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))
    from tests.clients import defects

    assert {story for story, _ in DEFECTS.values()} <= set(STORIES)
    assert all(callable(getattr(defects, name, None)) for name in DEFECTS)


def assert_caught(name: str, expected: str, code: int, output: str, result: dict[str, Any]) -> None:
    """The run of a one-defect client failed (exit 1) on the gate or finding that names its defect."""
    assert code == 1 and result["status"] == "failed", f"{name} was not failed:\n{output[-3000:]}"
    if expected == "steady_state":  # failed before the first fault, the client blamed
        check = result["steady_state"]
        assert check["problem"] and check["blame"] == "client", f"{name}: {check}"
        return
    gate, _, finding = expected.partition(":")
    named = [g for g in result["gates"] if g["kind"] == gate]
    assert named and not all(g["passed"] for g in named), f"{name} passed {gate}: {named}\n{failures(result)}"
    if finding:
        found = {k: len(v) for k, v in result["reconciliation"].items() if isinstance(v, list) and v}
        assert result["reconciliation"][finding], f"{name}: no {finding} finding, found {found}"


def assert_judged(done: dict[str, Outcome], passing: tuple[str, ...], story_gate: str) -> None:
    """The careful clients of a story passed it (no defect, a truthful backlog); the naive one failed its gate."""
    for name in passing:
        code, output, result = done[name]
        assert code == 0 and result["status"] == "passed", f"{name} failed {failures(result)}\n{output[-3000:]}"
        assert result["client_defects"] == [] and result["backlog_check"]["agrees"], (name, result["backlog_check"])
    naive_code, naive_output, naive_result = done["naive"]
    assert naive_code == 1 and naive_result["status"] == "failed", naive_output[-3000:]
    story = [g for g in naive_result["gates"] if g["kind"] == story_gate]
    assert story and not all(g["passed"] for g in story), f"naive passed {story_gate}: {failures(naive_result)}"


@pytest.mark.parametrize("scenario", sorted(STORIES))
def test_the_story_passes_careful_clients_and_fails_each_broken_one_on_its_gate(
    scenario: str, library: Library
) -> None:
    done = library.story(scenario)
    assert_judged(done, ("resilient", "careful"), STORIES[scenario][1])
    for name, (story_name, expected) in DEFECTS.items():
        if story_name == scenario:
            assert_caught(name, expected, *done[name])


@pytest.mark.parametrize("story", sorted(DIALECT_STORIES))
def test_a_story_on_another_dialect_judges_as_on_the_native_api(story: str, library: Library) -> None:
    """The references keep their verdicts on another dialect (naive fails the story's native gate), and the
    dialect's third-party SDK, unmodified inside an integrator's client, is judged like any client."""
    scenario, _, dialect = story.partition("@")
    story_gate = DIALECT_STORIES[story][1]
    assert story_gate == GATE_ON.get(dialect, {}).get(scenario, STORIES[scenario][1])
    assert_judged(library.story(story), ("resilient", "sdk"), story_gate)
