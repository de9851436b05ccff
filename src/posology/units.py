"""Exact quantities for dosing: mass, volume, concentration, dose rate, duration, body weight,
and Units of biological activity (a botulinum toxin's dose, which has no mass to convert to).

Why not pint: pint is lenient where dosing must be strict (it reads ``mcg`` as milli-centi-gram, as
UCUM does, and happily adds a mass to a mass rate once someone calls ``.magnitude``). This module
knows the handful of units a dosing page uses, keeps every magnitude an exact ``Fraction`` and
refuses any arithmetic or comparison across kinds with :class:`~posology.errors.DimensionError`.
Rounding happens once, when a quantity is formatted for display, to a stated number of places.

Codes follow UCUM (``ug``, ``mL``, ``ug/d``); text for people uses ``µg`` (or ``mcg`` on request).
On input ``µg``, ``μg``, ``ug`` and ``mcg`` all mean microgram.

>>> q = parse_quantity("0.05 mg")
>>> q == parse_quantity("50 mcg")
True
>>> q.to("ug").code()
'50 ug'
>>> (parse_quantity("100 ug/d") / parse_quantity("500 ug/mL")).code()
'0.2 mL/d'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple, Union

from .errors import DimensionError, UnitError
from .frozen import field, record

Number = Union[int, Fraction]


class Dimension(NamedTuple):
    """Exponents of the base quantities: drug mass, volume, time, body mass and activity.

    Activity is the Units of biological activity a botulinum toxin is dosed in: its own kind,
    never a mass. Which product's Units a dose is in is not a unit here but a fact of the dose
    (an injection names the product its Units belong to), so that no arithmetic can ever turn
    one product's Units into another's.
    """

    mass: int = 0
    volume: int = 0
    time: int = 0
    body: int = 0
    activity: int = 0

    def __mul__(self, other: object) -> Dimension:  # type: ignore[override,unused-ignore]
        if not isinstance(other, Dimension):
            return NotImplemented
        return _interned(Dimension(*(a + b for a, b in zip(self, other, strict=True))))

    def __truediv__(self, other: Dimension) -> Dimension:
        return _interned(Dimension(*(a - b for a, b in zip(self, other, strict=True))))


_DIMENSIONS: dict[Dimension, Dimension] = {}


def _interned(dim: Dimension) -> Dimension:
    """The one value of a dimension that products and quotients give, so that two units of
    one kind (``mg/d`` and ``ug/d``) share it and quantities compare their kinds by identity
    first (equality stays the rule: a dimension made otherwise still compares equal)."""
    return _DIMENSIONS.setdefault(dim, dim)


NONE = _interned(Dimension())
MASS = _interned(Dimension(mass=1))
VOLUME = _interned(Dimension(volume=1))
TIME = _interned(Dimension(time=1))
BODY_MASS = _interned(Dimension(body=1))
ACTIVITY = _interned(Dimension(activity=1))
CONCENTRATION = MASS / VOLUME
MASS_RATE = MASS / TIME  # a daily dose and an hourly rate are the same kind, in different units
VOLUME_RATE = VOLUME / TIME
MASS_PER_BODY_MASS = MASS / BODY_MASS
MASS_RATE_PER_BODY_MASS = MASS_RATE / BODY_MASS
ACTIVITY_PER_BODY_MASS = ACTIVITY / BODY_MASS

KIND_NAMES: dict[Dimension, str] = {
    NONE: "pure number",
    MASS: "mass",
    VOLUME: "volume",
    TIME: "duration",
    BODY_MASS: "body weight",
    CONCENTRATION: "concentration",
    MASS_RATE: "daily dose or rate",
    VOLUME_RATE: "volume per time",
    MASS_PER_BODY_MASS: "dose per kg of body weight",
    MASS_RATE_PER_BODY_MASS: "daily dose per kg of body weight",
    ACTIVITY: "number of Units",
    ACTIVITY_PER_BODY_MASS: "Units per kg of body weight",
}

EXAMPLES: dict[Dimension, str] = {
    MASS: '"10 mg" or "50 ug"',
    VOLUME: '"2 mL"',
    TIME: '"24 h" or "3 d"',
    BODY_MASS: '"40 kg"',
    CONCENTRATION: '"500 ug/mL" or "1 mg/mL"',
    MASS_RATE: '"150 ug/d" or "30 mg/d"',
    VOLUME_RATE: '"0.5 mL/d" or "60 mL/min"',
    MASS_PER_BODY_MASS: '"0.3 mg/kg"',
    MASS_RATE_PER_BODY_MASS: '"0.3 mg/kg/d"',
    ACTIVITY: '"100 U"',
    ACTIVITY_PER_BODY_MASS: '"4 U/kg"',
    NONE: '"20 %"',
}


def kind_name(dim: Dimension) -> str:
    """A reader's name for a dimension, used in error messages."""
    return KIND_NAMES.get(dim, "quantity")


@record
class Unit:
    """A unit: its UCUM-style code, its text for people, its size in base units, its kind.

    Base units are µg (drug mass), mL, hour and kg (body mass).
    """

    code: str
    text: str
    factor: Fraction
    dim: Dimension
    plural: str = ""  # the text for amounts other than one ("days"), where English needs it
    # True for a base unit (factor 1): a magnitude in it is already the base magnitude.
    is_base: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_base", self.factor == 1)

    def __truediv__(self, other: Unit) -> Unit:
        return Unit(
            f"{self.code}/{other.code}",
            f"{self.text}/{other.text}",
            self.factor / other.factor,
            self.dim / other.dim,
            f"{self.plural}/{other.text}" if self.plural else "",
        )


_HOUR = Fraction(1)
_SIMPLE: dict[str, Unit] = {
    u.code: u
    for u in (
        Unit("ug", "µg", Fraction(1), MASS),
        Unit("mg", "mg", Fraction(1000), MASS),
        Unit("g", "g", Fraction(1_000_000), MASS),
        Unit("mL", "mL", Fraction(1), VOLUME),
        Unit("L", "L", Fraction(1000), VOLUME),
        Unit("min", "min", _HOUR / 60, TIME),
        Unit("h", "h", _HOUR, TIME),
        Unit("d", "day", 24 * _HOUR, TIME, "days"),
        Unit("wk", "week", 7 * 24 * _HOUR, TIME, "weeks"),
        # A year as 365.25 days: used for ages, which are compared with ages in the same unit.
        Unit("a", "year", Fraction(36525, 100) * 24 * _HOUR, TIME, "years"),
        Unit("kg", "kg", Fraction(1), BODY_MASS),
        Unit("U", "Unit", Fraction(1), ACTIVITY, "Units"),
        Unit("%", "%", Fraction(1, 100), NONE),
    )
}

_ALIASES: dict[str, str] = {
    "ug": "ug",
    "µg": "ug",
    "μg": "ug",
    "mcg": "ug",
    "microgram": "ug",
    "micrograms": "ug",
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "g": "g",
    "ml": "mL",
    "mL": "mL",
    "l": "L",
    "L": "L",
    "min": "min",
    "minute": "min",
    "minutes": "min",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "wk": "wk",
    "week": "wk",
    "weeks": "wk",
    "a": "a",
    "y": "a",
    "yr": "a",
    "year": "a",
    "years": "a",
    "kg": "kg",
    "U": "U",
    "unit": "U",
    "units": "U",
    "%": "%",
}

# The unit a derived quantity (a product or quotient) is expressed in, by kind.
_PREFERRED: dict[Dimension, str] = {
    MASS: "ug",
    VOLUME: "mL",
    TIME: "h",
    BODY_MASS: "kg",
    CONCENTRATION: "ug/mL",
    MASS_RATE: "ug/d",
    VOLUME_RATE: "mL/d",
    MASS_PER_BODY_MASS: "mg/kg",
    MASS_RATE_PER_BODY_MASS: "mg/kg/d",
    ACTIVITY: "U",
    ACTIVITY_PER_BODY_MASS: "U/kg",
}


@lru_cache(maxsize=256)
def unit(spelling: str) -> Unit:
    """The unit for a spelling such as ``"mcg/day"``; raises ``UnitError`` if unknown.

    Compound units are a numerator and one or more denominators joined by ``/``.
    """
    parts = [p.strip() for p in spelling.split("/")]
    result: Unit | None = None
    for i, part in enumerate(parts):
        code = _ALIASES.get(part) or _ALIASES.get(part.lower())
        if code is None or (code == "%" and len(parts) > 1):
            raise UnitError("", f"unknown unit {spelling!r}")
        simple = _SIMPLE[code]
        result = simple if i == 0 else result / simple  # type: ignore[operator]
    assert result is not None
    return result


def preferred_unit(dim: Dimension) -> Unit:
    """The unit used for derived quantities of a kind (µg/day for dose rates, mL for volume)."""
    code = _PREFERRED.get(dim)
    if code is not None:
        return unit(code)
    names = ("ug", "mL", "h", "kg", "U")
    num = ".".join(f"{n}{e if e != 1 else ''}" for n, e in zip(names, dim, strict=True) if e > 0)
    den = ".".join(f"{n}{-e if e != -1 else ''}" for n, e in zip(names, dim, strict=True) if e < 0)
    code = (num or "1") + (f"/{den}" if den else "")
    return Unit(code, code, Fraction(1), dim)


@record(eq=False)
class Quantity:
    """An exact magnitude in a unit. Equal quantities compare equal whatever their units."""

    magnitude: Fraction
    unit: Unit
    # The magnitude in base units (µg, mL, h, kg), kept so that comparisons cost no arithmetic.
    base: Fraction = field(init=False, repr=False)
    # The base magnitude's numerator and denominator as plain integers: two quantities compare
    # by two integer products, without the generic (and slow) rational comparison.
    _n: int = field(init=False, repr=False)
    _d: int = field(init=False, repr=False)
    # The unit's kind, kept on the quantity: a comparison checks it first, by identity (the
    # kinds units share are one value, see ``_interned``), then by equality.
    _dim: Dimension = field(init=False, repr=False)

    def __post_init__(self) -> None:
        magnitude = self.magnitude
        if self.unit.is_base and type(magnitude) is Fraction:
            base = magnitude
        else:
            base = magnitude * self.unit.factor
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "_n", base.numerator)
        object.__setattr__(self, "_d", base.denominator)
        object.__setattr__(self, "_dim", self.unit.dim)

    @classmethod
    def of(cls, magnitude: Number | Decimal | str, unit_spelling: str | Unit) -> Quantity:
        """Build a quantity from a number and a unit spelling: ``Quantity.of(50, "ug")``."""
        u = unit_spelling if isinstance(unit_spelling, Unit) else unit(unit_spelling)
        return cls(Fraction(magnitude), u)

    # -- kinds and conversion -------------------------------------------------------------
    @property
    def dim(self) -> Dimension:
        return self._dim

    def to(self, target: str | Unit) -> Quantity:
        """The same quantity in another unit of the same kind, exactly."""
        u = target if isinstance(target, Unit) else unit(target)
        if u is self.unit and type(self.magnitude) is Fraction:
            return self  # already in that unit: the same value (a quantity never changes)
        self._same_kind(u.dim, "convert")
        return Quantity(self.base / u.factor, u)

    def in_(self, target: str | Unit) -> Fraction:
        """The exact magnitude in another unit: ``parse_quantity("1 mg").in_("ug") == 1000``."""
        u = target if isinstance(target, Unit) else unit(target)
        if u.dim != self.dim:
            self._same_kind(u.dim, "convert")
        return self.base / u.factor

    def _same_kind(self, other: Dimension, verb: str) -> None:
        if other != self.dim:
            raise DimensionError(
                f"cannot {verb} a {kind_name(self.dim)} ({self.unit.code}) and a {kind_name(other)}"
            )

    # -- comparison ----------------------------------------------------------------------
    # Quantities of one kind compare by their base magnitudes, cross-multiplied as integers
    # (denominators are positive, so the order is the rationals' order); anything else goes
    # through ``_cmp_base``, which refuses it as a DimensionError. The kinds are compared by
    # identity first: units of one kind share one dimension value (``_interned``).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        mine, theirs = self._dim, other._dim
        return (mine is theirs or mine == theirs) and self._n * other._d == other._n * self._d

    def __hash__(self) -> int:
        return hash((self.dim, self.base))

    def _cmp_base(self, other: Quantity) -> Fraction:
        if not isinstance(other, Quantity):
            raise DimensionError(f"cannot compare a {kind_name(self.dim)} with {other!r}")
        self._same_kind(other.dim, "compare")
        return other.base

    def __lt__(self, other: Quantity) -> bool:
        if other.__class__ is Quantity and (other._dim is self._dim or other._dim == self._dim):
            return self._n * other._d < other._n * self._d
        return self.base < self._cmp_base(other)

    def __le__(self, other: Quantity) -> bool:
        if other.__class__ is Quantity and (other._dim is self._dim or other._dim == self._dim):
            return self._n * other._d <= other._n * self._d
        return self.base <= self._cmp_base(other)

    def __gt__(self, other: Quantity) -> bool:
        if other.__class__ is Quantity and (other._dim is self._dim or other._dim == self._dim):
            return self._n * other._d > other._n * self._d
        return self.base > self._cmp_base(other)

    def __ge__(self, other: Quantity) -> bool:
        if other.__class__ is Quantity and (other._dim is self._dim or other._dim == self._dim):
            return self._n * other._d >= other._n * self._d
        return self.base >= self._cmp_base(other)

    # -- arithmetic ----------------------------------------------------------------------
    def __add__(self, other: Quantity) -> Quantity:
        return Quantity((self.base + self._cmp_base(other)) / self.unit.factor, self.unit)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity((self.base - self._cmp_base(other)) / self.unit.factor, self.unit)

    def __mul__(self, other: Number | Quantity) -> Quantity:
        if isinstance(other, Quantity):
            return _derived(self.base * other.base, self.dim * other.dim)
        if isinstance(other, (int, Fraction)) and not isinstance(other, bool):
            return Quantity(self.magnitude * other, self.unit)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other: Number | Quantity) -> Quantity:
        if isinstance(other, Quantity):
            return _derived(self.base / other.base, self.dim / other.dim)
        if isinstance(other, (int, Fraction)) and not isinstance(other, bool):
            return Quantity(self.magnitude / other, self.unit)
        return NotImplemented

    def rise_exceeds(self, other: Quantity, limit: Quantity) -> bool:
        """``self - other > limit``, decided in whole numbers without building the difference
        (a check asks it of every rise, and a finding is rare); quantities of other kinds go
        through the arithmetic, which refuses them as it always does."""
        dim = self._dim
        if (
            other.__class__ is Quantity
            and limit.__class__ is Quantity
            and (other._dim is dim or other._dim == dim)
            and (limit._dim is dim or limit._dim == dim)
        ):
            # a/b - c/d > e/f  ⟺  (a·d - c·b)·f > e·b·d, every denominator above zero
            b, d = self._d, other._d
            return (self._n * d - other._n * b) * limit._d > limit._n * b * d
        return self - other > limit

    def ratio(self, other: Quantity) -> Fraction:
        """``self / other`` for two quantities of one kind: a pure number."""
        return self.base / self._cmp_base(other)

    # -- formatting ----------------------------------------------------------------------
    def code(self, places: int | None = None) -> str:
        """``"50 ug"``: the document form (UCUM codes), for JSON and FHIR."""
        return f"{format_number(self.magnitude, places)} {self.unit.code}"

    def text(self, places: int | None = None, micro: str = "µg") -> str:
        """``"50 µg"``: the form for people; ``micro="mcg"`` spells micrograms as mcg."""
        number = format_number(self.magnitude, places)
        label = self.unit.plural if self.unit.plural and number != "1" else self.unit.text
        label = label.replace("µg", micro)
        sep = "" if label == "%" else " "
        return f"{number}{sep}{label}"

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Quantity({self.code()!r})"


def per_day(amount: Quantity) -> Quantity:
    """A mass given every day as a daily dose in the same mass unit (``45 mg`` → ``45 mg/d``);
    a daily dose or rate is returned unchanged."""
    if amount.dim == MASS_RATE:
        return amount
    if amount.dim != MASS:
        raise DimensionError(f"cannot make a daily dose of a {kind_name(amount.dim)}")
    return Quantity(amount.magnitude, unit(f"{amount.unit.code}/d"))


def _derived(base_value: Fraction, dim: Dimension) -> Quantity:
    u = preferred_unit(dim)
    return Quantity(base_value / u.factor, u)


DEFAULT_PLACES = 3


def format_number(value: Fraction, places: int | None = None) -> str:
    """A decimal string for an exact value.

    With ``places=None`` a terminating decimal is written exactly (``0.075``) and any other value
    is rounded half-up to ``DEFAULT_PLACES`` places (``100/3`` → ``33.333``). Trailing zeros are
    dropped. Negative zero never appears. Rounding is done in whole numbers, so a value of any
    size is written (a decimal context would run out of precision for large ones and raise).
    """
    return _format(value.numerator, value.denominator, places)


@lru_cache(maxsize=4096)
def _format(num: int, den: int, places: int | None) -> str:
    """:func:`format_number` of ``num / den`` (``den`` above 0, the fraction not necessarily
    in lowest terms: the digits are the same). Kept for recent values: a batch of findings
    writes the same doses and limits again and again, and a string is an immutable value."""
    if places is None and _terminating(den):
        text = _exact_decimal(num, den)
    else:
        text = _rounded(num, den, DEFAULT_PLACES if places is None else places)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _rounded(num: int, den: int, places: int) -> str:
    """``num / den`` rounded half-up (a tie away from zero) to ``places`` decimal places,
    exactly, in whole numbers; a negative ``places`` rounds to tens, hundreds and so on."""
    size = abs(num)
    if places >= 0:  # floor(|v| × 10^places + 1/2)
        count = (2 * size * 10**places + den) // (2 * den)
    else:  # floor(|v| / 10^-places + 1/2)
        unit = den * 10**-places
        count = (2 * size + unit) // (2 * unit)
    sign = "-" if num < 0 else ""
    if places <= 0:
        return f"{sign}{count * 10**-places}"
    digits = str(count).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def format_percent(value: Fraction, places: int = 1) -> str:
    """A fraction as a percentage for people: ``Fraction(1, 5)`` → ``"20%"``."""
    return f"{_format(value.numerator * 100, value.denominator, places)}%"


def terminates(value: Fraction) -> bool:
    """True when the value is a finite decimal (its denominator has only factors 2 and 5)."""
    return _terminating(value.denominator)


def _terminating(den: int) -> bool:
    d = den
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _exact_decimal(num: int, den: int) -> str:
    scale = 0
    while den != 1:
        # den has only factors 2 and 5: multiply up to a power of ten.
        num *= 10
        scale += 1
        g = math.gcd(num, den)
        num //= g
        den //= g
    sign = "-" if num < 0 else ""
    digits = str(abs(num)).rjust(scale + 1, "0")
    if scale == 0:
        return sign + digits
    return f"{sign}{digits[:-scale]}.{digits[-scale:]}"


# A number in ASCII digits and the rest (the unit), read from text already stripped: nothing in
# the pattern can backtrack over a long run of spaces. Other scripts' digits (``٥``, ``５``) are
# refused: a dose is written in the digits every system in the chain reads alike.
_NUMBER = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*(.*)", re.DOTALL
)

MAX_QUANTITY_LENGTH = 100
"""Characters a quantity string may have: the longest number allowed with the longest unit
spelling (``0.000000000000000000000000000001 micrograms/minutes``) is about half of it. A longer
text is refused before it is searched, so a megabyte of spaces costs nothing."""


MAX_DIGITS = 30
"""Significant digits a number may have: no dose, volume or weight needs more, and an exact
fraction of a longer one costs time for nothing."""
MAX_EXPONENT = 30
"""The largest power of ten a number may reach either way (1e-30 to 1e30). Without a bound,
``1e10000000`` would be expanded into a ten-million-digit integer before any check."""


def exact_number(value: Decimal | int) -> Fraction:
    """A number as an exact fraction, if it is one a clinical document can hold; raises
    ``ValueError`` (cheaply, before any expansion) for more than ``MAX_DIGITS`` significant
    digits or an order of magnitude past ``MAX_EXPONENT`` either way.

    Every number allowed is also a finite float that is not zero unless the number is (1e-30 is
    far above the smallest float, 1e30 far below the largest), so a value stored as a JSON
    float keeps its sign, its range and its being above zero.
    """
    if isinstance(value, int):
        if value.bit_length() > 4 * MAX_DIGITS:  # far past 1e30: refused before any conversion
            raise ValueError("too many digits")
        value = Decimal(value)
    if not value.is_finite():
        raise ValueError("not a finite number")
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:  # 1000 and 1.000 have one
        significant -= 1
    if significant > MAX_DIGITS or abs(exponent) > MAX_EXPONENT + len(digits):
        raise ValueError("too many digits")
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise ValueError("out of range")
    return Fraction(value)


def bounded_decimal(text: str) -> Decimal:
    """A number literal (JSON's grammar or Python's) as a Decimal, if ``exact_number`` would
    accept it; raises ``ValueError`` otherwise, looking at no more than a few dozen characters."""
    if len(text) > 4 * MAX_DIGITS:
        raise ValueError("too long")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    exact_number(value)
    return value


def parse_decimal(text: str) -> Fraction:
    """Read a decimal number exactly; raises ``ValueError`` for anything else (including more
    than MAX_DIGITS digits or an exponent past MAX_EXPONENT)."""
    return exact_number(bounded_decimal(text))


def parse_quantity(
    text: object,
    *,
    field: str = "",
    kinds: Iterable[Dimension] | None = None,
    allow_zero: bool = False,
) -> Quantity:
    """Read ``"50 ug"``, ``"0.05 mg"``, ``"150 ug/d"``, ``"500 ug/mL"`` into an exact quantity.

    Refuses, with a message naming ``field`` and the fix: a non-string, a number without a unit,
    an unknown unit, a unit of a kind not in ``kinds``, a comma (decimal comma or thousands
    separator, both ambiguous), NaN or infinity, a negative number, and zero unless allowed.
    Quantities are immutable, so a spelling read once is served from a cache afterwards.
    """
    wanted = tuple(kinds) if kinds is not None else None
    if isinstance(text, str) and len(text) <= 64:
        try:
            return _parse_cached(text, wanted, allow_zero)
        except UnitError as exc:
            raise UnitError(field, exc.message) from None
    return _parse(text, field, wanted, allow_zero)


@lru_cache(maxsize=4096)
def _parse_cached(text: str, wanted: tuple[Dimension, ...] | None, allow_zero: bool) -> Quantity:
    return _parse(text, "", wanted, allow_zero)


def _parse(
    text: object, field: str, wanted: tuple[Dimension, ...] | None, allow_zero: bool
) -> Quantity:
    example = EXAMPLES.get(wanted[0], '"50 ug"') if wanted else '"50 ug"'
    if not isinstance(text, str):
        raise UnitError(field, f"must be a string of a number and a unit, e.g. {example}")
    if len(text) > MAX_QUANTITY_LENGTH:
        raise UnitError(
            field,
            f"is {len(text)} characters long; a quantity is a number and a unit of at most "
            f"{MAX_QUANTITY_LENGTH} characters, e.g. {example}",
        )
    if "," in text:
        raise UnitError(
            field,
            f"{text!r} has a comma; write the number with a decimal point and no thousands "
            f"separator, e.g. {example}",
        )
    lowered = text.strip().lower()
    if any(word in lowered for word in ("nan", "inf")):
        raise UnitError(field, f"{text!r} is not a finite number; write e.g. {example}")
    m = _NUMBER.fullmatch(text.strip())
    if not m:
        raise UnitError(field, f"{text!r} is not a number and a unit; write e.g. {example}")
    number_text, unit_text = m.groups()
    if not unit_text:
        raise UnitError(field, f"{text!r} has no unit; write e.g. {example}")
    try:
        u = unit(unit_text)
    except UnitError:
        raise UnitError(
            field, f"{text!r}: unknown unit {unit_text!r}; write e.g. {example}"
        ) from None
    if wanted is not None and u.dim not in wanted:
        due = " or ".join(kind_name(k) for k in wanted)
        raise UnitError(
            field,
            f"{text!r} is a {kind_name(u.dim)}, but a {due} is due here; write e.g. {example}",
        )
    try:
        value = parse_decimal(number_text)
    except ValueError:
        raise UnitError(
            field,
            f"{text[:40]!r} is not an amount of a usable size (at most {MAX_DIGITS} digits, "
            f"between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}); write e.g. {example}",
        ) from None
    if value < 0:
        raise UnitError(field, f"{text!r} is negative; a positive amount is due")
    if value == 0 and not allow_zero:
        raise UnitError(field, f"{text!r} is zero; an amount above zero is due")
    return Quantity(value, u)
