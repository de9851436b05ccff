"""The frozen records a knowledge pack is parsed into: Pack, Rule, Source, Citation, Range.

A rule's numbers are typed values (quantities, ranges, pure numbers, lists and tables of them),
read by name through accessors that check the type, so code says ``rule.quantity("max_daily")``
and a pack that stores the wrong kind of value fails loudly instead of giving a wrong dose.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Generic, TypeVar, Union

from ..errors import MissingRoleError, PackError, UnknownRuleError
from ..frozen import field, record
from ..units import NONE, Quantity

T = TypeVar("T", Quantity, Fraction)


class Severity(Enum):
    """How serious a finding is. Ordered: info < warning < error < critical."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: Severity) -> bool:
        return self.rank < other.rank

    def __le__(self, other: Severity) -> bool:
        return self.rank <= other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}

EVIDENCE_LEVELS = ("label", "monograph", "consensus", "study")
"""From strongest to weakest. A finding resting on ``study`` evidence is never above warning."""

ROUTES = ("general", "oral", "intrathecal", "intramuscular")
ENGINE_USES = ("check", "plan", "explain")


@record
class Range(Generic[T]):
    """A closed range by default; either end may be open (``4 a to <18 a``)."""

    low: T
    high: T
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: T) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def text(self) -> str:
        lo = f">{_show(self.low)}" if self.low_open else _show(self.low)
        hi = f"<{_show(self.high)}" if self.high_open else _show(self.high)
        return f"{lo} to {hi}"


def _show(value: Quantity | Fraction) -> str:
    if isinstance(value, Quantity):
        return value.text()
    from ..units import format_number

    return format_number(value)


Value = Union[
    Quantity, Fraction, Range[Quantity], Range[Fraction], tuple["Value", ...], Mapping[str, "Value"]
]
CodeValue = Union[str, tuple[str, ...], Mapping[str, str]]


@record
class Source:
    """Where a rule comes from: a name, a URL, an evidence level, maybe a shipped file."""

    key: str
    name: str
    evidence: str
    url: str | None = None
    title: str | None = None
    file: str | None = None


@record
class Citation:
    """What a finding or a plan step quotes: the source's name and the statement behind it.

    For the source page the quote is verbatim; for supplementary rules it is the fact in the
    project's own words, and ``url`` and ``evidence`` say where to read the original.
    """

    source: str
    quote: str
    evidence: str
    url: str | None = None


@record
class Rule:
    """One rule of the pack under its stable ID, with its numbers as typed data."""

    id: str
    title: str
    route: str
    engine: frozenset[str]
    statement: str
    citation: Citation
    sources: tuple[Source, ...]
    numbers: Mapping[str, Value]
    codes: Mapping[str, CodeValue]
    texts: Mapping[str, str]
    severities: Mapping[str, Severity]
    interpretation: str | None
    file: str
    kind: str | None = None
    """The kind of rule the engine judges or plans it as (``dose-range``, ``step-limit``...):
    the code implements kinds, the pack says which kind each rule is (docs/knowledge-format.md)."""
    role: str | None = None
    """The medicine-neutral place the engine looks this rule up by (``oral.max``,
    ``intrathecal.screening.step``): planners and pages ask a pack for the rule in a role, so no
    medicine's rule ID is written in the code, and a second medicine's pack fills the same
    roles with its own rules."""

    @property
    def evidence(self) -> str:
        return self.citation.evidence

    # -- typed access; a wrong type is a broken pack, reported with file, rule and field -------
    def _get(self, section: Mapping[str, object], kind: str, name: str) -> object:
        try:
            return section[name]
        except KeyError:
            raise PackError(self.file, self.id, f"{kind}.{name}", "missing") from None

    def _wrong(self, name: str, expected: str) -> PackError:
        return PackError(self.file, self.id, f"numbers.{name}", f"must be {expected}")

    def value(self, name: str) -> Value:
        try:
            return self.numbers[name]
        except KeyError:  # a broken pack: ``_get`` names the rule and the field
            return self._get(self.numbers, "numbers", name)  # type: ignore[return-value]

    def quantity(self, name: str) -> Quantity:
        # the checker reads a rule's numbers on every proposal: the look-up is ``value``'s,
        # inlined (a missing number is still ``value``'s PackError)
        try:
            v = self.numbers[name]
        except KeyError:  # a broken pack: ``value`` names the rule and the field
            v = self.value(name)
        if not isinstance(v, Quantity):
            raise self._wrong(name, "a quantity such as `100 mg/d`")
        return v

    def quantities(self, name: str) -> tuple[Quantity, ...]:
        v = self.value(name)
        if not (isinstance(v, tuple) and all(isinstance(x, Quantity) for x in v)):
            raise self._wrong(name, "a list of quantities")
        return v  # type: ignore[return-value]

    def range(self, name: str) -> Range[Quantity]:
        v = self.value(name)
        if not (isinstance(v, Range) and isinstance(v.low, Quantity)):
            raise self._wrong(name, "a range of quantities such as `15 mg/d to 100 mg/d`")
        return v

    def number(self, name: str) -> Fraction:
        """A pure number; a percentage (``20 %``) is returned as the fraction (1/5)."""
        v = self.value(name)
        if isinstance(v, Quantity) and v.dim == NONE:
            return v.base
        if not isinstance(v, Fraction):
            raise self._wrong(name, "a number")
        return v

    def count(self, name: str) -> int:
        v = self.number(name)
        if v.denominator != 1:
            raise self._wrong(name, "a whole number")
        return int(v)

    def fraction_range(self, name: str) -> Range[Fraction]:
        """A range of pure numbers; percentages (``10 % to 30 %``) become fractions."""
        v = self.value(name)
        if isinstance(v, Range) and isinstance(v.low, Quantity) and v.low.dim == NONE:
            high = v.high
            assert isinstance(high, Quantity)
            return Range(v.low.base, high.base, v.low_open, v.high_open)
        if isinstance(v, Range) and isinstance(v.low, Fraction):
            return v
        raise self._wrong(name, "a range of numbers or percentages such as `10 % to 30 %`")

    def table(self, name: str) -> tuple[Mapping[str, Value], ...]:
        v = self.value(name)
        if not (isinstance(v, tuple) and all(isinstance(x, Mapping) for x in v)):
            raise self._wrong(name, "a list of tables")
        return v  # type: ignore[return-value]

    def code(self, name: str) -> str:
        v = self._get(self.codes, "codes", name)
        if not isinstance(v, str):
            raise PackError(self.file, self.id, f"codes.{name}", "must be a single code")
        return v

    def code_list(self, name: str) -> tuple[str, ...]:
        v = self._get(self.codes, "codes", name)
        if not isinstance(v, tuple):
            raise PackError(self.file, self.id, f"codes.{name}", "must be a list of codes")
        return v

    def code_map(self, name: str) -> Mapping[str, str]:
        v = self._get(self.codes, "codes", name)
        if not isinstance(v, Mapping):
            raise PackError(self.file, self.id, f"codes.{name}", "must be a table of codes")
        return v

    def text(self, name: str) -> str:
        return self._get(self.texts, "texts", name)  # type: ignore[return-value]

    def phrase(self, name: str, **values: object) -> str:
        """A text of the pack with its ``{placeholders}`` filled by the engine's values.

        The clinical wording stays in the pack, where a pharmacist reviews it; the code only
        supplies the numbers it worked out (``rule.phrase("too_soon", hours="23.9 h")``). A
        placeholder the code does not fill is a broken pack, reported with rule and field.
        """
        template = self.text(name)
        try:
            return template.format_map(values)
        except (KeyError, IndexError, ValueError) as exc:
            raise PackError(self.file, self.id, f"texts.{name}", f"cannot fill {exc}") from None

    def severity(self, key: str) -> Severity:
        return self._get(self.severities, "severity", key)  # type: ignore[return-value]


@record
class Reading:
    """An engine-wide reading of an ambiguous text, recorded once for the whole pack."""

    id: str
    text: str
    rules: tuple[str, ...]


@record
class Pack:
    """A medicine's rules under one jurisdiction profile, with the source page it quotes."""

    medicine: str
    profile: str
    title: str
    rules: Mapping[str, Rule]
    sources: Mapping[str, Source]
    readings: tuple[Reading, ...]
    page_text: str
    files: tuple[str, ...]
    roles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Each role the pack fills, with the ID of the rule that fills it."""
    vocabulary: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """The PATIENT codes the pack adds to the contract's (``diagnoses``, ``conditions``,
    ``medications``): what its rules speak of that baclofen's do not."""
    profile_title: str = ""
    """The profile in words for the pages and answers ("as on the source page (UK labels)");
    the profile's code when the pack gives none."""

    @property
    def profile_words(self) -> str:
        return self.profile_title or self.profile

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(rule_id.upper(), list(self.rules), n=1)
            raise UnknownRuleError(rule_id, close[0] if close else None) from None

    def role(self, name: str) -> Rule:
        """The rule that fills a role (``pack.role("oral.max")``); a role the pack does not fill
        is a :class:`~posology.errors.MissingRoleError` naming the medicine and the role."""
        try:
            return self.rules[self.roles[name]]
        except KeyError:
            raise MissingRoleError(self.medicine, name) from None

    def has_role(self, name: str) -> bool:
        """True when the pack fills this role (a medicine without a pump fills no pump role)."""
        return name in self.roles

    def of_kind(self, kind: str) -> tuple[Rule, ...]:
        """The rules of one kind, in the pack's order."""
        return tuple(r for r in self.rules.values() if r.kind == kind)

    def by_route(self, route: str | None) -> tuple[Rule, ...]:
        """Rules of a route (``general`` rules apply to both and are always included)."""
        return tuple(
            r for r in self.rules.values() if route is None or r.route in (route, "general")
        )
