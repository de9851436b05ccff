"""The FHIR server the EHR tests run (Medplum's FHIR router behind tools/fhir-server) answers the
searches Posology makes as FHIR defines them, and a token reads only its patient's record."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import App
from .launch import FhirServer
from .records import ada, someone_else
from .test_smart_refusals import to_callback


def token_for(fhir: FhirServer, posology: App, patient: str) -> str:
    """An access token for ``patient``, as the server issued it to a launch of Posology."""
    client = posology()
    launched = client.get(
        "/smart/launch",
        params={"iss": fhir.base, "launch": fhir.launch(patient)},
        follow_redirects=False,
    )
    assert client.get(to_callback(client, launched)).status_code == 200
    return next(s["params"]["access_token"] for s in fhir.seen() if s["endpoint"] == "token-issued")


def test_searches_answer_bundles_of_the_patients_resources_only(
    fhir: FhirServer, posology: App
) -> None:
    fhir.load(ada() + someone_else())
    token = token_for(fhir, posology, "ada")

    def get(path: str, **query: Any) -> httpx.Response:
        return httpx.get(
            f"{fhir.base}/{path}", params=query, headers={"Authorization": f"Bearer {token}"}
        )

    orders = get("MedicationRequest", subject="Patient/ada").json()
    assert orders["resourceType"] == "Bundle" and orders["type"] == "searchset"
    ids = {e["resource"]["id"] for e in orders["entry"]}
    assert {"ada-bac-0", "ada-bac-1", "ada-bac-2", "medrx0302"} <= ids
    assert "cleo-bac" not in ids
    weights = get(
        "Observation", subject="Patient/ada", code="http://loinc.org|29463-7", _sort="-date"
    ).json()
    assert [e["resource"]["valueQuantity"]["value"] for e in weights["entry"]] == [68.5, 70]
    assert get("MedicationAdministration", subject="Patient/ada").json()["total"] == 2
    assert get("Patient/ada").json()["name"][1]["family"] == "Lovelace"
    assert get("Medication/baclofen-10-tablet").status_code == 200
    # another patient's record is out of this token's reach, and no token reads nothing
    assert get("Patient/cleo").status_code == 403
    assert get("MedicationRequest", subject="Patient/cleo").status_code == 403
    assert httpx.get(f"{fhir.base}/Patient/ada").status_code == 401
