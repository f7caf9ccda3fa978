"""The client guide (docs/writing-a-client.md) stays true: it names every error code, finding, defect and gate."""

from __future__ import annotations

import re

from taxstorm.gates import GATES
from taxstorm.loadtests.defects import DEFECT_KINDS
from taxstorm.mock_platform.errors import ErrorCode
from taxstorm.reconcile import FINDINGS
from tests.conftest import REPO

GUIDE = " ".join((REPO / "docs" / "writing-a-client.md").read_text(encoding="utf-8").split())


def test_the_guide_lists_every_error_code_the_platform_answers() -> None:
    table = GUIDE[GUIDE.index("### Error codes") :]
    named = set(re.findall(r"E\d{4}", table))
    for low, high in re.findall(r"(E\d{4}) – (E\d{4})", table):  # a range such as E2001 – E2005
        named |= {f"{low[:2]}{n:03d}" for n in range(int(low[2:]), int(high[2:]) + 1)}
    missing = sorted(e.code for e in ErrorCode if e.code not in named)
    assert missing == [], f"docs/writing-a-client.md's error table lacks {missing}"


def test_the_guide_names_every_finding_defect_and_gate() -> None:
    judged = GUIDE[GUIDE.index("## 6. How you are judged") :]
    for finding in FINDINGS:
        assert f"*{finding.replace('_', ' ')}*" in judged, f"finding {finding} is not explained"
    for defect in DEFECT_KINDS:
        assert f"`{defect}`" in judged, f"defect {defect} is not explained"
    for gate in GATES:
        assert f"`{gate}`" in judged or f"**{gate}**" in judged, f"gate {gate} is not explained"
