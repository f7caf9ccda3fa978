"""Every command in the README's (and the client guide's) shell blocks runs as written.

``taxstorm`` commands run for real from the repository, with only a smaller ``--scale`` or shorter capacity steps
and a temporary ``--report-dir`` appended, and must exit as the README implies (0, or 1 for the naive client). A
command that cannot run here (a synopsis, a placeholder such as ``<run id>``, docker compose pulling public
images, a load against a platform of your own) carries a ``# syntax only: why`` comment in the README; its
subcommand's ``--help`` must then list every option it uses. A new command without the marker that cannot run
fails this test.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCUMENTS = ("README.md", "docs/writing-a-client.md")
SHELL_FENCES = ("sh", "bash", "shell")
MARKER = "# syntax only:"
PLACEHOLDER = re.compile(r"<[^>]+>|\[[^\]]+\]|\b[A-Z][A-Z0-9_]*[A-Z]\b(?!=)")  # <run id>, [--x y], RUN_A, HOST
TAXSTORM = str(Path(sys.executable).with_name("taxstorm"))


@dataclass(frozen=True)
class Command:
    """One shell command of a document, continuation lines joined, its comment apart."""

    where: str
    text: str
    comment: str

    @property
    def syntax_only(self) -> bool:
        return self.comment.startswith(MARKER)

    @property
    def tool(self) -> str:
        words = [w for w in shlex.split(self.text) if "=" not in w or w.startswith("-")]
        if words[:2] == ["docker", "compose"]:
            return "compose"
        return Path(words[0]).name


def commands() -> list[Command]:
    found = []
    for name in DOCUMENTS:
        fence: str | None = None
        pending = ""
        for number, line in enumerate((REPO / name).read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                fence = None if fence is not None else line[3:].strip()
                continue
            if fence not in SHELL_FENCES:
                continue
            body, _, comment = line.partition(" #")
            if body.rstrip().endswith("\\"):
                pending += body.rstrip()[:-1] + " "
                continue
            text = " ".join((pending + body).split())
            pending = ""
            command = Command(f"{name}:{number}", text, f"#{comment}".strip() if comment else "")
            if command.tool in ("taxstorm", "compose", "locust"):
                found.append(command)
    return found


COMMANDS = commands()


def test_the_documents_have_commands_and_every_placeholder_is_marked() -> None:
    assert sum(c.tool == "taxstorm" and not c.syntax_only for c in COMMANDS) >= 8
    unmarked = [f"{c.where}: {c.text}" for c in COMMANDS if not c.syntax_only and PLACEHOLDER.search(c.text)]
    assert unmarked == [], f"runnable commands with placeholders: mark them '{MARKER} why' or make them run"


def help_text(command: Command) -> str:
    words = shlex.split(command.text)
    if command.tool == "taxstorm":
        argv = [TAXSTORM, words[1], "--help"]
    elif command.tool == "locust":  # Locust's own --help stops before the locustfile adds its options
        locustfile = words[words.index("-f") + 1].removesuffix(".py").replace("/", ".")
        script = (
            f"import {locustfile}\nfrom locust.argument_parser import get_parser\nprint(get_parser().format_help())"
        )
        argv = [sys.executable, "-c", script]
    else:
        compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        assert compose.returncode == 0, "docker compose is missing: make test installs it (scripts/ensure-compose.sh)"
        after = words[words.index("compose") + 1 :]
        sub = next(w for i, w in enumerate(after) if not w.startswith("-") and not after[i - 1].startswith("--profile"))
        globals_ = subprocess.run(["docker", "compose", "--help"], capture_output=True, text=True, timeout=60)
        argv = ["docker", "compose", sub, "--help"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)
        assert done.returncode == 0, done.stderr
        return globals_.stdout + done.stdout
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, f"{' '.join(argv)}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.syntax_only], ids=lambda c: c.where)
def test_a_command_that_cannot_run_here_uses_only_options_that_exist(command: Command) -> None:
    text = help_text(command)
    options = {w.split("=")[0] for w in shlex.split(command.text) if w.startswith("--")}
    missing = sorted(o for o in options if o not in text)
    assert missing == [], f"{command.where}: {command.text}\n{missing} are not options of it"


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.syntax_only], ids=lambda c: c.where)
def test_the_command_runs_as_written(command: Command, tmp_path: Path) -> None:
    assert command.tool == "taxstorm", f"{command.where}: only taxstorm commands run here; mark it '{MARKER} why'"
    words = shlex.split(command.text)
    extra = []
    if words[1] in ("run", "capacity", "gameday"):
        extra += ["--report-dir", str(tmp_path / "reports")]
    if words[1] == "run" and "--scale" not in words:
        extra += ["--scale", "0.2"]
    if words[1] == "capacity":
        extra += ["--steps", "3", "--step-s", "4"]  # shorter: the same command, fewer and shorter steps
    written = [p for p in (REPO / w for w in words if w.endswith(".json")) if not p.exists()]
    shell = f"{shlex.quote(TAXSTORM)} {command.text.split(' ', 1)[1]} {shlex.join(extra)}"
    try:
        done = subprocess.run(["bash", "-c", shell], cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        for path in written:  # what the command wrote into the checkout (schema -o …)
            path.unlink(missing_ok=True)
    expected = 1 if "--client naive" in command.text else 0
    assert done.returncode == expected, f"{command.where}: {command.text}\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
    if words[1] == "capacity":
        assert "knee:" in done.stdout and list((tmp_path / "reports").glob("*/capacity.json")), done.stdout
