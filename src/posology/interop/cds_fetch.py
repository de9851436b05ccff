"""What a CDS hook call reads from the EHR's FHIR server when its prefetch is missing or partial.

CDS Hooks lets an EHR send the prefetch the service's discovery asks for, or instead (or for
the keys it could not fill) a ``fhirServer`` and a ``fhirAuthorization`` bearer token for the
service to read them itself. Posology reads only what it needs, for the hook's patient only:
the Patient, their MedicationRequests and MedicationAdministrations, their weight and creatinine
clearance Observations, their Conditions, and the Medications the orders refer to.

Why it is careful, and how:

- every call goes through :mod:`posology.interop.smart_http` (a timeout bounding the whole
  answer, a size limit, no redirects followed, ``https`` only, plain ``http`` only on loopback),
  via the bounded reader a SMART launch uses (:class:`~posology.interop.smart_fhir.FhirReader`);
- the token is sent only to ``fhirServer`` (a search's next page on another address is not
  followed) and is never written in a message, a log or a card;
- ``fhirServer`` is read only when it is one of the FHIR servers configured for the calling
  EHR (``fhir`` in ``POSOLOGY_CDS_ISSUERS``): the address comes in the call, and a service that
  called whatever address a call names could be sent to the hospital's own internal servers.
  One not on the list is not called, and the answer says so where it matters;
- a read that fails is not fatal: what could not be read is listed (:attr:`Completed.unread`)
  and the service says so in a card. Only the Patient is indispensable: without it from either
  the prefetch or the server the answer is 412 (the specification's "prefetch not satisfied").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import CdsError, InputError, LaunchRefused
from .fhir_in import CLEARANCE_CODES, WEIGHT_CODES, element, elements, primitive
from .smart_fhir import LOINC, PAGE_SIZE, FhirReader, Unread, read_medications
from .smart_http import checked_url

TIMEOUT = 5.0
"""Seconds one read of the EHR's FHIR server may take: a hook answers while a clinician waits."""
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
KEYS = ("patient", "medications", "administrations", "weight", "clearance", "conditions")
HISTORY_KEYS = ("medications", "administrations")
"""The keys that hold the doses before the draft order: with neither, a check of a change has
nothing to compare with."""
WORDS = {
    "patient": "the patient",
    "medications": "the patient's medication orders",
    "administrations": "the patient's medication administrations",
    "weight": "the patient's weight",
    "clearance": "the patient's creatinine clearance",
    "conditions": "the patient's diagnoses",
}


@dataclass
class Completed:
    """The prefetch with what was read in place of the keys the EHR left out, the Medications
    found (by reference), and what could not be read."""

    prefetch: dict[str, Any]
    medications: dict[str, dict[str, Any]] = field(default_factory=dict)
    unread: list[str] = field(default_factory=list)
    reader: FhirReader | None = None
    no_reader: str = "the call names no fhirServer with a fhirAuthorization token"
    """Why there is no reader, as a clause of a message."""


def _base(url: str) -> str:
    return url.strip().rstrip("/")


def _reader(request: dict[str, Any], allowed: tuple[str, ...]) -> FhirReader | str | None:
    """A reader of the call's ``fhirServer`` with its ``fhirAuthorization`` token (None when the
    call gives neither; why not, when the server is not one of ``allowed``); a server or token
    that cannot be used is a 400 naming the field."""
    server, auth = request.get("fhirServer"), request.get("fhirAuthorization")
    if server is None and auth is None:
        return None
    if not isinstance(server, str) or not server:
        raise CdsError(400, "fhirServer: missing; fhirAuthorization was sent without it")
    try:
        checked_url(server, "fhirServer")
    except LaunchRefused as exc:
        raise CdsError(400, str(exc)) from None
    if auth is None:
        return None  # an open FHIR server is not read without a token (no patient scope)
    if not isinstance(auth, dict):
        raise CdsError(400, "fhirAuthorization: must be an object with access_token")
    token = auth.get("access_token")
    if not isinstance(token, str) or not token or len(token) > 16384 or not token.isprintable():
        raise CdsError(400, "fhirAuthorization.access_token: missing or not a usable token")
    if str(auth.get("token_type", "Bearer")).lower() != "bearer":
        raise CdsError(400, "fhirAuthorization.token_type: must be Bearer")
    if _base(server) not in {_base(a) for a in allowed}:
        return (
            f"the call's fhirServer ({_base(server)}) is not one of the FHIR servers configured "
            'for this EHR ("fhir" in POSOLOGY_CDS_ISSUERS), so it was not called'
        )
    return FhirReader(server, token, TIMEOUT)


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _read(reader: FhirReader, key: str, pid: str) -> Any:
    subject = {"subject": f"Patient/{pid}", "_count": str(PAGE_SIZE)}
    if key == "patient":
        patient = reader.read("Patient", pid)
        if patient.get("id") not in (None, pid):
            raise LaunchRefused(502, "the EHR's FHIR server answered with another patient")
        return patient
    if key == "medications":
        return _bundle(reader.search("MedicationRequest", subject))
    if key == "administrations":
        return _bundle(reader.search("MedicationAdministration", subject))
    if key in ("weight", "clearance"):
        codes = WEIGHT_CODES if key == "weight" else CLEARANCE_CODES
        query = {**subject, "code": ",".join(f"{LOINC}|{c}" for c in sorted(codes))}
        return _bundle(reader.search("Observation", {**query, "_sort": "-date"}))
    return _bundle(reader.search("Condition", subject))


def complete(
    request: dict[str, Any],
    context: dict[str, Any],
    prefetch: dict[str, Any],
    fhir_servers: tuple[str, ...] = (),
) -> Completed:
    """The prefetch completed from ``fhirServer`` when it is one of ``fhir_servers``, the FHIR
    servers configured for the calling EHR (see the module docstring)."""
    found = _reader(request, fhir_servers)
    reader = found if isinstance(found, FhirReader) else None
    done = Completed(dict(prefetch), reader=reader)
    if isinstance(found, str):
        done.no_reader = found
    missing = [k for k in KEYS if prefetch.get(k) is None]
    if not missing:
        return done
    pid = context.get("patientId")
    if reader is not None and not (isinstance(pid, str) and _ID.fullmatch(pid)):
        raise CdsError(400, "context.patientId: missing or not a FHIR id")
    for key in missing:
        if reader is None:
            if key == "patient":
                raise CdsError(
                    412, f"prefetch 'patient' is missing and {done.no_reader} to read it from"
                )
            continue  # not sent, nothing to read it from: the EHR's choice (but see below)
        try:
            done.prefetch[key] = _read(reader, key, str(pid))
        except LaunchRefused as exc:
            if key == "patient":
                raise CdsError(
                    412,
                    f"prefetch 'patient' is missing and could not be read from fhirServer: {exc}",
                ) from None
            done.unread.append(f"{WORDS[key]} could not be read from the EHR ({exc})")
    if reader is None and all(prefetch.get(k) is None for k in HISTORY_KEYS):
        # with neither orders nor administrations every check of pace and change would see a
        # first start: a record not sent must not look like an empty one
        done.unread.append(
            "the patient's medication orders and administrations: neither was sent, and "
            f"{done.no_reader} to read them from"
        )
    return done


def medications_of(done: Completed, bundles: list[Any], resources: list[dict[str, Any]]) -> None:
    """The Medications the resources refer to: those given in the prefetch or the draft orders'
    Bundle (by ``fullUrl`` and ``Medication/<id>``), else read from ``fhirServer``; a reference
    that cannot be resolved is listed as unread."""
    for bundle in bundles:
        if not isinstance(bundle, dict):
            continue
        for entry in elements(bundle.get("entry"), "Bundle.entry"):
            resource = element(entry.get("resource"), "Bundle.entry.resource")
            if resource.get("resourceType") == "Medication":
                if isinstance(entry.get("fullUrl"), str):
                    done.medications[entry["fullUrl"]] = resource
                done.medications[f"Medication/{resource.get('id')}"] = resource
    wanted = []
    for resource in resources:
        try:
            ref = primitive(
                element(resource.get("medicationReference"), "medicationReference").get(
                    "reference"
                ),
                "medicationReference.reference",
            )
        except InputError:
            continue  # the reader names it, with its path, when it reads the resource
        if ref and not ref.startswith("#") and ref not in done.medications:
            wanted.append(resource)
    if not wanted:
        return
    if done.reader is None:
        for resource in wanted:
            if not resource.get("medicationCodeableConcept"):
                done.unread.append(
                    f"{_label(resource)}: the Medication it refers to was not sent, and "
                    f"{done.no_reader} to read it from"
                )
        return
    unread: list[Unread] = []
    try:
        found = read_medications(done.reader, wanted, unread)
    except LaunchRefused as exc:  # a timeout: the server is not waited on again
        done.unread.append(f"the Medications the orders refer to could not be read ({exc})")
        return
    done.medications.update(found)
    done.unread += [f"{u.what}: {u.message}" for u in unread]


def _label(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id') or '?'}"
