"""Hostile and accidental scenario input: every file gets a clear error naming file, line and fix (exit 2),
never a traceback or unbounded memory, and ``validate`` goes on to the files after it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from taxstorm.cli import cli
from taxstorm.cli_options import check_report_dir
from taxstorm.clients.protocol import ClientLoadError, load_factory
from taxstorm.errors import InvalidInputError
from taxstorm.scenario import load_scenario, parse_scenario
from taxstorm.scenario_text import MAX_DEPTH

GOOD = "name: ok\nduration_s: 10\nload: {users: 1, rate_per_s: 1}\n"


def refusal(tmp_path: Path, content: bytes | str) -> str:
    path = tmp_path / "s.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(InvalidInputError) as caught:
        load_scenario(path)
    return str(caught.value)


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    lines.append("faults: *i")  # 9^9 ≈ 387 million values once expanded
    message = refusal(tmp_path, "\n".join(lines) + "\n")
    assert "s.yaml:" in message and "expand to more than 100,000 values (an alias bomb?)" in message


def test_an_alias_loop_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD + "faults: &f [1, *f]\n")
    assert message == f"{tmp_path / 's.yaml'}:4: an alias refers to the node that contains it (an alias loop)"


def test_binary_and_gbk_files_are_named_for_what_they_are(tmp_path: Path) -> None:
    assert "s.yaml:2: binary content (a NUL byte)" in refusal(tmp_path, b"name: x\n\x00\xff\n")
    gbk = "# 月末压测\n".encode("gbk") + GOOD.encode()
    message = refusal(tmp_path, gbk)
    assert "s.yaml:1: not UTF-8 (byte 0xd4 at column 3)" in message and "GBK/GB18030" in message
    assert "save it as UTF-8" in message
    utf8_with_bom = "\ufeff# 月末压测\n" + GOOD  # what Notepad writes: fine
    path = tmp_path / "bom.yaml"
    path.write_text(utf8_with_bom, encoding="utf-8")
    assert load_scenario(path).name == "ok"


def test_deep_nesting_is_refused_without_recursing(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD + "x: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert f"s.yaml:4: nested more than {MAX_DEPTH} levels deep" in message


def test_a_key_given_twice_is_refused_not_last_wins(tmp_path: Path) -> None:
    message = refusal(tmp_path, GOOD + "duration_s: 20\n")
    assert message.endswith("s.yaml:4: key 'duration_s' is given twice in one mapping (first at line 2); keep one")
    flow = refusal(tmp_path, "name: x\nload: {users: 1, users: 2}\n")
    assert "s.yaml:2: key 'users' is given twice" in flow


def test_a_merge_key_is_not_a_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    merged = (
        "name: m\nduration_s: 30\nload: {users: 1, rate_per_s: 1}\n"
        "faults:\n  - &slow {type: latency, id: a, at_s: 1, for_s: 2, latency_ms: 300}\n"
        "  - {<<: *slow, id: b, at_s: 10}\n"
    )
    path.write_text(merged)
    assert [f.label(i) for i, f in enumerate(load_scenario(path).faults)] == ["a", "b"]


def test_nan_and_infinity_are_named_with_their_field(tmp_path: Path) -> None:
    message = refusal(tmp_path, "name: x\nduration_s: .nan\nload: {users: 1, rate_per_s: 1}\n")
    assert message.endswith("s.yaml:2: duration_s: .nan is not a number; give a finite value")
    message = refusal(tmp_path, "name: x\nduration_s: 10\nload: {users: 1, rate_per_s: .inf}\n")
    assert "s.yaml:3: load.rate_per_s: .inf is not a number" in message


def test_a_folder_an_oversized_file_and_a_missing_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is a folder; give a scenario file"):
        load_scenario(tmp_path)
    assert "larger than 1,000,000 bytes" in refusal(tmp_path, "#" * 1_000_001)
    with pytest.raises(InvalidInputError, match="cannot read scenario"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_check_across_fields_points_at_the_field_it_blames(tmp_path: Path) -> None:
    text = (
        "name: x\nduration_s: 30\nload: {users: 1, rate_per_s: 1}\nfaults:\n"
        "  - {type: latency, id: a, at_s: 1, for_s: 2, latency_ms: 300}\n"
        "  - {type: latency, id: b, at_s: 20, for_s: 20, latency_ms: 300}\n"
    )
    message = refusal(tmp_path, text)
    assert "s.yaml:6: faults[1]: faults[1] ends at 40.0s, after duration_s=30" in message


def overlapping(first: dict[str, object], second: dict[str, object], duration_s: int = 60) -> str | None:
    data = {"name": "o", "duration_s": duration_s, "faults": [first, second], "gates": [{"type": "integrity"}]}
    try:
        parse_scenario(data, "o.yaml")
    except InvalidInputError as exc:
        return str(exc)
    return None


def test_two_faults_of_one_platform_mode_may_not_overlap() -> None:
    burst = {"type": "error_injection", "id": "burst", "at_s": 10, "for_s": 20, "code": "E9003", "rate": 0.5}
    late = {**burst, "id": "late", "at_s": 25, "rate": 1.0}
    message = overlapping(burst, late)
    assert message is not None and "o.yaml:1" not in message  # points at the fault, not the top of the file
    assert "faults[1] (late) overlaps faults[0] (burst) from 25 s to 30 s" in message
    assert "primary platform's error injection" in message and "start the second after the first ends" in message
    assert overlapping(burst, {**late, "at_s": 30}) is None  # one after the other: fine
    assert overlapping({**burst, "for_s": None}, {**late, "at_s": 59, "for_s": 1}) is not None  # open-ended
    ghosts = {"type": "ghost_success", "id": "ghosts", "at_s": 12, "for_s": 5, "rate": 0.2}
    assert overlapping(burst, ghosts) is None  # different modes stack
    slow = {"type": "latency", "id": "slow", "at_s": 12, "for_s": 5, "latency_ms": 100}
    assert overlapping({**slow, "id": "slow2"}, slow) is None  # toxics stack on a proxy


def test_the_release_and_a_familys_capacity_are_one_slot_each() -> None:
    v1 = {"type": "bad_release", "id": "v1", "at_s": 5, "for_s": 30, "release": "renamed-field"}
    v2 = {"type": "bad_release", "id": "v2", "at_s": 10, "for_s": 5, "release": "latency-leak"}
    assert "platform's release" in (overlapping(v1, v2) or "")
    issue = {"type": "capacity_change", "id": "c1", "at_s": 5, "for_s": 30, "family": "issue", "capacity": {}}
    query = {**issue, "id": "c2", "family": "query"}
    assert overlapping(issue, query) is None
    assert "capacity of issue" in (overlapping(issue, {**issue, "id": "c3", "at_s": 6}) or "")


def test_validate_checks_every_file_and_imports_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_client.py").write_text("raise RuntimeError('licence server unreachable')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    files = {
        "a_gbk.yaml": "# 月末\n".encode("gbk") + GOOD.encode(),
        "b_missing.yaml": (GOOD + "client: {ref: 'no_such_module:create'}\n").encode(),
        "c_raises.yaml": (GOOD + "client: {ref: 'broken_client:create'}\n").encode(),
        "d_good.yaml": GOOD.encode(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    result = CliRunner().invoke(cli, ["validate", *(str(tmp_path / name) for name in files)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "a_gbk.yaml:1: not UTF-8" in result.output
    assert "b_missing.yaml: client.ref: client 'no_such_module:create': cannot import 'no_such_module'" in result.output
    assert "importing 'broken_client' raised RuntimeError: licence server unreachable (at " in result.output
    assert "d_good.yaml: ok (ok, 0 faults" in result.output  # the files after the broken ones were checked
    sys.modules.pop("broken_client", None)


def test_a_client_module_that_raises_at_import_is_a_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exploding.py").write_text("x = 1\n1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ClientLoadError, match=r"importing 'exploding' raised ZeroDivisionError: .*exploding.py:2\)"):
        load_factory("exploding:create")
    sys.modules.pop("exploding", None)


def test_the_report_folder_must_be_a_writable_folder(tmp_path: Path) -> None:
    check_report_dir(tmp_path / "new" / "reports")  # made on the way
    assert (tmp_path / "new" / "reports").is_dir()
    a_file = tmp_path / "reports.txt"
    a_file.write_text("")
    with pytest.raises(click.BadParameter, match="is a file, not a folder"):
        check_report_dir(a_file)
    with pytest.raises(click.BadParameter, match=r"cannot write reports in .*reports.txt/sub \(Not a directory\)"):
        check_report_dir(a_file / "sub")


def test_library_files_still_load() -> None:
    for path in sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml")):
        assert load_scenario(path).name == yaml.safe_load(path.read_text(encoding="utf-8"))["name"]
