"""Tizanidine's codes file (``tizanidine-codes.json``) and the FHIR reader with it: which codes
are listed and where each was verified, what a product code says of its strength, route and form,
a tizanidine MedicationRequest read as a tizanidine ``oral-regimen``, and a concept naming both
baclofen and tizanidine refused. The regressions at the end are named after what broke."""

from __future__ import annotations

import json
from typing import Any

import pytest

from posology.audit.codes import all_codes, load_codes, load_codes_file
from posology.errors import InputError, PackError
from posology.interop import medicines
from posology.interop.fhir_in import (
    events_from_medication_request,
    events_from_resource,
    history_from_bundle,
)
from posology.interop.fhir_out import history_bundle
from posology.knowledge import data_folder, load_pack
from posology.model import parse_case
from posology.model.documents import parse_event
from posology.rules import check

TIZANIDINE = load_pack("tizanidine")
BACLOFEN = load_pack()
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
SNOMED = "http://snomed.info/sct"
ORAL = {"coding": [{"system": SNOMED, "code": "26643006"}]}
INTRATHECAL = {"coding": [{"system": SNOMED, "code": "72607000"}]}
FILE = data_folder() / "tizanidine-codes.json"
ADULT = {"age_years": 50, "diagnosis": "multiple-sclerosis"}

# every code of the file, with what its source was checked to say (see the file's ``sources``)
LISTED = {
    (RXNORM, "313412"): ("product", "oral", "tablet", "2 mg"),
    (RXNORM, "313413"): ("product", "oral", "tablet", "4 mg"),
    (ATC, "M03BX02"): ("ingredient", None, None, None),
}


def coded(code: str, system: str = RXNORM) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def order(
    quantity: dict[str, Any], concept: dict[str, Any], route: Any = ORAL, frequency: int = 3
) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": "2026-12-01T08:00:00+00:00"},
                "frequency": frequency,
                "period": 1,
                "periodUnit": "d",
            }
        },
        "doseAndRate": [{"doseQuantity": quantity}],
    }
    if route is not None:
        dosage["route"] = route
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "dosageInstruction": [dosage],
    }


def mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}


# --- the file --------------------------------------------------------------------------------


def test_the_shipped_codes_file_lists_exactly_the_verified_codes() -> None:
    codes = load_codes("tizanidine")
    assert codes.medicine == "tizanidine" and codes.file == FILE.name
    read = {
        key: (c.level, c.route, c.form, c.strength.code() if c.strength else None)
        for key, c in codes.medication_codes.items()
    }
    assert read == LISTED


def test_every_code_names_a_source_saying_what_was_verified_and_where() -> None:
    data = json.loads(FILE.read_text(encoding="utf-8"))
    for entry in data["medication_codes"]["codes"]:
        source = data["sources"][entry["source"]]
        assert source["url"].startswith("https://") and source["verified"], entry
        assert entry["code"] in source["verified"], entry  # the source names the very code
        assert isinstance(entry["code"], str)


def test_what_could_not_be_verified_is_left_out_and_said_so() -> None:
    data = json.loads(FILE.read_text(encoding="utf-8"))
    codes = load_codes("tizanidine")
    assert data["ingredient"]["rxnorm"] is None and codes.rxnorm_ingredient == ""
    assert set(data["medication_codes"]["systems"]) == {"rxnorm", "atc"}  # no SNOMED, no dm+d
    for words in ("RxNorm ingredient code", "SNOMED CT substance code", "capsules"):
        assert words in data["about"], words
    # the 6 mg capsule was checked but is not listed; the 2 and 4 mg capsules were not told apart
    assert "485484" in data["sources"]["rxnorm-capsule-6mg"]["verified"]
    assert all(codes.coding(RXNORM, c) is None for c in ("485484", "485485", "485486"))


def test_tizanidine_has_the_oral_route_only_and_no_infusion() -> None:
    codes = load_codes("tizanidine")
    assert codes.route("PO") == codes.route("26643006") == codes.route("NG") == "oral"
    assert codes.route("IT") is None and codes.route("72607000") is None
    assert codes.continuous_route is None
    assert codes.times_per_day("2 mg PO TID") == 3 and codes.counts_tablets("TAB")
    assert not codes.counts_tablets("CAP")  # a capsule count is no tablet count


def test_no_code_of_one_medicine_is_a_code_of_another() -> None:
    seen: dict[tuple[str, str], str] = {}
    for codes in all_codes():
        for key in codes.medication_codes:
            assert key not in seen, f"{key} is {seen[key]}'s and {codes.medicine}'s"
            seen[key] = codes.medicine
    assert {c.medicine for c in all_codes()} >= {"baclofen", "tizanidine"}


# --- which medicine a concept names ----------------------------------------------------------


@pytest.mark.parametrize(
    ("concept", "product"),
    [
        (coded("313412"), "2 mg"),
        (coded("313413"), "4 mg"),
        (coded("M03BX02", ATC), None),
        ({"text": "tiZANidine 4 mg oral tablet"}, None),  # an EHR's local code: its words
        ({"coding": [{"system": RXNORM, "code": "unknown", "display": "Tizanidine"}]}, None),
    ],
)
def test_a_tizanidine_concept_is_tizanidine(concept: dict[str, Any], product: str | None) -> None:
    found = medicines.identify(concept, "medicationCodeableConcept")
    assert found is not None and found.medicine == "tizanidine"
    strength = found.product.strength if found.product else None
    assert (strength.code() if strength else None) == product


@pytest.mark.parametrize(
    "codings",
    [
        [("197391", RXNORM), ("313412", RXNORM)],  # baclofen 10 mg and tizanidine 2 mg tablets
        [("M03BX01", ATC), ("M03BX02", ATC)],
        [("1292", RXNORM), ("313413", RXNORM)],
    ],
)
def test_a_concept_naming_baclofen_and_tizanidine_is_refused(
    codings: list[tuple[str, str]],
) -> None:
    concept = {"coding": [{"system": s, "code": c} for c, s in codings]}
    with pytest.raises(InputError, match=r"names more than one medicine \(baclofen, tizanidine\)"):
        medicines.identify(concept, "medicationCodeableConcept")
    with pytest.raises(InputError, match="more than one medicine"):
        events_from_resource(order(mg(2), concept), TIZANIDINE, "MedicationRequest")


def test_two_tizanidine_tablet_strengths_in_one_concept_are_refused() -> None:
    both = {"coding": [*coded("313412")["coding"], *coded("313413")["coding"]]}
    with pytest.raises(InputError, match="different strengths"):
        medicines.identify(both, "medicationCodeableConcept")


# --- the FHIR reader -------------------------------------------------------------------------


def test_a_tizanidine_order_in_mg_is_read_as_a_tizanidine_oral_regimen() -> None:
    [event] = events_from_medication_request(order(mg(4), coded("M03BX02", ATC)), TIZANIDINE)
    assert event == {
        "at": "2026-12-01T08:00:00+00:00",
        "kind": "oral-regimen",
        "dose": "4 mg",
        "times_per_day": 3,
        "medicine": "tizanidine",
    }
    assert parse_event(event, "event").medicine == "tizanidine"


def test_a_coded_product_gives_strength_route_and_form_so_tablets_are_a_mass() -> None:
    [event] = events_from_medication_request(
        order({"value": 2, "unit": "TAB"}, coded("313413"), route=None), TIZANIDINE
    )  # no route in the dosage: the product's (oral)
    assert (event["dose"], event["times_per_day"]) == ("8 mg", 3)
    assert (event["form"], event["strength"], event["medicine"]) == ("tablet", "4 mg", "tizanidine")
    [half] = events_from_medication_request(
        order({"value": 0.5, "code": "{tbl}"}, coded("313412")), TIZANIDINE
    )
    assert (half["dose"], half["strength"]) == ("1 mg", "2 mg")


def test_a_tizanidine_tablet_ordered_intrathecal_is_refused() -> None:
    with pytest.raises(InputError, match="is intrathecal but the product ordered is oral"):
        events_from_medication_request(
            order({"value": 1, "unit": "TAB"}, coded("313412"), route=INTRATHECAL), TIZANIDINE
        )


@pytest.mark.parametrize("unit", ["TAB", "CAP", "capsule"])
def test_a_count_without_a_known_strength_or_in_capsules_is_refused(unit: str) -> None:
    with pytest.raises(InputError) as err:
        events_from_medication_request(
            order({"value": 2, "unit": unit}, coded("M03BX02", ATC)), TIZANIDINE
        )
    assert err.value.field.endswith("doseQuantity")


def test_a_tizanidine_order_is_no_baclofen_event_and_a_baclofen_one_no_tizanidine_event() -> None:
    tizanidine = order({"value": 1, "unit": "TAB"}, coded("313413"))
    baclofen = order({"value": 1, "unit": "TAB"}, coded("197391"))
    assert events_from_resource(tizanidine, BACLOFEN, "MedicationRequest") == []
    assert events_from_resource(baclofen, TIZANIDINE, "MedicationRequest") == []
    with pytest.raises(InputError, match="is not tizanidine"):
        events_from_medication_request(baclofen, TIZANIDINE)


def test_a_tizanidine_order_read_from_fhir_is_judged_by_the_tizanidine_pack() -> None:
    [event] = events_from_medication_request(
        order({"value": 4, "unit": "TAB"}, coded("313413")), TIZANIDINE
    )  # 4 tablets of 4 mg, 3 times a day: 48 mg/day
    case = parse_case({"patient": ADULT, "history": [], "proposal": event})
    found = {f.rule: f for f in check(case.patient, case.history, case.proposal, TIZANIDINE)}
    assert found["TIZ-MAX"].severity.value == "error"
    assert "48 mg/day is above its 36 mg/day maximum" in found["TIZ-MAX"].message


# --- regressions -----------------------------------------------------------------------------


def test_regression_fhir_reader_read_every_medicines_order_as_baclofen() -> None:
    """The reader's events named no medicine, so a tizanidine order parsed as baclofen's: the
    tizanidine pack then refused to judge it ("is baclofen, and the pack given is tizanidine's")
    and a history read back from FHIR lost its medicine."""
    [event] = events_from_medication_request(order(mg(2), coded("313412")), TIZANIDINE)
    case = parse_case({"patient": ADULT, "history": [], "proposal": event})
    assert case.proposal.medicine == "tizanidine"
    # judged by the tizanidine pack (it refused a baclofen proposal), and 2 mg 3 times a day,
    # the label's start, is within every rule
    assert check(case.patient, case.history, case.proposal, TIZANIDINE) == ()
    stop = {
        "resourceType": "MedicationStatement",
        "status": "stopped",
        "medicationCodeableConcept": coded("313412"),
        "effectiveDateTime": "2026-12-05T08:00:00+00:00",
        "dosage": [{"route": ORAL}],
    }
    [stopped] = events_from_resource(stop, TIZANIDINE, "MedicationStatement")
    assert (stopped["kind"], stopped["medicine"]) == ("oral-stop", "tizanidine")
    # baclofen's events stay as they were: the default medicine is not written out
    [baclofen] = events_from_medication_request(
        order({"value": 1, "unit": "TAB"}, coded("197391")), BACLOFEN
    )
    assert "medicine" not in baclofen


def test_regression_a_tizanidine_history_written_to_fhir_read_back_as_baclofen() -> None:
    case = parse_case(
        {
            "patient": ADULT,
            "history": [
                {
                    "at": "2026-11-01T08:00:00+00:00",
                    "kind": "oral-regimen",
                    "dose": "2 mg",
                    "times_per_day": 3,
                    "medicine": "tizanidine",
                },
                {
                    "at": "2026-11-01T08:00:00+00:00",
                    "kind": "oral-regimen",
                    "dose": "10 mg",
                    "times_per_day": 3,
                },
            ],
            "proposal": {"at": "2026-12-01T08:00:00+00:00", "kind": "oral-stop"},
        }
    )
    bundle = history_bundle(case.history, BACLOFEN)
    [tizanidine] = history_from_bundle(bundle, TIZANIDINE)
    assert (tizanidine["medicine"], tizanidine["dose"]) == ("tizanidine", "2 mg")
    [baclofen] = history_from_bundle(bundle, BACLOFEN)
    assert baclofen["dose"] == "10 mg" and "medicine" not in baclofen


def _tizanidine_file(tmp_path: Any, change: Any) -> Any:
    data = json.loads(FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "tizanidine-codes.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_regression_codes_file_demanded_an_ingredient_rxnorm_code(tmp_path: Any) -> None:
    """A codes file had to give an RxNorm ingredient code (a missing one crashed with a
    KeyError), so a medicine whose ingredient code could not be verified could not have one
    without a guess. Now null (or absent) is none; an empty code is still refused."""
    absent = load_codes_file(_tizanidine_file(tmp_path, lambda d: d["ingredient"].pop("rxnorm")))
    assert absent.rxnorm_ingredient == ""
    given = load_codes_file(_tizanidine_file(tmp_path, lambda d: d["ingredient"].update(rxnorm=7)))
    assert given.rxnorm_ingredient == "7"  # a number is read as its code, as before
    with pytest.raises(PackError, match="must be a code, or null"):
        load_codes_file(_tizanidine_file(tmp_path, lambda d: d["ingredient"].update(rxnorm=" ")))


def test_regression_codes_file_demanded_a_continuous_infusion_route(tmp_path: Any) -> None:
    """Every codes file had to name the route of a continuous infusion, so an oral-only
    medicine had to claim one. Now a file without the section has none; one that gives it must
    still name a source for it."""
    assert load_codes("tizanidine").continuous_route is None
    assert load_codes("baclofen").continuous_route == "intrathecal"

    def unsourced(data: dict[str, Any]) -> None:
        data["continuous_infusion_route"] = {"route": "oral", "source": "hearsay"}

    with pytest.raises(PackError, match="names no source"):
        load_codes_file(_tizanidine_file(tmp_path, unsourced))


def test_regression_one_medicine_named_by_two_codes_files_was_two_medicines(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order's words matched against two codes files of the same medicine were refused as
    naming "more than one medicine (tizanidine, tizanidine)"."""
    copy = load_codes_file(_tizanidine_file(tmp_path, lambda d: None))
    loaded = (*all_codes(), copy)
    monkeypatch.setattr(medicines, "all_codes", lambda: loaded)
    found = medicines.identify({"text": "Tizanidine 4 mg"}, "code")
    assert found is not None and found.medicine == "tizanidine"
    with pytest.raises(InputError, match=r"more than one medicine \(baclofen, tizanidine\)"):
        medicines.identify({"text": "baclofen or tizanidine"}, "code")
