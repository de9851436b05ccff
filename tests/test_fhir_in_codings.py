"""Medication codings as EHRs send them, read by the FHIR reader from the packs' codes files:
products with their strength, doses in tablets, a Medication referred to, the start of an order
without one, and which medicine a coding means (a second medicine's codes file included)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from posology.audit.codes import all_codes, load_codes_file
from posology.errors import InputError
from posology.interop import medicines
from posology.interop.fhir_in import events_from_medication_request, events_from_resource
from posology.knowledge import data_folder, load_pack

PACK = load_pack()
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]}


def coded(code: str, system: str = RXNORM) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def order(quantity: dict[str, Any], start: bool = True, **medication: Any) -> dict[str, Any]:
    repeat: dict[str, Any] = {"frequency": 3, "period": 1, "periodUnit": "d"}
    if start:
        repeat["boundsPeriod"] = {"start": "2026-12-01T08:00:00+00:00"}
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        **(medication or {"medicationCodeableConcept": coded("197391")}),
        "dosageInstruction": [
            {
                "route": ORAL,
                "timing": {"repeat": repeat},
                "doseAndRate": [{"doseQuantity": quantity}],
            }
        ],
    }


def test_four_tablets_of_the_10_mg_product_are_40_mg_a_dose() -> None:
    [event] = events_from_medication_request(order({"value": 4, "unit": "TAB"}), PACK)
    assert (event["dose"], event["times_per_day"]) == ("40 mg", 3)
    assert (event["form"], event["strength"]) == ("tablet", "10 mg")


@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 1, "unit": "tablet"},
        {"value": 1, "unit": "tablets", "system": "http://unitsofmeasure.org", "code": "{tbl}"},
        {"value": 1, "code": "{tablet}"},
    ],
)
def test_a_tablet_is_counted_by_any_unit_ehrs_write_for_it(quantity: dict[str, Any]) -> None:
    [event] = events_from_medication_request(
        order(quantity, medicationCodeableConcept=coded("197392")), PACK
    )
    assert event["dose"] == "20 mg"


def test_half_a_tablet_is_half_the_strength() -> None:
    [event] = events_from_medication_request(order({"value": 0.5, "unit": "TAB"}), PACK)
    assert event["dose"] == "5 mg"


def test_tablets_of_an_ingredient_only_order_are_refused_as_of_unknown_strength() -> None:
    with pytest.raises(InputError, match="strength is unknown") as err:
        events_from_medication_request(
            order({"value": 4, "unit": "TAB"}, medicationCodeableConcept=coded("1292")), PACK
        )
    assert err.value.field.endswith("doseQuantity")


def test_zero_tablets_is_refused() -> None:
    with pytest.raises(InputError, match="number of tablets above 0"):
        events_from_medication_request(order({"value": 0, "unit": "TAB"}), PACK)


def test_a_contained_medication_gives_the_product_and_its_strength() -> None:
    resource = order({"value": 2, "unit": "TAB"}, medicationReference={"reference": "#m"})
    resource["contained"] = [{"resourceType": "Medication", "id": "m", "code": coded("197391")}]
    [event] = events_from_medication_request(resource, PACK)
    assert event["dose"] == "20 mg"


def test_a_medication_and_a_product_code_of_different_strengths_are_refused() -> None:
    resource = order({"value": 2, "unit": "TAB"}, medicationReference={"reference": "#m"})
    resource["contained"] = [
        {
            "resourceType": "Medication",
            "id": "m",
            "code": coded("197391"),
            "ingredient": [
                {
                    "strength": {
                        "numerator": {"value": 20, "code": "mg"},
                        "denominator": {"value": 1},
                    }
                }
            ],
        }
    ]
    with pytest.raises(InputError, match="gives the strength 20 mg but the product coded"):
        events_from_medication_request(resource, PACK)


def test_an_order_without_a_start_starts_at_authored_on_else_at_the_default() -> None:
    resource = order({"value": 1, "unit": "TAB"}, start=False)
    with pytest.raises(InputError, match="missing; when it happened"):
        events_from_medication_request(resource, PACK)
    [event] = events_from_medication_request(
        resource, PACK, default_start="2026-12-02T10:00:00+00:00"
    )
    assert event["at"] == "2026-12-02T10:00:00+00:00"
    resource["authoredOn"] = "2026-12-01T09:30:00+00:00"
    [event] = events_from_medication_request(
        resource, PACK, default_start="2026-12-02T10:00:00+00:00"
    )
    assert event["at"] == "2026-12-01T09:30:00+00:00"


def test_an_intrathecal_product_code_gives_a_refills_concentration() -> None:
    refill = {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationCodeableConcept": coded("1300890"),  # 20 mL of 1 mg/mL
        "effectiveDateTime": "2026-12-01T09:00:00+00:00",
        "category": {"text": "pump refill"},
        "dosage": {
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]},
            "dose": {"value": 20, "unit": "mL", "code": "mL"},
        },
    }
    [event] = events_from_resource(refill, PACK, "MedicationAdministration")
    assert event["kind"] == "pump-refill" and event["volume_ml"] == 20
    assert event["concentration"] == "1 mg/mL"


def test_another_medicine_has_no_events_and_is_no_medicine_of_the_packs() -> None:
    other = order({"value": 1, "unit": "TAB"}, medicationCodeableConcept=coded("999999999"))
    assert events_from_resource(other, PACK, "MedicationRequest") == []
    assert medicines.identify(coded("999999999"), "code") is None


def test_a_second_medicines_codes_file_is_picked_up_and_named(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = json.loads(data_folder().joinpath("baclofen-codes.json").read_text())
    data["medicine"] = "tizanidine"
    data["ingredient"]["names"] = ["tizanidine"]
    data["medication_codes"]["codes"] = [
        {"system": "rxnorm", "code": "test-tizanidine", "name": "tizanidine", "level": "ingredient",
         "source": "rxnav"}
    ]  # fmt: skip
    path = tmp_path / "tizanidine-codes.json"
    path.write_text(json.dumps(data))
    loaded = (*all_codes(), load_codes_file(path))
    monkeypatch.setattr(medicines, "all_codes", lambda: loaded)
    found = medicines.identify(coded("test-tizanidine"), "code")
    assert found is not None and found.medicine == "tizanidine"
    assert medicines.identify({"text": "Tizanidine 4 mg"}, "code").medicine == "tizanidine"  # type: ignore[union-attr]
    baclofen = medicines.identify(coded("197391"), "code")
    assert baclofen is not None and baclofen.medicine == "baclofen"
    both = {"coding": [*coded("197391")["coding"], *coded("test-tizanidine")["coding"]]}
    with pytest.raises(InputError, match="more than one medicine"):
        medicines.identify(both, "medicationCodeableConcept")
    # an order of the other medicine is no baclofen event, never a wrong one
    other = order({"value": 1, "unit": "TAB"}, medicationCodeableConcept=coded("test-tizanidine"))
    assert events_from_resource(other, PACK, "MedicationRequest") == []


def test_two_baclofen_products_of_different_strengths_in_one_order_are_refused() -> None:
    both = {"coding": [*coded("197391")["coding"], *coded("197392")["coding"]]}
    with pytest.raises(InputError, match="different strengths"):
        medicines.identify(both, "medicationCodeableConcept")
