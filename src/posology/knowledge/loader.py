"""Read a knowledge pack (YAML, grammar in docs/knowledge-format.md) into frozen records.

Validation is strict because a pack is clinical data: a duplicate rule ID, a minimum above its
maximum, an unknown unit, a missing citation, a quote that the source page does not contain, a
study-backed rule that claims more than a warning, each stops the load with a
:class:`~posology.errors.PackError` naming the file, the rule and the field.

A pack that passed is kept in a per-user cache keyed by the bytes of every file the load read
(:mod:`posology.knowledge.cache`), so the next start skips the parse and the quote check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..errors import PackError, UnitError
from ..units import Quantity, parse_decimal, parse_quantity
from . import cache
from .schema import (
    ENGINE_USES,
    EVIDENCE_LEVELS,
    ROUTES,
    Citation,
    CodeValue,
    Pack,
    Range,
    Reading,
    Rule,
    Severity,
    Source,
    Value,
)

if TYPE_CHECKING:
    from pathlib import Path

FORMAT = "posology-pack/1"
RULE_ID = re.compile(r"^[A-Z]+(?:-[A-Z0-9]+)+$")
_RULE_KEYS = {
    "title",
    "route",
    "engine",
    "statement",
    "source",
    "quote",
    "numbers",
    "codes",
    "texts",
    "severity",
    "interpretation",
    "kind",
    "role",
}
ROLE = re.compile(r"^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*$")
"""A role or kind: lower-case words joined by hyphens, roles in dotted parts (``oral.max``)."""
_OVERRIDE_KEYS = {"source", "quote", "numbers", "codes", "texts", "severity", "interpretation"}
_SOURCE_KEYS = {"name", "title", "url", "file", "evidence"}


def _yaml_loader() -> type:
    """A safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc,valid-type]
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise PackError(loader.name, str(key), None, f"duplicate key on line {line}")
            seen[key] = loader.construct_object(value_node, deep=deep)
        return seen

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


class _Reads:
    """The files one load reads, relative to the pack's folder, with the hash of their bytes.

    They are what a cached pack depends on besides the pack file itself (whose bytes are in the
    cache key): a base pack it extends and the sources its quotes are verified against.
    """

    def __init__(self, pack: Path, data: bytes | None) -> None:
        self.pack = pack
        self.data = data
        self.manifest: dict[str, str] = {}

    def text(self, path: Path) -> str:
        """The text of a file the load needs, its hash recorded unless it is the pack file."""
        if path == self.pack:
            data = self.data if self.data is not None else path.read_bytes()
        else:
            data = path.read_bytes()
            self.manifest[os.path.relpath(path, self.pack.parent)] = cache.digest(data)
        # as ``Path.read_text`` reads it: universal newlines, so a CRLF copy verifies the same
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _read_yaml(path: Path, text: str | None = None) -> dict[str, Any]:
    import yaml

    loader_cls = _yaml_loader()
    if text is None:
        text = path.read_text(encoding="utf-8")
    loader = loader_cls(text)
    loader.name = path.name
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise PackError(path.name, None, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise PackError(path.name, None, None, "must be a YAML mapping")
    return data


# -- values -------------------------------------------------------------------------------


def _scalar(text: str, where: tuple[str, str | None, str]) -> Quantity | Fraction:
    text = text.strip()
    if re.fullmatch(r"\d+/\d+", text):
        num, den = text.split("/")
        return Fraction(int(num), int(den))
    try:
        return parse_decimal(text)
    except ValueError:
        pass
    try:
        return parse_quantity(text, allow_zero=True)
    except UnitError as exc:
        raise PackError(*where, exc.message) from None


def parse_value(raw: object, where: tuple[str, str | None, str]) -> Value:
    """Type a pack value by its grammar: number, quantity, range, list or table."""
    if isinstance(raw, bool) or raw is None:
        raise PackError(*where, "a number, quantity, range, list or table is due")
    if isinstance(raw, int):
        return Fraction(raw)
    if isinstance(raw, float):
        raise PackError(*where, f'write {raw} as a string (`"{raw}"`) to keep it exact')
    if isinstance(raw, list):
        return tuple(
            parse_value(item, (where[0], where[1], f"{where[2]}[{i}]"))
            for i, item in enumerate(raw)
        )
    if isinstance(raw, dict):
        return MappingProxyType(
            {
                str(k): parse_value(v, (where[0], where[1], f"{where[2]}.{k}"))
                for k, v in raw.items()
            }
        )
    if isinstance(raw, str):
        if " to " in raw:
            lo_text, hi_text = raw.split(" to ", 1)
            low_open = lo_text.strip().startswith(">")
            high_open = hi_text.strip().startswith("<")
            lo = _scalar(lo_text.strip().lstrip(">"), where)
            hi = _scalar(hi_text.strip().lstrip("<"), where)
            if isinstance(lo, Quantity) and isinstance(hi, Quantity) and lo.dim == hi.dim:
                if lo > hi:
                    raise PackError(*where, f"minimum above maximum in {raw!r}")
                return Range(lo, hi, low_open, high_open)
            if isinstance(lo, Fraction) and isinstance(hi, Fraction):
                if lo > hi:
                    raise PackError(*where, f"minimum above maximum in {raw!r}")
                return Range(lo, hi, low_open, high_open)
            raise PackError(*where, f"both ends of {raw!r} must be of one kind")
        return _scalar(raw, where)
    raise PackError(*where, f"unreadable value {raw!r}")


def _codes(raw: object, where: tuple[str, str | None, str]) -> CodeValue:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
        return MappingProxyType({str(k): v for k, v in raw.items()})
    raise PackError(*where, "a code, a list of codes or a table of codes is due")


def _section(raw: object, file: str, rule: str, name: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PackError(file, rule, name, "must be a mapping")
    return raw


# -- sources and rules ----------------------------------------------------------------------


def _sources(raw: object, file: str, folder: Path) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for key, body in _section(raw, file, "", "sources").items():
        where = f"sources.{key}"
        if not isinstance(body, dict):
            raise PackError(file, None, where, "must be a mapping")
        unknown = set(body) - _SOURCE_KEYS
        if unknown:
            raise PackError(file, None, f"{where}.{sorted(unknown)[0]}", "unknown field")
        for required in ("name", "evidence"):
            if not body.get(required):
                raise PackError(file, None, f"{where}.{required}", "missing")
        if body["evidence"] not in EVIDENCE_LEVELS:
            raise PackError(
                file, None, f"{where}.evidence", f"must be one of {', '.join(EVIDENCE_LEVELS)}"
            )
        if body.get("file") and not (folder / body["file"]).is_file():
            raise PackError(file, None, f"{where}.file", f"{body['file']} is not beside the pack")
        if not body.get("file") and not body.get("url"):
            raise PackError(
                file, None, f"{where}.url", "a source without a shipped file needs a URL"
            )
        out[key] = Source(
            key,
            body["name"],
            body["evidence"],
            body.get("url"),
            body.get("title"),
            body.get("file"),
        )
    return out


def _weakest(levels: list[str]) -> str:
    return max(levels, key=EVIDENCE_LEVELS.index)


def _citation(
    body: Mapping[str, Any],
    file: str,
    rule_id: str,
    sources: Mapping[str, Source],
    texts: Mapping[str, str],
) -> tuple[Citation, tuple[Source, ...]]:
    keys = body.get("source")
    if not keys:
        raise PackError(file, rule_id, "source", "missing citation: name a source")
    keys = [keys] if isinstance(keys, str) else keys
    chosen: list[Source] = []
    for key in keys:
        if key not in sources:
            raise PackError(file, rule_id, "source", f"unknown source {key!r}")
        chosen.append(sources[key])
    quote = body.get("quote")
    if isinstance(quote, list):
        parts = [str(q) for q in quote]
    elif isinstance(quote, str):
        parts = [quote]
    else:
        raise PackError(file, rule_id, "quote", "missing citation: the quoted statement is due")
    for part in parts:
        if not part.strip():
            raise PackError(file, rule_id, "quote", "empty quote")
        for src in chosen:
            if src.file and part not in texts[src.key]:
                raise PackError(
                    file,
                    rule_id,
                    "quote",
                    f"not found verbatim in {src.file}: {part[:60]!r}",
                )
    citation = Citation(
        source="; ".join(s.name for s in chosen),
        quote=" … ".join(p.strip() for p in parts),
        evidence=_weakest([s.evidence for s in chosen]),
        url=next((s.url for s in chosen if s.url), None),
    )
    return citation, tuple(chosen)


def _typed_sections(
    body: Mapping[str, Any], file: str, rule_id: str
) -> tuple[dict[str, Value], dict[str, CodeValue], dict[str, str], dict[str, Severity]]:
    numbers = {
        str(k): parse_value(v, (file, rule_id, f"numbers.{k}"))
        for k, v in _section(body.get("numbers"), file, rule_id, "numbers").items()
    }
    codes = {
        str(k): _codes(v, (file, rule_id, f"codes.{k}"))
        for k, v in _section(body.get("codes"), file, rule_id, "codes").items()
    }
    texts: dict[str, str] = {}
    for k, v in _section(body.get("texts"), file, rule_id, "texts").items():
        if not isinstance(v, str):
            raise PackError(file, rule_id, f"texts.{k}", "must be text")
        texts[str(k)] = v.strip()
    severities: dict[str, Severity] = {}
    for k, v in _section(body.get("severity"), file, rule_id, "severity").items():
        try:
            severities[str(k)] = Severity(v)
        except ValueError:
            raise PackError(
                file, rule_id, f"severity.{k}", "must be info, warning, error or critical"
            ) from None
    return numbers, codes, texts, severities


def _rule(
    rule_id: str,
    body: object,
    file: str,
    sources: Mapping[str, Source],
    texts_by_source: Mapping[str, str],
) -> Rule:
    if not RULE_ID.match(rule_id):
        raise PackError(file, rule_id, None, "a rule ID is upper-case words joined by hyphens")
    if not isinstance(body, dict):
        raise PackError(file, rule_id, None, "must be a mapping")
    unknown = set(body) - _RULE_KEYS
    if unknown:
        raise PackError(file, rule_id, sorted(unknown)[0], "unknown field")
    for required in ("title", "route", "engine", "statement"):
        if not body.get(required):
            raise PackError(file, rule_id, required, "missing")
    if body["route"] not in ROUTES:
        raise PackError(file, rule_id, "route", f"must be one of {', '.join(ROUTES)}")
    engine = body["engine"]
    if not isinstance(engine, list) or not engine or set(engine) - set(ENGINE_USES):
        raise PackError(file, rule_id, "engine", f"a list drawn from {', '.join(ENGINE_USES)}")
    citation, chosen = _citation(body, file, rule_id, sources, texts_by_source)
    numbers, codes, texts, severities = _typed_sections(body, file, rule_id)
    _check_evidence_cap(file, rule_id, citation.evidence, severities)
    interpretation = body.get("interpretation")
    for name in ("kind", "role"):
        given = body.get(name)
        if given is not None and not (isinstance(given, str) and ROLE.match(given)):
            raise PackError(
                file, rule_id, name, "lower-case words joined by hyphens, roles in dotted parts"
            )
    return Rule(
        id=rule_id,
        title=str(body["title"]).strip(),
        route=body["route"],
        engine=frozenset(engine),
        statement=str(body["statement"]).strip(),
        citation=citation,
        sources=chosen,
        numbers=MappingProxyType(numbers),
        codes=MappingProxyType(codes),
        texts=MappingProxyType(texts),
        severities=MappingProxyType(severities),
        interpretation=str(interpretation).strip() if interpretation else None,
        file=file,
        kind=body.get("kind"),
        role=body.get("role"),
    )


def _check_evidence_cap(
    file: str, rule_id: str, evidence: str, severities: Mapping[str, Severity]
) -> None:
    if evidence != "study":
        return
    for key, sev in severities.items():
        if sev > Severity.WARNING:
            raise PackError(
                file,
                rule_id,
                f"severity.{key}",
                "a rule resting on study evidence cannot be above warning",
            )


def _override(
    rule: Rule,
    body: object,
    file: str,
    sources: Mapping[str, Source],
    texts_by_source: Mapping[str, str],
) -> Rule:
    """A profile's version of a rule: named numbers, codes, texts and severities replaced."""
    if not isinstance(body, dict):
        raise PackError(file, rule.id, None, "must be a mapping")
    unknown = set(body) - _OVERRIDE_KEYS
    if unknown:
        raise PackError(file, rule.id, sorted(unknown)[0], "unknown field")
    citation, chosen = _citation(body, file, rule.id, sources, texts_by_source)
    numbers, codes, texts, severities = _typed_sections(body, file, rule.id)
    for name, section in (
        ("numbers", numbers),
        ("codes", codes),
        ("texts", texts),
        ("severity", severities),
    ):
        have = {
            "numbers": rule.numbers,
            "codes": rule.codes,
            "texts": rule.texts,
            "severity": rule.severities,
        }[name]
        for key in section:
            if key not in have:
                raise PackError(file, rule.id, f"{name}.{key}", "the base rule has no such entry")
    merged_sev = {**rule.severities, **severities}
    _check_evidence_cap(file, rule.id, citation.evidence, merged_sev)
    from ..frozen import replace

    return replace(
        rule,
        citation=citation,
        sources=chosen,
        numbers=MappingProxyType({**rule.numbers, **numbers}),
        codes=MappingProxyType({**rule.codes, **codes}),
        texts=MappingProxyType({**rule.texts, **texts}),
        severities=MappingProxyType(merged_sev),
        interpretation=str(body["interpretation"]).strip()
        if body.get("interpretation")
        else rule.interpretation,
        file=file,
    )


# -- packs ----------------------------------------------------------------------------------


PACK_DIR_VARIABLE = "POSOLOGY_PACK_DIR"


def data_folder() -> Path:
    """The folder of the shipped packs: beside this module, or ``$POSOLOGY_PACK_DIR`` when set.

    The variable exists so that ``tools/pack_mutation.py`` can run the tests against a changed
    copy of the pack folder without touching the shipped one; nothing else should set it.
    """
    from pathlib import Path

    return Path(_data_folder_text())


def _data_folder_text() -> str:
    """:func:`data_folder` as ``os.path`` text: a start served from the pack cache never imports
    :mod:`pathlib` (nor ``urllib.parse`` with it)."""
    override = os.environ.get(PACK_DIR_VARIABLE)
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.realpath(__file__)), "data")


def load_pack_file(path: str | Path) -> Pack:
    """Load a pack (or a profile that ``extends`` one) from a YAML file.

    A pack validated before, with every file it read unchanged, comes from the cache; anything
    wrong with the cache only means a full load (``POSOLOGY_PACK_CACHE=off`` forces one).
    """
    if not os.path.isfile(path):
        raise PackError(os.path.basename(path), None, None, "no such pack file")
    if cache.enabled():
        with open(path, "rb") as file:
            data = file.read()
        entry = cache.key(os.path.basename(path), data)
        pack = cache.fetch(entry, os.path.dirname(path))
        if pack is not None:
            return pack
    from pathlib import Path

    path = Path(path)
    if not cache.enabled():
        return _load(path, _Reads(path, None))
    reads = _Reads(path, data)
    pack = _load(path, reads)
    cache.store(entry, pack, tuple(sorted(reads.manifest.items())))
    return pack


def _load(path: Path, reads: _Reads) -> Pack:
    if not path.is_file():
        raise PackError(path.name, None, None, "no such pack file")
    data = _read_yaml(path, reads.text(path))
    file = path.name
    if data.get("format") != FORMAT:
        raise PackError(file, None, "format", f"must be {FORMAT!r}")
    base: Pack | None = None
    if data.get("extends"):
        base = _load(path.parent / f"{data['extends']}.yaml", reads)
    sources = dict(base.sources) if base else {}
    new_sources = _sources(data.get("sources"), file, path.parent)
    clash = set(new_sources) & set(sources)
    if clash:
        raise PackError(file, None, f"sources.{sorted(clash)[0]}", "duplicate source key")
    sources.update(new_sources)
    texts_by_source = {
        key: reads.text(path.parent / src.file) for key, src in sources.items() if src.file
    }
    rules: dict[str, Rule] = dict(base.rules) if base else {}
    for rule_id, body in _section(data.get("rules"), file, "", "rules").items():
        if rule_id in rules:
            raise PackError(file, rule_id, None, "duplicate rule ID")
        rules[rule_id] = _rule(rule_id, body, file, sources, texts_by_source)
    for rule_id, body in _section(data.get("overrides"), file, "", "overrides").items():
        if rule_id not in rules:
            raise PackError(file, rule_id, None, "overrides a rule the base pack does not hold")
        rules[rule_id] = _override(rules[rule_id], body, file, sources, texts_by_source)
    if not rules:
        raise PackError(file, None, "rules", "a pack holds at least one rule")
    readings = tuple(base.readings) if base else ()
    readings += _readings(data.get("readings"), file, rules)
    page_key = next((k for k, s in sources.items() if s.file), None)
    roles: dict[str, str] = {}
    for rule in rules.values():
        if rule.role is None:
            continue
        if rule.role in roles:
            raise PackError(
                file, rule.id, "role", f"the role {rule.role!r} is already {roles[rule.role]}'s"
            )
        roles[rule.role] = rule.id
    return Pack(
        medicine=str(data.get("medicine") or (base.medicine if base else "")),
        profile=str(data.get("profile") or "default"),
        title=str(data.get("title") or (base.title if base else "")),
        rules=MappingProxyType(rules),
        sources=MappingProxyType(sources),
        readings=readings,
        page_text=texts_by_source.get(page_key, "") if page_key else "",
        files=((base.files if base else ()) + (file,)),
        roles=MappingProxyType(roles),
        profile_title=str(data.get("profile_title") or ""),
        vocabulary=_vocabulary(data.get("vocabulary"), file, base),
    )


VOCABULARIES = ("diagnoses", "conditions", "medications", "products", "muscles")
_CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


def _vocabulary(raw: object, file: str, base: Pack | None) -> Mapping[str, tuple[str, ...]]:
    """A pack's ``vocabulary``: for each of :data:`VOCABULARIES` a list of lowercase codes (a
    profile keeps its base pack's)."""
    if raw is None:
        return base.vocabulary if base else MappingProxyType({})
    if not isinstance(raw, dict):
        raise PackError(file, None, "vocabulary", f"must be a table of {', '.join(VOCABULARIES)}")
    out: dict[str, tuple[str, ...]] = {}
    for name, codes in raw.items():
        if name not in VOCABULARIES:
            raise PackError(
                file, None, f"vocabulary.{name}", f"must be one of {', '.join(VOCABULARIES)}"
            )
        if not isinstance(codes, list) or not all(
            isinstance(c, str) and _CODE.match(c) for c in codes
        ):
            raise PackError(
                file,
                None,
                f"vocabulary.{name}",
                "must be a list of lowercase codes (e.g. ciprofloxacin)",
            )
        out[name] = tuple(codes)
    return MappingProxyType(out)


def _readings(raw: object, file: str, rules: Mapping[str, Rule]) -> tuple[Reading, ...]:
    out: list[Reading] = []
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PackError(file, None, "readings", "must be a list")
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("id") or not item.get("text"):
            raise PackError(file, None, f"readings[{i}]", "needs an id and a text")
        named = tuple(item.get("rules") or ())
        for rid in named:
            if rid not in rules:
                raise PackError(file, rid, f"readings[{i}].rules", "unknown rule ID")
        out.append(Reading(str(item["id"]), str(item["text"]).strip(), named))
    return tuple(out)


def load_pack(medicine: str = "baclofen", profile: str | None = None) -> Pack:
    """A shipped pack by medicine and profile (``load_pack("baclofen", "us")``), cached.

    Packs are immutable, so one loaded copy serves every caller. A medicine or profile that is
    not shipped is a :class:`~posology.errors.PackError` listing what is. The cache is kept per
    pack folder (``$POSOLOGY_PACK_DIR`` may point elsewhere), so a pack of another folder is never
    served for this one's.
    """
    return _load_shipped(os.environ.get(PACK_DIR_VARIABLE) or "", medicine, profile)


@lru_cache(maxsize=16)
def _load_shipped(folder: str, medicine: str, profile: str | None) -> Pack:
    """:func:`load_pack` in the pack folder ``folder`` names (the variable's value, or empty for
    the shipped one), which :func:`data_folder` reads again."""
    name = medicine if not profile or profile == "default" else f"{medicine}.{profile}"
    path = os.path.join(_data_folder_text(), f"{name}.yaml")
    if not os.path.isfile(path):
        have = (
            ", ".join(f"{m} ({', '.join(p)})" for m, p in sorted(shipped_profiles().items()))
            or "none"
        )
        raise PackError(
            f"{name}.yaml",
            None,
            None,
            f"no pack for {medicine!r} with profile {profile or 'default'!r}; shipped: {have}",
        )
    return load_pack_file(path)


def shipped_profiles() -> dict[str, tuple[str, ...]]:
    """Each shipped medicine with its profiles (``{"baclofen": ("default", "us")}``), read from
    the pack files' names: ``baclofen.yaml`` is the default profile, ``baclofen.us.yaml`` the
    US one."""
    found: dict[str, list[str]] = {}
    for path in data_folder().glob("*.yaml"):
        medicine, _, profile = path.stem.partition(".")
        found.setdefault(medicine, []).append(profile or "default")
    return {m: tuple(sorted(p, key=lambda x: (x != "default", x))) for m, p in found.items()}
