"""The adapters' mapping knowledge is data: routes and frequencies come from the codes file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_the_medication_codes_are_read_with_what_a_product_says() -> None:
    codes = load_codes()
    tablet = codes.coding(RXNORM, "197391")
    assert tablet is not None and tablet.level == "product"
    assert (tablet.route, tablet.form, tablet.strength and tablet.strength.code()) == (
        "oral",
        "tablet",
        "10 mg",
    )
    ingredient = codes.coding(RXNORM, "1292")
    assert ingredient is not None and ingredient.strength is None
    assert codes.coding("http://www.whocc.no/atc", "M03BX01") is not None
    assert codes.coding("http://snomed.info/sct", "387342009") is not None
    assert codes.coding(RXNORM, "999999999") is None and codes.coding(None, "1292") is None
    assert codes.counts_tablets("TAB") and codes.counts_tablets("{tbl}")
    assert not codes.counts_tablets("mg")


def test_every_medication_code_names_a_source_that_says_where_it_was_verified() -> None:
    data = json.loads(data_folder().joinpath("baclofen-codes.json").read_text())
    for entry in data["medication_codes"]["codes"]:
        source = data["sources"][entry["source"]]
        assert source["url"].startswith("http") and source["verified"], entry
        assert isinstance(entry["code"], str)  # dm+d and SNOMED CT ids are strings, exactly


def _with(tmp_path: Path, change: Any) -> Path:
    data = json.loads(data_folder().joinpath("baclofen-codes.json").read_text())
    change(data)
    path = tmp_path / "baclofen-codes.json"
    path.write_text(json.dumps(data))
    return path


def test_a_product_without_a_strength_of_its_form_is_refused(tmp_path: Path) -> None:
    def bad(data: dict[str, Any]) -> None:
        data["medication_codes"]["codes"][1]["strength"] = "1 mg/mL"  # a tablet in mg/mL

    with pytest.raises(PackError, match="a tablet's strength is a mass"):
        load_codes_file(_with(tmp_path, bad))


def test_a_medication_code_listed_twice_or_without_a_source_is_refused(tmp_path: Path) -> None:
    def twice(data: dict[str, Any]) -> None:
        data["medication_codes"]["codes"].append(data["medication_codes"]["codes"][0])

    with pytest.raises(PackError, match="listed twice"):
        load_codes_file(_with(tmp_path, twice))

    def unsourced(data: dict[str, Any]) -> None:
        data["medication_codes"]["codes"][0]["source"] = "hearsay"

    with pytest.raises(PackError, match="names no source"):
        load_codes_file(_with(tmp_path, unsourced))


def test_a_version_1_codes_file_is_still_read_and_recognises_no_medication_code(
    tmp_path: Path,
) -> None:
    def old(data: dict[str, Any]) -> None:
        data["format"] = "posology-codes/1"
        del data["medication_codes"], data["dose_units"]

    codes = load_codes_file(_with(tmp_path, old))
    assert codes.coding(RXNORM, "1292") is None and codes.route("PO") == "oral"
