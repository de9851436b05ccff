"""The quick JSON reading (the parser's own fast path, members counted against colons) gives
what the careful reading gives, or leaves the text to it; never a different document, and
never a document the careful reading refuses.

A key given twice is the case the quick reading must not miss: the careful reading hooks every
object to find it, the quick one counts members against the colons outside strings. The texts
here are built by hand, so keys repeat, and strings hold colons, quotes, brackets and escapes.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posology.errors import InputError
from posology.model.documents import _UNSURE, _load, _quick_load, load_json

_TRICKY_TEXT = st.text(alphabet=st.sampled_from(list('ab:"\\{}[],0 9µ\n\u00e9')), max_size=6)


def _scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(10**20), 10**20).map(str),
        st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
        st.sampled_from(["true", "false", "null", "1e3", "2.5E-2", "NaN", "1e400"]),
        _TRICKY_TEXT.map(json.dumps),
        _TRICKY_TEXT.map(lambda t: json.dumps(t, ensure_ascii=False)),
    )


def _document() -> st.SearchStrategy[str]:
    """JSON texts (and a few near-JSON ones) whose objects may repeat a key."""
    return st.recursive(
        _scalar(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
            st.lists(
                st.tuples(st.sampled_from(["a", "b", "a:b", '"', "{", "\\"]), inner), max_size=4
            ).map(
                lambda members: (
                    "{" + ", ".join(f"{json.dumps(key)}: {value}" for key, value in members) + "}"
                )
            ),
        ),
        max_leaves=12,
    )


def _careful(text: str) -> object:
    try:
        return ("read", _load(text))
    except InputError as exc:
        return ("refused", exc)


@settings(max_examples=400, deadline=None)
@given(_document())
def test_quick_reading_gives_the_careful_document_or_leaves_the_text(text: str) -> None:
    quick = _quick_load(text)
    careful = _careful(text)
    if quick is _UNSURE:
        return
    assert careful[0] == "read", f"the quick reading read a text the careful one refuses: {text!r}"
    assert quick == careful[1]
    assert json.dumps(quick, default=str, sort_keys=True) == json.dumps(
        careful[1], default=str, sort_keys=True
    )


@settings(max_examples=200, deadline=None)
@given(_document())
def test_load_json_refuses_exactly_what_the_careful_reading_refuses(text: str) -> None:
    careful = _careful(text)
    try:
        read = ("read", load_json(text))
    except InputError as exc:
        read = ("refused", exc)
    assert read[0] == careful[0]
    if read[0] == "refused":
        assert str(read[1]) == str(careful[1])


@pytest.mark.parametrize(
    "text",
    [
        '{"dose": "5 mg", "dose": "50 mg"}',
        '[{"a": 1}, {"b": 2, "b": 3}]',
        '{"note": "a: b", "note": "c"}',
        '{"x": "\\"", "x": 1}',
        '{"outer": {"k": 1, "k": 2}}',
    ],
)
def test_a_key_given_twice_is_refused_even_when_strings_hold_colons_and_quotes(text: str) -> None:
    assert _quick_load(text) is _UNSURE
    with pytest.raises(InputError, match="given twice"):
        load_json(text)


def test_quick_reading_keeps_decimals_exact() -> None:
    data = _quick_load('{"dose": 0.1, "n": 3, "list": [1.25, {"a:b": "c"}]}')
    assert data == {"dose": Decimal("0.1"), "n": 3, "list": [Decimal("1.25"), {"a:b": "c"}]}
    assert type(data["dose"]) is Decimal
