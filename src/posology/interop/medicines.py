"""Which loaded medicine a FHIR medication means, by its codings, read from the packs' codes
files (``<medicine>-codes.json``, see :mod:`posology.audit.codes`).

Why here and not in the FHIR reader: the codes are pack data, one file per medicine, so the
reader asks "which medicine is this" and gets a medicine's name (or None), never a yes or no
about one hard-coded drug. A second medicine's codes file is picked up without a code change.

How a concept is read, safest first:

- its codings, each matched by system and code against every medicine's codes; two codings of
  two different medicines are refused (the order is ambiguous; nothing is checked on a guess);
- only when no coding is recognised, the words of its ``text`` and codings' ``display`` (an EHR
  that sends a local code with the drug's name), matched to each medicine's names.

A product code also tells the route, form and strength (:class:`Product`), so a dose written in
tablets can be read as a mass.
"""

from __future__ import annotations

from ..audit.codes import Codes, MedicationCode, all_codes
from ..errors import InputError
from ..frozen import record
from .fhir_json import codings, element


@record
class Identified:
    """The medicine a concept names, and the product code among its codings, if any (the most
    specific coding wins; two products of different strengths are refused)."""

    medicine: str
    product: MedicationCode | None


def codes_of(medicine: str) -> Codes | None:
    """The loaded codes of one medicine, or None."""
    return next((c for c in all_codes() if c.medicine == medicine), None)


def medicine_of_coding(system: str | None, code: str | None) -> MedicationCode | None:
    """The code of whichever loaded medicine this coding names, or None."""
    for codes in all_codes():
        found = codes.coding(system, code)
        if found is not None:
            return found
    return None


def _medicine_named(found: MedicationCode) -> str:
    for codes in all_codes():
        if found in codes.medication_codes.values():
            return codes.medicine
    raise AssertionError("a code found is always one of a loaded medicine")  # pragma: no cover


def identify(concept: object, path: str) -> Identified | None:
    """The medicine a CodeableConcept names (see the module docstring), or None."""
    medicines: dict[str, list[MedicationCode]] = {}
    for system, code, _coding in codings(concept, path):
        found = medicine_of_coding(system, code)
        if found is not None:
            medicines.setdefault(_medicine_named(found), []).append(found)
    if len(medicines) > 1:
        raise InputError(
            f"{path}.coding",
            f"names more than one medicine ({', '.join(sorted(medicines))}); send one medicine "
            "an order",
        )
    if medicines:
        [(medicine, matched)] = medicines.items()
        products = {p.strength for p in matched if p.level == "product"}
        if len(products) > 1:
            raise InputError(
                f"{path}.coding", "names products of different strengths; send one product"
            )
        product = next((p for p in matched if p.level == "product"), None)
        return Identified(medicine, product)
    words = [str(element(concept, path).get("text") or "")]
    words += [str(c.get("display") or "") for _s, _c, c in codings(concept, path)]
    text = " ".join(words)
    named = sorted({c.medicine for c in all_codes() if c.names_medicine(text)})  # each once
    if len(named) > 1:
        raise InputError(path, f"names more than one medicine ({', '.join(named)})")
    return Identified(named[0], None) if named else None
