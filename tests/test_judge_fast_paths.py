"""The checker's and the reader's fast paths give exactly what the plain paths give.

Each shortcut taken for speed has a plain path it must agree with, over generated input of
every event kind and patient:

- the checker calls, for a proposal, only the (kind, rule) checks marked for its event type
  and patient (``rules.kinds``): the same findings as calling every check;
- quantities of one kind compare by integer cross-products: the same order as their exact
  base magnitudes; across kinds, the same refusal;
- the document reader gives an event of a shape already read as a copy at its own instant
  (``with_instant``): the same event as reading it afresh, and the same refusal of a bad
  instant;
- ``history_order`` keeps the events ``sort_history`` keeps;
- the JSON reader's quick nesting count and its integers read by the parser itself give what
  counting step by step and reading every integer with care give.

Run more examples by hand with ``HYPOTHESIS_EXAMPLES=3000``.
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.errors import DimensionError, InputError
from posology.frozen import replace
from posology.knowledge import load_pack
from posology.model import Event, documents, parse_event, parse_patient
from posology.model.documents import history_order, sort_history
from posology.model.events import EVENT_TYPES, with_instant
from posology.rules import Past, context_for, judge, judge_every_check
from posology.rules.kinds import implemented_kinds
from posology.units import Quantity, unit
from strategies import KINDS, event_body, histories, patients

PACK = load_pack()
EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


def _at(event: Event) -> datetime:
    return event.at


def _fresh(doc: dict[str, Any], path: str = "e") -> Event:
    """What the reader gives for ``doc`` without its memo."""
    return documents._read_event(doc, path)


@SETTINGS
@given(patients(), histories())
def test_checks_marked_for_the_kind_and_patient_find_what_every_check_finds(
    patient_doc: dict[str, Any], history_doc: list[dict[str, Any]]
) -> None:
    patient = parse_patient(patient_doc)
    events = sorted((parse_event(e, f"h[{i}]") for i, e in enumerate(history_doc)), key=_at)
    past = Past.empty(PACK)
    for event in events:
        ctx = context_for(patient, past, event)
        assert judge(ctx) == judge_every_check(ctx)
        past = past.advance(event)


def test_every_kind_is_marked_with_the_events_it_judges() -> None:
    """An unmarked kind would be called for every event type: slower, never wrong, but the
    marks are the point, so a new kind must say what it judges."""
    unmarked = [k.name for k in implemented_kinds().values() if k.events == frozenset(EVENT_TYPES)]
    assert unmarked == []


@st.composite
def quantities(draw: Any, codes: tuple[str, ...]) -> Quantity:
    magnitude = Fraction(draw(st.integers(0, 10**6)), draw(st.integers(1, 10**4)))
    return Quantity(magnitude, unit(draw(st.sampled_from(codes))))


MASSES = ("ug", "mg", "g")
RATES = ("ug/d", "mg/d", "ug/h", "mg/min")


@SETTINGS
@given(quantities(MASSES + RATES), quantities(MASSES + RATES))
def test_quantities_compare_as_their_exact_base_magnitudes(a: Quantity, b: Quantity) -> None:
    if a.dim != b.dim:
        for compare in (a.__lt__, a.__le__, a.__gt__, a.__ge__):
            with pytest.raises(DimensionError):
                compare(b)
        assert a != b
        return
    x, y = a.magnitude * a.unit.factor, b.magnitude * b.unit.factor
    assert (a < b, a <= b, a > b, a >= b, a == b) == (x < y, x <= y, x > y, x >= y, x == y)
    assert a.base == x
    assert a != b or hash(a) == hash(b)  # equal quantities hash alike


@SETTINGS
@given(st.sampled_from(KINDS), st.data())
def test_an_event_of_a_shape_already_read_is_the_event_read_afresh(kind: str, data: Any) -> None:
    body = event_body(kind, data.draw)
    first = {"at": "2025-03-01T08:00", "kind": kind, **body}
    parse_event(first, "e")  # the shape is now known
    when = data.draw(
        st.sampled_from(["2025-03-02T09:30", "2025-03-02T09:30+02:00", "2031-12-31T23:59:59"])
    )
    later = {**first, "at": when}
    assert parse_event(later, "e") == _fresh(later)
    event = _fresh(first)
    moved = with_instant(event, datetime(2026, 1, 1, 8, 0))
    assert moved == replace(event, at=datetime(2026, 1, 1, 8, 0))
    assert type(moved) is type(event)


@pytest.mark.parametrize("at", ["2025-03-02", "2025-13-02T08:00", "0999-01-01T08:00", 20250302])
def test_a_bad_instant_of_a_known_shape_is_refused_as_the_reader_refuses_it(at: object) -> None:
    good = {"at": "2025-03-01T08:00", "kind": "oral-regimen", "dose": "5 mg", "times_per_day": 3}
    parse_event(good, "history[0]")
    with pytest.raises(InputError) as fresh:
        _fresh({**good, "at": at}, "history[1]")
    with pytest.raises(InputError) as memo:
        parse_event({**good, "at": at}, "history[1]")
    assert (memo.value.field, memo.value.message) == (fresh.value.field, fresh.value.message)


def test_memo_keys_decimals_by_spelling_so_an_unbounded_zero_is_refused() -> None:
    """Regression: the memo keyed numbers by value, so a residual of ``0E-50`` (refused: past
    the bounds) was served the event of an earlier residual of ``0`` (accepted)."""
    base = {
        "at": "2025-03-01T08:00",
        "kind": "pump-refill",
        "concentration": "500 ug/mL",
        "volume_ml": 20,
    }
    parse_event({**base, "residual_ml": Decimal("0")}, "e")
    with pytest.raises(InputError, match="usable size"):
        parse_event({**base, "residual_ml": Decimal("0E-50")}, "e")


@SETTINGS
@given(histories(), st.randoms(use_true_random=False))
def test_history_order_keeps_what_sort_history_keeps(
    history_doc: list[dict[str, Any]], order: Any
) -> None:
    events = [(f"h[{i}]", parse_event(e, f"h[{i}]")) for i, e in enumerate(history_doc)]
    events += [events[i] for i in range(0, len(events), 3)]  # copies, to be folded
    order.shuffle(events)
    try:
        expected = sort_history(events)
    except InputError as exc:
        with pytest.raises(InputError) as again:
            history_order(events)
        assert (again.value.field, again.value.message) == (exc.field, exc.message)
        return
    kept = history_order(events)
    assert tuple(events[i][1] for i in kept) == expected
    assert all(events[i][1].at <= events[j][1].at for i, j in itertools.pairwise(kept))


def test_a_patient_crossing_the_adult_age_is_judged_with_the_adults_checks_after() -> None:
    """The checks left out for a patient depend on whether a child at the proposal: a patient
    born 18 years before a regimen is judged as an adult, the day before as a child."""
    patient = parse_patient({"birth_date": "2008-03-02", "diagnosis": "multiple-sclerosis"})
    at = datetime(2026, 3, 2, 8, 0)
    before = parse_event(
        {
            "at": (at - timedelta(days=1)).isoformat(),
            "kind": "oral-regimen",
            "dose": "40 mg",
            "times_per_day": 3,
        },
        "e",
    )
    after = with_instant(before, at)
    empty = Past.empty(PACK)
    child, adult = context_for(patient, empty, before), context_for(patient, empty, after)
    assert child.is_child and not adult.is_child
    for ctx in (child, adult, child):
        assert judge(ctx) == judge_every_check(ctx)
    assert {f.rule for f in judge(adult)} != {f.rule for f in judge(child)}


def _depth_step_by_step(text: str) -> int:
    """The nesting of a JSON text's brackets outside strings, summed one step at a time (the
    reader's earlier way, kept as the reference)."""
    kept = text.encode("utf-8", "surrogatepass").translate(None, documents._NOT_STRUCTURE)
    kept = kept.replace(b"\\\\", b"").replace(b'\\"', b"").replace(b"\\", b"")
    brackets = b"".join(kept.split(b'"')[::2])
    return max(itertools.accumulate(map(documents._STEP.__getitem__, brackets)), default=0)


json_texts = st.recursive(
    st.one_of(
        st.integers(-(10**40), 10**40),
        st.text(alphabet='[]{}"\\ab:,0123456789', max_size=12),
        st.booleans(),
        st.none(),
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=60,
).map(json.dumps)


@SETTINGS
@given(json_texts)
def test_nesting_is_counted_as_step_by_step_counting_counts_it(text: str) -> None:
    """The quick count (strings without brackets dropped at once, levels dropped a pair at a
    time) gives the step-by-step count, up to the limit that matters."""
    expected = _depth_step_by_step(text)
    found = documents._depth(text)
    assert found == expected or (found > documents.MAX_DEPTH and expected > documents.MAX_DEPTH)


@SETTINGS
@given(json_texts)
def test_integers_read_by_the_parser_itself_are_those_the_careful_reader_gives(text: str) -> None:
    """Without a run of more than MAX_DIGITS digits, the parser's own integers are read; the
    document (or the refusal) is the one the careful reader, every integer through
    ``_integer``, gives."""

    def outcome() -> Any:
        try:
            read = documents.load_json(text)
        except InputError as exc:
            return ("refused", exc.field, exc.message)
        return read, _types(read)

    quick = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(documents, "_long_digits", lambda text: True)
        careful = outcome()
    assert quick == careful


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)
