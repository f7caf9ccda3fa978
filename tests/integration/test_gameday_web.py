"""``taxstorm gameday`` in a real browser: the real command (platform, Toxiproxy, Locust's web UI with the Chaos
tab) driven by Debian's headless Chromium through Selenium and chromedriver; every assertion about faults is
checked on Toxiproxy's own API, and the session's report is checked after Ctrl-C ends it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from taxstorm.chaos.children import ManagedProcess
from taxstorm.chaos.toxiproxy.api import ToxiproxyAPI
from taxstorm.chaos.waiting import wait_until
from taxstorm.scenario import load_scenario
from tests.conftest import REPO

DEADLINE_S = 20.0
WEB_TOKEN = "token-of-the-browser-gameday-test"
HTTP = requests.Session()  # a script's way through the door: the session's token as a bearer
HTTP.headers["Authorization"] = f"Bearer {WEB_TOKEN}"


@dataclass
class GameDay:
    """The game day process: Locust's UI at ``url``, its faults on ``proxy`` of the Toxiproxy behind ``api``."""

    url: str
    api: ToxiproxyAPI
    proxy: str
    process: ManagedProcess
    run_dir: Path

    def finish(self) -> dict[str, Any]:
        """End the session as an operator does (Ctrl-C) and return its result.json."""
        self.process.signal(signal.SIGINT)
        wait_until(lambda: not self.process.alive(), 120, "the game day to drain, judge and report")
        result: dict[str, Any] = json.loads((self.run_dir / "result.json").read_text())
        return result

    def locust(self) -> dict[str, Any]:
        """Locust's own stats answer (state, user count, failures; cached by Locust for up to 2 s)."""
        answer: dict[str, Any] = HTTP.get(f"{self.url}/stats/requests", timeout=5).json()
        return answer

    def toxics(self) -> dict[str, Any]:
        """The proxy's toxics by fault label (Toxiproxy names them <run id>-<label>)."""
        prefix = self.run_dir.name + "-"
        return {name.removeprefix(prefix): toxic for name, toxic in self.api.toxics(self.proxy).items()}

    def enabled(self) -> bool:
        return bool(self.api.proxies()[self.proxy].enabled)


def _binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: apt-get install {package} (Debian's, matched to its chromium)")
    return found


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium; anything not on loopback goes to a dead proxy, so the pages must work offline."""
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--proxy-server=127.0.0.1:9",
    ):
        options.add_argument(argument)
    service = Service(executable_path=_binary("chromedriver", "chromium-driver"))  # never selenium-manager
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


SCENARIO = {
    "name": "browser-gameday",
    "duration_s": 30,
    "drain_s": 10,
    "load": {"users": 3, "rate_per_s": 6, "seed": 9},
    "gates": [{"type": "integrity"}, {"type": "latency", "window": "recovery", "max_ms": 5000}],
}


@contextmanager
def running_gameday(
    tmp_path: Path, scenario: dict[str, Any], *extra: str, client: str | None = "naive"
) -> Iterator[GameDay]:
    """``taxstorm gameday`` on ``scenario``, naive client (its users fail visibly while the platform is down);
    ``client`` None: no client flag (a passive game day)."""
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    log = tmp_path / "gameday.log"
    command = [sys.executable, "-m", "taxstorm", "gameday", str(path), "--web-port", "0", *extra]
    command += ["--client", client] if client is not None else []
    command += ["--web-token", WEB_TOKEN]
    no_docker = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}  # container faults: unavailable
    process = ManagedProcess("gameday", [*command, "--report-dir", str(tmp_path / "reports")], log, no_docker)
    process.start()
    try:
        wait_until(lambda: "phase gameday" in log.read_text() or not process.alive(), 60, "the game day")
        assert process.alive(), process.log_tail()
        url = re.search(r"phase gameday url=(\S+),", log.read_text())
        assert url is not None, process.log_tail()
        assert f"login={url.group(1)}/chaos?token={WEB_TOKEN}" in log.read_text()  # the operator's way in
        (run_dir,) = (tmp_path / "reports").iterdir()
        state = json.loads((run_dir / "state.json").read_text())
        yield GameDay(url.group(1), ToxiproxyAPI(state["toxiproxy_url"]), state["proxy"], process, run_dir)
    finally:
        process.stop(timeout_s=30)


@pytest.fixture
def gameday(tmp_path: Path) -> Iterator[GameDay]:
    with running_gameday(tmp_path, SCENARIO) as running:
        yield running


def retype(element: WebElement, text: str) -> None:
    """Replace an input's value the way a person does (React sees real key events)."""
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(Keys.BACKSPACE)
    if text:
        element.send_keys(text)


def apply(browser: WebDriver, fault: str, params: dict[str, str], for_s: str = "") -> None:
    form = browser.find_element(By.CSS_SELECTOR, f'form[data-fault="{fault}"]')
    for name, value in {**params, "for_s": for_s}.items():
        retype(form.find_element(By.NAME, name), value)
    form.find_element(By.CSS_SELECTOR, f'button[data-apply="{fault}"]').click()


def active_row(label: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'#active-faults tr[data-label="{label}"]'


def test_operators_apply_revert_halt_note_and_export_from_the_chaos_tab(
    browser: WebDriver, gameday: GameDay, tmp_path: Path
) -> None:
    started = time.monotonic()
    wait = WebDriverWait(browser, DEADLINE_S, poll_frequency=0.1)

    # Locust's own start form starts the load.
    browser.get(gameday.url + f"/?token={WEB_TOKEN}")  # logs the browser in, then shows "/"
    retype(wait.until(ec.visibility_of_element_located((By.NAME, "userCount"))), "3")
    retype(browser.find_element(By.NAME, "spawnRate"), "3")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_until(lambda: gameday.locust()["state"] == "running", DEADLINE_S, "Locust running")

    # The Chaos tab sits among Locust's tabs; the Chaos button on every Locust page opens the controls.
    chaos_tab = (By.XPATH, "//*[@role='tab'][normalize-space()='Chaos']")
    wait.until(ec.element_to_be_clickable(chaos_tab))
    browser.find_element(By.ID, "chaos-link").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, 'form[data-fault="latency"]')))
    assert browser.find_elements(By.CSS_SELECTOR, 'form[data-fault="down"]')  # every registered fault has a form
    assert browser.find_elements(By.CSS_SELECTOR, 'form[data-fault="error_injection"]')

    # Apply latency: it shows as active, and Toxiproxy really carries the toxic.
    apply(browser, "latency", {"latency_ms": "250", "jitter_ms": "10"})
    wait.until(ec.visibility_of_element_located(active_row("latency-1")))
    [toxic] = gameday.toxics().values()
    assert (toxic.name.removeprefix(gameday.run_dir.name + "-"), toxic.type, toxic.attributes) == (
        "latency-1",
        "latency",
        {"latency": 250, "jitter": 10},
    )
    row = browser.find_element(*active_row("latency-1"))
    assert "until reverted" in row.text and "latency_ms=250" in row.text

    # Locust's Chaos tab lists it (rows ride on Locust's own /stats/requests polling).
    browser.get(gameday.url + f"/?token={WEB_TOKEN}")  # logs the browser in, then shows "/"
    wait.until(ec.element_to_be_clickable(chaos_tab)).click()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "main table"), "active until reverted"))
    assert "latency-1" in browser.find_element(By.CSS_SELECTOR, "main table").text
    browser.find_element(By.ID, "chaos-link").click()

    # Revert it by its button: gone from the page and from Toxiproxy.
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, 'button[data-revert="latency-1"]'))).click()
    wait.until(ec.invisibility_of_element_located(active_row("latency-1")))
    assert gameday.toxics() == {}

    # A bad form names the field and the fix; nothing is applied.
    apply(browser, "latency", {"latency_ms": ""})
    error = browser.find_element(By.CSS_SELECTOR, 'p[data-error-for="latency"]')
    wait.until(lambda _driver: "params.latency_ms: required" in error.text)
    assert "give a value (integer" in error.text and gameday.toxics() == {}

    # A fault with for_s expires by itself (the control's ticker), countdown first.
    apply(browser, "latency", {"latency_ms": "100"}, for_s="2")
    wait.until(ec.text_to_be_present_in_element(active_row("latency-2"), " s"))
    assert "latency-2" in gameday.toxics()
    wait.until(ec.invisibility_of_element_located(active_row("latency-2")))
    wait_until(lambda: gameday.toxics() == {}, DEADLINE_S, "latency-2 expired on Toxiproxy")

    # Faults this run cannot serve (no Docker engine targets here) say why and cannot be applied.
    browser.find_element(By.CSS_SELECTOR, 'details[data-family="container"] > summary').click()
    kill = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, 'form[data-fault="container_kill"]')))
    assert "not in this run: needs" in kill.text
    assert not kill.find_element(By.CSS_SELECTOR, "button[data-apply]").is_enabled()

    # Two faults at once, then the red button: both reverted, the load stopped, no more applies.
    apply(browser, "down", {})
    wait.until(ec.visibility_of_element_located(active_row("down-3")))
    apply(browser, "latency", {"latency_ms": "300"})
    wait.until(ec.visibility_of_element_located(active_row("latency-4")))
    assert not gameday.enabled() and list(gameday.toxics()) == ["latency-4"]
    wait_until(lambda: gameday.locust()["stats"][-1]["num_failures"] > 0, DEADLINE_S, "users failing on 'down'")
    retype(browser.find_element(By.ID, "halt-reason"), "error rate 100 %")
    browser.find_element(By.ID, "halt").click()
    wait.until(ec.alert_is_present()).accept()
    wait.until(ec.visibility_of_element_located((By.ID, "halted")))
    assert "error rate 100 %" in browser.find_element(By.ID, "halted").text
    assert gameday.toxics() == {} and gameday.enabled()
    assert not browser.find_elements(By.CSS_SELECTOR, "#active-faults tr[data-label]")
    assert not browser.find_element(By.CSS_SELECTOR, 'button[data-apply="latency"]').is_enabled()
    wait_until(lambda: gameday.locust()["state"] == "stopped", DEADLINE_S, "Locust stopped by the halt")
    assert gameday.locust()["user_count"] == 0

    # An operator note lands on the timeline.
    browser.find_element(By.ID, "note-text").send_keys("p95 went to 900 ms under latency-1")
    browser.find_element(By.ID, "add-note").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "notes"), "p95 went to 900 ms under latency-1"))
    assert "HALT: error rate 100 %" in browser.find_element(By.ID, "timeline").text

    # Export: a download of a scenario CI can replay, holding the operators' faults and notes.
    link = browser.find_element(By.ID, "export")
    assert link.get_attribute("download") == "gameday-scenario.yaml"
    answer = HTTP.get(str(link.get_attribute("href")), timeout=5)
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    path = tmp_path / "gameday-scenario.yaml"
    path.write_text(answer.text, encoding="utf-8")
    scenario = load_scenario(path)
    assert [(f.type, f.id) for f in scenario.faults] == [
        ("latency", "latency-1"),
        ("latency", "latency-2"),
        ("down", "down-3"),
        ("latency", "latency-4"),
    ]
    assert scenario.faults[1].for_s == pytest.approx(2.0, abs=1.2)
    assert "note: p95 went to 900 ms under latency-1" in answer.text and "HALT: error rate 100 %" in answer.text

    # The Finish button ends the session: drained, reconciled, judged; the operators' timeline is the report's.
    browser.find_element(By.ID, "finish").click()
    wait.until(ec.alert_is_present()).accept()
    wait.until(ec.text_to_be_present_in_element((By.ID, "message"), "the report goes to"))
    wait_until(lambda: not gameday.process.alive(), 120, "the game day to drain, judge and report")
    result = json.loads((gameday.run_dir / "result.json").read_text())
    assert gameday.process.returncode() in (0, 1), gameday.process.log_tail()
    assert [f["label"] for f in result["faults"]] == ["latency-1", "latency-2", "down-3", "latency-4"]
    assert all(f["reverted_s"] is not None for f in result["faults"])
    assert result["halted"] == "error rate 100 %"
    notes = [note["text"] for note in result["notes"]]
    assert notes[-2:] == ["p95 went to 900 ms under latency-1", "session ended by the Finish button"]
    assert result["cleanup"] == {"toxics_left": [], "proxy_enabled": True}
    assert result["reconciliation"]["orders"] > 0 and result["status"] in ("passed", "failed")
    assert {w["window"]["name"] for w in result["windows"]} >= {"latency-1", "recovery:latency-1", "down-3"}
    report = (gameday.run_dir / "report.html").read_text()
    assert "Operator notes" in report and "p95 went to 900 ms under latency-1" in report
    print(f"browser game day took {time.monotonic() - started:.1f} s")


def test_the_api_answers_bad_input_with_json_naming_the_field(gameday: GameDay) -> None:
    api = f"{gameday.url}/chaos/api"
    stranger = requests.post(f"{api}/apply", json={"type": "latency", "params": {}}, timeout=5)  # no token
    assert stranger.status_code == 401 and stranger.json()["field"] == "token"
    assert requests.get(f"{gameday.url}/", timeout=5).status_code == 401  # Locust's own UI too
    answer = HTTP.post(f"{api}/apply", data="not json", timeout=5)
    assert answer.status_code == 400 and answer.json()["field"] == "body"
    answer = HTTP.post(f"{api}/apply", json={"type": "latency", "params": {"latency_ms": -1}}, timeout=5)
    assert answer.status_code == 400 and answer.json()["field"] == "params.latency_ms"
    assert "greater than or equal to 0" in answer.json()["error"]
    answer = HTTP.post(f"{api}/apply", json={"type": "latency", "params": {}, "for_s": 5, "fors": 1}, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"].startswith("fors: unknown key")
    answer = HTTP.post(f"{api}/revert", json={"label": "latency-7"}, timeout=5)
    assert answer.status_code == 404 and answer.json()["field"] == "label"
    answer = HTTP.post(f"{api}/apply", json={"type": "container_kill", "params": {"service": "p"}}, timeout=5)
    assert answer.status_code == 400 and answer.json()["field"] == "type"
    assert "and this run has none; use one of" in answer.json()["error"]
    answer = HTTP.get(f"{api}/nowhere", timeout=5)
    assert answer.status_code == 404 and "error" in answer.json()
    faults = HTTP.get(f"{api}/faults", timeout=5).json()["faults"]
    latency = next(f for f in faults if f["type"] == "latency")
    assert latency["family"] == "network" and latency["params"][2]["name"] == "latency_ms"
    assert gameday.toxics() == {}
    result = gameday.finish()  # Ctrl-C, as in a terminal
    assert result["faults"] == [] and result["cleanup"]["toxics_left"] == []
    assert result["notes"][-1]["text"] == "session ended by SIGINT"  # the normal end: judged, not "interrupted"
    assert result["status"] in ("passed", "failed") and gameday.process.returncode() in (0, 1)


def test_the_scenarios_halt_conditions_apply_live(tmp_path: Path) -> None:
    halting = {
        **SCENARIO,
        "halt": [{"type": "error_rate", "above": 0.5, "for_s": 3, "min_operations": 3}],
        "faults": [{"type": "latency", "id": "slow", "at_s": 1, "latency_ms": 100}],  # not played: no --play-faults
        "gates": [{"type": "integrity"}, {"type": "recovery_time", "fault": "slow", "within_s": 10}],
    }
    with running_gameday(tmp_path, halting, "--autostart") as gameday:
        api = f"{gameday.url}/chaos/api"
        wait_until(lambda: gameday.locust()["user_count"] > 0, DEADLINE_S, "the load (--autostart)")
        applied = HTTP.post(f"{api}/apply", json={"type": "down", "params": {}}, timeout=5)
        assert applied.status_code == 200, applied.text
        wait_until(lambda: HTTP.get(f"{api}/state", timeout=5).json()["halted"], 60, "the halt condition")
        state = HTTP.get(f"{api}/state", timeout=5).json()
        assert "error rate" in state["halted"] and state["active"] == []  # reverted by the halt
        assert gameday.toxics() == {} and gameday.enabled()
        result = gameday.finish()
    assert result["halted"] == state["halted"] and result["faults"][0]["reverted_s"] is not None
    assert [f["type"] for f in result["faults"]] == ["down"]  # the operator's only
    notes = [note["text"] for note in result["notes"]]
    assert "gate recovery_time on fault 'slow' left out: --play-faults was not given" in notes, notes


def test_an_exported_session_replays_with_taxstorm_run(tmp_path: Path) -> None:
    (tmp_path / "session").mkdir()
    with running_gameday(tmp_path / "session", SCENARIO, "--autostart", client="resilient") as gameday:
        api = f"{gameday.url}/chaos/api"
        wait_until(lambda: gameday.locust()["user_count"] > 0, DEADLINE_S, "the load (--autostart)")
        # a healthy baseline first: the replay checks steady state before its first fault
        wait_until(lambda: HTTP.get(f"{api}/state", timeout=5).json()["now_s"] > 6, DEADLINE_S, "a baseline")
        fault = {"type": "latency", "params": {"latency_ms": 300}, "for_s": 3}
        applied = HTTP.post(f"{api}/apply", json=fault, timeout=5).json()["applied"]
        wait_until(lambda: HTTP.get(f"{api}/state", timeout=5).json()["active"] == [], 20, "the fault to expire")
        HTTP.post(f"{api}/note", json={"text": "clients slowed, nothing lost"}, timeout=5)
        exported = HTTP.get(f"{api}/export", timeout=5).text
        gameday.finish()
    path = tmp_path / "replay.yaml"
    path.write_text(exported, encoding="utf-8")
    replay = subprocess.run(
        [sys.executable, "-m", "taxstorm", "run", str(path), "--scale", "0.5", "--report-dir", str(tmp_path / "r")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert replay.returncode == 0, replay.stdout[-3000:]
    (result_file,) = (tmp_path / "r").glob("*/result.json")
    result = json.loads(result_file.read_text())
    (event,) = result["faults"]
    assert (event["label"], event["type"], event["params"]["latency_ms"]) == ("latency-1", "latency", 300)
    assert event["applied_s"] == pytest.approx(applied["applied_s"] * 0.5, abs=0.6)  # the operator's moment, scaled
    assert event["reverted_s"] - event["applied_s"] == pytest.approx(1.5, abs=0.6)
    assert result["windows"][0]["operations"] > 0 and "nothing lost" in exported


def test_play_faults_runs_the_scenarios_timeline_from_the_load_start(tmp_path: Path) -> None:
    """``--play-faults``: the scenario's steps are applied under their ids once the load starts, show in the Chaos
    tab like an operator's, expire by themselves, and keep the gates that name them (in the report and export)."""
    scripted = {
        **SCENARIO,
        "faults": [{"type": "latency", "id": "slow", "at_s": 2, "for_s": 3, "latency_ms": 200}],
        "gates": [{"type": "integrity"}, {"type": "latency", "window": "slow", "max_ms": 5000}],
    }
    with running_gameday(tmp_path, scripted, "--autostart", "--play-faults") as gameday:
        api = f"{gameday.url}/chaos/api"

        def active() -> list[str]:
            return [fault["label"] for fault in HTTP.get(f"{api}/state", timeout=5).json()["active"]]

        wait_until(lambda: active() == ["slow"], DEADLINE_S, "the scripted fault")
        assert list(gameday.toxics()) == ["slow"]  # the real toxic, named by the step's id
        wait_until(lambda: active() == [], 20, "the scripted fault to expire")
        assert gameday.toxics() == {} and gameday.enabled()
        exported = HTTP.get(f"{api}/export", timeout=5).text
        result = gameday.finish()
    (event,) = result["faults"]
    assert event["label"] == "slow" and 2.5 < event["reverted_s"] - event["applied_s"] < 4.5, event
    assert [g["window"] for g in result["gates"] if g["kind"] == "latency"] == ["slow"]  # kept, and judged
    started = next(note["at_s"] for note in result["notes"] if "timeline starts with the load" in note["text"])
    assert 1.8 < event["applied_s"] - started < 3.0, (started, event)  # at_s counts from the load's start
    replay = yaml.safe_load(exported)
    assert [step["id"] for step in replay["faults"]] == ["slow"]
    assert [g["window"] for g in replay["gates"] if g["type"] == "latency"] == ["slow"]


def test_workers_that_never_come_end_the_session_as_an_environment_error(tmp_path: Path) -> None:
    # one worker expected, none ever started: once --workers-timeout has passed the session ends by itself
    # (exit 3, saying so) instead of running to --max-duration and judging 0 operations as a latency failure
    extra = ["--autostart", "--expect-workers", "1", "--workers-timeout", "5", "--master-bind", "127.0.0.1:0"]
    with running_gameday(tmp_path, SCENARIO, *extra) as gameday:
        started = time.monotonic()
        wait_until(lambda: not gameday.process.alive(), 60, "the game day to end by itself")
        took = time.monotonic() - started
    assert gameday.process.returncode() == 3, gameday.process.log_tail()
    result = json.loads((gameday.run_dir / "result.json").read_text())
    assert result["status"] == "errored" and "0 of 1 Locust workers connected" in result["reason"], result["reason"]
    assert took < 40, took  # well before --max-duration's 4 hours


def test_a_passive_game_day_takes_its_load_from_a_system_of_ones_own(tmp_path: Path) -> None:
    """``--passive``: the platform's URL and credentials are written for the operators' own system (here the outside
    ERP of tests/outside), Locust's start button says there are no users, the scripted timeline starts with the
    system's first submission, and the session is judged from the platform's side."""
    scripted = {
        **SCENARIO,
        "drain_s": 4,
        "faults": [{"type": "maintenance", "id": "down", "at_s": 3, "for_s": 4}],
        "gates": [
            {"type": "integrity"},
            {"type": "recovery_time", "fault": "down", "within_s": 10},
            {"type": "latency", "window": "recovery", "max_ms": 5000},
        ],
    }
    with running_gameday(tmp_path, scripted, "--passive", "--play-faults", client=None) as gameday:
        info = gameday.run_dir / "platform.json"
        assert json.loads(info.read_text())["sellers"], "the seller credentials for the operators' system"
        refused = HTTP.post(f"{gameday.url}/swarm", data={"user_count": 1, "spawn_rate": 1}, timeout=5)
        assert refused.status_code == 409 and "your system" in refused.json()["message"]
        erp = subprocess.run(
            [sys.executable, str(REPO / "tests" / "outside" / "erp.py"), str(info), "--seconds", "16"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert erp.returncode == 0, erp.stderr
        result = gameday.finish()
    assert result["load"]["source"] == "outside system" and result["platform_side"]["duplicated_orders"] == {}
    assert result["platform_side"]["invoices"] == json.loads(erp.stdout)["issued"]
    (event,) = result["faults"]
    assert event["label"] == "down" and event["reverted_s"] is not None
    gates = {g["kind"]: g for g in result["gates"]}
    assert gates["recovery_time"]["judged"] and gates["recovery_time"]["passed"], gates["recovery_time"]
    assert not gates["latency"]["judged"] and gates["integrity"]["passed"]
    assert result["status"] == "passed", result["reason"]
