"""A pack brings the PATIENT codes its rules speak of: a co-medication the contract's list does
not have is read when a loaded pack names it, refused (naming the field) when none does, and a
pack's interaction rule may name it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from posology.errors import InputError, PackError
from posology.knowledge import data_folder, load_pack
from posology.model import parse_case
from posology.model.vocabulary import vocabulary
from posology.rules import check
from test_new_medicine_pack import PACK, SOURCE

LINE = "Never take fictorol with fictoxacin.\n"
RULE = """
  FIC-NEVER-WITH:
    role: interaction.contraindicated
    kind: co-medication
    title: Never with fictoxacin
    route: general
    engine: [check]
    statement: Contraindicated with fictoxacin.
    source: label
    quote: "Never take fictorol with fictoxacin."
    codes:
      medications: [fictoxacin]
    texts:
      finding_present: "Fictorol with {other}: do not give them together."
    severity:
      present: critical
"""
VOCABULARY = """
vocabulary:
  medications: [fictoxacin]
  conditions: [fictional-liver-disease]
"""
ADULT: dict[str, Any] = {"age_years": 40, "diagnosis": "multiple-sclerosis"}


def folder_with(tmp_path: Path, pack: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "packs"
    shutil.copytree(data_folder(), folder)
    (folder / "fictorol-label.txt").write_text(SOURCE + LINE, encoding="utf-8")
    (folder / "fictorol.yaml").write_text(pack, encoding="utf-8")
    monkeypatch.setenv("POSOLOGY_PACK_DIR", str(folder))
    monkeypatch.setenv("POSOLOGY_PACK_CACHE", "off")
    return folder


def patient_taking(*codes: str) -> dict[str, Any]:
    return {**ADULT, "medications": list(codes)}


def case(patient: dict[str, Any]) -> Any:
    proposal = {"at": "2026-12-01T08:00", "kind": "oral-regimen", "dose": "2 mg"}
    proposal |= {"times_per_day": 2, "medicine": "fictorol"}
    return parse_case({"patient": patient, "history": [], "proposal": proposal})


def test_a_code_a_loaded_pack_adds_is_read_and_its_interaction_is_critical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder_with(tmp_path, PACK + RULE + VOCABULARY, monkeypatch)
    assert "fictoxacin" in vocabulary("medications")
    assert "fictional-liver-disease" in vocabulary("conditions")
    read = case(patient_taking("opioid", "fictoxacin"))
    assert read.patient.medications == {"opioid", "fictoxacin"}
    findings = check(read.patient, read.history, read.proposal, load_pack("fictorol"))
    assert [(f.rule, f.severity.value) for f in findings] == [("FIC-NEVER-WITH", "critical")]
    assert findings[0].message == "Fictorol with fictoxacin: do not give them together."


def test_a_code_no_loaded_pack_knows_is_refused_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder_with(tmp_path, PACK, monkeypatch)  # fictorol without its vocabulary
    with pytest.raises(InputError) as refused:
        case(patient_taking("fictoxacin"))
    assert refused.value.field == "patient.medications[0]"
    assert "benzodiazepine" in refused.value.message


def test_an_interaction_with_a_code_no_vocabulary_has_is_a_broken_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder_with(tmp_path, PACK + RULE, monkeypatch)
    read = case(ADULT)
    with pytest.raises(PackError) as broken:
        check(read.patient, read.history, read.proposal, load_pack("fictorol"))
    assert "codes.medications" in str(broken.value) and "fictoxacin" in str(broken.value)


@pytest.mark.parametrize(
    ("vocab", "field"),
    [
        ("vocabulary:\n  drugs: [fictoxacin]\n", "vocabulary.drugs"),
        ("vocabulary:\n  medications: [Fictoxacin]\n", "vocabulary.medications"),
        ("vocabulary: [fictoxacin]\n", "vocabulary"),
    ],
)
def test_a_malformed_vocabulary_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vocab: str, field: str
) -> None:
    folder_with(tmp_path, PACK + "\n" + vocab, monkeypatch)
    with pytest.raises(PackError) as refused:
        load_pack("fictorol")
    assert field in str(refused.value)


def test_the_contracts_codes_are_read_without_opening_a_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder whose packs cannot be loaded does not matter to a document using only the
    contract's codes."""
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "fictorol.yaml").write_text("format: nonsense\n", encoding="utf-8")
    monkeypatch.setenv("POSOLOGY_PACK_DIR", str(folder))
    read = parse_case(
        {
            "patient": {**ADULT, "medications": ["opioid"], "conditions": ["epilepsy"]},
            "history": [],
            "proposal": {"at": "2026-12-01T08:00", "kind": "oral-stop"},
        }
    )
    assert read.patient.medications == {"opioid"}


def test_regression_load_pack_served_a_pack_of_another_pack_folder_from_its_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load_pack`` kept one pack per medicine whatever the folder: after the folder changed it
    went on serving the first folder's pack."""
    folder_with(tmp_path / "one", PACK, monkeypatch)
    assert "FIC-NEVER-WITH" not in load_pack("fictorol").rules
    folder_with(tmp_path / "two", PACK + RULE + VOCABULARY, monkeypatch)
    assert "FIC-NEVER-WITH" in load_pack("fictorol").rules
