"""How other systems name a medicine, read from its codes file (``baclofen-codes.json``) beside
the dosing pack: the medication codes EHRs send (RxNorm, ATC, SNOMED CT, dm+d) with what a
product code says of its route, form and strength; the dose units that count tablets; and the
route and frequency words of the audit adapters.

Neither the adapters nor the FHIR reader hold a code number or clinical word of their own: an
RxNorm code, a route word (``PO``, ``IT``) or a frequency (``tid``) that is not in the file is
reported as unmapped, never guessed. Every codes file in the data folder is one medicine's
(``<medicine>-codes.json``), so a new medicine's pack brings its own codes.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import InputError, PackError
from ..frozen import field, record
from ..knowledge import data_folder
from ..units import CONCENTRATION, MASS, Quantity, parse_quantity

FORMAT = "posology-codes/2"
FORMATS = ("posology-codes/1", FORMAT)
"""Version 2 added ``medication_codes`` and ``dose_units``; a version 1 file (routes and
frequencies only) is still read, and recognises no medication code."""
LEVELS = ("ingredient", "product")
FORMS = ("tablet", "solution")


@record
class MedicationCode:
    """One code of the medicine in one system: an ingredient (it names the medicine only) or a
    product (it names its route, dose form and strength: ``10 mg`` a tablet, ``1 mg/mL``)."""

    system: str
    code: str
    name: str
    level: str
    source: str
    route: str | None = None
    form: str | None = None
    strength: Quantity | None = None


@record
class Codes:
    """One medicine's codes for the adapters (see the file's own ``sources``).
    ``rxnorm_ingredient`` is empty and ``continuous_route`` None where the file gives none (an
    ingredient code that could not be verified; a medicine with no infusion)."""

    medicine: str
    rxnorm_ingredient: str
    names: tuple[str, ...]
    route_codes: MappingProxyType[str, str]
    route_words: MappingProxyType[str, str]
    continuous_route: str | None
    frequencies: MappingProxyType[str, int]
    file: str
    sha256: str
    medication_codes: MappingProxyType[tuple[str, str], MedicationCode] = field(
        default_factory=lambda: MappingProxyType({})
    )
    tablet_units: frozenset[str] = frozenset()

    def coding(self, system: str | None, code: str | None) -> MedicationCode | None:
        """The medicine's code with this system URL and code, or None."""
        if not system or not code:
            return None
        return self.medication_codes.get((system.strip(), code.strip()))

    def counts_tablets(self, unit: str | None) -> bool:
        """Whether a dose unit (``TAB``, ``{tbl}``, ``tablet``) counts tablets."""
        return (unit or "").strip().lower() in self.tablet_units

    def route(self, word: str | None) -> str | None:
        """The route a word or SNOMED code names (``"PO"`` → ``oral``), or None."""
        if word is None:
            return None
        text = " ".join(str(word).strip().lower().split())
        return self.route_codes.get(text) or self.route_words.get(text)

    def names_medicine(self, text: str | None) -> bool:
        """Whether a drug name (``"Baclofen 10 mg tab"``) names this medicine."""
        low = (text or "").lower()
        return any(name in low for name in self.names)

    def times_per_day(self, sig: str | None) -> int | None:
        """Administrations a day that a sig says (``"10 mg PO TID"`` → 3), or None.

        The longest frequency phrase found wins, so ``"three times a day"`` is not read as
        ``"a day"``; a sig naming two different frequencies is not read at all.
        """
        if not sig:
            return None
        text = " " + " ".join(sig.lower().replace(",", " ").replace(";", " ").split()) + " "
        found: dict[int, int] = {}
        taken: list[tuple[int, int]] = []
        for phrase in sorted(self.frequencies, key=len, reverse=True):
            start = text.find(f" {phrase} ")
            while start >= 0:
                span = (start, start + len(phrase) + 2)
                if not any(a < span[1] and span[0] < b for a, b in taken):
                    taken.append(span)
                    found[self.frequencies[phrase]] = 1
                start = text.find(f" {phrase} ", start + 1)
        return next(iter(found)) if len(found) == 1 else None


def _require(data: dict[str, Any], key: str, file: str) -> Any:
    if key not in data:
        raise PackError(file, None, key, "missing")
    return data[key]


def load_codes_file(path: Path) -> Codes:
    """Read and check one codes file."""
    raw = path.read_bytes()
    file = path.name
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise PackError(file, None, None, f"not valid JSON ({exc})") from None
    if data.get("format") not in FORMATS:
        raise PackError(file, None, "format", f"must be one of {list(FORMATS)}")
    sources = _require(data, "sources", file)
    ingredient = _require(data, "ingredient", file)
    routes = _require(data, "routes", file)
    frequencies = _require(data, "frequencies", file)
    infusion = data.get("continuous_infusion_route")  # none for a medicine never infused
    sourced = [
        (ingredient, "source"),
        (routes, "snomed_source"),
        (routes, "words_source"),
        (frequencies, "source"),
    ]
    if infusion is not None:
        sourced.append((infusion, "source"))
    for section, key in sourced:
        if section.get(key) not in sources:
            raise PackError(file, None, key, f"names no source of the file: {section.get(key)!r}")
    allowed_routes = {"oral", "intrathecal"}
    every_route = {*routes["snomed"].values(), *routes["words"].values()}
    if not every_route <= allowed_routes:
        raise PackError(file, None, "routes", f"routes must be among {sorted(allowed_routes)}")
    words = {str(k).lower(): int(v) for k, v in frequencies["words"].items()}
    if any(v < 1 for v in words.values()):
        raise PackError(file, None, "frequencies.words", "a frequency is at least once a day")
    medication = _medication_codes(data, sources, file)
    units = data.get("dose_units") or {}
    if units and units.get("source") not in sources:
        raise PackError(file, None, "dose_units.source", "names no source of the file")
    tablets = frozenset(str(u).strip().lower() for u in units.get("tablet", []))
    rxnorm = ingredient.get("rxnorm")  # null: no ingredient code could be verified
    if rxnorm is not None and not str(rxnorm).strip():
        raise PackError(file, None, "ingredient.rxnorm", "must be a code, or null for none")
    return Codes(
        medicine=str(_require(data, "medicine", file)),
        rxnorm_ingredient="" if rxnorm is None else str(rxnorm).strip(),
        names=tuple(str(n).lower() for n in ingredient["names"]),
        route_codes=MappingProxyType({str(k): str(v) for k, v in routes["snomed"].items()}),
        route_words=MappingProxyType({str(k).lower(): str(v) for k, v in routes["words"].items()}),
        continuous_route=None if infusion is None else str(infusion["route"]),
        frequencies=MappingProxyType(words),
        file=file,
        sha256=hashlib.sha256(raw).hexdigest(),
        medication_codes=MappingProxyType(medication),
        tablet_units=tablets,
    )


def _medication_codes(
    data: dict[str, Any], sources: dict[str, Any], file: str
) -> dict[tuple[str, str], MedicationCode]:
    """The ``medication_codes`` section, checked: every code names a known system and source,
    a product names its route, form and strength (a mass for a tablet, a concentration for a
    solution), and no code is listed twice."""
    section = data.get("medication_codes")
    if section is None:
        return {}
    systems = {str(k): str(v) for k, v in (section.get("systems") or {}).items()}
    out: dict[tuple[str, str], MedicationCode] = {}
    for i, entry in enumerate(section.get("codes") or []):
        where = f"medication_codes.codes[{i}]"
        system, code = systems.get(str(entry.get("system"))), entry.get("code")
        if system is None:
            raise PackError(
                file, None, where, f"names no system of the file: {entry.get('system')!r}"
            )
        if not isinstance(code, str) or not code.strip():
            raise PackError(file, None, where, "code must be a non-empty string")
        if entry.get("source") not in sources:
            raise PackError(
                file, None, where, f"names no source of the file: {entry.get('source')!r}"
            )
        level = entry.get("level")
        if level not in LEVELS:
            raise PackError(file, None, where, f"level must be one of {list(LEVELS)}")
        route = form = strength = None
        if level == "product":
            route, form = entry.get("route"), entry.get("form")
            if route not in ("oral", "intrathecal") or form not in FORMS:
                raise PackError(file, None, where, "a product names its route and its form")
            try:
                strength = parse_quantity(entry.get("strength"), field=f"{where}.strength")
            except InputError as exc:
                raise PackError(file, None, where, exc.message) from None
            if strength.dim != (MASS if form == "tablet" else CONCENTRATION):
                raise PackError(
                    file, None, where, "a tablet's strength is a mass, a solution's a concentration"
                )
        key = (system, code.strip())
        if key in out:
            raise PackError(file, None, where, f"{code} is listed twice")
        out[key] = MedicationCode(
            system=system,
            code=code.strip(),
            name=str(entry.get("name") or code),
            level=str(level),
            source=str(entry["source"]),
            route=route,
            form=form,
            strength=strength,
        )
    return out


SUFFIX = "-codes.json"


@lru_cache(maxsize=4)
def load_codes(medicine: str = "baclofen") -> Codes:
    """The shipped codes of a medicine (``baclofen-codes.json``), cached."""
    path = data_folder() / f"{medicine}{SUFFIX}"
    if not path.is_file():
        raise PackError(path.name, None, None, "no codes file for this medicine")
    return load_codes_file(path)


@lru_cache(maxsize=1)
def all_codes() -> tuple[Codes, ...]:
    """The codes of every medicine shipped (each ``<medicine>-codes.json`` of the data folder),
    in the order of their names; cached."""
    names = sorted(p.name[: -len(SUFFIX)] for p in data_folder().glob(f"*{SUFFIX}"))
    return tuple(load_codes(name) for name in names)
