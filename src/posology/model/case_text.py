"""A CASE text read by the texts of its events: what a server spends on every check.

Every check of a patient sends the same history again with a new proposal, and the events of a
history are texts the reader has read before. So here the CASE is split, by msgspec's decoder,
into the texts of its patient, proposal and events (``msgspec.Raw``: the bytes as sent, the JSON
checked but not built into objects), and each text is looked up in a bounded memo of texts
read before, which holds the value read and the number of members its objects hold. Only a text
not seen before is read, by :func:`~posology.model.documents.load_json` and the usual readers.

The answer is exactly :func:`~posology.model.documents.read_case`'s: the same text gives the
same value (reading is a pure function of the text), and the checks ``read_case`` makes before
parsing are made on the whole text first (:func:`~posology.model.documents.plain_text`). A key
given twice anywhere is found by counting: the colons outside strings of the whole text are one
a member, and the members of the top level and of every text read add up to that count only
when no object lost a member to a repeated key. Any text this reading is unsure of (an event
it cannot read, a repeated key, no history, a field the CASE does not have) is left to
``read_case``, which names the problem and its path as ever.

msgspec is imported the first time a process reads its second CASE: a command that reads one
document starts without it, a server pays for the import once.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError
from .documents import (
    MAX_HISTORY,
    Case,
    case_of,
    history_paths,
    load_json,
    pair_count,
    parse_event,
    parse_patient,
    plain_text,
    read_case,
)
from .events import Event
from .patient import Patient

_UNSURE = None
_TEXTS_KEPT = 20_000
_EVENTS: dict[bytes, tuple[Event, int]] = {}
"""Event texts read before: the event and the members its objects hold."""
_PATIENTS: dict[bytes, tuple[Patient, int]] = {}
"""PATIENT texts read before, likewise."""
_reads = 0
_READ_APART = 2
"""At most this many new parts are read each from its own text; more, from the whole text at
once (one parse of a document costs less than many of its parts)."""
_decoder: Any = None


def read_case_text(text: str | bytes) -> Case:
    """:func:`~posology.model.documents.read_case`, reading the texts of the events already
    read by a look-up (module docstring). Raises exactly as ``read_case`` does."""
    case = quick_case(text)
    return case if case is not None else read_case(text)


def quick_case(text: str | bytes) -> Case | None:
    """The CASE of a text read by the texts of its events, or None for a text this reading
    leaves to ``read_case`` (which then reads it, or names what is wrong). The first CASE of
    a process is always left: a command that reads one document never imports msgspec."""
    global _reads
    if _reads < 1:
        _reads += 1
        return None
    return _quick_case(text)


def _quick_case(text: str | bytes) -> Case | None:
    if isinstance(text, bytes):
        if json.detect_encoding(text) != "utf-8":  # UTF-16 or 32, or a byte-order mark
            return None
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text.startswith("\ufeff"):
        return None
    plain = plain_text(text)
    if plain is None:
        return None
    raw, colons = plain
    decoder = _decoder or _make_decoder()
    try:
        parts = decoder.decode(raw)
    except ValueError:  # not JSON, not a CASE's shape, or a field it does not have
        return None
    if parts.history is None or len(parts.history) > MAX_HISTORY:
        return None
    patient_text = bytes(parts.patient)
    proposal_text = bytes(parts.proposal)
    texts = [bytes(part) for part in parts.history]
    patient = _PATIENTS.get(patient_text)
    proposal = _EVENTS.get(proposal_text)
    found = [_EVENTS.get(event_text) for event_text in texts]
    paths = history_paths(len(texts))
    new = (patient is None) + (proposal is None) + found.count(None)
    if 0 < new <= _READ_APART:
        # a part or two not read before (the new proposal of a known history): each is read
        # from its own text, which ``load_json`` checks as it checks a whole document
        try:
            if patient is None:
                patient = _remember(
                    _PATIENTS, patient_text, load_json(patient_text), parse_patient, "patient"
                )
            if proposal is None:
                proposal = _remember(
                    _EVENTS, proposal_text, load_json(proposal_text), parse_event, "proposal"
                )
            for i, path in enumerate(paths):
                if found[i] is None:
                    found[i] = _remember(_EVENTS, texts[i], load_json(texts[i]), parse_event, path)
        except InputError:
            return None  # ``read_case`` raises it, with the paths of the careful reading
    elif new:
        # many texts not read before (a patient's first check): the whole text is read once,
        # and each new part is read from it and remembered
        try:
            document = load_json(text)
        except InputError:
            return None
        if type(document) is not dict or type(document.get("history")) is not list:
            return None
        if len(document["history"]) != len(texts):
            return None
        try:
            if patient is None:
                patient = _remember(
                    _PATIENTS, patient_text, document["patient"], parse_patient, "patient"
                )
            if proposal is None:
                proposal = _remember(
                    _EVENTS, proposal_text, document["proposal"], parse_event, "proposal"
                )
            for i, (path, doc) in enumerate(zip(paths, document["history"], strict=True)):
                if found[i] is None:
                    found[i] = _remember(_EVENTS, texts[i], doc, parse_event, path)
        except InputError:
            return None  # ``read_case`` raises it, with the paths of the careful reading
    assert patient is not None and proposal is not None  # every part is read by now
    members = 3 + patient[1] + proposal[1]  # the top level: patient, history and proposal
    events: list[tuple[str, Event]] = []
    for path, known in zip(paths, found, strict=True):
        assert known is not None
        events.append((path, known[0]))
        members += known[1]
    if members != colons:  # a key given twice somewhere: ``read_case`` names it
        return None
    try:
        return case_of(patient[0], events, proposal[0])
    except InputError:
        return None  # ``read_case`` raises it, with the paths of the careful reading


def _remember(
    memo: dict[bytes, Any], text: bytes, data: Any, reader: Any, path: str
) -> tuple[Any, int]:
    """A part not read before, read from its decoded JSON (``data``, from a text checked
    whole) and remembered by its text, with the members its objects hold."""
    read = (reader(data, path), pair_count(data))
    if len(memo) >= _TEXTS_KEPT:
        memo.clear()  # one step, safe between threads
    memo[text] = read
    return read


def _make_decoder() -> Any:
    """msgspec's decoder of a CASE's three members, each as its text (imported here only)."""
    global _decoder
    import msgspec

    parts = msgspec.defstruct(
        "CaseParts",
        [
            ("patient", msgspec.Raw),
            ("proposal", msgspec.Raw),
            ("history", list[msgspec.Raw] | None, None),
        ],
        forbid_unknown_fields=True,
    )
    _decoder = msgspec.json.Decoder(parts)
    return _decoder
