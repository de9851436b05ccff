"""CDS Hooks cards for tizanidine draft orders, as an EHR sends them (RxNorm tablet products,
ATC, a dose in mg or in tablets): each draft is judged by the tizanidine pack ("Tizanidine for
spasticity (oral)") against the tizanidine history of the prefetch, on the same service ids as
baclofen's, and a draft naming both medicines is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from dbhelp import fresh_engine
from posology.interop.cds_auth import Issuer, Verifier
from posology.knowledge import load_pack
from posology.server.app import create_app

from .test_cds_hooks import BASE, ISS, KEY, ORAL, auth, call, cds  # noqa: F401 - cds is a fixture

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
TIZ_TABLET_4 = {
    "coding": [{"system": RXNORM, "code": "313413", "display": "tizanidine 4 MG Oral Tablet"}]
}
TIZ_TABLET_2 = {
    "coding": [{"system": RXNORM, "code": "313412", "display": "tizanidine 2 MG Oral Tablet"}]
}
TIZ_ATC = {"coding": [{"system": ATC, "code": "M03BX02", "display": "tizanidine"}]}
BAC_TABLET_10 = {
    "coding": [{"system": RXNORM, "code": "197391", "display": "baclofen 10 MG Oral Tablet"}]
}
JUDGED_BY = "Judged by the rules of Tizanidine for spasticity (oral), United States (US labels)."


def dosage(
    quantity: dict[str, Any], frequency: int = 3, start: str = "2026-12-01T08:00:00+00:00"
) -> dict[str, Any]:
    return {
        "route": ORAL,
        "timing": {
            "repeat": {
                "boundsPeriod": {"start": start},
                "frequency": frequency,
                "period": 1,
                "periodUnit": "d",
            }
        },
        "doseAndRate": [{"doseQuantity": quantity}],
    }


def mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}


def tablets(count: float) -> dict[str, Any]:
    return {"value": count, "unit": "TAB"}


def draft(
    oid: str, concept: dict[str, Any], dose: dict[str, Any], status: str = "draft"
) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "MedicationRequest",
            "id": oid,
            "status": status,
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": concept,
            "dosageInstruction": [dose],
        }
    }


def post(client: TestClient, request: dict[str, Any], service: str = "baclofen-order-sign") -> Any:
    return client.post(f"/cds-services/{service}", headers=auth(service), json=request)


def cards(
    client: TestClient, request: dict[str, Any], service: str = "baclofen-order-sign"
) -> list[dict[str, Any]]:
    answer = post(client, request, service)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["cards"])


def by_rule(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["source"]["label"].removeprefix("Posology "): c for c in found}


def test_a_tizanidine_tablet_order_above_36_mg_a_day_is_a_critical_card_by_the_tizanidine_pack(
    cds: TestClient,  # noqa: F811
) -> None:
    # 4 tablets of the 4 mg product (RxNorm 313413), 3 times a day: 48 mg/day
    found = by_rule(cards(cds, call("order-sign", [draft("t1", TIZ_TABLET_4, dosage(tablets(4)))])))
    card = found["TIZ-MAX"]
    assert card["indicator"] == "critical"
    assert "Tizanidine 48 mg/day is above its 36 mg/day maximum" in card["summary"], card
    assert card["detail"].endswith(JUDGED_BY)
    assert "total daily dose should not exceed 36 mg" in card["detail"]  # the label's words
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == "Change the order to 12 mg 3 times a day"
    [action] = suggestion["actions"]
    dose = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["code"]) == (12.0, "mg")
    assert action["resource"]["medicationCodeableConcept"] == TIZ_TABLET_4
    [link] = card["links"]
    assert json.loads(link["appContext"]) == {"draftOrder": "MedicationRequest/t1"}
    assert not any(rule.startswith("PO-") for rule in found)  # no baclofen rule spoke
    assert all(c["detail"].endswith(JUDGED_BY) for c in found.values())


def test_order_select_shows_the_critical_tizanidine_card_but_not_the_notes(
    cds: TestClient,  # noqa: F811
) -> None:
    drafts = [draft("t1", TIZ_TABLET_4, dosage(tablets(4)))]
    found = by_rule(cards(cds, call("order-select", drafts), "baclofen-order-select"))
    assert found["TIZ-MAX"]["indicator"] == "critical"
    assert "TIZ-DAILY-RANGE" not in found  # an info finding: order-sign only
    assert "TIZ-DAILY-RANGE" in by_rule(cards(cds, call("order-sign", drafts)))


def test_an_atc_coded_order_in_mg_four_times_a_day_is_above_the_maximum_and_too_often(
    cds: TestClient,  # noqa: F811
) -> None:
    found = by_rule(cards(cds, call("order-sign", [draft("t1", TIZ_ATC, dosage(mg(12), 4))])))
    assert found["TIZ-MAX"]["indicator"] == "critical"  # 48 mg/day
    assert found["TIZ-DOSES-A-DAY"]["indicator"] == "warning"  # 4 doses, at most 3 in 24 hours
    assert "Tizanidine 4 times a day" in found["TIZ-DOSES-A-DAY"]["summary"]


def test_the_labels_start_gets_no_card_and_a_tablet_more_a_dose_a_start_warning(
    cds: TestClient,  # noqa: F811
) -> None:
    # one 2 mg tablet (RxNorm 313412) 3 times a day: the label's start, 6 mg/day
    assert cards(cds, call("order-sign", [draft("t1", TIZ_TABLET_2, dosage(tablets(1)))])) == []
    # two of them: 12 mg/day, above the 6 mg/day start
    [card] = cards(cds, call("order-sign", [draft("t1", TIZ_TABLET_2, dosage(tablets(2)))]))
    assert (card["source"]["label"], card["indicator"]) == ("Posology TIZ-START", "warning")
    assert "Tizanidine starts at 12 mg/day; the label starts at 6 mg/day" in card["summary"]


def test_the_tizanidine_history_of_the_prefetch_is_what_a_tizanidine_draft_is_judged_against(
    cds: TestClient,  # noqa: F811
) -> None:
    before = "2026-11-20T08:00:00+00:00"
    active_tizanidine = draft("a1", TIZ_TABLET_2, dosage(tablets(1), start=before), "active")
    active_baclofen = draft("a2", BAC_TABLET_10, dosage(tablets(1), start=before), "active")
    new = [draft("t1", TIZ_TABLET_4, dosage(tablets(2)))]  # 8 mg 3 times a day: 24 mg/day
    # with 6 mg/day of tizanidine before, 24 mg/day is a step of 18 mg/day (at most 12)
    after_tizanidine = by_rule(cards(cds, call("order-sign", new, [active_tizanidine])))
    assert after_tizanidine["TIZ-TITRATION"]["indicator"] == "warning"
    assert "TIZ-START" not in after_tizanidine
    # baclofen taken before is not tizanidine taken before: the draft is a first start
    after_baclofen = by_rule(cards(cds, call("order-sign", new, [active_baclofen])))
    assert after_baclofen["TIZ-START"]["indicator"] == "warning"
    assert "TIZ-TITRATION" not in after_baclofen


def test_a_baclofen_and_a_tizanidine_draft_are_each_judged_by_their_own_pack(
    cds: TestClient,  # noqa: F811
) -> None:
    drafts = [
        draft("b1", BAC_TABLET_10, dosage(tablets(4))),  # 120 mg/day of baclofen
        draft("t1", TIZ_TABLET_4, dosage(tablets(4))),  # 48 mg/day of tizanidine
    ]
    found = cards(cds, call("order-sign", drafts))
    baclofen = by_rule([c for c in found if "rules of Baclofen for spasticity" in c["detail"]])
    tizanidine = by_rule([c for c in found if c["detail"].endswith(JUDGED_BY)])
    assert len(baclofen) + len(tizanidine) == len(found)  # every card by one of the two packs
    assert all(rule.startswith("TIZ-") for rule in tizanidine)
    assert not any(rule.startswith("TIZ-") for rule in baclofen)
    assert "120 mg/day is above the 100 mg/day maximum" in baclofen["PO-MAX"]["summary"]
    assert "48 mg/day is above its 36 mg/day maximum" in tizanidine["TIZ-MAX"]["summary"]
    contexts = {c["source"]["label"]: json.loads(c["links"][0]["appContext"]) for c in found}
    assert contexts["Posology PO-MAX"] == {"draftOrder": "MedicationRequest/b1"}
    assert contexts["Posology TIZ-MAX"] == {"draftOrder": "MedicationRequest/t1"}


def test_a_draft_naming_baclofen_and_tizanidine_is_refused_never_judged(
    cds: TestClient,  # noqa: F811
) -> None:
    both = {"coding": [*BAC_TABLET_10["coding"], *TIZ_TABLET_2["coding"]]}
    answer = post(cds, call("order-sign", [draft("x1", both, dosage(tablets(1)))]))
    assert answer.status_code == 400, answer.text
    [issue] = answer.json()["issue"]
    assert "names more than one medicine (baclofen, tizanidine)" in issue["diagnostics"]


def test_tizanidine_tablets_of_unknown_strength_are_a_card_saying_it_was_not_checked(
    cds: TestClient,  # noqa: F811
) -> None:
    [card] = cards(cds, call("order-sign", [draft("t1", TIZ_ATC, dosage(tablets(4)))]))
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Tizanidine order not checked: ")
    assert "strength is unknown" in card["detail"]


@pytest.fixture
def us_server(tmp_path: Path) -> Iterator[TestClient]:
    """A server judging baclofen by its US profile, which tizanidine's packs do not have."""
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    verifier = Verifier({ISS: Issuer({"keys": [{**public, "kid": "k1"}]})})
    app = create_app(
        fresh_engine(tmp_path), pack=load_pack("baclofen", "us"), cds_verifier=verifier
    )
    with TestClient(app, base_url=BASE) as client:
        yield client


def test_a_profile_tizanidine_has_no_version_of_judges_by_tizanidines_default(
    us_server: TestClient,
) -> None:
    found = by_rule(
        cards(us_server, call("order-sign", [draft("t1", TIZ_TABLET_4, dosage(tablets(4)))]))
    )
    assert found["TIZ-MAX"]["detail"].endswith(JUDGED_BY)
