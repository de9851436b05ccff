"""The adapters' mapping knowledge is data: routes and frequencies come from the codes file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from posology.audit.codes import load_codes, load_codes_file
from posology.errors import PackError
from posology.knowledge import data_folder


def test_routes_and_frequencies_are_read_from_the_codes_file() -> None:
    codes = load_codes()
    assert codes.rxnorm_ingredient == "1292"
    assert codes.route("PO") == "oral" and codes.route(" po/ng ") == "oral"
    assert codes.route("72607000") == "intrathecal"
    assert codes.route("TD") is None and codes.route(None) is None
    assert codes.times_per_day("10 mg PO TID") == 3
    assert codes.times_per_day("2 tablets three times a day") == 3
    assert codes.times_per_day("one tab every 12 hours") == 2
    assert codes.times_per_day("as needed") is None
    assert codes.times_per_day("bid or tid") is None  # two frequencies: not read at all
    assert codes.names_medicine("Baclofen 10 mg tab") and not codes.names_medicine("Tizanidine")


def test_a_codes_file_naming_an_unknown_source_is_refused(tmp_path: Path) -> None:
    data = json.loads(data_folder().joinpath("baclofen-codes.json").read_text())
    data["ingredient"]["source"] = "nowhere"
    path = tmp_path / "baclofen-codes.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PackError, match="names no source"):
        load_codes_file(path)


def test_a_codes_file_with_a_route_outside_the_engine_is_refused(tmp_path: Path) -> None:
    data = json.loads(data_folder().joinpath("baclofen-codes.json").read_text())
    data["routes"]["words"]["iv"] = "intravenous"
    path = tmp_path / "baclofen-codes.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PackError, match="routes must be among"):
        load_codes_file(path)


def test_the_cli_starts_without_importing_the_audit_engines() -> None:
    code = (
        "import sys, posology.cli; "
        "print(sorted(m for m in ('duckdb', 'pyarrow', 'pyspark', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
