"""The engine's code names no medicine's rule: it finds rules by role and runs them by kind, so a
second medicine's pack is checked and planned by the same code. A rule ID written in a Python
module, a template or a script outside the packs is the defect this test catches."""

from __future__ import annotations

import re
from pathlib import Path

import posology
from posology.knowledge import load_pack, shipped_profiles
from test_rule_coverage import ALL_IDS

SOURCE = Path(posology.__file__).parent
PACKS = SOURCE / "knowledge" / "data"


def _shipped_ids() -> set[str]:
    ids = set(ALL_IDS)
    for medicine, profiles in shipped_profiles().items():
        for profile in profiles:
            ids |= set(load_pack(medicine, profile).rules)
    return ids


def _id_pattern(ids: set[str]) -> re.Pattern[str]:
    """A rule ID as a whole word (``PO-MAX``, not ``PO-MAX-X``)."""
    alternatives = "|".join(map(re.escape, sorted(ids, key=len, reverse=True)))
    return re.compile(rf"(?<![A-Za-z0-9-])({alternatives})(?![A-Za-z0-9-])")


def _code_files() -> list[Path]:
    return [
        path
        for path in SOURCE.rglob("*")
        if path.is_file()
        and PACKS not in path.parents
        and path.suffix in {".py", ".html", ".js", ".css", ".txt", ".json", ".yaml"}
    ]


def test_no_rule_id_of_a_shipped_pack_is_written_in_the_engine_code() -> None:
    ids = _shipped_ids()
    word = _id_pattern(ids)
    found = [
        f"{path.relative_to(SOURCE)}:{n}: {m.group(1)}"
        for path in _code_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for m in word.finditer(line)
    ]
    assert found == [], "rule IDs in the engine's code (find the rule by role or kind):\n" + (
        "\n".join(found)
    )


def test_the_scan_sees_a_rule_id_where_one_is_written() -> None:
    """The scan itself can fail: a line naming PO-MAX is caught, a longer word is not."""
    ids = _shipped_ids()
    word = _id_pattern(ids)
    assert [m.group(1) for m in word.finditer('pack.rule("PO-MAX")')] == ["PO-MAX"]
    assert list(word.finditer("PO-MAX-X and XPO-MAX")) == []
    assert {"PO-MAX", "SUP-UNIT-MIXUP"} <= ids
