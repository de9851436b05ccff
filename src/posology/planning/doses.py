"""Doses that can actually be given, and the clock times to give them at.

A daily amount is split into administrations that the chosen form can make: whole or cut
tablets, or oral solution measured in the pack's volume steps (`oral.strengths`), always rounded
down, never up, and never above the most one administration may carry (`oral.daily-range`, or a
child's mg/kg limit of `oral.children`): a dose too large for one administration is spread over more
administrations (`oral.frequent`). Each dose is given with the fewest tablets, strengths mixed where
that takes fewer, and said in plain words. Clock times follow the meals and the waking day
(`oral.meals`), the night (`oral.night`) or the tasks (`oral.pretask`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from ..errors import InputError, PackError
from ..frozen import record
from ..knowledge.schema import Pack, Rule
from ..units import Quantity, per_day

# Counts written as words in instructions ("two 10 mg tablets"); larger ones are written as digits.
_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


def count_words(n: int) -> str:
    """A count as an English word up to twelve ("three"), as digits above (plain English, not
    clinical: the clinical words around it come from the pack)."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


@record
class Piece:
    """Tablets of one strength in one dose: whole ones and at most one cut part (in tablets)."""

    strength: Quantity
    whole: int
    part: Fraction  # 0 <= part < 1: the cut piece, as a fraction of a tablet


MAX_PIECE_UNITS = 10_000
"""The most pieces of the finest size (a half of the smallest tablet, say) one dose may need:
a 100 mg dose of halved 5 mg tablets needs 40. The search below works through every count up
to the dose, so without a bound a dose of 1e30 g would take the machine's memory and never end;
a dose past it is simply not made of tablets."""


def tablet_pieces(
    dose: Quantity, tablets: Sequence[Quantity], parts: int
) -> tuple[Piece, ...] | None:
    """The fewest tablets (whole, or cut into ``parts``) that make ``dose`` exactly.

    Fewest pieces to take first, then fewest cut pieces (cutting is less exact and more work),
    larger strengths first among equals; ``None`` when the strengths cannot make the dose.
    Worked as a small change-making problem in units of the finest piece the strengths give.
    """
    smallest = min(tablets)
    items: list[tuple[Quantity, Fraction, Fraction]] = []  # strength, tablets, size in smallest
    for strength in sorted(tablets, reverse=True):
        size = strength.ratio(smallest)
        items.append((strength, Fraction(1), size))
        items += [
            (strength, Fraction(j, parts), size * Fraction(j, parts)) for j in range(1, parts)
        ]
    unit = Fraction(0)
    for _, _, size in items:
        unit = Fraction(
            math.gcd(unit.numerator * size.denominator, size.numerator * unit.denominator),
            unit.denominator * size.denominator,
        )
    target = dose.ratio(smallest) / unit
    if target.denominator != 1 or target < 0 or target > MAX_PIECE_UNITS:
        return None
    goal = int(target)
    sizes = [int(size / unit) for _, _, size in items]
    best: list[tuple[int, int] | None] = [(0, 0)] + [None] * goal
    choice = [-1] * (goal + 1)
    for value in range(1, goal + 1):
        for i, units in enumerate(sizes):
            before = best[value - units] if units <= value else None
            if before is None:
                continue
            cut = 0 if items[i][1] == 1 else 1
            cost = (before[0] + 1, before[1] + cut)
            current = best[value]
            if current is None or cost < current:
                best[value], choice[value] = cost, i
    if best[goal] is None:
        return None
    whole: dict[Quantity, int] = {}
    part: dict[Quantity, Fraction] = {}
    value = goal
    while value > 0:
        strength, amount, _ = items[choice[value]]
        if amount == 1:
            whole[strength] = whole.get(strength, 0) + 1
        else:
            part[strength] = part.get(strength, Fraction(0)) + amount
        value -= sizes[choice[value]]
    used = sorted(set(whole) | set(part), reverse=True)
    return tuple(Piece(s, whole.get(s, 0), part.get(s, Fraction(0))) for s in used)


def _piece_words(rule: Rule, piece: Piece) -> str:
    strength = piece.strength.text()
    if piece.part == Fraction(1, 2):
        if piece.whole == 0:
            return rule.phrase("half_tablet", strength=strength)
        return rule.phrase("tablets_and_half", count=count_words(piece.whole), strength=strength)
    words = []
    if piece.whole == 1:
        words.append(rule.phrase("one_tablet", strength=strength))
    elif piece.whole > 1:
        words.append(rule.phrase("many_tablets", count=count_words(piece.whole), strength=strength))
    if piece.part:
        words.append(rule.phrase("part_tablet", part=str(piece.part), strength=strength))
    return " and ".join(words)


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@record
class Form:
    """How oral baclofen is given: ``tablet`` or ``solution``, and its strength.

    ``strength`` is the solution's concentration, or the one tablet strength every dose of the
    day is made with; ``None`` for a day that mixes tablet strengths (the instructions name each
    tablet, `oral.strengths`). ``tablets`` and ``parts`` are the strengths and cuts to dose with.
    """

    kind: str
    strength: Quantity | None
    tablets: tuple[Quantity, ...] = ()
    parts: int = 1

    def describe(self, pack: Pack, dose: Quantity) -> str:
        """``"25 mg (two 10 mg tablets and one 5 mg tablet)"`` or
        ``"2.5 mg = 2.5 mL of 1 mg/mL oral solution"``, in the pack's words."""
        rule = pack.role("oral.strengths")
        if self.kind == "solution":
            assert self.strength is not None
            volume = (dose / self.strength).to("mL").text(places=2)
            return rule.phrase(
                "solution_dose", dose=dose.text(), volume=volume, strength=self.strength.text()
            )
        pieces = tablet_pieces(dose, self.tablets, self.parts)
        assert pieces is not None, "planned doses are multiples of the smallest tablet part"
        words = _join([_piece_words(rule, p) for p in pieces])
        return rule.phrase("tablet_dose", dose=dose.text(), tablets=words)


def dose_step(pack: Pack, form: str) -> Quantity:
    """The smallest amount a form can add: a part of the smallest tablet, or one syringe step."""
    rule = pack.role("oral.strengths")
    if form == "solution":
        if not rule.quantities("solutions"):
            _no_solution(pack)
        return rule.quantity("solution_dose_step")
    return min(rule.quantities("tablets")) / rule.count("tablet_parts")


def choose_form(pack: Pack, form: str, doses: tuple[Quantity, ...]) -> Form:
    """The form to dose with: the solution of the profile, or the profile's tablets, each dose
    made with the fewest of them; the strength is recorded when one strength makes the day.

    Doses the tablets cannot make (a level split in solution steps) are given as the solution:
    a plan never tells anyone to take "half a tablet" for a dose it is not.
    """
    rule = pack.role("oral.strengths")
    solutions = rule.quantities("solutions")
    solution = Form("solution", solutions[0]) if solutions else None
    if form == "solution":
        return solution or _no_solution(pack)
    tablets = tuple(sorted(rule.quantities("tablets")))
    parts = rule.count("tablet_parts")
    used: set[Quantity] = set()
    for dose in doses:
        pieces = tablet_pieces(dose, tablets, parts)
        if pieces is None:
            return solution or _no_solution(pack)
        used |= {p.strength for p in pieces}
    return Form("tablet", next(iter(used)) if len(used) == 1 else None, tablets, parts)


def _no_solution(pack: Pack) -> Form:
    """A plan that needs an oral solution of a medicine none is marketed of (its pack lists no
    ``solutions``) is refused, naming the goal's form: it is never planned in tablets it would
    tell the patient to split past their score, nor in a solution no pharmacy has."""
    raise InputError(
        "goal.form",
        f"no {pack.medicine} oral solution is marketed (the pack's "
        f"{pack.role('oral.strengths').id} lists none); plan it as tablets",
    )


def split_daily(daily: Quantity, n: int, step: Quantity) -> tuple[Quantity, ...] | None:
    """Split a daily dose (mass per day) into ``n`` makeable doses, rounded down to ``step``.

    The doses differ by at most one step; larger ones come later in the day (evening spasms).
    This even split has the smallest largest dose of any split into ``n``. ``None`` when the
    amount cannot give every administration at least one step.
    """
    amount = daily.to(f"{step.unit.code}/d").magnitude
    units = math.floor(amount / step.magnitude)
    base, extra = divmod(units, n)
    if base == 0:
        return None
    return tuple(step * (base + (1 if i >= n - extra else 0)) for i in range(n))


@record
class DoseLimit:
    """The administrations a day a plan may use, in the order to try them, and the most one
    administration may carry (``None``: no per-dose limit applies)."""

    counts: tuple[int, ...]
    ceiling: Quantity | None

    @staticmethod
    def around(preferred: int, fewest: int, most: int, ceiling: Quantity | None) -> DoseLimit:
        """The preferred count first, then fewer (for amounts too small to split), then more
        (for amounts one administration cannot carry): the fewest changes to the usual day."""
        down = range(preferred, fewest - 1, -1)
        up = range(preferred + 1, most + 1)
        return DoseLimit((*down, *up), ceiling)

    def fits(self, doses: tuple[Quantity, ...]) -> bool:
        return self.ceiling is None or max(doses) <= self.ceiling

    def most_daily(self, step: Quantity) -> Quantity:
        """The largest daily amount the limit lets a plan give in makeable doses."""
        count = max(self.counts)
        if self.ceiling is None:
            raise ValueError("no per-dose limit: no largest daily amount")
        per_dose = step * math.floor(self.ceiling.ratio(step))
        return per_day(per_dose * count)


def spread(daily: Quantity, limit: DoseLimit, step: Quantity) -> tuple[Quantity, ...] | None:
    """The first split of ``daily`` over the limit's counts that is makeable and within its
    per-dose ceiling; ``None`` when no count allowed gives one."""
    for count in limit.counts:
        doses = split_daily(daily, count, step)
        if doses is not None and limit.fits(doses):
            return doses
    return None


def total(doses: tuple[Quantity, ...]) -> Quantity:
    out = doses[0]
    for d in doses[1:]:
        out = out + d
    return out


def clock_times(pack: Pack, n: int) -> tuple[str, ...]:
    """The usual clock times for ``n`` administrations a day (`oral.meals`): the meals' table, and
    for counts beyond it times spread evenly over the waking day, rounded down to the minute."""
    if n < 1:
        raise ValueError(f"{n} administrations a day")
    rule = pack.role("oral.meals")
    table = rule.code_map("times_by_count")
    if str(n) in table:
        return tuple(table[str(n)].split())
    first, last = (_minutes(t) for t in rule.code_list("waking_day"))
    if n == 1:
        return (_clock(first),)
    span = (last - first) % 1440
    return tuple(_clock(first + span * i // (n - 1)) for i in range(n))


def _minutes(clock: str) -> int:
    return int(clock[:2]) * 60 + int(clock[3:])


def _clock(minutes: int) -> str:
    minutes %= 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def pick_end(rule: Rule, range_name: str, code_name: str) -> Quantity:
    """The end of a range that a pack code names (``low`` or ``high``): the pack, not the code,
    says which end a plan uses."""
    span = rule.range(range_name)
    end = rule.code(code_name)
    if end not in ("low", "high"):
        raise PackError(rule.file, rule.id, f"codes.{code_name}", "must be `low` or `high`")
    return span.low if end == "low" else span.high


def minus(clock: str, amount: Quantity) -> str:
    """A clock time moved earlier by a duration, wrapping past midnight."""
    return _clock(_minutes(clock) - int(amount.in_("min")))


def days(amount: Quantity) -> timedelta:
    """A duration quantity as a timedelta, rounded down to the whole minute (plans are dated to
    the minute; earlier is the safe side for an alarm or a refill)."""
    return timedelta(minutes=math.floor(amount.in_("min")))


def book(latest: datetime, like: datetime) -> datetime:
    """The last instant at ``like``'s clock time not after ``latest``: appointments keep the
    clinic's usual time of day and are never later than the date worked out."""
    booked = latest.replace(hour=like.hour, minute=like.minute, second=0, microsecond=0)
    return booked if booked <= latest else booked - timedelta(days=1)
