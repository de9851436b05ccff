"""The typed readers of FHIR JSON: what arrives is JSON of any shape until one of these has
read it.

An EHR (or a fuzzer) may send a list, a string or a number where FHIR has an object: each reader
answers the shape FHIR defines or refuses the value with its path (an
:class:`~posology.errors.InputError`), so no code after them calls a method of a value it has not
checked. Kept apart from :mod:`posology.interop.fhir_in` so that the medication lookup
(:mod:`posology.interop.medicines`) reads codings the same way without importing the reader.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import InputError


def json_kind(value: object) -> str:
    """The JSON type of a value, in words, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def element(value: object, path: str) -> dict[str, Any]:
    """A FHIR element or resource that may be absent: ``{}`` when it is (missing or null),
    else it must be a JSON object."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(path, f"must be a JSON object (a FHIR element), not {json_kind(value)}")
    return value


def elements(value: object, path: str) -> list[dict[str, Any]]:
    """A repeating FHIR element that may be absent: ``[]`` when it is, else a JSON list of
    objects (FHIR writes a repeating element as a list even when it holds one)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(path, f"must be a JSON list of objects, not {json_kind(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"{path}[{i}]", f"must be a JSON object, not {json_kind(item)}")
    return value


def primitive(value: object, path: str) -> str | None:
    """A FHIR code, string, uri or dateTime that may be absent: ``None`` when it is, else it
    must be a JSON string."""
    if value is None or isinstance(value, str):
        return value
    raise InputError(path, f"must be a JSON string, not {json_kind(value)}")


def codings(concept: object, path: str) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    """The codings of a CodeableConcept (absent: none), each as its system, its code and the
    coding itself (for its display)."""
    out = []
    where = f"{path}.coding"
    for i, coding in enumerate(elements(element(concept, path).get("coding"), where)):
        system = primitive(coding.get("system"), f"{where}[{i}].system")
        out.append((system, primitive(coding.get("code"), f"{where}[{i}].code"), coding))
    return out
