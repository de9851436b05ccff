"""The reader's shape memo: a shape's key is the key of the event object without its ``at``, so
an event of a shape read before is that shape's event at its own instant."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posology.model import documents
from strategies import KINDS, event_body


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(KINDS), st.data())
def test_the_shape_key_is_the_key_of_the_object_without_its_at(kind: str, data: Any) -> None:
    doc = {"at": "2025-03-01T08:00", "kind": kind, **event_body(kind, data.draw)}
    key = documents._content_key(doc)
    without = {k: v for k, v in doc.items() if k != "at"}
    assert documents._shape_key(key) == documents._content_key(without)


def _spelled(value: Any) -> object:
    """The content of a decoded JSON value with every type and spelling kept: the reference
    the memo's keys are held to (two values read alike exactly when this is equal)."""
    if type(value) is dict:
        return ("object", tuple((k, _spelled(v)) for k, v in value.items()))
    if type(value) is list:
        return ("list", tuple(_spelled(v) for v in value))
    return (type(value).__name__, repr(value))


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["1", "true", "5 mg", ""]),
    st.sampled_from(["1", "1.0", "0E-50", "0"]).map(documents.Decimal),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["at", "dose", "kind"]), inner, max_size=3),
    ),
    max_leaves=6,
)
_JSON_OBJECTS = st.dictionaries(st.sampled_from(["at", "dose", "kind", "n"]), _JSON_VALUES)


@settings(max_examples=500, deadline=None)
@given(_JSON_OBJECTS, _JSON_OBJECTS)
def test_two_objects_share_a_memo_key_only_when_their_content_and_types_match(
    first: Any, second: Any
) -> None:
    same = _spelled(first) == _spelled(second)
    assert (documents._content_key(first) == documents._content_key(second)) == same


def test_a_flat_event_with_true_is_not_read_as_one_with_1() -> None:
    as_bool = {"at": "2025-03-01T08:00", "kind": "oral-regimen", "times_per_day": True}
    as_int = {"at": "2025-03-01T08:00", "kind": "oral-regimen", "times_per_day": 1}
    assert documents._content_key(as_bool) != documents._content_key(as_int)
