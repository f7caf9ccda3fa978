"""Virtual time: sleeping runs the background tasks due on the way, in time order, at the time they were due."""

from __future__ import annotations

from taxstorm.run_loop import VirtualLoop


def test_tasks_run_in_time_order_at_their_due_time_until_done_or_killed() -> None:
    loop = VirtualLoop(start_s=0.0)
    seen: list[tuple[str, float]] = []

    def a() -> bool:
        seen.append(("a", loop.monotonic()))
        return loop.monotonic() >= 3.0  # done

    loop.every(1.0, a)
    b = loop.every(1.5, lambda: seen.append(("b", loop.monotonic())), first_s=0.5)
    loop.sleep(2.0)
    b.kill()
    loop.sleep(10.0)
    assert seen == [("b", 0.5), ("a", 1.0), ("b", 2.0), ("a", 2.0), ("a", 3.0)]  # "a" said it was done at 3 s
    assert loop.monotonic() == 12.0 and loop.wall() - loop.monotonic() == 1_800_000_000.0


def test_soon_runs_before_the_next_due_task_and_a_task_that_sleeps_only_moves_the_clock() -> None:
    loop = VirtualLoop(start_s=0.0)
    seen: list[str] = []

    def sleepy() -> bool:
        seen.append(f"sleepy at {loop.monotonic():g}")
        loop.sleep(5.0)  # inside a task: no other task runs meanwhile
        return True

    loop.every(1.0, sleepy)
    loop.every(2.0, lambda: seen.append(f"other at {loop.monotonic():g}"))
    loop.soon(lambda: seen.append("soon"))
    loop.sleep(7.0)
    assert seen == ["soon", "sleepy at 1", "other at 6"]  # "other" was due at 2, ran late, next due at 8
    assert loop.monotonic() == 7.0


def test_a_task_that_raises_is_counted_and_keeps_its_place() -> None:
    loop = VirtualLoop(start_s=0.0)
    runs: list[float] = []

    def flaky() -> None:
        runs.append(loop.monotonic())
        raise ConnectionError("the platform is down")

    loop.every(1.0, flaky)
    loop.soon(lambda: 1 / 0)
    loop.sleep(3.0)
    assert runs == [1.0, 2.0, 3.0]
    assert loop.errors[0].endswith("ZeroDivisionError: division by zero")
    assert loop.errors[1:] == ["flaky: ConnectionError: the platform is down"] * 3
