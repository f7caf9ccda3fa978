"""Once-a-second samples of what records do not show: the backlog (the harness's count and the clients' own)
and the platform's request count."""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from taxstorm.run_loop import Repeating, RunLoop

ISSUE_FAMILY = "/api/v1/invoices"  # issues, batches, red invoices, re-uploads; look-ups by serial, lists
Samples = list[tuple[float, int]]


class IssueTraffic(NamedTuple):
    """The platforms' cumulative requests on the issue family: submissions (POST: what a retry storm multiplies)
    and look-ups (GET: following PROCESSING invoices and unknown outcomes); ``answers``: the submissions by the
    HTTP status they were answered with, as sorted (status, count) pairs (what a passive run is judged on)."""

    submissions: int
    lookups: int
    answers: tuple[tuple[int, int], ...] = ()


def issue_traffic(*stats: Mapping[str, Any]) -> IssueTraffic:
    """Submissions and look-ups the platforms counted on their issue family (every status), summed."""
    submissions = lookups = 0
    answers: Counter[int] = Counter()
    for row in (row for one in stats for row in one.get("requests", [])):
        if not str(row["route"]).startswith(ISSUE_FAMILY):
            continue
        if row["method"] == "POST":
            submissions += int(row["count"])
            answers[int(row["status"])] += int(row["count"])
        elif row["method"] == "GET":
            lookups += int(row["count"])
    return IssueTraffic(submissions, lookups, tuple(sorted(answers.items())))


ZERO = IssueTraffic(0, 0, ())


def _plus(a: IssueTraffic, b: IssueTraffic) -> IssueTraffic:
    answers = Counter(dict(a.answers)) + Counter(dict(b.answers))
    return IssueTraffic(a.submissions + b.submissions, a.lookups + b.lookups, tuple(sorted(answers.items())))


def _most(a: IssueTraffic, b: IssueTraffic) -> IssueTraffic:
    """Field by field, the larger of two reads of one epoch (reads may come back out of order)."""
    answers = dict(a.answers)
    for status, count in b.answers:
        answers[status] = max(count, answers.get(status, 0))
    return IssueTraffic(max(a.submissions, b.submissions), max(a.lookups, b.lookups), tuple(sorted(answers.items())))


class CumulativeTraffic:
    """The platforms' issue traffic added up across restarts: a platform's counters start again from zero when its
    process does (``epoch`` in its stats changes), so what it counted before is carried and the series never goes
    down; a retry storm across a crash is counted whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch: dict[int, str] = {}  # platform index → the epoch of its counters last read
        self._carried: dict[int, IssueTraffic] = {}  # platform index → what its earlier epochs counted
        self._seen: dict[int, IssueTraffic] = {}  # platform index → the most its current epoch has shown

    def __call__(self, *stats: Mapping[str, Any]) -> IssueTraffic:
        total = ZERO
        for index, one in enumerate(stats):
            now, epoch = issue_traffic(one), str(one.get("epoch", ""))
            with self._lock:
                if index in self._epoch and epoch != self._epoch[index]:
                    self._carried[index] = _plus(self._carried.get(index, ZERO), self._seen.pop(index, ZERO))
                self._epoch[index] = epoch
                self._seen[index] = _most(self._seen.get(index, ZERO), now)
                total = _plus(total, _plus(self._carried.get(index, ZERO), now))
        return total


class Sampler:
    """Takes (run second, value) samples: ``backlog`` (orders owed, the harness's own count), ``client_backlog``
    (what the clients' ``backlog()`` say), ``platform_submissions`` and ``platform_lookups`` (the platforms'
    issue-family requests, see ``IssueTraffic``) and ``platform_answers`` (the submissions by status).

    A sample that cannot be taken (a platform that is down, a client that raises) is counted in ``errors``
    and skipped: the loop itself never dies of it.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        owed: Callable[[], int],
        client_backlog: Callable[[], int],
        issue_traffic: Callable[[], IssueTraffic],
        on_sample: Callable[[float], None] | None = None,
    ) -> None:
        self._on_sample = on_sample or (lambda now: None)
        self._clock = clock
        self._owed = owed
        self._client_backlog = client_backlog
        self._issue_traffic = issue_traffic
        self.backlog: Samples = []
        self.client_backlog: Samples = []
        self.platform_submissions: Samples = []
        self.platform_lookups: Samples = []
        self.platform_answers: list[tuple[float, dict[int, int]]] = []
        self.errors: dict[str, int] = {}  # samples that could not be taken, by series
        self._loop: Repeating | None = None

    def sample(self) -> None:
        """One sample of each, stamped with the time it was asked for (kept in time order: samples may overlap;
        one taken at the same time as an earlier one goes after it)."""
        now = self._clock()
        self._take("backlog", self.backlog, now, self._owed)
        self._take("client_backlog", self.client_backlog, now, self._client_backlog)
        try:
            traffic = self._issue_traffic()
        except Exception:
            self.errors["platform_requests"] = self.errors.get("platform_requests", 0) + 1
        else:
            bisect.insort(self.platform_submissions, (now, traffic.submissions), key=_time)
            bisect.insort(self.platform_lookups, (now, traffic.lookups), key=_time)
            bisect.insort(self.platform_answers, (now, dict(traffic.answers)), key=_time)

    def _take(self, name: str, series: Samples, now: float, read: Callable[[], int]) -> None:
        try:
            bisect.insort(series, (now, read()), key=_time)
        except Exception:
            self.errors[name] = self.errors.get(name, 0) + 1

    def start(self, loop: RunLoop, every_s: float = 1.0) -> None:
        """Sample every ``every_s`` on ``loop``, the first time at once."""

        def tick() -> None:
            self.sample()
            try:
                self._on_sample(self._clock())
            except Exception:
                self.errors["on_sample"] = self.errors.get("on_sample", 0) + 1

        self._loop = loop.every(every_s, tick, first_s=0.0)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill()
            self._loop = None
        self.sample()


def last_value(samples: Sequence[tuple[float, int]]) -> int | None:
    return samples[-1][1] if samples else None


def _time(sample: tuple[float, Any]) -> float:
    """Samples sort by time alone: of two taken at the same moment, the later one is the later value."""
    return sample[0]
