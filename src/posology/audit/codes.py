"""The mapping knowledge of the audit adapters: how other systems name baclofen, routes and
frequencies, read from the data file ``baclofen-codes.json`` beside the dosing pack.

The adapters hold no code number or clinical word of their own: an RxNorm code, a route word
(``PO``, ``IT``) or a frequency (``tid``) that is not in the file is reported as unmapped, never
guessed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import PackError
from ..knowledge import data_folder

FORMAT = "posology-codes/1"


@dataclass(frozen=True, slots=True)
class Codes:
    """One medicine's codes for the adapters (see the file's own ``sources``)."""

    medicine: str
    rxnorm_ingredient: str
    names: tuple[str, ...]
    route_codes: MappingProxyType[str, str]
    route_words: MappingProxyType[str, str]
    continuous_route: str
    frequencies: MappingProxyType[str, int]
    file: str
    sha256: str

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
    if data.get("format") != FORMAT:
        raise PackError(file, None, "format", f"must be {FORMAT!r}")
    sources = _require(data, "sources", file)
    ingredient = _require(data, "ingredient", file)
    routes = _require(data, "routes", file)
    frequencies = _require(data, "frequencies", file)
    for section, key in (
        (ingredient, "source"),
        (routes, "snomed_source"),
        (routes, "words_source"),
        (frequencies, "source"),
        (_require(data, "continuous_infusion_route", file), "source"),
    ):
        if section.get(key) not in sources:
            raise PackError(file, None, key, f"names no source of the file: {section.get(key)!r}")
    allowed_routes = {"oral", "intrathecal"}
    every_route = {*routes["snomed"].values(), *routes["words"].values()}
    if not every_route <= allowed_routes:
        raise PackError(file, None, "routes", f"routes must be among {sorted(allowed_routes)}")
    words = {str(k).lower(): int(v) for k, v in frequencies["words"].items()}
    if any(v < 1 for v in words.values()):
        raise PackError(file, None, "frequencies.words", "a frequency is at least once a day")
    return Codes(
        medicine=str(_require(data, "medicine", file)),
        rxnorm_ingredient=str(ingredient["rxnorm"]),
        names=tuple(str(n).lower() for n in ingredient["names"]),
        route_codes=MappingProxyType({str(k): str(v) for k, v in routes["snomed"].items()}),
        route_words=MappingProxyType({str(k).lower(): str(v) for k, v in routes["words"].items()}),
        continuous_route=str(data["continuous_infusion_route"]["route"]),
        frequencies=MappingProxyType(words),
        file=file,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


@lru_cache(maxsize=4)
def load_codes(medicine: str = "baclofen") -> Codes:
    """The shipped codes of a medicine (``baclofen-codes.json``), cached."""
    path = data_folder() / f"{medicine}-codes.json"
    if not path.is_file():
        raise PackError(path.name, None, None, "no codes file for this medicine")
    return load_codes_file(path)
