"""Every field of FHIR documents in every wrong JSON shape: refused by name, never a crash.

A FHIR record of every EVENT kind (as ``fhir_out.history_bundle`` writes it) and a CDS Hooks
call carrying it (a draft order, the patient, weight, clearance, conditions, orders and
administrations in the prefetch) are each read once as sent, then once per node with that node
replaced by each value of :data:`SHAPES`: a wrong JSON type, an empty or one-item list or
object, a text that is no date. The reader may refuse (an :class:`InputError` naming a field,
or a :class:`CdsError` with its status) or accept; any other exception is what a server
would answer with a 500, and fails the test with the node and the value that caused it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from posology.errors import CdsError, InputError
from posology.interop.cds_hooks import answer
from posology.interop.fhir_in import history_from_bundle
from posology.interop.fhir_out import history_bundle
from posology.knowledge import load_pack
from posology.model import parse_event

PACK = load_pack()
SHAPES: list[object] = [None, True, 0, Decimal("1.5"), "x", "2026-13-45", [], [None], ["x"], {}]
HISTORY = [
    {"at": "2026-10-01T08:00:00+01:00", "kind": "oral-regimen", "doses": ["5 mg", "10 mg"],
     "times": ["08:00", "20:00"], "form": "tablet", "strength": "10 mg"},
    {"at": "2026-10-20T08:00:00+01:00", "kind": "oral-stop"},
    {"at": "2026-11-01T09:00:00+01:00", "kind": "it-test-dose", "dose": "50 ug",
     "response": {"effect": True, "duration_h": 6}},
    {"at": "2026-11-05T09:00:00+01:00", "kind": "pump-implant"},
    {"at": "2026-11-10T10:00:00+01:00", "kind": "pump-refill", "concentration": "500 ug/mL",
     "volume_ml": 20, "alarm_ml": 2, "residual_ml": 1, "bridge_volume_ml": 0.5, "lot": "L1",
     "checked_by": "A. Nurse"},
    {"at": "2026-11-10T12:00:00+01:00", "kind": "it-infusion", "daily_dose": "100 ug/d",
     "schedule": [{"start": "00:00", "daily_rate": "80 ug/d"},
                  {"start": "12:00", "daily_rate": "120 ug/d"}]},
    {"at": "2026-11-20T12:00:00+01:00", "kind": "it-stable"},
    {"at": "2026-11-21T12:00:00+01:00", "kind": "review", "note": "seen in clinic"},
]  # fmt: skip
LOINC = "http://loinc.org"


def as_sent(document: Any) -> Any:
    """The document as the server's JSON reader hands it over (decimals exact)."""
    return json.loads(json.dumps(document, default=float), parse_float=Decimal)


def record() -> dict[str, Any]:
    bundle = history_bundle([parse_event(e, "history") for e in HISTORY], PACK)
    document: dict[str, Any] = as_sent(bundle)
    return document


def bundle_of(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


def observation(code: str, value: int, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": "2026-11-01",
        "valueQuantity": {"value": value, "unit": unit, "code": unit},
    }


def hook_call() -> dict[str, Any]:
    entries = record()["entry"]
    of = {kind: [e for e in entries if e["resource"]["resourceType"] == kind] for kind in
          ("MedicationRequest", "MedicationAdministration")}  # fmt: skip
    draft = copy.deepcopy(of["MedicationRequest"][-1])
    draft["resource"]["status"] = "draft"
    draft["resource"]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {
        "start": "2026-12-01T09:00:00+01:00"
    }
    condition = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "24700007"}]},
    }
    return as_sent(
        {
            "hook": "order-sign",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {
                "userId": "Practitioner/1",
                "patientId": "p1",
                "draftOrders": {"resourceType": "Bundle", "entry": [draft]},
            },
            "prefetch": {
                "patient": {"resourceType": "Patient", "gender": "male", "birthDate": "1975-03-02"},
                "weight": bundle_of(observation("29463-7", 70, "kg")),
                "clearance": bundle_of(observation("2164-2", 90, "mL/min")),
                "conditions": bundle_of(condition),
                "medications": {"resourceType": "Bundle", "entry": of["MedicationRequest"]},
                "administrations": {
                    "resourceType": "Bundle",
                    "entry": of["MedicationAdministration"],
                },
            },
        }
    )


def nodes(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every node of a document, the root first."""
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*here, index))


def replaced(document: Any, path: tuple[Any, ...], value: object) -> Any:
    """The document with ``value`` at ``path``: the containers on the path are copied, the
    rest is shared (the readers never change what they read)."""
    if not path:
        return value
    copied = copy.copy(document)
    copied[path[0]] = replaced(document[path[0]], path[1:], value)
    return copied


def crashes(read: Callable[[Any], object], document: Any) -> list[str]:
    """Each node and shape that made ``read`` raise anything but a refusal, with the error."""
    found = []
    for path in list(nodes(document)):
        for shape in SHAPES:
            try:
                read(replaced(document, path, shape))
            except InputError as exc:
                assert exc.field or exc.message, (path, shape)
            except CdsError as exc:
                assert exc.status in (400, 404, 412), (path, shape, exc.status)
            except Exception as exc:  # a 500 in the server
                found.append(f"{'.'.join(map(str, path))} = {shape!r}: {type(exc).__name__}: {exc}")
    return found


def test_the_record_and_the_hook_call_are_read_as_sent() -> None:
    kinds = [e["kind"] for e in history_from_bundle(record(), PACK)]
    assert sorted(kinds) == sorted(e["kind"] for e in HISTORY)
    cards = answer("baclofen-order-sign", hook_call(), PACK)["cards"]
    assert not [c for c in cards if c["source"]["label"] == "Posology FHIR reader"]


def test_every_field_of_a_record_in_every_wrong_shape_is_refused_by_name_never_a_crash() -> None:
    found = crashes(lambda d: history_from_bundle(d, PACK), record())
    assert not found, "\n".join(found[:40])


@pytest.mark.parametrize("part", ["context", "prefetch"])
def test_every_field_of_a_hook_call_in_every_wrong_shape_is_refused_by_name_never_a_crash(
    part: str,
) -> None:
    call = hook_call()

    def read(document: Any) -> object:
        return answer("baclofen-order-sign", {**call, part: document}, PACK)

    found = crashes(read, call[part])
    assert not found, "\n".join(found[:40])
