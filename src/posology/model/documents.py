"""Read the contract's JSON documents (CASE, PATIENT, EVENT) into model values, strictly.

A dosing system must never guess: an unknown field (a misspelt ``wieght_kg``), an unknown code,
a number without a unit, a unit of the wrong kind, zero or a negative where an amount is due, a
date without a time, or two events at one instant that contradict each other, each raises an
:class:`~posology.errors.InputError` naming the field (``history[2].dose``) and the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from itertools import accumulate, chain, compress
from typing import Any

from ..errors import HistoryTooLong, InputError
from ..frozen import record, replace
from ..units import (
    CONCENTRATION,
    MASS,
    MASS_RATE,
    MAX_DIGITS,
    MAX_EXPONENT,
    Quantity,
    bounded_decimal,
)
from . import fields as F
from .events import (
    Event,
    InjectionSession,
    ItInfusion,
    ItStable,
    ItStop,
    ItTestDose,
    OralRegimen,
    OralStop,
    PumpImplant,
    PumpRefill,
    Response,
    Review,
    ScheduleSegment,
    schedule_mean,
    with_instant,
)
from .injections import injection_session
from .medicines import product_medicine, read_medicine
from .patient import ORIGINS, SETTINGS, SEXES, Patient, Pump
from .vocabulary import allowed

FORMS = ("tablet", "solution")
MAX_TIMES_PER_DAY = 24
# Agreement allowed between a flex schedule's time-weighted mean and its stated daily dose:
# rounding in the stated dose's second decimal place, not a clinical tolerance.
SCHEDULE_TOLERANCE = Fraction(1, 100)


@record
class Case:
    """A CASE document: the patient, their history sorted by time, and the proposal to judge."""

    patient: Patient
    history: tuple[Event, ...]
    proposal: Event


# -- JSON text ------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise InputError("", f"{name} is not a number; JSON numbers must be finite")


class _Repeated(dict[str, Any]):
    """A decoded JSON object that had a key twice (``repeated`` names it); found after parsing,
    so the error can name the object's path."""

    repeated: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build one JSON object, marking it when a key appears twice (``"dose"`` twice in one
    event would otherwise be read, silently, as the last one)."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(pairs)
    keys = [key for key, _ in pairs]
    marked.repeated = next(k for i, k in enumerate(keys) if k in keys[:i])
    return marked


def _find_repeated(value: Any, path: str) -> tuple[str, str] | None:
    """The path and key of the first object with a repeated key, depth first."""
    if isinstance(value, _Repeated):
        return path, value.repeated
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        children = [(F.join(path, str(k)), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    for here, item in children:
        found = _find_repeated(item, here)
        if found is not None:
            return found
    return None


_BOM = "\ufeff"


MAX_HISTORY = 5_000
"""Events one CASE or REQUEST document may carry (counted before any is read). Decades of a
pump clinic's refills fit many times over; a larger body is a mistake or an attack."""
MAX_DEPTH = 32
"""Objects and arrays a document may nest (a CASE needs five). A deeper text is found from its
brackets before it is parsed and refused, naming the path, before any reader walks it."""


def _check_shape(data: Any, surrogates: bool, numbers: bool = False) -> None:
    """Refuse nesting past MAX_DEPTH, when the text escaped any, a lone surrogate in a key or a
    string (no database or UTF-8 file can hold one), and when the parser marked any, a number
    too long or too large to read. Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
            raise InputError(path, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if surrogates and _lone_surrogate(key):
                    raise InputError(path, "a key holds a lone surrogate (\\ud800-\\udfff)")
                stack.append((item, F.join(path, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif surrogates and isinstance(value, str) and _lone_surrogate(value):
            raise InputError(
                path, "holds a lone surrogate (\\ud800-\\udfff), which is no character; remove it"
            )
        elif numbers and isinstance(value, _Unbounded):
            shown = value.text if len(value.text) <= 24 else f"{value.text[:24]}…"
            raise InputError(
                path,
                f"{shown} is not a number of a usable size: write at most {MAX_DIGITS} "
                f"significant digits, from 1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}",
            )


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Unbounded:
    """A number literal too long or too large to read, left in place by the parser so that the
    walk after it can name its path."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


# A surrogate escaped as JSON writes it (``\ud800``); a raw one is found by encoding.
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
# Every byte but brackets, quotes and backslashes (no byte of a multi-byte UTF-8 character is
# one of them), and the step each bracket takes.
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"\\')
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _depth(text: str) -> int:
    """How deep a JSON text nests, from its brackets outside strings, with no parse and no
    recursion: keep brackets, quotes and backslashes; drop escaped backslashes, escaped quotes
    and other escapes; drop what lies between quotes; count the levels (past MAX_DEPTH, any
    depth reads as MAX_DEPTH + 1).

    A string holding no bracket leaves two adjacent quotes, and dropping two adjacent quotes
    moves no bracket into or out of a string, so those go first, at once; only a text with
    brackets inside its strings has its quotes split out one by one.
    """
    kept = text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    kept = kept.replace(b"\\\\", b"").replace(b'\\"', b"").replace(b"\\", b"")
    if b'"' in kept:
        kept = kept.replace(b'""', b"")
        if b'"' in kept:
            kept = b"".join(kept.split(b'"')[::2])
    return _nesting(kept)


_PARENS = bytes.maketrans(b"[{]}", b"(())")


def _nesting(brackets: bytes) -> int:
    """The deepest level of a run of brackets: innermost pairs are dropped a level at a time
    (as many steps as levels, up to MAX_DEPTH + 1). Exact for brackets that balance, as those
    of every JSON text do; any other run (a text the parser refuses anyway) is summed step by
    step."""
    parens = brackets.translate(_PARENS)
    depth = 0
    while parens and depth <= MAX_DEPTH:
        inner = parens.replace(b"()", b"")
        if len(inner) == len(parens):
            break
        parens, depth = inner, depth + 1
    if not parens or depth > MAX_DEPTH:
        return depth
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * (MAX_DIGITS + 1)


def _long_digits(text: str) -> bool:
    """True when the text holds a run of more than MAX_DIGITS ASCII digits (in a number or in
    a string: either way the careful reader is used)."""
    return _LONG_RUN in text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO)


def _has_surrogate(text: str) -> bool:
    """True when the text holds a surrogate, raw or escaped (then the walk looks for a lone
    one). A raw one is found by encoding (UTF-8 refuses exactly the surrogates, at the speed
    of a copy, where a search of the text costs ten times as much); an escaped one is sought
    only in a text that holds ``\\ud`` or ``\\uD`` at all."""
    return (not text.isascii() and _raw_surrogate(text)) or _escaped_surrogate(text)


def _escaped_surrogate(text: str) -> bool:
    """True when the text escapes a surrogate (``_ESCAPED_SURROGATE``)."""
    return ("\\ud" in text or "\\uD" in text) and _ESCAPED_SURROGATE.search(text) is not None


def _raw_surrogate(text: str) -> bool:
    """True when the text holds a code point from U+D800 to U+DFFF: the only ones strict UTF-8
    cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _number(text: str, unbounded: list[bool]) -> Decimal | _Unbounded:
    """A JSON number with a fraction or an exponent, exactly; one past the bounds is marked.
    Up to MAX_DIGITS characters without an exponent, a literal is within the bounds."""
    try:
        return _bounded_number(text)
    except ValueError:
        unbounded.append(True)
        return _Unbounded(text)


def _integer(text: str, unbounded: list[bool]) -> int | _Unbounded:
    """A JSON integer; one past the bounds is marked (Python refuses to convert more than 4,300
    digits, and converting fewer costs time for nothing)."""
    if len(text) <= MAX_DIGITS:
        return int(text)
    value = _number(text, unbounded)
    return value if isinstance(value, _Unbounded) else int(value)


def load_json(text: str | bytes) -> Any:
    """Parse JSON keeping decimals exact and refusing NaN, Infinity, NUL characters, a key
    given twice in one object, nesting past MAX_DEPTH, a lone surrogate and a number past the
    bounds of ``posology.units`` (each refusal names the path where it can).

    NUL (``\\u0000``) has no place in a clinical document and databases refuse it in text. A
    byte-order mark at the start (editors on Windows write one) is not content: it is dropped.
    Bytes are decoded first, strictly (UTF-8, or the UTF-16 or UTF-32 the JSON standard allows),
    so the checks below see the text as the parser will.
    """
    text = _document_text(text)
    data = _quick_load(text)
    return data if data is not _UNSURE else _load(text)


def _document_text(text: str | bytes) -> str:
    """The text of a document as the parser reads it: bytes decoded, strictly (UTF-8, or the
    UTF-16 or UTF-32 the JSON standard allows), and a byte-order mark at the start dropped."""
    if isinstance(text, bytes):
        try:
            text = text.decode(json.detect_encoding(text))
        except UnicodeDecodeError:
            raise InputError("", "not valid UTF-8 text; save the file as UTF-8 JSON") from None
    return text.removeprefix(_BOM)


def _load(text: str) -> Any:
    """:func:`load_json` of a text already decoded (see ``_document_text``), the careful way:
    a hook sees every object as a list of its members, so that a key given twice is found
    and named."""
    if "\\" in text and "\\u0000" in text:  # no backslash, no escape: one quick look first
        raise InputError("", "the document contains a NUL character (\\u0000); remove it")
    # too deep: the parser (which refuses past about a thousand levels at once) and the walk
    # below find the path, at a cost no larger than reading a document of that size
    deep = text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH
    marked: list[bool] = []
    unbounded: list[bool] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) == len(items):  # the common case, in place: one call per object
            return obj
        marked.append(True)
        return _pairs(items)

    # an integer of at most MAX_DIGITS digits is read by the parser itself (``_integer``
    # would give it as ``int`` too); only a text with a longer run of digits needs the hook
    integer: Callable[[str], Any] = (
        int if not _long_digits(text) else (lambda t: _integer(t, unbounded))
    )
    try:
        data = json.loads(
            text,
            parse_float=lambda t: _number(t, unbounded),
            parse_int=integer,
            parse_constant=_reject_constant,
            object_pairs_hook=pairs,
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            "", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InputError("", f"nested more than {MAX_DEPTH} levels deep") from None
    surrogates = _has_surrogate(text)
    if deep or surrogates or unbounded:
        _check_shape(data, surrogates=surrogates, numbers=bool(unbounded))
    found = _find_repeated(data, "") if marked else None
    if found is not None:
        path, key = found
        raise InputError(
            F.join(path, key),
            f"is given twice in {path or 'the document'}; keep one (a repeated key is never "
            "read as the last one)",
        )
    return data


# -- JSON text, read quickly --------------------------------------------------------------

_UNSURE = object()
"""What :func:`_quick_load` gives for a text it leaves to the careful reading."""


def _quick_load(text: str) -> Any:
    """What :func:`_load` gives for ``text``, read by the parser's own fast path (no hook called
    per object), or ``_UNSURE`` for a text this reading leaves to ``_load``: one ``_load`` would
    refuse or look into (a NUL, a surrogate, a text too deep, a number out of bounds, a long
    run of digits, a key given twice, not JSON at all).

    The careful reading hooks every object to find a key given twice, at a cost above that of
    the parse itself; here the members decoded are counted instead (``pair_count``), against
    the colons outside the strings of the text (``_outline``): one colon a member, so the two
    counts are equal unless an object lost a member to a key given twice. Every other check
    is ``_load``'s own, on the same text, and a document read here is the one ``_load`` reads
    (an object without a repeated key is the same built either way).
    """
    plain = plain_text(text)
    if plain is None:
        return _UNSURE
    try:
        data = _QUICK_DECODER.decode(text)
    except (ValueError, RecursionError):  # not JSON, NaN or Infinity, or a number past bounds
        return _UNSURE
    if pair_count(data) != plain[1]:
        return _UNSURE
    return data


def plain_text(text: str) -> tuple[bytes, int] | None:
    """The UTF-8 of a JSON text and the number of colons outside its strings (one a member:
    see :func:`_quick_load`), or None for a text that ``_load`` would refuse or look into
    before parsing (a NUL, a surrogate, nesting past MAX_DEPTH, a run of digits past
    MAX_DIGITS). What is left to check is the parse itself and the members' count."""
    escapes = "\\" in text
    if escapes and ("\\u0000" in text or _escaped_surrogate(text)):
        return None
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a raw surrogate (see ``_raw_surrogate``)
        return None
    marks, long = _outline(raw, escapes)
    if long and _long_digits(text):
        return None
    # the brackets of ``marks`` are those ``_depth`` counts, but ``_depth`` drops escapes after
    # keeping brackets, quotes and backslashes, which a text with escapes is left to
    depth = _depth(text) if escapes else _nesting(marks.translate(None, b":"))
    if depth > MAX_DEPTH:
        return None
    return raw, marks.count(b":")


def _bounded_number(text: str) -> Decimal:
    """:func:`_number` of a literal within the bounds; ``ValueError`` for one past them (the
    quick reading then stops, and the careful one names its path)."""
    if len(text) <= MAX_DIGITS and "e" not in text and "E" not in text:
        return Decimal(text)
    return bounded_decimal(text)


_QUICK_DECODER = json.JSONDecoder(parse_float=_bounded_number, parse_constant=_reject_constant)
"""One decoder for every quick reading, as ``json.loads`` keeps one for its own (it holds no
state between two texts): building one per text costs a tenth of reading a small one."""

_NOT_OUTLINE = bytes(c for c in range(256) if c not in b'[]{}":0123456789')


def _outline(raw: bytes, escapes: bool) -> tuple[bytes, bool]:
    """The brackets and colons of a JSON text outside its strings, in order, from the text's
    UTF-8 (``raw``; ``escapes`` when it holds a backslash), and whether the text may hold a
    run of more than MAX_DIGITS digits (when it does not, none is there).

    Escapes go first: a pair of backslashes is one escaped backslash, and, pairs dropped, any
    backslash left escapes the character after it, so an escaped quote is a backslash and a
    quote. Then only brackets, quotes, colons and digits (each as ``0``) are kept, in one pass
    (no byte of a multi-byte UTF-8 character is one of them); dropping characters never splits
    a run of digits, so a text without a run of MAX_DIGITS + 1 zeros kept has no longer run.
    The quotes left alternate, opening and closing: two adjacent ones are dropped at once
    (what lies either side stays inside or outside a string), the rest split out.
    """
    if escapes:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = raw.translate(_DIGITS_AS_ZERO, _NOT_OUTLINE)
    long = _LONG_RUN in kept
    marks = kept.translate(None, b"0")
    if b'"' in marks:
        marks = marks.replace(b'""', b"")
        if b'"' in marks:
            marks = b"".join(marks.split(b'"')[::2])
    return marks, long


_CONTAINERS = frozenset({dict, list})
_OBJECTS = frozenset({dict})


def pair_count(data: Any) -> int:
    """The members of every object in a decoded JSON value, nested ones included.

    A list of objects (a history of events) is counted at once: its objects' members summed,
    then only the values that nest in them walked, all their values' types taken in one pass
    (most events hold no object or list)."""
    count = 0
    stack = [data]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            count += len(value)
            stack.extend(value.values())
        elif kind is list:
            if len(value) > 1 and _OBJECTS.issuperset(map(type, value)):
                count += sum(map(len, value))
                values = list(chain.from_iterable(map(dict.values, value)))
                stack.extend(compress(values, map(_CONTAINERS.__contains__, map(type, values))))
            else:
                stack.extend(value)
    return count


# -- patient ------------------------------------------------------------------------------

_PATIENT_FIELDS = (
    "age_years",
    "birth_date",
    "sex",
    "weight_kg",
    "origin",
    "setting",
    "spasticity_stable",
    "conditions",
    "pregnant",
    "breastfeeding",
    "creatinine_clearance_ml_min",
    "medications",
    "tone_supports_function",
    "pump",
)
# Plausibility bounds for typed numbers: they catch typing slips (a weight in grams), they are
# not clinical limits.
_MAX_AGE = Fraction(130)
_MAX_WEIGHT = Fraction(400)
_MAX_CLEARANCE = Fraction(300)
_MAX_RESERVOIR = Fraction(100)


def parse_patient(data: object, path: str = "patient") -> Patient:
    """A PATIENT object into a :class:`Patient`; age (or birth date) and diagnosis required.

    Like events (:func:`parse_event`), a patient read once is kept in a bounded memo keyed by
    the object's content: every check of a patient sends the same PATIENT again.
    """
    key = _content_key(data)
    if key is not None:
        hit = _PATIENT_MEMO.get(key)
        if hit is not None:
            return hit
    patient = _read_patient(data, path)
    if key is not None:
        if len(_PATIENT_MEMO) >= _PATIENT_MEMO_SIZE:
            _PATIENT_MEMO.clear()
        _PATIENT_MEMO[key] = patient
    return patient


_PATIENT_MEMO: dict[object, Patient] = {}
_PATIENT_MEMO_SIZE = 2_000


def _read_patient(data: object, path: str) -> Patient:
    obj = F.json_object(data, path, ("diagnosis",), _PATIENT_FIELDS)

    def p(key: str) -> str:
        return F.join(path, key)

    age: Fraction | None = None
    birth: date | None = None
    if obj.get("age_years") is not None:
        age = F.number(
            obj["age_years"],
            p("age_years"),
            low=Fraction(-1),
            high=_MAX_AGE,
            what="age in years, from 0 to 130",
        )
        if age < 0:
            raise InputError(p("age_years"), "must not be negative")
    if obj.get("birth_date") is not None:
        raw = obj["birth_date"]
        try:
            birth = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            birth = None
        if birth is None:
            raise InputError(p("birth_date"), 'must be an ISO date, e.g. "2015-06-30"')
    if age is None and birth is None:
        raise InputError(p("age_years"), "missing; give age_years or birth_date")
    if age is not None and birth is not None:
        raise InputError(p("birth_date"), "give either age_years or birth_date, not both")
    weight = F.amount(
        obj,
        "weight_kg",
        path,
        _MAX_WEIGHT,
        "kg",
        "body weight in kilograms, above 0 and at most 400",
    )
    clearance = F.amount(
        obj,
        "creatinine_clearance_ml_min",
        path,
        _MAX_CLEARANCE,
        "mL/min",
        "creatinine clearance in mL/min, above 0 and at most 300",
    )
    pump = None
    if obj.get("pump") is not None:
        pump_obj = F.json_object(
            obj["pump"],
            p("pump"),
            (),
            ("programmable", "reservoir_ml", "withdrawal_before_alarm", "model"),
        )
        programmable = None
        if pump_obj.get("programmable") is not None:
            programmable = F.boolean(pump_obj["programmable"], p("pump.programmable"))
        withdrawal = None
        if pump_obj.get("withdrawal_before_alarm") is not None:
            withdrawal = F.boolean(
                pump_obj["withdrawal_before_alarm"], p("pump.withdrawal_before_alarm")
            )
        reservoir = F.amount(
            pump_obj,
            "reservoir_ml",
            p("pump"),
            _MAX_RESERVOIR,
            "mL",
            "reservoir volume in mL, e.g. 20 or 40",
        )
        model = None
        if pump_obj.get("model") is not None:
            model = _label(pump_obj["model"], p("pump.model"), MAX_PUMP_MODEL)
        pump = Pump(programmable, reservoir, withdrawal, model)

    def optional_bool(key: str) -> bool | None:
        return None if obj.get(key) is None else F.boolean(obj[key], p(key))

    def optional_list(key: str) -> object:
        return [] if obj.get(key) is None else obj[key]

    conditions, medications = optional_list("conditions"), optional_list("medications")
    return Patient(
        diagnosis=F.code(obj["diagnosis"], p("diagnosis"), allowed("diagnoses", obj["diagnosis"])),
        sex="unknown" if obj.get("sex") is None else F.code(obj["sex"], p("sex"), SEXES),
        age_years=age,
        birth_date=birth,
        weight=weight,
        origin=None if obj.get("origin") is None else F.code(obj["origin"], p("origin"), ORIGINS),
        setting=(
            "outpatient"
            if obj.get("setting") is None
            else F.code(obj["setting"], p("setting"), SETTINGS)
        ),
        spasticity_stable=optional_bool("spasticity_stable"),
        conditions=F.codes(conditions, p("conditions"), allowed("conditions", conditions)),
        pregnant=optional_bool("pregnant"),
        breastfeeding=optional_bool("breastfeeding"),
        creatinine_clearance=clearance,
        medications=F.codes(medications, p("medications"), allowed("medications", medications)),
        tone_supports_function=optional_bool("tone_supports_function"),
        pump=pump,
    )


# -- events -------------------------------------------------------------------------------


def _oral_regimen(obj: Mapping[str, Any], at: datetime, path: str) -> OralRegimen:
    def p(key: str) -> str:
        return F.join(path, key)

    if "doses" in obj and ("dose" in obj or "times_per_day" in obj):
        raise InputError(p("doses"), "give either doses or dose with times_per_day, not both")
    if "doses" in obj:
        raw = obj["doses"]
        if not isinstance(raw, list) or not raw or len(raw) > MAX_TIMES_PER_DAY:
            raise InputError(p("doses"), 'must be a list of 1 to 24 doses, e.g. ["5 mg", "5 mg"]')
        doses = tuple(F.quantity(d, f"{p('doses')}[{i}]", MASS) for i, d in enumerate(raw))
    else:
        if "dose" not in obj:
            raise InputError(p("dose"), "missing; give dose and times_per_day, or doses")
        if "times_per_day" not in obj:
            raise InputError(p("times_per_day"), "missing; how many administrations a day")
        n = F.whole(obj["times_per_day"], p("times_per_day"), 1, MAX_TIMES_PER_DAY)
        doses = (F.quantity(obj["dose"], p("dose"), MASS),) * n
    times = None
    if obj.get("times") is not None:
        raw_times = obj["times"]
        if not isinstance(raw_times, list):
            raise InputError(p("times"), 'must be a list of clock times, e.g. ["08:00", "13:00"]')
        times = tuple(F.clock(t, f"{p('times')}[{i}]") for i, t in enumerate(raw_times))
        if len(times) != len(doses):
            raise InputError(
                p("times"),
                f"has {len(times)} clock times for {len(doses)} administrations; "
                "give one time per administration",
            )
        if len(set(times)) != len(times):
            raise InputError(p("times"), "has the same clock time twice")
        # a day's administrations are a set of (clock time, dose): read in clock order, so one
        # regimen has one value however its times were listed
        pairs = sorted(zip(times, doses, strict=True))
        times, doses = tuple(t for t, _ in pairs), tuple(d for _, d in pairs)
    form = None if obj.get("form") is None else F.code(obj["form"], p("form"), FORMS)
    strength = None
    if obj.get("strength") is not None:
        strength = F.quantity(obj["strength"], p("strength"), MASS, CONCENTRATION)
        want = CONCENTRATION if form == "solution" else MASS if form == "tablet" else None
        if want is not None and strength.dim != want:
            example = '"1 mg/mL"' if form == "solution" else '"10 mg"'
            raise InputError(p("strength"), f"does not fit form {form!r}; write e.g. {example}")
    return OralRegimen(at, doses, times, form, strength)


# Plausibility bound for a typed effect duration (a slip), not a clinical limit.
MAX_EFFECT_HOURS = Fraction(72)


def _response(data: object, path: str) -> Response:
    obj = F.json_object(data, path, ("effect",), ("duration_h",))
    effect = F.boolean(obj["effect"], F.join(path, "effect"))
    raw = obj.get("duration_h")
    if effect and raw is None:
        raise InputError(F.join(path, "duration_h"), "missing; how many hours the effect lasted")
    duration = None
    if raw is not None:
        hours = F.number(
            raw,
            F.join(path, "duration_h"),
            low=Fraction(-1),
            high=MAX_EFFECT_HOURS,
            what="hours the effect lasted, at most 72",
        )
        if hours < 0 or (effect and hours == 0):
            raise InputError(
                F.join(path, "duration_h"),
                "must be above 0 and at most 72 hours when there was an effect (0 or absent "
                "when there was none)",
            )
        if not effect and hours != 0:
            raise InputError(F.join(path, "duration_h"), "must be 0 or absent when effect is false")
        duration = Quantity.of(hours, "h") if hours else None
    return Response(effect, duration)


def _schedule(data: object, path: str, daily_dose: Quantity) -> tuple[ScheduleSegment, ...]:
    if not isinstance(data, list) or not data:
        raise InputError(path, 'must be a list of {"start": "HH:MM", "daily_rate": "… ug/d"}')
    segments = []
    for i, item in enumerate(data):
        sp = f"{path}[{i}]"
        obj = F.json_object(item, sp, ("start", "daily_rate"), ())
        segments.append(
            ScheduleSegment(
                F.clock(obj["start"], F.join(sp, "start")),
                F.quantity(obj["daily_rate"], F.join(sp, "daily_rate"), MASS_RATE),
            )
        )
    starts = [s.start for s in segments]
    if len(set(starts)) != len(starts):
        twice = next(s for i, s in enumerate(starts) if s in starts[:i])
        raise InputError(path, f"gives the start {twice} twice; give each start once")
    # a 24-hour profile is the same profile whatever order its segments are listed in
    schedule = tuple(sorted(segments, key=lambda s: s.start))
    mean = schedule_mean(schedule)
    if abs((mean - daily_dose).in_(daily_dose.unit)) > SCHEDULE_TOLERANCE:
        raise InputError(
            path,
            f"its time-weighted mean is {mean.to(daily_dose.unit).code(places=2)}, not the "
            f"daily_dose {daily_dose.code()}; make them equal",
        )
    return schedule


def _pump_refill(obj: Mapping[str, Any], at: datetime, path: str) -> PumpRefill:
    conc = F.quantity(obj["concentration"], F.join(path, "concentration"), CONCENTRATION)
    filled = F.amount(obj, "volume_ml", path, _MAX_RESERVOIR, "mL", "volume filled in mL, e.g. 20")
    if filled is None:
        raise InputError(F.join(path, "volume_ml"), "missing; the volume filled in mL")
    volume = filled.magnitude
    alarm = None
    if obj.get("alarm_ml") is not None:
        alarm_value = F.number(
            obj["alarm_ml"],
            F.join(path, "alarm_ml"),
            low=Fraction(0),
            high=volume,
            what="alarm volume in mL, below the volume filled",
        )
        if alarm_value >= volume:
            raise InputError(F.join(path, "alarm_ml"), "must be below volume_ml")
        alarm = Quantity.of(alarm_value, "mL")
    residual = None
    if obj.get("residual_ml") is not None:
        residual_value = F.number(
            obj["residual_ml"],
            F.join(path, "residual_ml"),
            low=Fraction(-1),
            high=_MAX_RESERVOIR,
            what="volume withdrawn before filling in mL, from 0 to 100 (0 when none was left)",
        )
        if residual_value < 0:
            raise InputError(F.join(path, "residual_ml"), "must not be negative")
        residual = Quantity.of(residual_value, "mL")
    bridge = F.amount(
        obj,
        "bridge_volume_ml",
        path,
        _MAX_BRIDGE_VOLUME,
        "mL",
        "pump tubing plus catheter volume in mL as the programmer shows it, above 0 and at most 10",
    )
    lot = None if obj.get("lot") is None else _label(obj["lot"], F.join(path, "lot"), MAX_LOT)
    checked_by = (
        None
        if obj.get("checked_by") is None
        else _label(obj["checked_by"], F.join(path, "checked_by"), MAX_PERSON)
    )
    return PumpRefill(at, conc, filled, alarm, residual, lot, checked_by, bridge)


# Plausibility bounds and lengths of a refill's record (typing slips, not clinical limits): a
# pump's tubing and catheter hold well under a millilitre; a lot number and a name are short.
_MAX_BRIDGE_VOLUME = Fraction(10)
MAX_LOT = 60
MAX_PERSON = 200


_EVENT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "oral-regimen": ((), ("dose", "times_per_day", "doses", "times", "form", "strength")),
    "oral-stop": ((), ()),
    "it-test-dose": (("dose",), ("response",)),
    "pump-implant": ((), ()),
    "it-infusion": (("daily_dose",), ("schedule",)),
    "pump-refill": (
        ("concentration", "volume_ml"),
        ("alarm_ml", "residual_ml", "lot", "checked_by", "bridge_volume_ml"),
    ),
    "it-stable": ((), ()),
    "it-stop": ((), ()),
    "injection-session": (("product", "injections"), ()),
    "review": (("note",), ()),
}


_KINDS = tuple(_EVENT_FIELDS)
_EVENT_KEYS = {
    kind: (("at", "kind", *req), (*opt, "medicine")) for kind, (req, opt) in _EVENT_FIELDS.items()
}


def parse_event(data: object, path: str) -> Event:
    """One EVENT object into its event value.

    Reading is a pure function of the object, and events recur: every check of a patient
    carries the same past, and a history repeats the same regimen month after month. So events
    read once are kept in a bounded memo keyed by their content, types included (``true`` and
    ``1`` are different keys), and one event of each shape in another keyed by the content
    without ``at``: an event of a shape already read is that event at its own instant, only
    ``at`` read, exactly as the full reader reads it, which is also the only field that could
    then be refused (every other check of the reader depends on the fields of the key alone).
    """
    key = _content_key(data)
    if key is None:
        return _read_event(data, path)
    event = _EVENT_MEMO.get(key)
    if event is None:
        event = _read_shaped(data, path, key)
        _remember(_EVENT_MEMO, key, event)
    return event


def _read_shaped(data: object, path: str, key: object) -> Event:
    """An event read anew, or, when its shape was read before, that shape's event at its own
    instant (only ``at`` read, as the full reader reads it). ``key`` is the object's
    :func:`_content_key`."""
    if type(data) is dict:
        at = data.get("at")
        if type(at) is str:
            shape = _shape_key(key)
            template = _SHAPE_MEMO.get(shape)
            if template is not None:
                return with_instant(template, F.instant(at, F.join(path, "at")))
            event = _read_event(data, path)
            _remember(_SHAPE_MEMO, shape, event)
            return event
    return _read_event(data, path)


_EVENT_MEMO: dict[object, Event] = {}
"""Events read, by their whole content (:func:`_content_key`)."""
_SHAPE_MEMO: dict[object, Event] = {}
"""One event of each shape read, by its content without ``at``."""
_EVENT_MEMO_SIZE = 20_000


def _remember(memo: dict[object, Event], key: object, event: Event) -> None:
    if len(memo) >= _EVENT_MEMO_SIZE:
        memo.clear()  # one step, safe between threads
    memo[key] = event


def _shape_key(key: object) -> object:
    """The :func:`_content_key` of an EVENT object without its ``at``, from the object's own
    key (``key``): its members are keyed in place, each item led by the member's name, so
    leaving out the item of ``at`` is the key of the object without it, with no second walk
    over the object."""
    assert isinstance(key, tuple)
    if key[0] is _FLAT:
        _, items, types = key
        kept = [i for i, (name, _) in enumerate(items) if name != "at"]
        return (_FLAT, tuple(items[i] for i in kept), tuple(types[i] for i in kept))
    kind, items = key
    return (kind, tuple(item for item in items if item[0] != "at"))


_SCALARS = frozenset({str, int, bool})
_SPELLED = frozenset({Decimal, float})
_FLAT_MEMBERS = frozenset({str, int, bool, type(None)})
_FLAT = object()
"""The tag of the key of a flat object (:func:`_content_key`)."""


def _content_key(value: object) -> object:
    """A hashable key for a decoded JSON value, its types included; None for anything else.

    The common event is flat: every member a string, an integer, a boolean or null. Its key is
    built at once, as ``(_FLAT, members, their types)``: the members as the object holds them
    (hashable, and equal only when equal), the types beside them, since ``true`` equals ``1``.
    Otherwise scalars are keyed as ``(type, value)``; an object's scalar members as ``(name,
    type, value)`` in place, its other members as ``(name, key)``. A decimal or a float is
    keyed by its exact spelling, not its value: ``0`` and ``0E-50`` are equal numbers, yet the
    reader accepts only the first (the second is past the bounds).
    """
    kind = type(value)
    if kind is dict:
        types = tuple(map(type, value.values()))  # type: ignore[attr-defined]
        if _FLAT_MEMBERS.issuperset(types):
            return (_FLAT, tuple(value.items()), types)  # type: ignore[attr-defined]
        items: list[object] = []
        for k, v in value.items():  # type: ignore[attr-defined]
            member = type(v)
            if member in _SCALARS:
                items.append((k, member, v))
            elif v is None:
                items.append((k, None))
            else:
                frozen = _content_key(v)
                if frozen is None:
                    return None
                items.append((k, frozen))
        return (dict, tuple(items))
    if kind is list:
        parts: list[object] = []
        for v in value:  # type: ignore[attr-defined]
            member = type(v)
            if member in _SCALARS:
                parts.append((member, v))
            elif v is None:
                parts.append(None)
            else:
                frozen = _content_key(v)
                if frozen is None:
                    return None
                parts.append(frozen)
        return (list, tuple(parts))
    if kind in _SCALARS:
        return (kind, value)
    if kind in _SPELLED:
        return (kind, repr(value))
    return None


def _read_event(data: object, path: str) -> Event:
    if not isinstance(data, dict):
        raise InputError(path, "must be a JSON object with at least `at` and `kind`")
    kind = F.code(data.get("kind"), F.join(path, "kind"), _KINDS)
    required, optional = _EVENT_KEYS[kind]
    obj = F.json_object(data, path, required, optional)
    at = F.instant(obj["at"], F.join(path, "at"))
    event = _event_of(kind, obj, at, path)
    if isinstance(event, InjectionSession):
        # a product belongs to one medicine's pack: the session is that medicine's, and a
        # ``medicine`` that names another is refused (see ``product_medicine``)
        medicine = product_medicine(event.product, obj.get("medicine"), F.join(path, "medicine"))
        return replace(event, medicine=medicine)
    if "medicine" in obj:
        medicine = read_medicine(obj["medicine"], F.join(path, "medicine"), kind)
        if medicine != event.medicine:
            event = replace(event, medicine=medicine)
    return event


def _event_of(kind: str, obj: Mapping[str, Any], at: datetime, path: str) -> Event:
    if kind == "oral-regimen":
        return _oral_regimen(obj, at, path)
    if kind == "it-test-dose":
        response = obj.get("response")
        return ItTestDose(
            at,
            F.quantity(obj["dose"], F.join(path, "dose"), MASS),
            None if response is None else _response(response, F.join(path, "response")),
        )
    if kind == "it-infusion":
        return _infusion(obj, at, path)
    if kind == "pump-refill":
        return _pump_refill(obj, at, path)
    if kind == "review":
        return Review(at, _note(obj["note"], F.join(path, "note")))
    if kind == "injection-session":
        return injection_session(obj, at, path)
    simple: dict[str, Callable[[datetime], Event]] = {
        "oral-stop": OralStop,
        "pump-implant": PumpImplant,
        "it-stable": ItStable,
        "it-stop": ItStop,
    }
    return simple[kind](at)


def _infusion(obj: Mapping[str, Any], at: datetime, path: str) -> ItInfusion:
    daily = F.quantity(obj["daily_dose"], F.join(path, "daily_dose"), MASS_RATE)
    schedule = None
    if obj.get("schedule") is not None:
        schedule = _schedule(obj["schedule"], F.join(path, "schedule"), daily)
    return ItInfusion(at, daily, schedule)


# A pump's make and model as the clinic writes it ("SynchroMed II 20 mL"): shown, never judged.
MAX_PUMP_MODEL = 100


def _label(value: object, path: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise InputError(path, f"must be a non-empty text of at most {longest} characters")
    return value.strip()


def _note(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, "must be a non-empty text")
    return value


# -- the case -------------------------------------------------------------------------------

_CHANNEL = {
    "oral-regimen": "oral",
    "oral-stop": "oral",
    "it-infusion": "infusion",
    "it-stop": "infusion",
    "it-test-dose": "test-dose",
    "pump-refill": "refill",
    "pump-implant": "implant",
    "it-stable": "stable",
    "injection-session": "injection",
}


def _check_instants(events: Sequence[tuple[str, Event]]) -> None:
    aware = {(e.at.tzinfo is not None) for _, e in events}
    if len(aware) > 1:
        path = next(p for p, e in events if e.at.tzinfo is None)
        raise InputError(
            F.join(path, "at"),
            "has no time zone while other instants do; give every instant a zone or none",
        )


def sort_history(events: list[tuple[str, Event]]) -> tuple[Event, ...]:
    """Sort by time; drop exact duplicates; refuse two different events of one kind at one instant.

    Two identical events at one instant are one event recorded twice. Two different doses (or a
    dose and a stop) of one channel at one instant cannot both be true, so they are refused.
    """
    return tuple(events[i][1] for i in history_order(events))


def history_order(events: Sequence[tuple[str, Event]], remember: bool = True) -> list[int]:
    """:func:`sort_history` as positions: the index of each event kept, in time order (a copy
    of an earlier event is left out; of equal events the first given is kept). Raises as
    ``sort_history`` raises. A batch reader keeps its own record of each event by position,
    so it needs no lookup by the event's value; it reads each history once, so it does not
    ``remember`` it either."""
    if not remember:
        return _history_order(events)
    key = tuple([id(e) for _, e in events])
    hit = _ORDERS.get(key)
    if hit is not None:  # the very same events in the same order, ordered before
        return list(hit[1])
    order = _history_order(events)
    if len(_ORDERS) >= _ORDERS_KEPT:
        _ORDERS.clear()  # one step, safe between threads
    _ORDERS[key] = (tuple(e for _, e in events), tuple(order))
    return order


_ORDERS: dict[tuple[int, ...], tuple[tuple[Event, ...], tuple[int, ...]]] = {}
_ORDERS_KEPT = 256
"""Histories already ordered, keyed by the identities of their events in the order given:
every check of a patient sends the same history again (and gets the same event values from
the memo of ``parse_event``). A key names only live values, which the memo holds."""


def _history_order(events: Sequence[tuple[str, Event]]) -> list[int]:
    if _strictly_in_order(events):
        return list(range(len(events)))  # nothing to sort, fold or refuse
    _check_instants(events)
    ordered = sorted(range(len(events)), key=lambda i: events[i][1].at)
    out: list[int] = []
    seen: dict[tuple[datetime, str, str], tuple[str, Event]] = {}
    # events of no channel (reviews) seen so far: a copy is looked up, not searched for in
    # the whole history (events are values: equal events hash alike, whatever the offset
    # their instant was written with)
    plain: set[Event] = set()
    for i in ordered:
        path, event = events[i]
        channel = _CHANNEL.get(event.kind)
        if channel is None:
            if event not in plain:
                plain.add(event)
                out.append(i)
            continue
        # a channel is one medicine's: tizanidine and baclofen taken from the same morning are
        # two regimens, not two contradicting records of one
        key = (event.at, event.medicine, channel)
        if key in seen:
            other_path, other = seen[key]
            if other == event:
                continue
            raise InputError(
                path,
                f"contradicts {other_path} at the same instant ({event.at.isoformat()}); keep "
                "the one that happened, or give them their true times",
            )
        seen[key] = (path, event)
        out.append(i)
    return out


def _strictly_in_order(events: Sequence[tuple[str, Event]]) -> bool:
    """True when each event is strictly later than the one before: then the history is in
    order, holds no two events at one instant (so no copy, no contradiction), and its instants
    all have a time zone or none (a zoned and an unzoned instant cannot be compared)."""
    try:
        return all(events[i][1].at < events[i + 1][1].at for i in range(len(events) - 1))
    except TypeError:
        return False  # a zoned instant beside an unzoned one: refused by the full path


def check_born(
    patient: Patient, events: list[tuple[str, Event]], judged: datetime, judged_path: str
) -> None:
    """Refuse a birth date after the instant judged or after any history event.

    Ages are worked out from the birth date, and a patient born after the dose in question has
    no age at it: the reading ``age 0`` would put a typing slip (2062 for 2026) through the
    children's rules unnoticed. ``judged`` is a case's proposal or a plan request's start.
    """
    born = patient.birth_date
    if born is None:
        return
    if judged.date() < born:
        raise InputError(
            "patient.birth_date",
            f"{born.isoformat()} is after {judged_path} ({judged.isoformat()}); check the year",
        )
    for path, event in events:
        if event.at.date() < born:
            raise InputError(
                F.join(path, "at"),
                f"{event.at.isoformat()} is before patient.birth_date ({born.isoformat()}); "
                "check the dates",
            )


def parse_case(data: object) -> Case:
    """A CASE document into a :class:`Case` (history sorted, duplicates folded)."""
    obj = F.json_object(data, "", ("patient", "proposal"), ("history",))
    patient = parse_patient(obj["patient"], "patient")
    raw_history = [] if obj.get("history") is None else obj["history"]
    if not isinstance(raw_history, list):
        raise InputError("history", "must be a list of events")
    if len(raw_history) > MAX_HISTORY:
        raise HistoryTooLong(
            "history",
            f"holds {len(raw_history)} events; one request may carry at most {MAX_HISTORY} "
            "(store the patient and check against the stored history instead)",
        )
    paths = history_paths(len(raw_history))
    events = [(path, parse_event(e, path)) for path, e in zip(paths, raw_history, strict=True)]
    return case_of(patient, events, parse_event(obj["proposal"], "proposal"))


def case_of(patient: Patient, events: list[tuple[str, Event]], proposal: Event) -> Case:
    """The :class:`Case` of events read (each with its path): the history sorted, duplicates
    folded, instants and the birth date checked against each other."""
    history = sort_history(events)
    _check_instants([*events, ("proposal", proposal)])
    check_born(patient, events, proposal.at, "proposal.at")
    return Case(patient, history, proposal)


def history_paths(count: int) -> tuple[str, ...]:
    """``history[0]``, ``history[1]``, …: the paths of a history's events, written once (the
    tuple is replaced whole when a longer history comes, never changed in place, so threads
    share it safely)."""
    global _PATHS
    paths = _PATHS
    if count > len(paths):
        paths = _PATHS = tuple(f"history[{i}]" for i in range(max(count, 2 * len(paths))))
    return paths[:count]


_PATHS: tuple[str, ...] = ()


def read_case(text: str | bytes) -> Case:
    """Parse a CASE document from JSON text."""
    return parse_case(load_json(text))
