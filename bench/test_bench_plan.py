"""Plan generation per goal, replay included (pytest-benchmark; run by hand, not in CI).

.venv/bin/python -m pytest bench --benchmark-only -o addopts= -o testpaths=bench
"""

from __future__ import annotations

from pathlib import Path

import pytest

from posology.knowledge import load_pack
from posology.planning import plan, read_request

PACK = load_pack()
EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "plan").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_plan_goal(benchmark, path: Path) -> None:  # type: ignore[no-untyped-def]
    request = read_request(path.read_text())
    result = benchmark(plan, request, PACK)
    assert result.made
