"""``check`` in process with a 50-event history (pytest-benchmark; run by hand, not in CI).

.venv/bin/python -m pytest bench --benchmark-only
"""

from __future__ import annotations

import json
from pathlib import Path

from history import history_case
from posology.knowledge import load_pack
from posology.model import parse_case, read_case
from posology.rules import check

PACK = load_pack()
CASE = parse_case(history_case(50))


def test_history_has_50_events() -> None:
    assert len(CASE.history) == 50


def test_check_50_event_history(benchmark) -> None:  # type: ignore[no-untyped-def]
    findings = benchmark(check, CASE.patient, CASE.history, CASE.proposal, PACK)
    assert all(f.severity.value in ("info", "warning") for f in findings)


def test_parse_and_check_50_event_history(benchmark) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps(history_case(50))

    def parse_and_check() -> object:
        case = read_case(text)
        return check(case.patient, case.history, case.proposal, PACK)

    benchmark(parse_and_check)


def write_example(path: Path) -> None:
    path.write_text(json.dumps(history_case(50), indent=2))
