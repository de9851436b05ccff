"""A launched patient's record read from the EHR's FHIR server, as the contract's documents.

After a SMART launch Posology reads, with the launch's access token: the Patient, their
MedicationRequests and MedicationAdministrations (with the Medications they refer to), their
weight and creatinine clearance Observations and their Conditions (for the diagnosis). Each
resource is turned into PATIENT and EVENT documents by :mod:`posology.interop.fhir_in`, the same
reader the CDS Hooks service uses, so a launch and a hook read one order the same way.

What is refused and what is set aside, and why:

- a search that fails (refused, timed out, not a Bundle) refuses the whole page: a list of
  orders that could not be read must never look like a patient on no baclofen;
- one resource the reader refuses is listed, with its field and the reason, and the checks run
  without it (the page says so): one odd order does not hide the rest;
- an active order and a dose given are treatment; a stopped or completed order is history when
  a later order of the same kind replaced it, else it is set aside (when it ended is not
  recorded, and it must not look as if it still ran); any other order (entered in error, on
  hold, a proposal) and an administration that did not happen is set aside; each set-aside
  resource is shown, with why;
- Conditions are optional: when they cannot be read the diagnosis is "other", and the page says
  so.

Every answer is bounded (:data:`LARGEST_ANSWER`, :data:`MOST_PAGES`); the next page of a search
is followed only on the EHR's own FHIR base, so the token is never sent elsewhere.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from ..errors import InputError, LaunchRefused
from ..frozen import record
from ..knowledge.schema import Pack
from ..model.documents import load_json
from ..model.fields import instant
from .diagnoses import DIAGNOSES
from .fhir_in import (
    CLEARANCE_CODES,
    WEIGHT_CODES,
    codings,
    element,
    elements,
    events_from_resource,
    is_medicine,
    patient_from_fhir,
    primitive,
)
from .smart import Ehr, Grant
from .smart_http import call

LARGEST_ANSWER = 4 * 1024 * 1024
"""The largest FHIR answer read (a page of a search, or one resource)."""
MOST_PAGES = 10
"""Pages of one search followed at most (each of up to PAGE_SIZE resources)."""
PAGE_SIZE = 100
MOST_MEDICATIONS = 50
"""Distinct Medication resources read at most for one patient's orders."""
LOINC = "http://loinc.org"
WHAT = "The EHR's FHIR server"
ORDERED = {None, "order", "original-order", "reflex-order", "filler-order", "instance-order"}
"""A MedicationRequest's intents that order treatment (a proposal or a plan does not)."""
ENDED = {"stopped", "completed"}
"""A MedicationRequest's statuses of an order that ran and ended (history, when replaced)."""
GIVEN = {"completed", "in-progress"}
"""A MedicationAdministration's statuses that say the dose was given."""
UNUSABLE_OBSERVATION = {"entered-in-error", "cancelled", "registered"}


@record
class Unread:
    """A resource (or a part of the record) that could not be read, with the field and why."""

    what: str
    field: str
    message: str


@record
class ReadEvent:
    """An EVENT document and the FHIR resource it was read from (``MedicationRequest/12``)."""

    source: str
    event: dict[str, Any]


@record
class EhrRecord:
    """What a launch read: the patient's identity, the PATIENT document, the EVENTs, and what
    could not be read or was set aside."""

    patient_id: str
    name: str
    birth_date: str | None
    identifiers: tuple[tuple[str, str], ...]
    patient: dict[str, Any]
    events: tuple[ReadEvent, ...]
    unread: tuple[Unread, ...] = ()
    set_aside: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    focus: str | None = None
    """The draft order a CDS card named (``MedicationRequest/<id>``), when the launch came
    from one: the page shows its findings first."""


class FhirReader:
    """Reads and searches of one FHIR server with one bearer token, each bounded in time and
    size (:mod:`posology.interop.smart_http`); used by a SMART launch and by the CDS service
    when the EHR sent no prefetch. A failure is a :class:`~posology.errors.LaunchRefused`
    (502, or 504 for a timeout) whose message never holds the token."""

    def __init__(self, base: str, token: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.headers = {"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:  # the headers hold the token: never shown
        return f"FhirReader({self.base!r})"

    def get(self, url: str, what: str) -> dict[str, Any]:
        answer = call(url, WHAT, timeout=self.timeout, limit=LARGEST_ANSWER, headers=self.headers)
        if answer.status != 200:
            raise LaunchRefused(
                502, f"{WHAT} did not give {what} (HTTP {answer.status}{_why(answer.status)})"
            )
        try:
            data = load_json(answer.body)
        except InputError as exc:
            raise LaunchRefused(
                502, f"{WHAT} answered {what} with JSON Posology cannot read ({exc.message})"
            ) from None
        if not isinstance(data, dict):
            raise LaunchRefused(502, f"{WHAT} answered {what} with JSON that is not a resource")
        return data

    def read(self, resource_type: str, rid: str) -> dict[str, Any]:
        url = f"{self.base}/{resource_type}/{quote(rid, safe='')}"
        data = self.get(url, f"{resource_type}/{rid}")
        if data.get("resourceType") != resource_type:
            raise LaunchRefused(502, f"{WHAT} answered {resource_type}/{rid} with another resource")
        return data

    def search(self, resource_type: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every resource of a search, following ``next`` pages on the EHR's base only."""
        what = f"the patient's {resource_type} resources"
        url: str | None = f"{self.base}/{resource_type}?{urlencode(params)}"
        found: list[dict[str, Any]] = []
        for _page in range(MOST_PAGES):
            if url is None:
                return found
            bundle = self.get(url, what)
            if bundle.get("resourceType") != "Bundle":
                raise LaunchRefused(502, f"{WHAT} answered {what} with no Bundle")
            try:
                for entry in elements(bundle.get("entry"), "Bundle.entry"):
                    resource = element(entry.get("resource"), "Bundle.entry.resource")
                    if resource:
                        found.append(resource)
                url = _next_page(bundle, self.base)
            except InputError as exc:
                raise LaunchRefused(
                    502, f"{WHAT} answered {what} with a broken Bundle: {exc}"
                ) from None
        if url is not None:
            raise LaunchRefused(
                502, f"{what} run to more than {MOST_PAGES} pages; Posology reads no more"
            )
        return found


def _why(status: int) -> str:
    if status in (401, 403):
        return ": the EHR did not allow Posology this read; check the scopes it was granted"
    if status == 404:
        return ": not found"
    return ""


def _next_page(bundle: dict[str, Any], base: str) -> str | None:
    for link in elements(bundle.get("link"), "Bundle.link"):
        if link.get("relation") == "next":
            url = primitive(link.get("url"), "Bundle.link.url") or ""
            if not url.startswith(base + "/") and not url.startswith(base + "?"):
                raise LaunchRefused(
                    502, f"{WHAT} sent the next page of a search to another address; not followed"
                )
            return url
    return None


def _name(patient: dict[str, Any]) -> str:
    """The patient's name as the banner shows it: the official name, else the first."""
    names = elements(patient.get("name"), "Patient.name")
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if chosen is None:
        return ""
    text = primitive(chosen.get("text"), "Patient.name.text")
    if text:
        return text.strip()
    given = chosen.get("given")
    given = [given] if isinstance(given, str) else given if isinstance(given, list) else []
    given = [g for g in given if isinstance(g, str)]
    family = primitive(chosen.get("family"), "Patient.name.family") or ""
    return " ".join([*given, family]).strip()


def _identifiers(patient: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for i, ident in enumerate(elements(patient.get("identifier"), "Patient.identifier")):
        value = primitive(ident.get("value"), f"Patient.identifier[{i}].value")
        if value:
            out.append(
                (primitive(ident.get("system"), f"Patient.identifier[{i}].system") or "", value)
            )
    return tuple(out)


def _diagnosis(conditions: list[dict[str, Any]], unread: list[Unread]) -> str:
    """The diagnosis of the first active Condition coded as one the indication names (SNOMED
    CT, as the CDS service reads it), else "other"; a Condition that cannot be read is listed."""
    for condition in conditions:
        label = _label(condition)
        try:
            status = codings(condition.get("clinicalStatus"), f"{label}.clinicalStatus")
            if status and not any(code == "active" for _s, code, _c in status):
                continue
            for _system, code, _coding in codings(condition.get("code"), f"{label}.code"):
                if code in DIAGNOSES:
                    return DIAGNOSES[code]
        except InputError as exc:
            unread.append(Unread(label, exc.field, exc.message))
    return "other"


def _label(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id') or '?'}"


def read_medications(
    reader: FhirReader, resources: list[dict[str, Any]], unread: list[Unread]
) -> dict[str, dict[str, Any]]:
    """The Medications the orders and administrations refer to (not contained), by reference;
    a resource whose Medication cannot be read is listed as unread."""
    wanted: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        try:
            reference = element(resource.get("medicationReference"), "medicationReference")
            ref = primitive(reference.get("reference"), "medicationReference.reference") or ""
        except InputError:  # the reader names it, with its path, when it reads the resource
            continue
        if ref and not ref.startswith("#"):
            wanted.setdefault(ref, []).append(resource)
    found: dict[str, dict[str, Any]] = {}
    for n, (ref, users) in enumerate(wanted.items()):
        local = ref.removeprefix(reader.base + "/")
        parts = local.split("/")
        problem = None
        if len(parts) != 2 or parts[0] != "Medication":
            problem = f"refers to {ref[:80]!r}, not a Medication of this FHIR server; not read"
        elif n >= MOST_MEDICATIONS:
            problem = f"refers to one Medication too many (Posology reads {MOST_MEDICATIONS})"
        else:
            try:
                found[ref] = found[local] = reader.read("Medication", parts[1])
            except LaunchRefused as exc:
                if exc.status == 504:
                    raise
                problem = f"its Medication could not be read ({exc})"
        if problem is not None:
            for resource in users:
                if not resource.get("medicationCodeableConcept"):
                    unread.append(Unread(_label(resource), "medicationReference", problem))
    return found


def read_record(ehr: Ehr, grant: Grant, pack: Pack, focus: str | None = None) -> EhrRecord:
    """The launched patient's record from the EHR (see the module's docstring for what is read,
    refused and set aside). ``focus`` is the draft order a CDS card named
    (``MedicationRequest/<id>``): it is read even when the search did not return it and checked
    whatever its status (a draft), so the page can show its findings first."""
    reader = FhirReader(ehr.iss, grant.access_token, ehr.timeout)
    pid = grant.patient
    subject = f"Patient/{pid}"
    patient = reader.read("Patient", pid)
    if patient.get("id") not in (None, pid):
        raise LaunchRefused(502, f"{WHAT} answered {subject} with another patient")
    page = {"subject": subject, "_count": str(PAGE_SIZE)}
    orders = reader.search("MedicationRequest", page)
    notes: list[str] = []
    if focus is not None and not any(_label(o) == focus for o in orders):
        try:
            draft = reader.read("MedicationRequest", focus.split("/", 1)[1])
            if element(draft.get("subject"), "subject").get("reference") in (subject, None):
                orders.append(draft)
            else:
                notes.append(f"The order the EHR named ({focus}) is another patient's; not shown.")
        except LaunchRefused as exc:
            if exc.status == 504:
                raise
            notes.append(f"The order the EHR named ({focus}) could not be read ({exc}).")
    given = reader.search("MedicationAdministration", page)
    codes = ",".join(f"{LOINC}|{c}" for c in sorted(WEIGHT_CODES | CLEARANCE_CODES))
    observations = reader.search("Observation", {**page, "code": codes, "_sort": "-date"})
    unread: list[Unread] = []
    try:
        conditions = reader.search("Condition", page)
    except LaunchRefused as exc:
        if exc.status == 504:
            raise
        conditions = []
        notes.append(f"The diagnosis could not be read ({exc}); it is taken as “other”.")
    medications = read_medications(reader, orders + given, unread)
    try:
        identity = (_name(patient), _identifiers(patient))
        document = _patient_document(patient, observations, _diagnosis(conditions, unread), unread)
    except InputError as exc:
        raise LaunchRefused(
            422, f"The EHR's record of this patient cannot be used: {exc}"
        ) from None
    events: list[ReadEvent] = []
    ended: list[ReadEvent] = []
    set_aside: list[str] = []
    for resource in orders + given:
        label = _label(resource)
        try:
            if not is_medicine(resource, pack.medicine, medications, label):
                continue
            use = "current" if label == focus else _use(resource)
            if use not in ("current", "ended"):
                set_aside.append(f"{label}: {use}")
                continue
            found = [
                ReadEvent(label, e)
                for e in events_from_resource(resource, pack, label, medications)
            ]
            (events if use == "current" else ended).extend(found)
        except InputError as exc:
            unread.append(Unread(label, exc.field, exc.message))
    events, aside = _with_replaced(events, ended)
    set_aside += aside
    born = primitive(patient.get("birthDate"), "Patient.birthDate")
    return EhrRecord(
        patient_id=pid,
        name=identity[0],
        birth_date=born[:10] if born else None,
        identifiers=identity[1],
        patient=document,
        events=tuple(events),
        unread=tuple(unread),
        set_aside=tuple(set_aside),
        notes=tuple(notes),
        focus=focus,
    )


def _use(resource: dict[str, Any]) -> str:
    """What a baclofen resource is to the checks: ``current`` treatment (an active order, a dose
    given), an ``ended`` order (stopped or completed), or else why it is set aside."""
    status = resource.get("status")
    if resource.get("resourceType") == "MedicationRequest":
        if resource.get("intent") not in ORDERED:
            return f"a {resource.get('intent')}, not an order; not checked"
        if status in (None, "active"):
            return "current"
        if status in ENDED:
            return "ended"
        return f"status {status}; not checked"
    if status not in GIVEN:
        return f"status {status}; only doses given are checked"
    return "current"


def _with_replaced(
    current: list[ReadEvent], ended: list[ReadEvent]
) -> tuple[list[ReadEvent], list[str]]:
    """The current events and those of ended orders that a later order of the same kind
    replaced (the history of a titration); an ended order with nothing after it is set aside,
    as when it ended is not recorded (it must not look as if it were still running)."""
    kept, aside = list(current), []
    everything = current + ended
    for item in ended:
        try:
            at = instant(item.event["at"], item.source)
            replaced = any(
                other.event["kind"] == item.event["kind"]
                and instant(other.event["at"], other.source) > at
                for other in everything
            )
        except (InputError, TypeError):  # no instant, or one with a zone and one without
            replaced = False
        if replaced:
            kept.append(item)
        else:
            aside.append(
                f"{item.source}: ended ({item.event['kind'].replace('-', ' ')}) with no later "
                "order, and when it ended is not recorded; not checked"
            )
    return kept, sorted(set(aside))


def _patient_document(
    patient: dict[str, Any],
    observations: list[dict[str, Any]],
    diagnosis: str,
    unread: list[Unread],
) -> dict[str, Any]:
    """The PATIENT document; an Observation the reader refuses is left out and listed."""
    usable = [o for o in observations if o.get("status") not in UNUSABLE_OBSERVATION]
    while True:
        try:
            return patient_from_fhir(patient, usable, diagnosis)
        except InputError as exc:
            if not exc.field.startswith("Observation["):
                raise
            index = int(exc.field[len("Observation[") :].split("]")[0])
            unread.append(Unread(_label(usable[index]), exc.field, exc.message))
            del usable[index]
